"""Point-in-time recovery: RestoreTableToPointInTime.

While a table has recovery on, every change also records the image it replaced (writes.py, in
the change's own unit). The table at a time T is its items now with the changes after T undone,
newest first. As on AWS, the latest restorable time is five minutes back (or the enabling, if later).
Records no recovery period reaches any more (35 days) are trimmed by the TTL sweeper.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from gondwana.protocols.errors import ServiceError
from gondwana.services.dynamodb.errors import validation
from gondwana.services.dynamodb.misc import backup_source, restorable
from gondwana.services.dynamodb.restoring import CHUNK, restore_into

if TYPE_CHECKING:
    from gondwana.services.dynamodb.provider import DynamoDBService

LONGEST_RECOVERY = 35 * 86400.0


def restore(svc: DynamoDBService, ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    """RestoreTableToPointInTime: the table as it was at the time asked, rebuilt from its items
    now and, undone newest first, the images its changes since then replaced."""
    name = _source(ctx, p)
    latest, when = p.get("UseLatestRestorableTime"), p.get("RestoreDateTime")
    if latest and when is not None:
        raise validation(
            "Invalid Request: Both RestoreDateTime and UseLatestRestorableTime cannot be set for "
            "point-in-time restore request. Please specify only one."
        )
    if not latest and when is None:
        raise validation(
            "Invalid Request: Either one of RestoreDateTime or UseLatestRestorableTime must be specified, "
            "but not both"
        )
    table = backup_source(svc, ctx, name, named=not p.get("SourceTableArn"))
    pitr = table.desc.get("_pitr")
    if not pitr:
        raise ServiceError(
            "PointInTimeRecoveryUnavailableException",
            f"Point in time recovery is not enabled for table '{table.name}'",
        )
    earliest, last = restorable(pitr, svc.runtime.now())
    if latest:
        when = last
    if not earliest <= when <= last:
        raise ServiceError(
            "InvalidRestoreTimeException",
            f"RestoreDateTime '{_iso(when)}' must be within EarliestRestorableDateTime '{_iso(earliest)}' "
            f"and LatestRestorableDateTime '{_iso(last)}'",
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
    chunks = (present[i : i + CHUNK] for i in range(0, len(present), CHUNK))
    summary = {"SourceTableArn": table.desc["TableArn"], "RestoreDateTime": when}
    return restore_into(svc, ctx, table.desc, p, summary, texts=chunks)


def _source(ctx: Any, p: dict[str, Any]) -> str:
    """The source table's name or ARN: exactly one of them, and the ARN the caller's own."""
    name, arn = p.get("SourceTableName"), p.get("SourceTableArn")
    if name and arn:
        raise validation("Must provide exactly one of: sourceTableArn, sourceTableName")
    if not name and not arn:
        raise validation("The parameter 'TableName' is required but was not present in the request")
    if arn:
        parts = arn.split(":")
        if (
            len(parts) != 6
            or parts[0] != "arn"
            or parts[2] != "dynamodb"
            or not parts[5].startswith("table/")
        ):
            raise validation("sourceTableArn is not a valid ARN")
        if parts[4] != ctx.account:
            raise validation(
                "This action is only supported by accounts that match the resource owner’s account."
            )
        return arn
    return name


def _iso(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def history_due(store: Any, now: float) -> bool:
    """Whether the oldest replaced image is out of every recovery period's reach."""
    first = store.query_one("SELECT at FROM dynamodb_pitr_changes ORDER BY rowid LIMIT 1")
    return first is not None and first[0] < now - LONGEST_RECOVERY


def trim_history(store: Any, now: float, limit: int) -> bool:
    """Forget the replaced images no recovery period reaches any more, at most `limit` of them (in
    the caller's unit of change): the table's front in rowid order (the order they were written
    in), up to the first one still within reach. True when `limit` were forgotten: more may be due."""
    return store.execute(_TRIM, (now - LONGEST_RECOVERY, limit)) == limit


_FRONT = "(SELECT rowid AS id, at FROM dynamodb_pitr_changes ORDER BY rowid LIMIT ?2)"
_TRIM = (
    "DELETE FROM dynamodb_pitr_changes WHERE rowid < COALESCE("
    f"(SELECT MIN(id) FROM {_FRONT} WHERE at >= ?1), (SELECT MAX(id) + 1 FROM {_FRONT}))"
)
