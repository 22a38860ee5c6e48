"""Small control-plane operations: limits, endpoints, TTL settings, continuous backups and
resource policies. Their state lives in the table's stored description (private `_` keys)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from gondwana.protocols.errors import ServiceError
from gondwana.services.dynamodb import expiry_index, limits, tags
from gondwana.services.dynamodb.errors import invalid, validation
from gondwana.services.dynamodb.replication import replicas, strong
from gondwana.services.dynamodb.tables import table_name
from gondwana.services.dynamodb.writes import KEPT_FOR_RESTORES

if TYPE_CHECKING:
    from gondwana.services.dynamodb.provider import DynamoDBService
    from gondwana.services.dynamodb.schema import Table

TTL_COOLDOWN = 3600.0


def describe_limits() -> dict[str, Any]:
    return {
        "AccountMaxReadCapacityUnits": limits.ACCOUNT_MAX,
        "AccountMaxWriteCapacityUnits": limits.ACCOUNT_MAX,
        "TableMaxReadCapacityUnits": limits.TABLE_MAX,
        "TableMaxWriteCapacityUnits": limits.TABLE_MAX,
    }


def describe_endpoints(ctx: Any) -> dict[str, Any]:
    return {"Endpoints": [{"Address": f"dynamodb.{ctx.region}.amazonaws.com", "CachePeriodInMinutes": 1440}]}


def _table(svc: DynamoDBService, ctx: Any, name: str) -> Table:
    return svc.tables.named(ctx, name)


# ---- TTL ---------------------------------------------------------------------------------------


def update_ttl(svc: DynamoDBService, ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    table = svc.tables.require(ctx, p["TableName"], named=True)
    spec = p["TimeToLiveSpecification"]
    now = svc.runtime.now()
    current = table.desc.get("_ttl", {"TimeToLiveStatus": "DISABLED"})
    enabled = current["TimeToLiveStatus"] in ("ENABLED", "ENABLING")
    if spec["Enabled"] and enabled:
        raise validation("TimeToLive is already enabled")
    if not spec["Enabled"] and not enabled:
        raise validation("TimeToLive is already disabled")
    if not spec["Enabled"] and current.get("AttributeName") != spec["AttributeName"]:
        raise validation(
            "TimeToLive is active on a different AttributeName: current AttributeName is "
            f"{current.get('AttributeName')}"
        )
    if now - current.get("changed", -TTL_COOLDOWN) < TTL_COOLDOWN:  # (checked after the content, as AWS)
        raise validation("Time to live has been modified multiple times within a fixed interval")
    if spec["Enabled"] and strong.is_strong(table):
        raise validation("Time to live is not supported for tables with MultiRegionConsistency set to STRONG")
    status = "ENABLED" if spec["Enabled"] else "DISABLED"
    store = svc.runtime.store
    with store.transaction():
        for each in [table, *replicas.members(svc, table)]:  # TTL settings sync to every replica
            each.desc["_ttl"] = {
                "TimeToLiveStatus": status,
                "AttributeName": spec["AttributeName"],
                "changed": now,
            }
            expiry_index.start(svc, each)  # the existing items' expiry, in passes
            svc.table_store.save(each)
    return {"TimeToLiveSpecification": {"Enabled": spec["Enabled"], "AttributeName": spec["AttributeName"]}}


def describe_ttl(svc: DynamoDBService, ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    table = _table(svc, ctx, p["TableName"])
    if table.status in ("CREATING", "DELETING"):  # (AWS answers only for a table that is there)
        raise validation(
            f"Cannot describe time to live while table is in {table.status} state: "
            f"Current table state is {table.status}"
        )
    ttl = table.desc.get("_ttl")
    if not ttl:
        return {"TimeToLiveDescription": {"TimeToLiveStatus": "DISABLED"}}
    status = ttl["TimeToLiveStatus"]
    if "_ttl_walk" in table.desc:  # the items' expiry is still being set (expiry_index.py)
        status = {"ENABLED": "ENABLING", "DISABLED": "DISABLING"}[status]
    elif status == "DISABLED":
        return {"TimeToLiveDescription": {"TimeToLiveStatus": "DISABLED"}}
    return {"TimeToLiveDescription": {"TimeToLiveStatus": status, "AttributeName": ttl["AttributeName"]}}


# ---- continuous backups ------------------------------------------------------------------------


def backup_source(svc: DynamoDBService, ctx: Any, name: str, *, named: bool = True) -> Table:
    """The table of a backup-family call. Its not-found text names the table, except where AWS's does
    not (`named`: a restore's source given by ARN)."""
    table = svc.tables.find(ctx.account, ctx.region, name)
    if table is None:
        raise ServiceError(
            "TableNotFoundException", f"Table not found: {table_name(name)}" if named else "Table not found"
        )
    return table


RESTORE_LAG = 300.0  # AWS: the latest restorable time is five minutes back (or the enabling)


def restorable(pitr: dict[str, Any], now: float) -> tuple[float, float]:
    """The point-in-time recovery window of a table: (earliest, latest) restorable times."""
    return max(pitr["since"], now - pitr["days"] * 86400), max(pitr["since"], now - RESTORE_LAG)


def _backup_description(table: Table, now: float) -> dict[str, Any]:
    pitr = table.desc.get("_pitr")
    if not pitr:
        return {
            "ContinuousBackupsStatus": "ENABLED",
            "PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": "DISABLED"},
        }
    earliest, latest = restorable(pitr, now)
    return {
        "ContinuousBackupsStatus": "ENABLED",
        "PointInTimeRecoveryDescription": {
            "PointInTimeRecoveryStatus": "ENABLED",
            "RecoveryPeriodInDays": pitr["days"],
            "EarliestRestorableDateTime": earliest,
            "LatestRestorableDateTime": latest,
        },
    }


def describe_backups(svc: DynamoDBService, ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    table = backup_source(svc, ctx, p["TableName"])
    return {"ContinuousBackupsDescription": _backup_description(table, svc.runtime.now())}


def update_backups(svc: DynamoDBService, ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    table = backup_source(svc, ctx, p["TableName"])
    spec = p["PointInTimeRecoverySpecification"]
    now = svc.runtime.now()
    if not spec["PointInTimeRecoveryEnabled"] and spec.get("RecoveryPeriodInDays") is not None:
        raise validation(
            "Invalid Request: Cannot specify RecoveryPeriodInDays when disabling point-in-time recovery."
        )
    days = spec.get("RecoveryPeriodInDays") or 35
    # Disabled, the history kept for restores is out of reach at once (enabled again, a window
    # starts afresh, and restores read only what came after its start); its records go with the
    # rest once 35 days old, a chunk at a time. Deleted here, 35 days of a busy table's changes
    # would hold up every request. Restores from it still being written need the changes to come
    # recorded: they go on being recorded until those are done.
    with svc.runtime.store.transaction():
        if spec["PointInTimeRecoveryEnabled"]:
            table.desc["_pitr"] = {"since": table.desc.get("_pitr", {}).get("since", now), "days": days}
        else:
            from gondwana.services.dynamodb import recovery

            if recovery.reading(svc, table.tid):
                table.desc[KEPT_FOR_RESTORES] = True
            table.desc.pop("_pitr", None)
        svc.table_store.save(table)
    return {"ContinuousBackupsDescription": _backup_description(table, now)}


# ---- resource policies -------------------------------------------------------------------------


def _by_arn(svc: DynamoDBService, ctx: Any, arn: str) -> Table:
    """The table a resource-policy call names (a stream's ARN names its table's policy)."""
    account, region, resource = tags.parse_arn(arn)
    if account != ctx.account:
        raise validation("This action is only supported by accounts that match the resource owner’s account.")
    if region != ctx.region:
        raise invalid(f"Invalid resource Arn: {arn}")
    return _table(svc, ctx, resource[1])


def _no_policy(arn: str) -> ServiceError:
    return ServiceError(
        "PolicyNotFoundException", f"Resource-based policy not found for the provided ResourceArn: {arn}"
    )


def put_policy(svc: DynamoDBService, ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    table = _by_arn(svc, ctx, p["ResourceArn"])
    current = table.desc.get("_policy_rev")
    expected = p.get("ExpectedRevisionId")
    if expected is not None and expected != current:
        raise ServiceError(
            "PolicyNotFoundException",
            f"A policy with the revision ID {expected} was not found for {p['ResourceArn']}",
        )
    revision = str(uuid.uuid4().int)[:13]
    table.desc["_policy"], table.desc["_policy_rev"] = p["Policy"], revision
    with svc.runtime.store.transaction():
        svc.table_store.save(table)
    return {"RevisionId": revision}


def get_policy(svc: DynamoDBService, ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    table = _by_arn(svc, ctx, p["ResourceArn"])
    if not table.desc.get("_policy"):
        raise _no_policy(p["ResourceArn"])
    return {"Policy": table.desc["_policy"], "RevisionId": table.desc.get("_policy_rev", "0")}


def delete_policy(svc: DynamoDBService, ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    table = _by_arn(svc, ctx, p["ResourceArn"])
    if not table.desc.get("_policy"):
        raise _no_policy(p["ResourceArn"])
    revision = table.desc.pop("_policy_rev", "0")
    table.desc.pop("_policy")
    with svc.runtime.store.transaction():
        svc.table_store.save(table)
    return {"RevisionId": revision}
