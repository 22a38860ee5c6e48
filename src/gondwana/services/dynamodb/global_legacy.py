"""Global tables version 2017.11.29: CreateGlobalTable, UpdateGlobalTable and their Describe/List/
Settings companions, over the same replication as version 2019.11.21.

The legacy API joins tables that already exist: one per region, same name and key schema, empty, with
a NEW_AND_OLD_IMAGES stream and the same write capacity. Membership is kept in every member's
description (`_legacy`: creation time and regions), so it survives restarts with the tables; the
replication group itself (`_replicas`) is the one version 2019.11.21 uses. A replica removed with
UpdateGlobalTable stays behind as an ordinary table.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from gondwana.protocols.errors import ServiceError
from gondwana.services.base import null_member_message
from gondwana.services.dynamodb import replication
from gondwana.services.dynamodb.errors import validation
from gondwana.services.dynamodb.replication import replicas
from gondwana.services.dynamodb.table_specs import billing_mode

if TYPE_CHECKING:
    from gondwana.server.context import RequestContext
    from gondwana.services.dynamodb.provider import DynamoDBService
    from gondwana.services.dynamodb.schema import Table

Params = dict[str, Any]


def _not_found(name: str, *, settings: bool = False) -> ServiceError:
    message = f"Global table with name: '{name}' does not exist."
    return ServiceError(
        "GlobalTableNotFoundException", message if settings else f"Global table not found: {message}"
    )


def _regions(svc: DynamoDBService, account: str, name: str) -> list[str]:
    """The regions of the legacy global table `name`, [] when there is none."""
    rows = svc.runtime.store.query(
        "SELECT region FROM dynamodb_tables WHERE account = ? AND name = ? ORDER BY region", (account, name)
    )
    for (region,) in rows:
        table = svc.table_store.get(account, region, name)
        if table is not None and "_legacy" in table.desc:
            # A member dropped with DeleteTable is simply gone from the group.
            return [r for r in table.desc["_legacy"]["regions"] if _is_member(svc, account, r, name)]
    return []


def _is_member(svc: DynamoDBService, account: str, region: str, name: str) -> bool:
    table = svc.table_store.get(account, region, name)
    return table is not None and "_legacy" in table.desc


def _members(svc: DynamoDBService, account: str, name: str, *, settings: bool = False) -> list[Table]:
    regions = _regions(svc, account, name)
    if not regions:
        raise _not_found(name, settings=settings)
    return [svc.table_store.get(account, r, name) for r in regions]  # type: ignore[misc]


def _check_joinable(svc: DynamoDBService, account: str, name: str, region: str, first: Table | None) -> Table:
    """The table in `region` that may join the global table `name` (AWS's rules for version 2017.11.29)."""
    replicas.check_region(region)
    table = svc.tables.find(account, region, name)
    if table is None:
        raise ServiceError("TableNotFoundException", f"Table: {name} not found in region {region}")
    if "_legacy" in table.desc or "_replicas" in table.desc:
        raise ServiceError("GlobalTableAlreadyExistsException", "Global table with this name already exists")
    where = f"Table: {name} in region {region}"
    if table.status != "ACTIVE":
        raise validation(f"{where} is not ACTIVE")
    stream = table.desc.get("StreamSpecification") or {}
    if not stream.get("StreamEnabled") or stream.get("StreamViewType") != "NEW_AND_OLD_IMAGES":
        raise validation(f"{where} must have DynamoDB Streams enabled with the NEW_AND_OLD_IMAGES view type")
    if svc.runtime.store.query_one("SELECT 1 FROM dynamodb_items WHERE tid = ? LIMIT 1", (table.tid,)):
        raise validation(f"{where} is not empty: only empty tables can be added to a global table")
    if first is not None:
        if table.desc["KeySchema"] != first.desc["KeySchema"] or table.attr_types != first.attr_types:
            raise validation(f"{where} does not have the same key schema as the other replicas")
        if _write_units(table) != _write_units(first) or _billing(table) != _billing(first):
            raise validation(f"{where} does not have the same write capacity settings as the other replicas")
    return table


def _region_name(replica: Params, path: str) -> str:
    """RegionName is optional in the model, yet nothing names a replica without it: Coral's
    answer to a missing required member."""
    region = replica.get("RegionName")
    if region is None:
        raise validation(null_member_message(f"{path}.regionName"))
    return region


def _billing(table: Table) -> str:
    return billing_mode(table.desc)


def _write_units(table: Table) -> int:
    return int(table.desc["ProvisionedThroughput"].get("WriteCapacityUnits", 0))


def _regroup(svc: DynamoDBService, tables: list[Table], created: float) -> None:
    """Make `tables` the members of one legacy global table (and one replication group)."""
    regions = [t.region for t in tables]
    for table in tables:
        table.desc["_legacy"] = {"created": created, "regions": regions}
        svc.table_store.save(table)
    # DescribeTable then shows GlobalTableVersion 2017.11.29.
    replication.join_tables(svc, tables[0].account, tables[0].name, regions, version="2017.11.29")


def _description(svc: DynamoDBService, tables: list[Table]) -> Params:
    first = tables[0]
    return {
        "GlobalTableName": first.name,
        "GlobalTableArn": f"arn:aws:dynamodb::{first.account}:global-table/{first.name}",
        "CreationDateTime": first.desc["_legacy"]["created"],
        "GlobalTableStatus": "ACTIVE",
        "ReplicationGroup": [{"RegionName": t.region} for t in tables],
    }


# ---- operations ------------------------------------------------------------------------------------


def create(svc: DynamoDBService, ctx: RequestContext, p: Params) -> Params:
    name = p["GlobalTableName"]
    if not p["ReplicationGroup"]:  # worded as UpdateGlobalTable's empty ReplicaUpdates (recorded)
        raise validation("One or more parameter values were invalid")
    regions = [
        _region_name(r, f"replicationGroup.{i}.member") for i, r in enumerate(p["ReplicationGroup"], 1)
    ]
    if len(set(regions)) != len(regions):
        raise validation("Duplicate region names are not allowed in the replication group")
    if _regions(svc, ctx.account, name):
        raise ServiceError("GlobalTableAlreadyExistsException", "Global table with this name already exists")
    tables: list[Table] = []
    for region in regions:
        tables.append(_check_joinable(svc, ctx.account, name, region, tables[0] if tables else None))
    with svc.runtime.store.transaction():
        _regroup(svc, tables, svc.runtime.now())
    return {"GlobalTableDescription": _description(svc, tables)}


def update(svc: DynamoDBService, ctx: RequestContext, p: Params) -> Params:
    name = p["GlobalTableName"]
    if not p["ReplicaUpdates"]:  # recorded from AWS: the bare message, no detail
        raise validation("One or more parameter values were invalid")
    tables = _members(svc, ctx.account, name)
    created = tables[0].desc["_legacy"]["created"]
    removed: list[Table] = []
    for i, change in enumerate(p["ReplicaUpdates"], 1):  # validate them all before changing anything
        if "Create" in change:
            region = _region_name(change["Create"], f"replicaUpdates.{i}.member.create")
            if region in [t.region for t in tables]:
                raise ServiceError(
                    "ReplicaAlreadyExistsException", f"Replica already exists in region {region}"
                )
            tables.append(_check_joinable(svc, ctx.account, name, region, tables[0]))
        elif "Delete" in change:
            region = _region_name(change["Delete"], f"replicaUpdates.{i}.member.delete")
            gone = [t for t in tables if t.region == region]
            if not gone:
                raise ServiceError("ReplicaNotFoundException", f"Replica does not exist in region {region}")
            tables.remove(gone[0])
            removed.append(gone[0])
        else:
            raise validation("One or more parameter values were invalid")
    with svc.runtime.store.transaction():
        for table in removed:
            replicas._forget_region(svc, table, table.region)
            for key in ("_legacy", "_replicas", "_version"):
                table.desc.pop(key, None)
            svc.table_store.save(table)
        if tables:
            _regroup(svc, tables, created)
    shown = tables or removed
    description = (
        _description(svc, shown)
        if tables
        else {
            "GlobalTableName": name,
            "GlobalTableStatus": "DELETING",
            "ReplicationGroup": [],
            "GlobalTableArn": f"arn:aws:dynamodb::{ctx.account}:global-table/{name}",
            "CreationDateTime": created,
        }
    )
    return {"GlobalTableDescription": description}


def describe(svc: DynamoDBService, ctx: RequestContext, p: Params) -> Params:
    return {"GlobalTableDescription": _description(svc, _members(svc, ctx.account, p["GlobalTableName"]))}


def list_all(svc: DynamoDBService, ctx: RequestContext, p: Params) -> Params:
    start, limit, region = p.get("ExclusiveStartGlobalTableName"), p.get("Limit") or 100, p.get("RegionName")
    if region is not None and region not in replicas.REGIONS:
        # Recorded from AWS: an unknown RegionName is an internal error there, not a validation one.
        raise svc.internal_error()
    rows = svc.runtime.store.query(
        "SELECT DISTINCT name FROM dynamodb_tables WHERE account = ? AND name > ? AND legacy_global = 1 "
        "ORDER BY name",
        (ctx.account, start or ""),
    )
    found: list[Params] = []
    for (name,) in rows:
        regions = _regions(svc, ctx.account, name)
        if not regions or (region and region not in regions):
            continue
        if len(found) == limit:
            return {"GlobalTables": found, "LastEvaluatedGlobalTableName": found[-1]["GlobalTableName"]}
        found.append({"GlobalTableName": name, "ReplicationGroup": [{"RegionName": r} for r in regions]})
    return {"GlobalTables": found}


# ---- settings --------------------------------------------------------------------------------------


def _index(table: Table, name: str) -> Params:
    for index in table.desc.get("GlobalSecondaryIndexes", []):
        if index["IndexName"] == name:
            return index
    raise ServiceError("IndexNotFoundException", f"Requested resource not found: Index: {name} not found")


def _replica_settings(table: Table) -> Params:
    pt = table.desc["ProvisionedThroughput"]
    out: Params = {
        "RegionName": table.region,
        "ReplicaStatus": "ACTIVE",
        "ReplicaBillingModeSummary": copy.deepcopy(table.desc.get("BillingModeSummary"))
        or {"BillingMode": "PROVISIONED"},
        "ReplicaProvisionedReadCapacityUnits": pt.get("ReadCapacityUnits", 0),
        "ReplicaProvisionedWriteCapacityUnits": pt.get("WriteCapacityUnits", 0),
    }
    scaling = table.desc["_legacy"].get("write_autoscaling")
    if scaling:
        out["ReplicaProvisionedWriteCapacityAutoScalingSettings"] = copy.deepcopy(scaling)
    indexes = [
        {
            "IndexName": g["IndexName"],
            "IndexStatus": g.get("IndexStatus", "ACTIVE"),
            "ProvisionedReadCapacityUnits": g["ProvisionedThroughput"].get("ReadCapacityUnits", 0),
            "ProvisionedWriteCapacityUnits": g["ProvisionedThroughput"].get("WriteCapacityUnits", 0),
        }
        for g in table.desc.get("GlobalSecondaryIndexes", [])
    ]
    if indexes:
        out["ReplicaGlobalSecondaryIndexSettings"] = indexes
    return out


def describe_settings(svc: DynamoDBService, ctx: RequestContext, p: Params) -> Params:
    tables = _members(svc, ctx.account, p["GlobalTableName"], settings=True)
    return {
        "GlobalTableName": p["GlobalTableName"],
        "ReplicaSettings": [_replica_settings(t) for t in tables],
    }


def _scaling(update: Params) -> Params:
    out = {k: update[k] for k in ("MinimumUnits", "MaximumUnits", "AutoScalingRoleArn") if k in update}
    out["AutoScalingDisabled"] = bool(update.get("AutoScalingDisabled", False))
    policy = update.get("ScalingPolicyUpdate")
    if policy:
        config = policy["TargetTrackingScalingPolicyConfiguration"]
        out["ScalingPolicies"] = [
            {
                "PolicyName": policy.get("PolicyName", "DynamoDBWriteCapacityUtilization"),
                "TargetTrackingScalingPolicyConfiguration": config,
            }
        ]
    return out


def update_settings(svc: DynamoDBService, ctx: RequestContext, p: Params) -> Params:
    tables = _members(svc, ctx.account, p["GlobalTableName"], settings=True)
    by_region = {t.region: t for t in tables}
    mode = p.get("GlobalTableBillingMode") or _billing(tables[0])
    wcu = p.get("GlobalTableProvisionedWriteCapacityUnits")
    if mode == "PAY_PER_REQUEST" and (
        wcu is not None
        or p.get("ReplicaSettingsUpdate")
        or p.get("GlobalTableGlobalSecondaryIndexSettingsUpdate")
    ):
        raise validation(
            "One or more parameter values were invalid: provisioned capacity cannot be set "
            "when the billing mode is PAY_PER_REQUEST"
        )
    if mode == "PROVISIONED" and _billing(tables[0]) == "PAY_PER_REQUEST" and wcu is None:
        raise validation(
            "One or more parameter values were invalid: GlobalTableProvisionedWriteCapacityUnits "
            "must be specified when switching the billing mode to PROVISIONED"
        )
    for update in p.get("GlobalTableGlobalSecondaryIndexSettingsUpdate") or []:
        for table in tables:
            _index(table, update["IndexName"])
    for update in p.get("ReplicaSettingsUpdate") or []:
        table = by_region.get(update["RegionName"])
        if table is None:
            raise ServiceError(
                "ReplicaNotFoundException", f"Replica does not exist in region {update['RegionName']}"
            )
        for index in update.get("ReplicaGlobalSecondaryIndexSettingsUpdate") or []:
            _index(table, index["IndexName"])
    now = svc.runtime.now()
    with svc.runtime.store.transaction():
        for table in tables:
            pt = table.desc["ProvisionedThroughput"]
            if mode != _billing(table):
                summary: Params = {"BillingMode": mode}
                if mode == "PAY_PER_REQUEST":
                    summary["LastUpdateToPayPerRequestDateTime"] = now
                    pt.update(ReadCapacityUnits=0, WriteCapacityUnits=0)
                else:
                    pt.update(ReadCapacityUnits=wcu, WriteCapacityUnits=wcu)
                table.desc["BillingModeSummary"] = summary
            if wcu is not None:
                pt["WriteCapacityUnits"] = wcu
            for update in p.get("GlobalTableGlobalSecondaryIndexSettingsUpdate") or []:
                index_pt = _index(table, update["IndexName"])["ProvisionedThroughput"]
                if update.get("ProvisionedWriteCapacityUnits") is not None:
                    index_pt["WriteCapacityUnits"] = update["ProvisionedWriteCapacityUnits"]
            scaling = p.get("GlobalTableProvisionedWriteCapacityAutoScalingSettingsUpdate")
            if scaling:
                table.desc["_legacy"]["write_autoscaling"] = _scaling(scaling)
        for update in p.get("ReplicaSettingsUpdate") or []:
            table = by_region[update["RegionName"]]
            if update.get("ReplicaProvisionedReadCapacityUnits") is not None:
                table.desc["ProvisionedThroughput"]["ReadCapacityUnits"] = update[
                    "ReplicaProvisionedReadCapacityUnits"
                ]
            for index in update.get("ReplicaGlobalSecondaryIndexSettingsUpdate") or []:
                if index.get("ProvisionedReadCapacityUnits") is not None:
                    _index(table, index["IndexName"])["ProvisionedThroughput"]["ReadCapacityUnits"] = index[
                        "ProvisionedReadCapacityUnits"
                    ]
        for table in tables:
            svc.table_store.save(table)
    return describe_settings(svc, ctx, p)
