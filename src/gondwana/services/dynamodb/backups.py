"""On-demand backups: CreateBackup, DescribeBackup, ListBackups, DeleteBackup and
RestoreTableFromBackup.

A backup is a copy of the table's items taken in one statement (so it is the table at one instant)
and the table's description at that instant. It is CREATING for the server's state delay, then
AVAILABLE; it outlives its table. A restore creates a new table from the backup's schema (with the
request's overrides) and writes the items through the one write path, so indexes and counts come
out as for any write; as AWS documents, streams, TTL, tags, policies and point-in-time recovery
are not restored.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from gondwana.protocols.errors import ServiceError
from gondwana.services.dynamodb import codec
from gondwana.services.dynamodb.misc import backup_source
from gondwana.services.dynamodb.tables import table_name
from gondwana.services.dynamodb.writes import Change

if TYPE_CHECKING:
    from gondwana.services.dynamodb.provider import DynamoDBService

_COLUMNS = "id, arn, table_name, name, created, available_at, size, item_count, source"
_RESTORE_CHUNK = 500  # items written per apply_many while restoring


def _not_found(arn: str) -> ServiceError:
    return ServiceError("BackupNotFoundException", f"Backup not found: {arn}")


def _load(svc: DynamoDBService, ctx: Any, arn: str) -> tuple[Any, ...]:
    row = svc.runtime.store.query_one(
        f"SELECT {_COLUMNS} FROM dynamodb_backups WHERE arn = ? AND account = ? AND region = ?",
        (arn, ctx.account, ctx.region),
    )
    if row is None:
        raise _not_found(arn)
    return row


def _status(row: tuple[Any, ...], now: float) -> str:
    return "AVAILABLE" if now >= row[5] else "CREATING"


def _details(row: tuple[Any, ...], now: float) -> dict[str, Any]:
    return {
        "BackupArn": row[1],
        "BackupName": row[3],
        "BackupSizeBytes": row[6],
        "BackupStatus": _status(row, now),
        "BackupType": "USER",
        "BackupCreationDateTime": row[4],
    }


def _description(row: tuple[Any, ...], now: float) -> dict[str, Any]:
    source = json.loads(row[8])
    billing = source.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
    pt = source["ProvisionedThroughput"]
    table = {
        "TableName": source["TableName"],
        "TableId": source["TableId"],
        "TableArn": source["TableArn"],
        "TableSizeBytes": row[6],
        "KeySchema": source["KeySchema"],
        "TableCreationDateTime": source["CreationDateTime"],
        "ProvisionedThroughput": {k: pt[k] for k in ("ReadCapacityUnits", "WriteCapacityUnits")},
        "ItemCount": row[7],
        "BillingMode": billing,
    }
    features: dict[str, Any] = {}
    if source.get("LocalSecondaryIndexes"):
        features["LocalSecondaryIndexes"] = [
            {k: i[k] for k in ("IndexName", "KeySchema", "Projection")}
            for i in source["LocalSecondaryIndexes"]
        ]
    if source.get("GlobalSecondaryIndexes"):
        features["GlobalSecondaryIndexes"] = [
            {
                **{k: i[k] for k in ("IndexName", "KeySchema", "Projection")},
                "ProvisionedThroughput": {
                    k: i["ProvisionedThroughput"][k] for k in ("ReadCapacityUnits", "WriteCapacityUnits")
                },
            }
            for i in source["GlobalSecondaryIndexes"]
        ]
    stream = source.get("StreamSpecification")
    if stream:
        features["StreamDescription"] = stream
    ttl = source.get("_ttl")
    if ttl:
        features["TimeToLiveDescription"] = {k: ttl[k] for k in ("TimeToLiveStatus", "AttributeName")}
    if source.get("SSEDescription"):
        features["SSEDescription"] = source["SSEDescription"]
    return {
        "BackupDetails": _details(row, now),
        "SourceTableDetails": table,
        "SourceTableFeatureDetails": features,
    }


def create(svc: DynamoDBService, ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    table = backup_source(svc, ctx, p["TableName"])
    if table.status != "ACTIVE":
        raise ServiceError("TableInUseException", f"Table is not in ACTIVE state: {table.name}")
    now = svc.runtime.now()
    svc.table_store.counts(table)
    store = svc.runtime.store
    arn = f"{table.desc['TableArn']}/backup/{int(now * 1000):014d}-{os.urandom(4).hex()}"
    with store.transaction():
        backup = store.insert(
            "INSERT INTO dynamodb_backups (arn, account, region, table_name, name, created, available_at, "
            "size, item_count, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                arn,
                ctx.account,
                ctx.region,
                table.name,
                p["BackupName"],
                now,
                now + svc.runtime.state_delay,
                table.size_bytes,
                table.item_count,
                json.dumps(table.desc),
            ),
        )
        store.execute(
            "INSERT INTO dynamodb_backup_items (backup, item) "
            "SELECT ?, item FROM dynamodb_items WHERE tid = ?",
            (backup, table.tid),
        )
    row = (backup, arn, table.name, p["BackupName"], now, now + svc.runtime.state_delay, table.size_bytes)
    details = _details((*row, table.item_count, ""), now)
    details["BackupStatus"] = "CREATING"
    return {"BackupDetails": details}


def describe(svc: DynamoDBService, ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    return {"BackupDescription": _description(_load(svc, ctx, p["BackupArn"]), svc.runtime.now())}


def delete(svc: DynamoDBService, ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    row = _load(svc, ctx, p["BackupArn"])
    now = svc.runtime.now()
    if _status(row, now) != "AVAILABLE":
        raise ServiceError("BackupInUseException", f"Backup is being created: {row[1]}")
    store = svc.runtime.store
    with store.transaction():
        store.execute("DELETE FROM dynamodb_backup_items WHERE backup = ?", (row[0],))
        store.execute("DELETE FROM dynamodb_backups WHERE id = ?", (row[0],))
    out = _description(row, now)
    out["BackupDetails"]["BackupStatus"] = "DELETED"
    return {"BackupDescription": out}


def list_backups(svc: DynamoDBService, ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    now = svc.runtime.now()
    if p.get("BackupType", "USER") not in ("USER", "ALL"):
        return {"BackupSummaries": []}  # every backup here is a user's on-demand backup
    where, params = ["account = ?", "region = ?"], [ctx.account, ctx.region]
    if p.get("TableName"):
        where.append("table_name = ?")
        params.append(table_name(p["TableName"]))
    if p.get("TimeRangeLowerBound") is not None:
        where.append("created >= ?")
        params.append(p["TimeRangeLowerBound"])
    if p.get("TimeRangeUpperBound") is not None:
        where.append("created < ?")
        params.append(p["TimeRangeUpperBound"])
    if p.get("ExclusiveStartBackupArn"):
        where.append("id > COALESCE((SELECT id FROM dynamodb_backups WHERE arn = ?), 0)")
        params.append(p["ExclusiveStartBackupArn"])
    limit = p.get("Limit") or 100
    rows = svc.runtime.store.query(
        f"SELECT {_COLUMNS} FROM dynamodb_backups WHERE {' AND '.join(where)} ORDER BY id LIMIT ?",
        (*params, limit + 1),
    )
    summaries = []
    for row in rows[:limit]:
        source = json.loads(row[8])
        summary = {"TableName": row[2], "TableId": source["TableId"], "TableArn": source["TableArn"]}
        summary.update(_details(row, now))
        summaries.append(summary)
    out: dict[str, Any] = {"BackupSummaries": summaries}
    if len(rows) > limit:
        out["LastEvaluatedBackupArn"] = rows[limit - 1][1]
    return out


def restore(svc: DynamoDBService, ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    row = _load(svc, ctx, p["BackupArn"])
    now = svc.runtime.now()
    if _status(row, now) != "AVAILABLE":
        raise ServiceError("BackupInUseException", f"Backup is being created: {row[1]}")
    target = p["TargetTableName"]
    if svc.tables.find(ctx.account, ctx.region, target) is not None:
        raise ServiceError("TableAlreadyExistsException", f"Table already exists: {target}")
    store = svc.runtime.store
    with store.transaction():
        described = svc.tables.create(ctx, _create_params(json.loads(row[8]), p))
        table = svc.tables.find(ctx.account, ctx.region, target)
        assert table is not None
        table.desc["RestoreSummary"] = {
            "SourceBackupArn": row[1],
            "SourceTableArn": json.loads(row[8])["TableArn"],
            "RestoreDateTime": now,
        }
        svc.table_store.save(table)
        last = 0
        while True:
            chunk = store.query(
                "SELECT rowid, item FROM dynamodb_backup_items WHERE backup = ? AND rowid > ? "
                "ORDER BY rowid LIMIT ?",
                (row[0], last, _RESTORE_CHUNK),
            )
            if not chunk:
                break
            last = chunk[-1][0]
            changes = [Change(None, codec.loads(text)) for _, text in chunk]
            svc.writer.apply_many(table, changes, now=now, region=ctx.region)
    described["RestoreSummary"] = {**table.desc["RestoreSummary"], "RestoreInProgress": True}
    return {"TableDescription": described}


def _create_params(source: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
    """CreateTable's parameters for a restore: the backed-up schema, with the request's overrides."""
    billing = p.get("BillingModeOverride") or source.get("BillingModeSummary", {}).get(
        "BillingMode", "PROVISIONED"
    )
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
    if p.get("OnDemandThroughputOverride"):
        params["OnDemandThroughput"] = p["OnDemandThroughputOverride"]
    if source.get("TableClassSummary"):
        params["TableClass"] = source["TableClassSummary"]["TableClass"]
    return params


def _gsi(index: dict[str, Any], provisioned: bool) -> dict[str, Any]:
    out = {k: index[k] for k in ("IndexName", "KeySchema", "Projection")}
    if provisioned:
        pt = index.get("ProvisionedThroughput") or {}
        out["ProvisionedThroughput"] = {
            "ReadCapacityUnits": pt.get("ReadCapacityUnits") or 1,
            "WriteCapacityUnits": pt.get("WriteCapacityUnits") or 1,
        }
    return out
