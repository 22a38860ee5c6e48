"""A table made from another's description, with a restore request's overrides, and filled with
items through the one write path (so indexes and counts come out as for any write). Shared by the
restores from a backup (backups.py) and to a point in time (recovery.py); as AWS documents,
streams, TTL, tags, policies and point-in-time recovery are not restored.

The items are written a few milliseconds at a time: the first pass in the call (all of a small
table), the rest in background passes while the table is CREATING, with where the filling stands
in its description so that a restart goes on: `_restoring` (the backup and its last item written)
or `_recovering` (recovery.py's walk). Written in the call, a backup of 100,000 items held up every
request for 1.1 s.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from gondwana.protocols.errors import ServiceError
from gondwana.services.dynamodb import background, codec
from gondwana.services.dynamodb.errors import validation
from gondwana.services.dynamodb.table_specs import billing_mode
from gondwana.services.dynamodb.writes import Change

if TYPE_CHECKING:
    from gondwana.services.dynamodb.provider import DynamoDBService
    from gondwana.services.dynamodb.schema import Table


def restore_into(
    svc: DynamoDBService,
    ctx: Any,
    source: dict[str, Any],
    p: dict[str, Any],
    summary: dict[str, Any],
    *,
    filling: tuple[str, Any],
) -> dict[str, Any]:
    """Create the target table from `source` (a table description) with the request's
    overrides, and fill it through the write path: `filling` is where it starts, `_restoring`
    (from a stored backup) or `_recovering` (to a point in time)."""
    target = p["TargetTableName"]
    existing = svc.tables.find(ctx.account, ctx.region, target)
    if existing is not None:
        restoring = existing.desc.get("RestoreSummary", {}).get("SourceBackupArn")
        if existing.status == "CREATING" and restoring:
            raise ServiceError(
                "TableInUseException", f"Table: {target} is already being restored from backup: {restoring}"
            )
        raise ServiceError("TableAlreadyExistsException", f"Table already exists: {target}")
    _check_overrides(source, p)
    now = svc.runtime.now()
    with svc.runtime.store.transaction():
        described = svc.tables.create(ctx, _create_params(source, p))
        table = svc.tables.find(ctx.account, ctx.region, target)
        assert table is not None
        table.desc["RestoreSummary"] = {"RestoreDateTime": now, **summary}
        table.desc[filling[0]] = filling[1]
        svc.table_store.save(table)
        if not fill_pass(svc, table):
            table.status = described["TableStatus"] = "CREATING"  # until the rest is written
            svc.table_store.save(table)
            background.on_table(svc.tables, table, lambda current: fill_pass(svc, current), "restoring")
    described["RestoreSummary"] = {**table.desc["RestoreSummary"], "RestoreInProgress": True}
    return {"TableDescription": described}


_BACKUP_ITEMS = (
    "SELECT rowid, item FROM dynamodb_backup_items WHERE backup = ? AND rowid > ? ORDER BY rowid LIMIT ?"
)
_PASS_CHUNK = 100  # items written per apply_many in a pass


FILLING = ("_restoring", "_recovering")  # (while one is in a description, the table is CREATING)


def fill_pass(svc: DynamoDBService, table: Table) -> bool:
    """Write the next items for about a quantum, in the caller's unit of change; True once all are
    written (the table then settles ACTIVE)."""
    if "_recovering" in table.desc:
        from gondwana.services.dynamodb import recovery

        return recovery.recover_pass(svc, table)
    return _backup_pass(svc, table)


def _backup_pass(svc: DynamoDBService, table: Table) -> bool:
    store = svc.runtime.store
    backup, after = table.desc["_restoring"]
    started = time.perf_counter()
    while True:  # a chunk at least
        chunk = store.query(_BACKUP_ITEMS, (backup, after, _PASS_CHUNK))
        if chunk:
            changes = [Change(None, codec.loads(text)) for _, text in chunk]
            svc.writer.apply_many(table, changes, now=svc.runtime.now(), region=table.region)
            after = chunk[-1][0]
        if len(chunk) < _PASS_CHUNK:
            del table.desc["_restoring"]
            svc.table_store.save(table)
            return True
        if time.perf_counter() - started >= background.QUANTUM:
            break
    table.desc["_restoring"] = [backup, after]
    svc.table_store.save(table)
    return False


def resume(svc: DynamoDBService, table: Table) -> None:
    """Go on with a restore that a restart interrupted."""
    if any(key in table.desc for key in FILLING):
        background.on_table(svc.tables, table, lambda current: fill_pass(svc, current), "restoring")


def _billing(source: dict[str, Any], p: dict[str, Any]) -> str:
    """The restored table's billing mode: the request's override, or the source's."""
    return p.get("BillingModeOverride") or billing_mode(source)


def _check_overrides(source: dict[str, Any], p: dict[str, Any]) -> None:
    """The overrides AWS refuses: throughput that does not fit the billing mode, and indexes the
    source did not have (a restore creates none)."""
    if p.get("ProvisionedThroughputOverride") and _billing(source, p) != "PROVISIONED":
        raise validation(
            "Invalid Request: Cannot override ProvisionedThroughput unless BillingMode is PROVISIONED"
        )
    if p.get("BillingModeOverride") == "PROVISIONED" and not p.get("ProvisionedThroughputOverride"):
        raise validation(
            "Invalid Request: Must override ProvisionedThroughput if BillingMode is overridden to PROVISIONED"
        )
    for key in ("GlobalSecondaryIndex", "LocalSecondaryIndex"):
        names = {i["IndexName"] for i in source.get(f"{key}es", [])}
        shapes = [(i["KeySchema"], i["Projection"]) for i in source.get(f"{key}es", [])]
        for index in p.get(f"{key}Override") or []:  # the same index, or one renamed
            if index["IndexName"] not in names and (index["KeySchema"], index["Projection"]) not in shapes:
                raise validation(
                    f"Invalid Request: Index {index['IndexName']} does not match a secondary index that "
                    "existed in the source table and cannot be created during the restore operation"
                )


def _create_params(source: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
    """CreateTable's parameters for a restore: the backed-up schema, with the request's overrides."""
    billing = _billing(source, p)
    params: dict[str, Any] = {
        "TableName": p["TargetTableName"],
        "AttributeDefinitions": source["AttributeDefinitions"],
        "KeySchema": source["KeySchema"],
        "BillingMode": billing,
    }
    provisioned = billing == "PROVISIONED"
    if provisioned:
        pt = p.get("ProvisionedThroughputOverride") or source["ProvisionedThroughput"]
        params["ProvisionedThroughput"] = {k: pt[k] for k in ("ReadCapacityUnits", "WriteCapacityUnits")}
    lsis = p.get("LocalSecondaryIndexOverride", source.get("LocalSecondaryIndexes"))
    if lsis:
        params["LocalSecondaryIndexes"] = [
            {k: i[k] for k in ("IndexName", "KeySchema", "Projection")} for i in lsis
        ]
    gsis = p.get("GlobalSecondaryIndexOverride", source.get("GlobalSecondaryIndexes"))
    if gsis:
        params["GlobalSecondaryIndexes"] = [_gsi(g, provisioned) for g in gsis]
    used = {
        k["AttributeName"]
        for i in [params, *params.get("LocalSecondaryIndexes", []), *params.get("GlobalSecondaryIndexes", [])]
        for k in i["KeySchema"]
    }  # an override may drop an index
    params["AttributeDefinitions"] = [a for a in source["AttributeDefinitions"] if a["AttributeName"] in used]
    if p.get("SSESpecificationOverride"):
        params["SSESpecification"] = p["SSESpecificationOverride"]
    elif source.get("SSEDescription", {}).get("SSEType") == "KMS":
        sse = source["SSEDescription"]
        params["SSESpecification"] = {"Enabled": True, "SSEType": "KMS"}
        if sse.get("KMSMasterKeyArn"):
            params["SSESpecification"]["KMSMasterKeyId"] = sse["KMSMasterKeyArn"]
    if p.get("OnDemandThroughputOverride") or (not provisioned and source.get("OnDemandThroughput")):
        params["OnDemandThroughput"] = p.get("OnDemandThroughputOverride") or source["OnDemandThroughput"]
    return params  # (the table class is not restored either)


def _gsi(index: dict[str, Any], provisioned: bool) -> dict[str, Any]:
    out = {k: index[k] for k in ("IndexName", "KeySchema", "Projection")}
    if provisioned:
        pt = index.get("ProvisionedThroughput") or {}
        out["ProvisionedThroughput"] = {
            "ReadCapacityUnits": pt.get("ReadCapacityUnits") or 1,
            "WriteCapacityUnits": pt.get("WriteCapacityUnits") or 1,
        }
    return out
