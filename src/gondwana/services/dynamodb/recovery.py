"""Point-in-time recovery: RestoreTableToPointInTime.

While a table has recovery on, every change also records the image it replaced (writes.py, in
the change's own unit). The table at a time T is its items now with the changes after T undone,
newest first. Records no recovery period reaches any more (35 days) are trimmed by the TTL sweeper.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gondwana.protocols.errors import ServiceError
from gondwana.services.dynamodb.errors import validation
from gondwana.services.dynamodb.misc import backup_source
from gondwana.services.dynamodb.restoring import CHUNK, restore_into

if TYPE_CHECKING:
    from gondwana.services.dynamodb.provider import DynamoDBService

LONGEST_RECOVERY = 35 * 86400.0


def restore(svc: DynamoDBService, ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
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
    chunks = (present[i : i + CHUNK] for i in range(0, len(present), CHUNK))
    summary = {"SourceTableArn": table.desc["TableArn"], "RestoreDateTime": when}
    return restore_into(svc, ctx, table.desc, p, chunks, summary)


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
