"""The expiry of a table's existing items (`expires`, the TTL sweeper's index), set again in passes
of a few milliseconds when UpdateTimeToLive turns TTL on or off. Set in the call, 100,000 items held
up every request for 1 s.

A pass walks the items in key order from where the last one stopped (`_ttl_walk` in the table's
description, so a restart goes on). Writes meanwhile set their item's expiry from the new setting
themselves; an item not reached yet may keep its old one, which the sweeper checks against the
setting before it deletes anything (ttl.py), as AWS takes its time too.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from gondwana.services.dynamodb import background, codec, keys
from gondwana.services.dynamodb.writes import expiry

if TYPE_CHECKING:
    from gondwana.services.dynamodb.provider import DynamoDBService
    from gondwana.services.dynamodb.schema import Table

ROWS = 200  # items read per statement

_AFTER = keys.items_after("spread, hk, rk, item, expires")
SET_EXPIRY = "UPDATE dynamodb_items SET expires = ? WHERE tid = ? AND spread = ? AND hk = ? AND rk = ?"


def start(svc: DynamoDBService, table: Table) -> None:
    """In the caller's unit of change, once the table's TTL setting changed: the first pass, the
    rest in the background from the commit on (a walk already going starts again from the first
    item, with the passes it has)."""
    going = "_ttl_walk" in table.desc
    table.desc["_ttl_walk"] = keys.stored(keys.FIRST)
    if not expiry_pass(svc, table) and not going:
        _in_background(svc, table)


def resume(svc: DynamoDBService, table: Table) -> None:
    """Go on with a walk that a restart interrupted."""
    if "_ttl_walk" in table.desc:
        _in_background(svc, table)


def _in_background(svc: DynamoDBService, table: Table) -> None:
    background.on_table(svc.tables, table, lambda current: expiry_pass(svc, current), "indexing expiry of")


def expiry_pass(svc: DynamoDBService, table: Table) -> bool:
    """Set the expiry of the next items for about a quantum, in the caller's unit of change; True
    once every item has it."""
    store = svc.runtime.store
    at = table.desc.get("_ttl_walk")
    if at is None:
        return True
    cursor = keys.position(at)
    started = time.perf_counter()
    while True:  # a chunk at least
        rows = store.query(_AFTER, (table.tid, *cursor, ROWS))
        changed = [
            (new, table.tid, spread, hk, rk)
            for spread, hk, rk, text, old in rows
            if (new := expiry(table, codec.loads(text))) != old
        ]
        if changed:
            store.executemany(SET_EXPIRY, changed)
        if len(rows) < ROWS:
            del table.desc["_ttl_walk"]
            svc.table_store.save(table)
            return True
        cursor = rows[-1][:3]
        if time.perf_counter() - started >= background.QUANTUM:
            break
    table.desc["_ttl_walk"] = keys.stored(cursor)
    svc.table_store.save(table)
    return False
