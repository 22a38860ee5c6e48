"""A new replica filled with its source table's items, a few milliseconds a pass: the first pass in
the UpdateTable call (all of a small table), the rest in background passes while the replica is
CREATING. Filled whole in the call, a table of 100,000 items held up every request for 2.9 s.

A pass walks the source's items in key order from where the last one stopped (`_seeding` in the
replica's description: the source region and the last key, so a restart goes on from there). The
source's writes meanwhile reach the replica through replication as any other change, so each item
the walk copies goes in by last-writer-wins (apply.py) with the version it was written with:
whichever of the walk and the replicated change comes second finds the other's, never older.

Once the items are copied, a second walk copies the source's delete tombstones the same way
(`_seeding` then ends with "tombstones"): a write another region made before one of the
source's deletes, and still queued, reaches the new replica too, and must lose there as it loses
everywhere else. Without the tombstone the replica kept that older item for good.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from gondwana.services.dynamodb import background, codec, keys, writes
from gondwana.services.dynamodb.replication.apply import apply_changes, versions

if TYPE_CHECKING:
    from gondwana.services.dynamodb.provider import DynamoDBService
    from gondwana.services.dynamodb.schema import Table

ROWS = 100  # source items read per statement

_AFTER = keys.items_after("spread, hk, rk, item, written, origin")
_TOMBSTONES_AFTER = (
    "SELECT spread, hk, rk, written, origin FROM dynamodb_repl_tombstones "
    "WHERE tid = ?1 AND (spread, hk, rk) > (?2, ?3, ?4) ORDER BY spread, hk, rk LIMIT ?5"
)


def start(svc: DynamoDBService, source: Table, replica: Table) -> bool:
    """In the caller's unit of change: the first pass, the rest in the background from the commit
    on; True when the replica already holds every item."""
    replica.desc["_seeding"] = [source.region, keys.stored(keys.FIRST)]
    if seed_pass(svc, replica):
        return True
    _in_background(svc, replica)
    return False


def resume(svc: DynamoDBService, table: Table) -> None:
    """Go on with the seeding of a replica that a restart interrupted."""
    if "_seeding" in table.desc:
        _in_background(svc, table)


def seeding(entry: dict[str, Any]) -> bool:
    """Whether a group's entry names a replica still being filled."""
    return bool(entry.get("_seeding"))


def _in_background(svc: DynamoDBService, replica: Table) -> None:
    background.on_table(svc.tables, replica, lambda current: seed_pass(svc, current), "seeding replica")


def seed_pass(svc: DynamoDBService, replica: Table) -> bool:
    """Copy the source's next items (then tombstones) for about a quantum, in the caller's unit of
    change; True once all are copied (or the source is gone)."""
    store = svc.runtime.store
    region, at, *walk = replica.desc["_seeding"]  # walk: [] (items) or ["tombstones"]
    source = svc.table_store.get(replica.account, region, replica.name)
    cursor = keys.position(at)
    started = time.perf_counter()
    done = source is None or replica.status == "DELETING"  # (a replica removed meanwhile)
    while not done:  # a chunk at least
        assert source is not None
        if walk:
            rows = store.query(_TOMBSTONES_AFTER, (source.tid, *cursor, ROWS))
            for spread, hk, rk, written, origin in rows:  # each a delete, by last-writer-wins
                apply_changes(svc, replica, [((spread, hk, rk), None)], written, origin)
            done = len(rows) < ROWS
        else:
            rows = store.query(_AFTER, (source.tid, *cursor, ROWS))
            _copy_items(svc, replica, rows)
            if len(rows) < ROWS:  # the items are copied: the tombstones next, from the first key
                walk, rows, cursor = ["tombstones"], [], keys.FIRST
        if rows:
            cursor = rows[-1][:3]
        if time.perf_counter() - started >= background.QUANTUM:
            break
    if done:
        del replica.desc["_seeding"]
        svc.table_store.save(replica)
        _settled(svc, replica)
        return True
    replica.desc["_seeding"] = [region, keys.stored(cursor), *walk]
    svc.table_store.save(replica)
    return False


def _copy_items(svc: DynamoDBService, replica: Table, rows: list[Any]) -> None:
    """Each source item the replica holds no version of as recent, written with its version."""
    held = versions(svc.runtime.store, replica.tid, [(spread, hk, rk) for spread, hk, rk, *_ in rows])
    for spread, hk, rk, text, written, origin in rows:
        where = (spread, hk, rk)
        old_text, current = held.get(where, (None, None))
        if current is not None and current >= (written, origin):
            continue  # replication brought this version (or a later one) already
        old = codec.loads(old_text) if old_text is not None else None
        change = writes.Change(old, codec.loads(text), where)
        svc.writer.apply_many(replica, [change], now=written, region=origin, replicated=True)


def _settled(svc: DynamoDBService, replica: Table) -> None:
    """Every member's entry for the replica stops saying it is being filled."""
    from gondwana.services.dynamodb.replication.replicas import members

    for member in [replica, *members(svc, replica)]:
        for entry in member.desc.get("_replicas", []):
            if entry["RegionName"] == replica.region and entry.pop("_seeding", None):
                svc.table_store.save(member)
