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


def reserved(desc: dict[str, Any]) -> tuple[int, int]:
    """The read and write capacity a table description holds, its GSIs' included (none on demand):
    what the table reserves of its account's quota in its region (kept per table and per region
    by `TableStore`, so a check reads two rows, not every table of the region)."""
    if billing_mode(desc) == "PAY_PER_REQUEST":
        return 0, 0
    held = [desc, *desc.get("GlobalSecondaryIndexes", [])]
    # (every table is given a throughput, a table made in code for a test need not be)
    throughputs = [holder.get("ProvisionedThroughput", {}) for holder in held]
    return sum(pt.get(_UNITS[0], 0) for pt in throughputs), sum(pt.get(_UNITS[1], 0) for pt in throughputs)


def check(store: TableStore, account: str, region: str, desc: dict[str, Any], tid: int | None = None) -> None:
    """The provisioned capacity `desc` (a new or changed table, `tid` when it exists) asks for,
    against the quotas: LimitExceededException in AWS's words when it is over one."""
    if billing_mode(desc) == "PAY_PER_REQUEST":
        return
    requested, reserved_by_others = reserved(desc), store.reserved(account, region, but=tid)
    for unit, asked, others in zip(_UNITS, requested, reserved_by_others, strict=True):
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
        if others + asked > ACCOUNT_MAX:
            raise _limit(
                f"This request would have caused the {unit} limit to be exceeded for the account in "
                f"{region}. Current {unit} reserved by the account: {others}. Limit: {ACCOUNT_MAX}. "
                f"Requested: {asked}"
            )


def _limit(message: str) -> ServiceError:
    return ServiceError("LimitExceededException", message)
