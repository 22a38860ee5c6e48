"""The one way an item changes: its row, its index entries, the table's counters, its stream record.

Callers wrap `apply` / `apply_many` in `store.transaction()`, so a change and everything derived
from it commit together or not at all. A set of changes to one table is gathered first and written
with one statement per kind of row (executemany) and one counter update, and each item is encoded
and sized once. Entries of indexes that project ALL link to the item's row (see storage), so they
are written only when the item enters, leaves or moves within the index.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from gondwana.protocols import json_codec
from gondwana.services.dynamodb import codec, keys
from gondwana.services.dynamodb import kinesis_destinations as destinations
from gondwana.services.dynamodb.capacity import write_units
from gondwana.services.dynamodb.item_cache import ItemCache, Key
from gondwana.services.dynamodb.keys import Where
from gondwana.services.dynamodb.replication.strong import is_strong
from gondwana.services.dynamodb.schema import Index, Table
from gondwana.services.dynamodb.shards import append_many
from gondwana.services.dynamodb.storage import TableStore, add_count
from gondwana.services.dynamodb.types import Item, item_size
from gondwana.storage import Store

SERVICE_IDENTITY = {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}

_GET = "SELECT item, size FROM dynamodb_items WHERE tid = ? AND spread = ? AND hk = ? AND rk = ?"
# A put presumed new: writes nothing (changes no row) when an item has the key.
_INSERT = (
    "INSERT INTO dynamodb_items (tid, spread, hk, rk, item, size, written, origin, expires) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tid, spread, hk, rk) DO NOTHING"
)
_DELETE = "DELETE FROM dynamodb_items WHERE tid = ? AND spread = ? AND hk = ? AND rk = ?"
_PUT = (
    "INSERT INTO dynamodb_items (tid, spread, hk, rk, item, size, written, origin, expires) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tid, spread, hk, rk) DO UPDATE SET "
    "item = excluded.item, size = excluded.size, written = excluded.written, origin = excluded.origin, "
    "expires = excluded.expires"
)
_INDEX_DELETE = (
    "DELETE FROM dynamodb_index_entries WHERE tid = ? AND idx = ? AND spread = ? AND hk = ? AND rk = ? "
    "AND bhk = ? AND brk = ?"
)
_INDEX_PUT = (
    "INSERT INTO dynamodb_index_entries (tid, idx, spread, hk, rk, bhk, brk, irow, item, size) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?) ON CONFLICT (tid, idx, spread, hk, rk, bhk, brk) "
    "DO UPDATE SET irow = NULL, item = excluded.item, size = excluded.size"
)
# In the description of a table whose recovery was turned off while restores from it were being
# written: its changes are still recorded, for them, until they are done (recovery.py).
KEPT_FOR_RESTORES = "_pitr_for_restores"
_HISTORY = "INSERT INTO dynamodb_pitr_changes (tid, at, spread, hk, rk, old) VALUES (?, ?, ?, ?, ?, ?)"
# An entry of an index that projects ALL: a link to its item's row (written just before).
_INDEX_LINK = (
    "INSERT INTO dynamodb_index_entries (tid, idx, spread, hk, rk, bhk, brk, irow, item, size) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, (SELECT rowid FROM dynamodb_items WHERE tid = ?1 AND spread = ?8 "
    "AND hk = ?6 AND rk = ?7), NULL, NULL) ON CONFLICT (tid, idx, spread, hk, rk, bhk, brk) "
    "DO UPDATE SET irow = excluded.irow, item = NULL, size = NULL"
)


def _get_many(n: int) -> str:
    wanted = ", ".join(["(?, ?, ?)"] * n)
    return (
        f"WITH k(spread, hk, rk) AS (VALUES {wanted}) SELECT i.spread, i.hk, i.rk, i.item, i.size FROM k "
        "JOIN dynamodb_items AS i ON i.tid = ? AND i.spread = k.spread AND i.hk = k.hk AND i.rk = k.rk"
    )


# A few fixed widths (padded with repeats of the last key): constant SQL texts the statement cache keeps.
_GET_MANY = {n: _get_many(n) for n in (8, 32)}


@dataclass(slots=True)
class Change:
    """One item's change, with what the caller already knows about it (None: work it out)."""

    old: Item | None
    new: Item | None
    where: Where | None = None
    old_size: int | None = None
    new_size: int | None = None


class _Rows:
    """The rows a set of changes writes, gathered to be written one statement per kind."""

    __slots__ = (
        "count",
        "deletes",
        "history",
        "index_counts",
        "index_deletes",
        "index_links",
        "index_puts",
        "puts",
        "records",
        "size",
    )

    def __init__(self) -> None:
        self.deletes: list[tuple[Any, ...]] = []
        self.puts: list[tuple[Any, ...]] = []
        self.index_deletes: list[tuple[Any, ...]] = []
        self.index_puts: list[tuple[Any, ...]] = []
        self.index_links: list[tuple[Any, ...]] = []
        self.records: list[str] = []
        self.history: list[tuple[Any, ...]] = []  # replaced images, for point-in-time recovery
        self.count = 0
        self.size = 0
        self.index_counts: dict[str, list[int]] = {}  # by index: [items, bytes] added


class Writer:
    def __init__(self, store: Store, tables: TableStore) -> None:
        self.store = store
        self.tables = tables
        self.replication: Any = None  # told of every local change to a global table
        self.kinesis: Any = None  # the Kinesis service, for streaming destinations (None: not served)
        self.snapshots: Any = None  # backups being copied (snapshots.py), told before items change
        self.cache = ItemCache()  # every item write below drops its entry (and may keep the new one)
        self._kept: list[Key] = []  # entries kept by writes of the commit group now open
        self._committing = False  # whether that group has reached its commit

    # ---- reads -------------------------------------------------------------------------------

    def get(self, table: Table, key: Item) -> Item | None:
        return self.read(table, table.encode_key(key))[0]

    def read(self, table: Table, where: Where) -> tuple[Item | None, int]:
        """The item at an encoded key and its size (0 when there is none)."""
        text, size = self.read_text(table, where)
        return (None, 0) if text is None else (codec.loads(text), size)

    def read_many(self, table: Table, wheres: Sequence[Where]) -> dict[Where, tuple[Item, int]]:
        """The items (and sizes) at several encoded keys, those that exist: one statement per 32."""
        found: dict[Where, tuple[Item, int]] = {}
        for start in range(0, len(wheres), 32):
            chunk = list(wheres[start : start + 32])
            width = 8 if len(chunk) <= 8 else 32
            chunk += [chunk[-1]] * (width - len(chunk))
            args = [value for where in chunk for value in where]
            args.append(table.tid)
            for spread, hk, rk, text, size in self.store.query(_GET_MANY[width], args):
                found[spread, hk, rk] = (codec.loads(text), size)
        return found

    def read_text(self, table: Table, where: Where) -> tuple[str | None, int]:
        """The stored text of the item at an encoded key and its size (None and 0 when there is none)."""
        key = (table.tid, where)
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        row = self.store.query_one(_GET, (table.tid, *where))
        if row is None:
            return None, 0
        if not self.store.pending:  # committed: worth keeping (see item_cache)
            self.cache.keep(key, row[0], row[1])
        return row

    def collection_size(self, table: Table, hash_value: dict[str, Any]) -> int:
        """Bytes stored under one partition key (an item collection)."""
        hk = keys.encode(hash_value)
        row = self.store.query_one(
            "SELECT COALESCE(SUM(size), 0) FROM dynamodb_items WHERE tid = ? AND spread = ? AND hk = ?",
            (table.tid, keys.spread(hk), hk),
        )
        return row[0] if row else 0

    # ---- the change --------------------------------------------------------------------------

    def apply(
        self,
        table: Table,
        old: Item | None,
        new: Item | None,
        *,
        now: float,
        region: str,
        identity: dict[str, str] | None = None,
        replicated: bool = False,
    ) -> dict[str, float]:
        """Replace `old` with `new` (either may be None) for the item whose key they share.

        `replicated` marks a change arriving from another replica (not to be sent on again).
        Returns the write units each secondary index consumed."""
        return self.apply_many(
            table, (Change(old, new),), now=now, region=region, identity=identity, replicated=replicated
        )[1]

    def apply_many(
        self,
        table: Table,
        changes: Sequence[Change],
        *,
        now: float,
        region: str,
        identity: dict[str, str] | None = None,
        replicated: bool = False,
        last: bool = False,
    ) -> tuple[float, dict[str, float]]:
        """`apply` for changes to distinct items of one table; returns the write units the table
        and each index consumed. `last`: nothing after this call can fail the caller's unit of
        change, so the table's counters may be added once per commit group (see TableStore.count)
        and the items it writes over kept for their next read (see _keep)."""
        done = self._apply(table, changes, now, region, identity, replicated, last, fresh=False)
        assert done is not None
        return done

    def unit(self, table: Table) -> AbstractContextManager[None]:
        """The unit of change of a single-item write (its read, checks, then `apply_many(last=True)`
        or `put_new`): it joins the commit group without a savepoint (see Store.transaction), as
        nothing in it fails once it has written; except on a strongly consistent global table,
        whose write can still be refused as it replicates (after writing locally)."""
        return self.store.transaction(undo_group=not is_strong(table))

    def put_new(
        self, table: Table, item: Item, where: Where, size: int, *, now: float, region: str
    ) -> tuple[float, dict[str, float]] | None:
        """Write `item` as a new item, in one statement fewer than reading first: None (and
        nothing written) when an item with its key exists. Only as the end of a unit of change."""
        if self.cache.get((table.tid, where)) is not None:
            return None  # known to exist: no need to try
        change = Change(None, item, where, 0, size)
        return self._apply(table, (change,), now, region, None, False, True, fresh=True)

    def _apply(
        self,
        table: Table,
        changes: Sequence[Change],
        now: float,
        region: str,
        identity: dict[str, str] | None,
        replicated: bool,
        last: bool,
        fresh: bool,
    ) -> tuple[float, dict[str, float]] | None:
        rows = _Rows()
        units: dict[str, float] = {}
        table_units = 0.0
        replicate = not replicated and self.replication is not None and "_replicas" in table.desc
        outgoing: list[tuple[Item, Item | None]] = []  # for the other replicas: told once per call
        spec = table.desc.get("StreamSpecification")
        view = spec["StreamViewType"] if spec and spec.get("StreamEnabled") else None
        destination = destinations.target(table, now)
        sent: list[tuple[str, bytes]] = []  # change records for the destination's Kinesis stream
        made = (destination[1] if destination else "", now, table.region, identity)  # (the stream's region)
        # the replicas, the stream and the destination are told the item's key
        keyed = replicate or view is not None or destination is not None
        indexes = table.indexes.values()
        tid = table.tid
        pitr = "_pitr" in table.desc or KEPT_FOR_RESTORES in table.desc
        drop = self.cache.drop
        kept: list[tuple[Key, str, int]] = []  # items written over, to keep for their next read
        walks = self.snapshots.walking.get(tid) if self.snapshots is not None else None
        before: list[tuple[Where, Item | None]] = []  # for the backups being copied
        for change in changes:
            old, new = change.old, change.new
            if old is None and new is None:
                table_units += write_units(0)  # deleting nothing still costs a write
                continue
            current: Item = new if new is not None else old  # type: ignore[assignment]
            key = table.key_of(current) if keyed else current  # the key alone only where it is used
            if replicate:
                outgoing.append((key, new))
            spread, hk, rk = where = change.where or table.encode_key(current)
            drop((tid, where))
            if walks is not None:
                before.append((where, old))
            old_size = 0 if old is None else item_size(old) if change.old_size is None else change.old_size
            if new is None:
                new_size, text = 0, None
                rows.deletes.append((tid, spread, hk, rk))
            else:
                new_size = item_size(new) if change.new_size is None else change.new_size
                text = codec.dumps(new)
                rows.puts.append((tid, spread, hk, rk, text, new_size, now, region, expiry(table, new)))
                if last and old is not None:
                    kept.append(((tid, where), text, new_size))
            if pitr and old != new:
                rows.history.append((tid, now, spread, hk, rk, None if old is None else codec.dumps(old)))
            rows.count += (new is not None) - (old is not None)
            rows.size += new_size - old_size
            table_units += write_units(max(new_size, old_size))
            for index in indexes:
                if index.backfill_after is not None and where > index.backfill_after:
                    continue  # not reached by the index's backfill yet, which indexes it as it is then
                used = _index(table, index, where, old, new, old_size, new_size, rows)
                if used:
                    units[index.name] = units.get(index.name, 0.0) + used
            if view is not None and old != new:
                rows.records.append(_record(view, key, old, new, region, identity, text, new_size, old_size))
            if destination is not None and old != new:
                sent.append(destinations.record(table, made, key, old, new, text, (new_size, old_size)))
        if fresh:  # the one put first: when it changes nothing, nothing else is written either
            if not self.store.execute(_INSERT, rows.puts[0]):
                return None
            rows.puts.clear()
        if before:
            self.snapshots.preserve(walks, before)
        self._write(table, rows, now)
        if sent and self.kinesis is not None:
            self.kinesis.deliver(destination[0], sent)  # type: ignore[index]
        if outgoing:
            self.replication.local_changes(table, outgoing, now, region)
        if rows.count or rows.size or rows.index_counts:  # last: after everything that can fail
            self.tables.count(table, rows.count, rows.size, rows.index_counts, later=last)
        if kept:
            self._keep(kept)
        return table_units, units

    def _keep(self, kept: list[tuple[Key, str, int]]) -> None:
        """Cache what `last` writes stored over existing items (an item written is likely read or
        written again; new ones are not cached, so bulk loads do not push read items out). Only a
        failed commit group can undo such writes (see apply_many), and then their entries go too."""
        if not self._kept:
            self._committing = False
            self.store.before_commit(self._commit_begins)  # (a group rolled back never gets there)
            self.store.after_commit(self._group_done)
        for key, text, size in kept:
            self._kept.append(key)
            self.cache.keep(key, text, size)

    def _commit_begins(self) -> None:
        self._committing = True

    def _group_done(self, error: BaseException | None) -> None:
        kept, self._kept = self._kept, []
        if error is not None or not self._committing:
            for key in kept:
                self.cache.drop(key)

    def _write(self, table: Table, rows: _Rows, now: float) -> None:
        run = self._run
        if rows.deletes:
            run(_DELETE, rows.deletes)
        if rows.puts:
            run(_PUT, rows.puts)
        if rows.index_deletes:
            run(_INDEX_DELETE, rows.index_deletes)
        if rows.index_puts:
            run(_INDEX_PUT, rows.index_puts)
        if rows.index_links:
            run(_INDEX_LINK, rows.index_links)
        if rows.history:
            run(_HISTORY, rows.history)
        if rows.records:
            append_many(self.store, table.desc["LatestStreamArn"], now, rows.records)

    def _run(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        if len(rows) == 1:
            self.store.execute(sql, rows[0])
        else:
            self.store.executemany(sql, rows)


def _index(
    table: Table,
    index: Index,
    where: Where,
    old: Item | None,
    new: Item | None,
    old_size: int,
    new_size: int,
    rows: _Rows,
) -> float:
    """Gather the index rows for one change, and what it adds to the index's item count and size;
    returns the write units the index consumed."""
    every = index.projection == "ALL"  # the index holds the whole item: its entry links to the item
    if every and old is not None and new is not None and index.same_key(old, new):
        # The same index key values (no need to encode them): the entry, if any, stays and its
        # link finds the changed item.
        if old == new or not index.holds(old):
            return 0.0
        add_count(rows.index_counts, index.key, 0, new_size - old_size)
        return write_units(new_size)
    old_key = index.locate(old)
    new_key = index.locate(new)
    if old_key is None and new_key is None:
        return 0.0
    old_view = (old if every else index.project(old, table)) if old_key is not None else None  # type: ignore[arg-type]
    new_view = (new if every else index.project(new, table)) if new_key is not None else None  # type: ignore[arg-type]
    if old_key == new_key and old_view == new_view:
        return 0.0  # what the index stores did not change: no index write, no charge
    spread, bhk, brk = where
    units = 0.0
    old_entry = 0 if old_view is None else old_size if every else item_size(old_view)
    if old_key is not None and old_key != new_key:
        units += write_units(old_entry)
        rows.index_deletes.append((table.tid, index.key, *old_key, bhk, brk))
        add_count(rows.index_counts, index.key, -1, -old_entry)
    if new_key is not None and new_view is not None:
        if not every:
            size = item_size(new_view)
            rows.index_puts.append((table.tid, index.key, *new_key, bhk, brk, codec.dumps(new_view), size))
            units += write_units(size)
        else:
            size = new_size
            if new_key != old_key:  # the same key: the entry's link still finds the (changed) item
                rows.index_links.append((table.tid, index.key, *new_key, bhk, brk, spread))
            units += write_units(new_size)
        if new_key == old_key:  # the entry is written over
            add_count(rows.index_counts, index.key, 0, size - old_entry)
        else:
            add_count(rows.index_counts, index.key, 1, size)
    return units


def _record(
    view: str,
    key: Item,
    old: Item | None,
    new: Item | None,
    region: str,
    identity: dict[str, str] | None,
    text: str | None,
    new_size: int,
    old_size: int,
) -> str:
    """One stream record (as stored: JSON whose images are the items' stored text)."""
    event = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
    record: dict[str, Any] = {"id": os.urandom(16).hex(), "event": event, "region": region, "view": view}
    record["keys"] = codec.dumps(key)
    size = item_size(key)
    if new is not None and view in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES"):
        record["new"] = text
        size += new_size
    if old is not None and view in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES"):
        record["old"] = codec.dumps(old)
        size += old_size
    record["size"] = size
    if identity:
        record["identity"] = identity
    return json_codec.dumps(record).decode()


def expiry(table: Table, item: Item) -> float | None:
    """The item's TTL in epoch seconds when the table has TTL on and the attribute is a Number."""
    ttl = table.desc.get("_ttl")
    if not ttl or ttl.get("TimeToLiveStatus") != "ENABLED":
        return None
    value = item.get(ttl["AttributeName"])
    if value is None or "N" not in value:
        return None
    return float(value["N"])
