"""On-demand backups: CreateBackup, DescribeBackup, ListBackups, DeleteBackup and
RestoreTableFromBackup.

A backup is a copy of the table's items taken in one statement (so it is the table at one instant)
and the table's description at that instant. It is CREATING for the server's state delay, then
AVAILABLE; it outlives its table. Its restore is `restoring.restore_into`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from gondwana.protocols.errors import ServiceError
from gondwana.services.dynamodb.misc import backup_source
from gondwana.services.dynamodb.restoring import CHUNK, restore_into
from gondwana.services.dynamodb.tables import table_name

if TYPE_CHECKING:
    from gondwana.services.dynamodb.provider import DynamoDBService

_COLUMNS = "id, arn, table_name, name, created, available_at, size, item_count, source"


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
    if _status(row, svc.runtime.now()) != "AVAILABLE":
        raise ServiceError("BackupInUseException", f"Backup is being created: {row[1]}")
    source = json.loads(row[8])

    def texts() -> Iterator[list[str]]:
        last = 0
        while chunk := svc.runtime.store.query(
            "SELECT rowid, item FROM dynamodb_backup_items WHERE backup = ? AND rowid > ? "
            "ORDER BY rowid LIMIT ?",
            (row[0], last, CHUNK),
        ):
            last = chunk[-1][0]
            yield [text for _, text in chunk]

    summary = {"SourceBackupArn": row[1], "SourceTableArn": source["TableArn"], "RestoreDateTime": row[4]}
    return restore_into(svc, ctx, source, p, texts(), summary)
