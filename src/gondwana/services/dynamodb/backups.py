"""On-demand backups: CreateBackup, DescribeBackup, ListBackups, DeleteBackup and
RestoreTableFromBackup.

A backup is a copy of the table's items as they were at the request, copied in passes
(snapshots.py), and the table's description at that instant. It is CREATING until copied and for
the server's state delay, then AVAILABLE; it outlives its table. Deleting a table with
point-in-time recovery on keeps it as a SYSTEM backup for 35 days (copied the same way). A backup
feeds one restore at a time. Its restore is `restoring.restore_into`.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from gondwana.protocols.errors import ServiceError
from gondwana.services.dynamodb.errors import invalid, validation
from gondwana.services.dynamodb.misc import backup_source
from gondwana.services.dynamodb.replication.replicas import REGIONS
from gondwana.services.dynamodb.restoring import restore_into
from gondwana.services.dynamodb.snapshots import NOT_YET
from gondwana.services.dynamodb.table_specs import billing_mode
from gondwana.services.dynamodb.tables import table_name

if TYPE_CHECKING:
    from gondwana.services.dynamodb.provider import DynamoDBService
    from gondwana.services.dynamodb.schema import Table
    from gondwana.storage.reclaim import Reclaimer

_COLUMNS = "id, arn, table_name, name, created, available_at, size, item_count, source, kind, expires"
SYSTEM_KEPT = 35 * 86400.0  # how long the backup of a deleted table with recovery on is kept


def _not_found(arn: str) -> ServiceError:
    return ServiceError("BackupNotFoundException", f"Backup not found: {arn}")


def _stored_arn(ctx: Any, arn: str) -> str:
    """The backup ARN as stored. AWS finds a backup in the caller's region whatever region its ARN
    names (and echoes the ARN as given); a malformed one, or another account's, is refused."""
    parts = arn.split(":", 5)
    if (
        len(parts) != 6
        or parts[0] != "arn"
        or not parts[5].startswith("table/")
        or "/backup/" not in parts[5]
    ):
        raise validation("Invalid Backup ARN")
    if parts[1] != "aws" or parts[2] != "dynamodb" or (parts[3] not in REGIONS and parts[3] != ctx.region):
        raise validation("Invalid Request: BackupArn is not valid")
    if parts[4] != ctx.account:
        raise ServiceError("AccessDeniedException", "Access is denied")
    return ":".join([*parts[:3], ctx.region, *parts[4:]])


def _load(svc: DynamoDBService, ctx: Any, arn: str) -> tuple[Any, ...]:
    row = svc.runtime.store.query_one(
        f"SELECT {_COLUMNS} FROM dynamodb_backups WHERE arn = ? AND account = ? AND region = ? "
        "AND (expires IS NULL OR expires > ?)",
        (_stored_arn(ctx, arn), ctx.account, ctx.region, svc.runtime.now()),
    )
    if row is None:
        raise _not_found(arn)
    return (row[0], arn, *row[2:])


def _restoring(svc: DynamoDBService, arn: str) -> bool:
    """A restore from this backup is in progress (its table is CREATING): one at a time."""
    now = svc.runtime.now()
    return any(
        t.status == "CREATING"
        and (now < t.status_until or "_restoring" in t.desc)
        and t.desc.get("RestoreSummary", {}).get("SourceBackupArn") == arn
        for t in svc.table_store.creating()
    )


def _status(row: tuple[Any, ...], now: float) -> str:
    return "AVAILABLE" if now >= row[5] else "CREATING"


def _details(row: tuple[Any, ...], now: float) -> dict[str, Any]:
    details = {
        "BackupArn": row[1],
        "BackupName": row[3],
        "BackupSizeBytes": row[6],
        "BackupStatus": _status(row, now),
        "BackupType": row[9],
        "BackupCreationDateTime": row[4],
    }
    if row[10] is not None:
        details["BackupExpiryDateTime"] = row[10]
    return details


def _description(row: tuple[Any, ...], now: float) -> dict[str, Any]:
    source = json.loads(row[8])
    billing = billing_mode(source)
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
    if source.get("OnDemandThroughput"):
        table["OnDemandThroughput"] = source["OnDemandThroughput"]
    features: dict[str, Any] = {}
    if row[9] == "SYSTEM":  # (AWS records no features for the backup of a deleted table)
        return {
            "BackupDetails": _details(row, now),
            "SourceTableDetails": table,
            "SourceTableFeatureDetails": {},
        }
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
    if table.status == "CREATING":  # AWS answers as for a table that is not there (not TableInUse)
        raise ServiceError("TableNotFoundException", f"Table not found: {table.name}")
    row = _copy(svc, table, p["BackupName"], "USER")
    details = _details(row, svc.runtime.now())
    details["BackupStatus"] = "CREATING"
    return {"BackupDetails": details}


def keep_deleted(svc: DynamoDBService, table: Table) -> None:
    """A table with point-in-time recovery on is deleted: AWS keeps it as a SYSTEM backup for 35
    days ("<table>$DeletedTableBackup"), restorable, and not deletable by the user."""
    _copy(svc, table, f"{table.name}$DeletedTableBackup", "SYSTEM")


def _copy(svc: DynamoDBService, table: Table, name: str, kind: str) -> tuple[Any, ...]:
    """Store a backup of `table` as it is now: its description, and its items as a snapshot copied
    in passes (snapshots.py), CREATING until copied."""
    now = svc.runtime.now()
    ms = int(now * 1000)  # AWS: millisecond precision, the same as the ARN's id
    created = ms / 1000
    suffix = "00000000" if kind == "SYSTEM" else os.urandom(4).hex()
    arn = f"{table.desc['TableArn']}/backup/{ms:014d}-{suffix}"
    expires = created + SYSTEM_KEPT if kind == "SYSTEM" else None
    available = created + svc.runtime.state_delay
    svc.table_store.counts(table)
    store = svc.runtime.store
    with store.transaction():
        backup = store.insert(
            "INSERT INTO dynamodb_backups (arn, account, region, table_name, name, created, available_at, "
            "size, item_count, source, kind, expires) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                arn, table.account, table.region, table.name, name, created, NOT_YET, table.size_bytes,
                table.item_count, json.dumps(table.desc), kind, expires,
            ),
        )  # fmt: skip
        svc.snapshots.start(table, backup)  # (which makes it available once copied)
    return (
        backup,
        arn,
        table.name,
        name,
        created,
        available,
        table.size_bytes,
        table.item_count,
        "",
        kind,
        expires,
    )


def describe(svc: DynamoDBService, ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    return {"BackupDescription": _description(_load(svc, ctx, p["BackupArn"]), svc.runtime.now())}


def delete(svc: DynamoDBService, ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    row = _load(svc, ctx, p["BackupArn"])
    now = svc.runtime.now()
    if row[9] == "SYSTEM":
        expiry = datetime.fromtimestamp(row[10], UTC).isoformat(timespec="milliseconds")
        raise validation(
            f"Invalid Request: User is not allowed to delete the system backup with arn {row[1]}. "
            f"It will automatically expire on {expiry}"
        )
    if _status(row, now) != "AVAILABLE":
        raise ServiceError("BackupInUseException", f"Backup is being created: {row[1]}")
    if _restoring(svc, _stored_arn(ctx, row[1])):
        raise ServiceError("BackupInUseException", f"Backup is being used to restore table: {row[1]}")
    store = svc.runtime.store
    with store.transaction():
        _forget(store, svc.runtime.reclaimer, [row[0]])
    out = _description(row, now)
    out["BackupDetails"]["BackupStatus"] = "DELETED"
    return {"BackupDescription": out}


def list_backups(svc: DynamoDBService, ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    now = svc.runtime.now()
    lower, upper = p.get("TimeRangeLowerBound"), p.get("TimeRangeUpperBound")
    if lower is not None and upper is not None and lower > upper:
        raise invalid("Time range lower bound must be less than or equal to upper bound")
    where = ["account = ?", "region = ?", "(expires IS NULL OR expires > ?)"]
    params: list[Any] = [ctx.account, ctx.region, now]
    kind = p.get("BackupType", "USER")  # (by default, only the users' own)
    if kind != "ALL":
        where.append("kind = ?")
        params.append(kind)
    if p.get("TableName"):
        where.append("table_name = ?")
        params.append(table_name(p["TableName"]))
    if p.get("TimeRangeLowerBound") is not None:
        where.append("created >= ?")
        params.append(p["TimeRangeLowerBound"])
    if p.get("TimeRangeUpperBound") is not None:
        where.append("created < ?")
        params.append(p["TimeRangeUpperBound"])
    start = p.get("ExclusiveStartBackupArn")
    if start:  # a pure cursor: its position is its creation time (the id's first 14 digits), then order
        stored = _stored_arn(ctx, start)
        try:
            ms = int(stored.rsplit("/", 1)[1].split("-", 1)[0])
        except ValueError:
            raise validation("Invalid Backup ARN") from None
        where.append(
            "(created > ? OR (created = ? AND "
            "id > COALESCE((SELECT id FROM dynamodb_backups WHERE arn = ?), 0)))"
        )
        params += [ms / 1000, ms / 1000, stored]
    limit = p.get("Limit") or 100
    rows = svc.runtime.store.query(
        f"SELECT {_COLUMNS} FROM dynamodb_backups WHERE {' AND '.join(where)} ORDER BY created, id LIMIT ?",
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
    if _restoring(svc, _stored_arn(ctx, row[1])):
        raise ServiceError("BackupInUseException", f"Backup is being used to restore another table: {row[1]}")
    source = json.loads(row[8])

    summary = {
        "SourceBackupArn": _stored_arn(ctx, row[1]),
        "SourceTableArn": source["TableArn"],
        "RestoreDateTime": row[4],
    }
    return restore_into(svc, ctx, source, p, summary, filling=("_restoring", [row[0], 0]))


def forget_expired(store: Any, reclaimer: Reclaimer, now: float) -> None:
    """Drop the SYSTEM backups whose 35 days are over (the look-ups already ignore them)."""
    first = store.query_one(FIRST_EXPIRY)
    if first is not None and first[0] is not None and first[0] <= now:
        with store.transaction():
            expired = store.query("SELECT id FROM dynamodb_backups WHERE expires <= ?", (now,))
            _forget(store, reclaimer, [backup for (backup,) in expired])


# Every second: read at the front of the index of expiry times (a scan of every backup before).
FIRST_EXPIRY = "SELECT MIN(expires) FROM dynamodb_backups WHERE expires IS NOT NULL"


def _forget(store: Any, reclaimer: Reclaimer, backups: list[int]) -> None:
    """Forget the backups, in the caller's unit of change; their items go in the background (a
    backup id is never reused): deleted in the request, 100,000 of them held up every request for
    0.1 s."""
    for backup in backups:
        store.execute("DELETE FROM dynamodb_backups WHERE id = ?", (backup,))
        reclaimer.drop("dynamodb_backup_items", "backup", backup)
