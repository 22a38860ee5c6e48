"""Point-in-time recovery: RestoreTableToPointInTime.

While a table has recovery on, every change also records the image it replaced (writes.py, in
the change's own unit). An item as it was at a time T is the image its first change after T
replaced, or, if it has not changed since, the item as it is. As on AWS, the latest restorable time
is five minutes back (or the enabling, if later). Records no recovery period reaches any more (35
days) are trimmed by the TTL sweeper.

The restored table is filled in passes while it is CREATING (built whole in the call, 100,000 items
held up every request for 1.6 s): first a walk over the source's items in key order, each written
as it was at T; then a walk over the keys the records name, for the items since deleted (those
the first walk did not write). The source changing meanwhile changes nothing: a change only adds a
record after T, and never one before the first after T. Deleting the source leaves its items and
history to the restore (nothing writes them any more), reclaimed once it is done; turning its
recovery off leaves its changes recorded until the restores from it are done (finishing them in
that call held up every request for as long).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from gondwana.protocols.errors import ServiceError
from gondwana.services.dynamodb import background, codec, keys
from gondwana.services.dynamodb.errors import validation
from gondwana.services.dynamodb.misc import backup_source, restorable
from gondwana.services.dynamodb.restoring import restore_into
from gondwana.services.dynamodb.writes import KEPT_FOR_RESTORES, Change

if TYPE_CHECKING:
    from gondwana.services.dynamodb.provider import DynamoDBService
    from gondwana.services.dynamodb.schema import Table

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
    summary = {"SourceTableArn": table.desc["TableArn"], "RestoreDateTime": when}
    walk = {
        "source": [table.region, table.name, table.tid],
        "when": when,
        "walk": "items",
        "at": keys.stored(keys.FIRST),
    }
    return restore_into(svc, ctx, table.desc, p, summary, filling=("_recovering", walk))


ROWS = 100  # items (or keys) read per statement

# The image the first change after T replaced: NULL when there is none, '' when the item did not
# exist (an item's text is never empty).
_FIRST = (
    "(SELECT COALESCE(c.old, '') FROM dynamodb_pitr_changes AS c WHERE c.tid = ?1 AND c.spread = {t}.spread "
    "AND c.hk = {t}.hk AND c.rk = {t}.rk AND c.at > ?2 ORDER BY c.at, c.rowid LIMIT 1)"
)
_ITEMS = (
    f"SELECT i.spread, i.hk, i.rk, i.item, {_FIRST.format(t='i')} FROM dynamodb_items AS i "
    "WHERE i.tid = ?1 AND (i.spread, i.hk, i.rk) > (?3, ?4, ?5) ORDER BY i.spread, i.hk, i.rk LIMIT ?6"
)
_GONE = (  # the keys changed after T, in key order, with the image the first such change replaced
    f"SELECT k.spread, k.hk, k.rk, NULL, {_FIRST.format(t='k')} FROM (SELECT DISTINCT spread, hk, rk "
    "FROM dynamodb_pitr_changes WHERE tid = ?1 AND (spread, hk, rk) > (?3, ?4, ?5) AND at > ?2 "
    "ORDER BY spread, hk, rk LIMIT ?6) AS k"
)


def recover_pass(svc: DynamoDBService, table: Table) -> bool:
    """Write the next items of a restore to a point in time for about a quantum, in the caller's
    unit of change; True once all are written."""
    walk = table.desc["_recovering"]
    tid = walk["source"][2]  # (read by id: a source dropped meanwhile leaves what the walk reads)
    store = svc.runtime.store
    at = keys.position(walk["at"])
    started = time.perf_counter()
    while True:  # a chunk at least
        rows = store.query(_ITEMS if walk["walk"] == "items" else _GONE, (tid, walk["when"], *at, ROWS))
        wanted = [] if not rows or walk["walk"] == "items" else [(s, h, r) for s, h, r, *_ in rows]
        there = svc.writer.read_many(table, wanted) if wanted else {}
        changes = []
        for spread, hk, rk, current, first in rows:
            image = current if first is None else first or None  # (the item as it was at T)
            if image is not None and (spread, hk, rk) not in there:
                changes.append(Change(None, codec.loads(image), (spread, hk, rk)))
        if changes:
            svc.writer.apply_many(table, changes, now=svc.runtime.now(), region=table.region)
        if rows:
            at = rows[-1][:3]
        if len(rows) < ROWS:
            if walk["walk"] == "gone":
                return _done(svc, table, tid)
            walk["walk"], at = "gone", keys.FIRST
        if time.perf_counter() - started >= background.QUANTUM:
            break
    walk["at"] = keys.stored(at)
    svc.table_store.save(table)
    return False


def _done(svc: DynamoDBService, table: Table, source: int) -> bool:
    del table.desc["_recovering"]
    svc.table_store.save(table)
    _stop_recording(svc, source)
    svc.release_rows(source)
    return True


def _stop_recording(svc: DynamoDBService, tid: int) -> None:
    """A restore from table `tid` is done: if that table's recovery was turned off meanwhile, and
    no other restore reads it, its changes are recorded no more."""
    origin = svc.table_store.by_tid(tid)
    if origin is None or KEPT_FOR_RESTORES not in origin.desc or reading(svc, tid):
        return
    del origin.desc[KEPT_FOR_RESTORES]
    svc.table_store.save(origin)


def reading(svc: DynamoDBService, tid: int) -> bool:
    """Whether restores being written read the items and history of table `tid`."""
    return any(
        (walk := table.desc.get("_recovering")) is not None and walk["source"][2] == tid
        for table in svc.table_store.creating()
    )


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
