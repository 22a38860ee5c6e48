"""Filling a new global secondary index from the items its table already holds: the first few
milliseconds in the UpdateTable call (all of a small table), the rest in background passes while
the index shows CREATING and Backfilling, as on AWS. Done whole in the call, a table of 200,000
items held up every request for 2.4 s.

A pass walks the items in key order from where the last one stopped (`_backfill` in the index's
description, so a restart goes on from there). Writes keep the index only for items the walk has
passed (`Index.backfill_after`, in writes.py); an item beyond it is indexed as it is once the
walk reaches it. So every item is indexed once, and the index's counts need no recount."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from gondwana.services.dynamodb import background, codec, keys
from gondwana.services.dynamodb.types import item_size

if TYPE_CHECKING:
    from gondwana.services.dynamodb.schema import Table
    from gondwana.services.dynamodb.tables import Tables

ROWS = 100  # items read per statement

_AFTER = keys.items_after("rowid, spread, hk, rk, item, size")
_ENTRY = (
    "INSERT INTO dynamodb_index_entries (tid, idx, spread, hk, rk, bhk, brk, irow, item, size) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def run_pass(tables: Tables, table: Table, name: str) -> bool:
    """Index the next items for about a quantum, in the caller's unit of change; True once the
    index holds every item (or is gone)."""
    index = table.indexes.get(name)
    at = None if index is None else index.backfill_after
    if at is None:
        return True
    entry = next(g for g in table.desc["GlobalSecondaryIndexes"] if g["IndexName"] == name)
    every = index.projection == "ALL"  # entries link to the item rows (see storage)
    store = tables.runtime.store
    started = time.perf_counter()
    count = size = 0
    done = False
    while not done and time.perf_counter() - started < background.QUANTUM:
        rows = store.query(_AFTER, (table.tid, *at, ROWS))
        done = len(rows) < ROWS
        for irow, spread, hk, rk, text, stored in rows:
            at = (spread, hk, rk)
            item = codec.loads(text)
            where = index.locate(item)
            if where is None or any(next(iter(item[k])) != table.attr_types[k] for k in index.key_names):
                continue  # sparse, or a key attribute of another type (AWS leaves such items out)
            projected = None if every else index.project(item, table)
            entry_size = stored if projected is None else item_size(projected)
            text = None if projected is None else codec.dumps(projected)
            store.execute(
                _ENTRY, (table.tid, index.key, *where, hk, rk, irow if every else None, text, entry_size)
            )
            count, size = count + 1, size + entry_size
    if count:
        tables.store.count(table, 0, 0, {index.key: [count, size]})
    if done:
        entry.pop("_backfill")  # (the table settles the index ACTIVE once its time has come too)
    else:
        entry["_backfill"] = keys.stored(at)
        entry["IndexStatus"], entry["Backfilling"] = "CREATING", True
    tables.store.save(table)  # (which refreshes the indexes: the cursor the writes check)
    return done


def resume(tables: Tables, table: Table) -> None:
    """Go on with the backfills of `table` that a restart interrupted."""
    for entry in table.desc.get("GlobalSecondaryIndexes", []):
        if "_backfill" in entry:
            schedule(tables, table, entry["IndexName"])


def schedule(tables: Tables, table: Table, name: str) -> None:
    """The rest of the index's backfill in background passes."""
    background.on_table(tables, table, lambda current: run_pass(tables, current, name), "backfilling")
