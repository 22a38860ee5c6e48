"""Provisioned-capacity quotas, the figures DescribeLimits reports: per table, per index (each its
own cap: a table's GSIs do not add to it) and per account and region (tables and GSIs together)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gondwana.protocols.errors import ServiceError
from gondwana.services.dynamodb.table_specs import billing_mode

if TYPE_CHECKING:
    from gondwana.services.dynamodb.storage import TableStore

TABLE_MAX = 40_000
ACCOUNT_MAX = 80_000
_UNITS = ("ReadCapacityUnits", "WriteCapacityUnits")
_REFER = "Refer to the Amazon DynamoDB Developer Guide for current limits and how to request higher limits."


def _reserved(desc: dict[str, Any], unit: str) -> int:
    """The capacity of `unit` a table description holds, its GSIs' included (none on demand)."""
    if billing_mode(desc) == "PAY_PER_REQUEST":
        return 0
    indexes = desc.get("GlobalSecondaryIndexes", [])
    return desc["ProvisionedThroughput"][unit] + sum(g["ProvisionedThroughput"][unit] for g in indexes)


def check(store: TableStore, account: str, region: str, desc: dict[str, Any], tid: int | None = None) -> None:
    """The provisioned capacity `desc` (a new or changed table, `tid` when it exists) asks for,
    against the quotas: LimitExceededException in AWS's words when it is over one."""
    if billing_mode(desc) == "PAY_PER_REQUEST":
        return
    others = [t.desc for t in store.in_region(account, region) if t.tid != tid]
    for unit in _UNITS:
        value = desc["ProvisionedThroughput"][unit]
        if value > TABLE_MAX:
            raise _limit(
                f"The requested {unit}, {value}, is above the per table maximum for the account in {region}. "
                f"Per table maximum: {TABLE_MAX}. {_REFER}"
            )
        for gsi in desc.get("GlobalSecondaryIndexes", []):
            value = gsi["ProvisionedThroughput"][unit]
            if value > TABLE_MAX:
                raise _limit(
                    f"The requested {unit} for index {gsi['IndexName']}, {value}, is above the per index "
                    f"maximum for the account in {region}. Per table maximum: {TABLE_MAX}. {_REFER}"
                )
        requested, reserved = _reserved(desc, unit), sum(_reserved(other, unit) for other in others)
        if reserved + requested > ACCOUNT_MAX:
            raise _limit(
                f"This request would have caused the {unit} limit to be exceeded for the account in "
                f"{region}. Current {unit} reserved by the account: {reserved}. Limit: {ACCOUNT_MAX}. "
                f"Requested: {requested}"
            )


def _limit(message: str) -> ServiceError:
    return ServiceError("LimitExceededException", message)
