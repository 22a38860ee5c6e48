"""On-demand backups (CreateBackup, DescribeBackup, ListBackups, DeleteBackup,
RestoreTableFromBackup) and point-in-time restores (RestoreTableToPointInTime).

A backup is a copy of the table's items taken in one statement (so it is the table at one instant)
and the table's description at that instant. It is CREATING for the server's state delay, then
AVAILABLE; it outlives its table. A restore creates a new table from the backup's schema (with the
request's overrides) and writes the items through the one write path, so indexes and counts come
out as for any write; as AWS documents, streams, TTL, tags, policies and point-in-time recovery
are not restored.

While a table has point-in-time recovery on, every change also records the image it replaced
(writes.py); the table at a time T is its items now with the changes after T undone, newest first.
Records older than the longest recovery period (35 days) are trimmed by the TTL sweeper.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from gondwana.protocols.errors import ServiceError
from gondwana.services.dynamodb import codec
from gondwana.services.dynamodb.errors import validation
from gondwana.services.dynamodb.misc import backup_source
from gondwana.services.dynamodb.tables import table_name
from gondwana.services.dynamodb.writes import Change

if TYPE_CHECKING:
    from gondwana.services.dynamodb.provider import DynamoDBService

_COLUMNS = "id, arn, table_name, name, created, available_at, size, item_count, source"
_RESTORE_CHUNK = 500  # items written per apply_many while restoring
LONGEST_RECOVERY = 35 * 86400.0


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
            (row[0], last, _RESTORE_CHUNK),
        ):
            last = chunk[-1][0]
            yield [text for _, text in chunk]

    summary = {"SourceBackupArn": row[1], "SourceTableArn": source["TableArn"], "RestoreDateTime": row[4]}
    return _restore_into(svc, ctx, source, p, texts(), summary)


def restore_to_time(svc: DynamoDBService, ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    """RestoreTableToPointInTime: the table as it was at the time asked, rebuilt from its items
    now and, undone newest first, the images its changes since then replaced."""
    name = p.get("SourceTableArn") or p.get("SourceTableName")
    if not name:
        raise validation("Either SourceTableArn or SourceTableName must be specified")
    table = backup_source(svc, ctx, name)
    pitr = table.desc.get("_pitr")
    if not pitr:
        raise ServiceError(
            "PointInTimeRecoveryUnavailableException",
            f"Point in time recovery is not enabled for table '{table.name}'",
        )
    now = svc.runtime.now()
    earliest = max(pitr["since"], now - pitr["days"] * 86400)
    when = now if p.get("UseLatestRestorableTime") else p.get("RestoreDateTime")
    if when is None:
        raise validation("RestoreDateTime must be specified when UseLatestRestorableTime is not true")
    if not earliest <= when <= now:
        raise ServiceError(
            "InvalidRestoreTimeException",
            f"RestoreDateTime {when} is outside the restorable window "
            f"[EarliestRestorableDateTime {earliest}, LatestRestorableDateTime {now}]",
        )
    store = svc.runtime.store
    states: dict[tuple[Any, ...], str | None] = {
        (spread, hk, rk): text
        for spread, hk, rk, text in store.query(
            "SELECT spread, hk, rk, item FROM dynamodb_items WHERE tid = ?", (table.tid,)
        )
    }
    for spread, hk, rk, old in store.query(
        "SELECT spread, hk, rk, old FROM dynamodb_pitr_changes WHERE tid = ? AND at > ? ORDER BY rowid DESC",
        (table.tid, when),
    ):
        states[(spread, hk, rk)] = old  # newest first: the last one set is the image at `when`
    present = [text for text in states.values() if text is not None]
    chunks = (present[i : i + _RESTORE_CHUNK] for i in range(0, len(present), _RESTORE_CHUNK))
    summary = {"SourceTableArn": table.desc["TableArn"], "RestoreDateTime": when}
    return _restore_into(svc, ctx, table.desc, p, chunks, summary)


def _restore_into(
    svc: DynamoDBService,
    ctx: Any,
    source: dict[str, Any],
    p: dict[str, Any],
    texts: Iterable[list[str]],
    summary: dict[str, Any],
) -> dict[str, Any]:
    """Create the target table from `source` (a table description) with the request's
    overrides, and write the items of `texts` (chunks of stored item text) through the write path."""
    target = p["TargetTableName"]
    if svc.tables.find(ctx.account, ctx.region, target) is not None:
        raise ServiceError("TableAlreadyExistsException", f"Table already exists: {target}")
    now = svc.runtime.now()
    with svc.runtime.store.transaction():
        described = svc.tables.create(ctx, _create_params(source, p))
        table = svc.tables.find(ctx.account, ctx.region, target)
        assert table is not None
        table.desc["RestoreSummary"] = {"RestoreDateTime": now, **summary}
        svc.table_store.save(table)
        for chunk in texts:
            changes = [Change(None, codec.loads(text)) for text in chunk]
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


def trim_history(store: Any, now: float) -> None:
    """Forget the replaced images no recovery period reaches any more: the table's front in rowid
    order (the order they were written in), up to the first one still within reach."""
    first = store.query_one("SELECT at FROM dynamodb_pitr_changes ORDER BY rowid LIMIT 1")
    if first is not None and first[0] < now - LONGEST_RECOVERY:
        with store.transaction():
            store.execute(_TRIM, (now - LONGEST_RECOVERY,))


_TRIM = (
    "DELETE FROM dynamodb_pitr_changes WHERE rowid < COALESCE("
    "(SELECT rowid FROM dynamodb_pitr_changes WHERE at >= ?1 ORDER BY rowid LIMIT 1), "
    "(SELECT MAX(rowid) + 1 FROM dynamodb_pitr_changes))"
)
