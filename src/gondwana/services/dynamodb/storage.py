"""SQL for DynamoDB: table metadata, items, index entries, stream records and idempotency tokens.

Every item row carries its write timestamp (`written`) and the region that made the write
(`origin`): what global-table replication needs to resolve conflicts last-writer-wins (ties broken
by origin). Stream records carry the same pair (`created`, the record's `region`) and are kept in
write order per stream, so a replicator can follow a table's changes in order, as AWS's global
tables follow the table's stream. (Replicated deletes will also need tombstones with their
timestamp; they belong with the replica machinery.)

Unique key indexes put (table, spread, hash, range) first so point reads, queries and ordered scans
are index walks whose cost does not depend on the size of the table.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from gondwana.services.dynamodb import keys, limits
from gondwana.services.dynamodb.schema import Table
from gondwana.storage import Store
from gondwana.storage.reclaim import Reclaimer

MIGRATIONS = [
    """
    CREATE TABLE dynamodb_tables (
        tid INTEGER PRIMARY KEY AUTOINCREMENT,
        account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL,
        descr TEXT NOT NULL, status TEXT NOT NULL, status_until REAL NOT NULL,
        item_count INTEGER NOT NULL DEFAULT 0, size_bytes INTEGER NOT NULL DEFAULT 0,
        UNIQUE (account, region, name));
    CREATE TABLE dynamodb_items (
        tid INTEGER NOT NULL, spread INTEGER NOT NULL, hk BLOB NOT NULL, rk BLOB NOT NULL,
        item TEXT NOT NULL, size INTEGER NOT NULL, written REAL NOT NULL, origin TEXT NOT NULL, expires REAL,
        PRIMARY KEY (tid, spread, hk, rk)) WITHOUT ROWID;
    CREATE INDEX dynamodb_items_expiry ON dynamodb_items (expires) WHERE expires IS NOT NULL;
    CREATE TABLE dynamodb_index_items (
        tid INTEGER NOT NULL, idx TEXT NOT NULL, spread INTEGER NOT NULL, hk BLOB NOT NULL, rk BLOB NOT NULL,
        bhk BLOB NOT NULL, brk BLOB NOT NULL, item TEXT NOT NULL, size INTEGER NOT NULL,
        PRIMARY KEY (tid, idx, spread, hk, rk, bhk, brk)) WITHOUT ROWID;
    CREATE TABLE dynamodb_streams (
        arn TEXT PRIMARY KEY, account TEXT NOT NULL, region TEXT NOT NULL, table_name TEXT NOT NULL,
        tid INTEGER NOT NULL, label TEXT NOT NULL, view_type TEXT NOT NULL, key_schema TEXT NOT NULL,
        created REAL NOT NULL, closed REAL);
    CREATE INDEX dynamodb_streams_by_table ON dynamodb_streams (account, region, table_name);
    CREATE TABLE dynamodb_stream_shards (
        arn TEXT NOT NULL, shard_id TEXT NOT NULL, parent TEXT, start_seq INTEGER, end_seq INTEGER,
        created REAL NOT NULL, closed REAL, PRIMARY KEY (arn, shard_id));
    CREATE TABLE dynamodb_stream_records (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, arn TEXT NOT NULL, shard_id TEXT NOT NULL,
        created REAL NOT NULL, record TEXT NOT NULL);
    CREATE INDEX dynamodb_stream_records_by_arn ON dynamodb_stream_records (arn, seq);
    CREATE INDEX dynamodb_stream_records_by_age ON dynamodb_stream_records (created);
    CREATE TABLE dynamodb_tokens (
        account TEXT NOT NULL, region TEXT NOT NULL, token TEXT NOT NULL, digest TEXT NOT NULL,
        created REAL NOT NULL, PRIMARY KEY (account, region, token));
    """,
    # Items (~1 KB and up) as rows of rowid tables with a unique key index, not WITHOUT ROWID rows:
    # a WITHOUT ROWID row over ~1 KB spills into an overflow page and lands on a random leaf, so a
    # write dirtied 3-4 pages per item; now new rows append to one page and only the small key
    # entry lands at random (BatchWriteItem of 25: ~85 -> ~30 pages per commit).
    """
    CREATE TABLE dynamodb_items_v2 (
        tid INTEGER NOT NULL, spread INTEGER NOT NULL, hk BLOB NOT NULL, rk BLOB NOT NULL,
        item TEXT NOT NULL, size INTEGER NOT NULL, written REAL NOT NULL, origin TEXT NOT NULL, expires REAL);
    INSERT INTO dynamodb_items_v2 (tid, spread, hk, rk, item, size, written, origin, expires)
        SELECT tid, spread, hk, rk, item, size, written, origin, expires FROM dynamodb_items;
    DROP TABLE dynamodb_items;
    ALTER TABLE dynamodb_items_v2 RENAME TO dynamodb_items;
    CREATE UNIQUE INDEX dynamodb_items_key ON dynamodb_items (tid, spread, hk, rk);
    CREATE INDEX dynamodb_items_expiry ON dynamodb_items (expires) WHERE expires IS NOT NULL;
    CREATE TABLE dynamodb_index_items_v2 (
        tid INTEGER NOT NULL, idx TEXT NOT NULL, spread INTEGER NOT NULL, hk BLOB NOT NULL, rk BLOB NOT NULL,
        bhk BLOB NOT NULL, brk BLOB NOT NULL, item TEXT NOT NULL, size INTEGER NOT NULL);
    INSERT INTO dynamodb_index_items_v2 (tid, idx, spread, hk, rk, bhk, brk, item, size)
        SELECT tid, idx, spread, hk, rk, bhk, brk, item, size FROM dynamodb_index_items;
    DROP TABLE dynamodb_index_items;
    ALTER TABLE dynamodb_index_items_v2 RENAME TO dynamodb_index_items;
    CREATE UNIQUE INDEX dynamodb_index_items_key ON dynamodb_index_items (tid, idx, spread, hk, rk, bhk, brk);
    """,
    lambda store: _link_index_entries(store),
    # Each index's item count and size, kept by every write as the table's are (DescribeTable
    # used to count the entries on every call: 0.3 s for two indexes of 200,000 items).
    """
    CREATE TABLE dynamodb_index_counts (
        tid INTEGER NOT NULL, idx TEXT NOT NULL, item_count INTEGER NOT NULL, size_bytes INTEGER NOT NULL,
        PRIMARY KEY (tid, idx)) WITHOUT ROWID;
    INSERT INTO dynamodb_index_counts (tid, idx, item_count, size_bytes)
        SELECT tid, idx, COUNT(*), COALESCE(SUM(size), 0) FROM dynamodb_index_items GROUP BY tid, idx
    """,
    # On-demand backups (backups.py): each one's source description, and a copy of its items.
    """
    CREATE TABLE dynamodb_backups (
        id INTEGER PRIMARY KEY AUTOINCREMENT, arn TEXT NOT NULL UNIQUE, account TEXT NOT NULL,
        region TEXT NOT NULL, table_name TEXT NOT NULL, name TEXT NOT NULL, created REAL NOT NULL,
        available_at REAL NOT NULL, size INTEGER NOT NULL, item_count INTEGER NOT NULL, source TEXT NOT NULL);
    CREATE INDEX dynamodb_backups_listed ON dynamodb_backups (account, region, created);
    CREATE TABLE dynamodb_backup_items (backup INTEGER NOT NULL, item TEXT NOT NULL);
    CREATE INDEX dynamodb_backup_items_of ON dynamodb_backup_items (backup)
    """,
    # Point-in-time recovery (recovery.py): while it is on, the image each change replaced.
    """
    CREATE TABLE dynamodb_pitr_changes (
        tid INTEGER NOT NULL, at REAL NOT NULL, spread INTEGER NOT NULL, hk BLOB NOT NULL, rk BLOB NOT NULL,
        old TEXT);
    CREATE INDEX dynamodb_pitr_changes_by_time ON dynamodb_pitr_changes (tid, at)
    """,
    # A backup's type (USER, or SYSTEM: a deleted table's, kept 35 days) and when it expires.
    """
    ALTER TABLE dynamodb_backups ADD COLUMN kind TEXT NOT NULL DEFAULT 'USER';
    ALTER TABLE dynamodb_backups ADD COLUMN expires REAL
    """,
    # A backup's items copied in passes (snapshots.py): where the copy stands (NULL once done), and
    # the keys of items kept (or made) ahead of it, which the copy passes over.
    """
    ALTER TABLE dynamodb_backups ADD COLUMN walked TEXT;
    CREATE TABLE dynamodb_snapshot_keys (
        backup INTEGER NOT NULL, spread INTEGER NOT NULL, hk BLOB NOT NULL, rk BLOB NOT NULL,
        PRIMARY KEY (backup, spread, hk, rk)) WITHOUT ROWID
    """,
    # A restore to a point in time written in passes (recovery.py) finds an item's first change
    # after the time asked.
    "CREATE INDEX dynamodb_pitr_changes_by_key ON dynamodb_pitr_changes (tid, spread, hk, rk, at)",
    # Transactions' tokens past their 10 minutes are forgotten by age (ttl.py).
    "CREATE INDEX dynamodb_tokens_by_age ON dynamodb_tokens (created)",
    # Streams and shards closed for 24 hours are forgotten (ttl.py): every shard lived four hours.
    """
    CREATE INDEX dynamodb_streams_by_close ON dynamodb_streams (closed);
    CREATE INDEX dynamodb_stream_shards_by_close ON dynamodb_stream_shards (closed)
    """,
    lambda store: _keep_reserved(store),
    # ListStreams pages a region's streams, or a table's, in the order they were made (streams.py).
    """
    CREATE INDEX dynamodb_streams_by_created ON dynamodb_streams (account, region, created, arn);
    DROP INDEX dynamodb_streams_by_table;
    CREATE INDEX dynamodb_streams_by_table ON dynamodb_streams (account, region, table_name, created, arn)
    """,
    lambda store: _keep_marks(store),
    # The TTL sweeper looks for SYSTEM backups past their 35 days every second (backups.py).
    "CREATE INDEX dynamodb_backups_by_expiry ON dynamodb_backups (expires) WHERE expires IS NOT NULL",
]

# Index entries of indexes that project ALL point at their item's row (`irow`) instead of holding a
# copy of it: a new item writes one small entry (not a second ~1 KB row and its key), and a change
# that keeps the index key writes no entry at all. Other projections keep their text (`item`,
# `size`). Readers see both through the view `dynamodb_index_items`, as before.
_ENTRIES = """
CREATE TABLE dynamodb_index_entries (
    tid INTEGER NOT NULL, idx TEXT NOT NULL, spread INTEGER NOT NULL, hk BLOB NOT NULL, rk BLOB NOT NULL,
    bhk BLOB NOT NULL, brk BLOB NOT NULL, irow INTEGER, item TEXT, size INTEGER,
    PRIMARY KEY (tid, idx, spread, hk, rk, bhk, brk)) WITHOUT ROWID;
CREATE VIEW dynamodb_index_items AS SELECT e.tid AS tid, e.idx AS idx, e.spread AS spread, e.hk AS hk,
    e.rk AS rk, e.bhk AS bhk, e.brk AS brk, COALESCE(e.item, i.item) AS item,
    COALESCE(e.size, i.size) AS size
    FROM dynamodb_index_entries AS e LEFT JOIN dynamodb_items AS i ON i.rowid = e.irow
"""


def _link_index_entries(store: Store) -> None:
    store.execute("ALTER TABLE dynamodb_index_items RENAME TO dynamodb_index_items_v2")
    for statement in _ENTRIES.split(";"):
        store.execute(statement)
    every = {
        (table.tid, index.name)
        for table in map(_table, store.query(f"SELECT {_COLUMNS} FROM dynamodb_tables"))
        for index in table.indexes.values()
        if index.projection == "ALL"
    }
    old = "SELECT tid, idx, spread, hk, rk, bhk, brk, item, size FROM dynamodb_index_items_v2"
    for tid, idx, spread, hk, rk, bhk, brk, text, size in store.query(old):
        irow = None
        if (tid, idx) in every:
            row = store.query_one(_ROWID, (tid, keys.spread(bhk), bhk, brk))
            irow = row[0] if row else None
        if irow is not None:
            text = size = None
        store.execute(
            "INSERT INTO dynamodb_index_entries (tid, idx, spread, hk, rk, bhk, brk, irow, item, size) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (tid, idx, spread, hk, rk, bhk, brk, irow, text, size),
        )
    store.execute("DROP TABLE dynamodb_index_items_v2")


def _keep_reserved(store: Store) -> None:
    """The capacity each table reserves (limits.reserved), and its sum per account and region, kept
    by every change of a table (CreateTable's check read every table of the region: 0.2 s at 10,000
    tables). Rows, not memory: a unit of change that fails undoes them with the table's."""
    for column in ("reserved_read", "reserved_write"):
        store.execute(f"ALTER TABLE dynamodb_tables ADD COLUMN {column} INTEGER NOT NULL DEFAULT 0")
    for tid, descr in store.query("SELECT tid, descr FROM dynamodb_tables"):
        read, write = limits.reserved(json.loads(descr))
        if read or write:
            store.execute(
                "UPDATE dynamodb_tables SET reserved_read = ?, reserved_write = ? WHERE tid = ?",
                (read, write, tid),
            )
    store.execute(
        "CREATE TABLE dynamodb_reserved (account TEXT NOT NULL, region TEXT NOT NULL, read_units INTEGER "
        "NOT NULL, write_units INTEGER NOT NULL, PRIMARY KEY (account, region)) WITHOUT ROWID"
    )
    store.execute(
        "INSERT INTO dynamodb_reserved (account, region, read_units, write_units) SELECT account, region, "
        "SUM(reserved_read), SUM(reserved_write) FROM dynamodb_tables GROUP BY account, region"
    )


def marks(desc: dict[str, Any]) -> tuple[int, int]:
    """Whether a table has contributor insights set, and whether it belongs to a global table of
    the 2017 version: kept in its row (and indexed), so that ListContributorInsights and
    ListGlobalTables read those tables alone, not every table's description (0.3 s at 10,000)."""
    return int(bool(desc.get("_insights"))), int("_legacy" in desc)


def _keep_marks(store: Store) -> None:
    for column in ("has_insights", "legacy_global"):
        store.execute(f"ALTER TABLE dynamodb_tables ADD COLUMN {column} INTEGER NOT NULL DEFAULT 0")
    for tid, descr in store.query("SELECT tid, descr FROM dynamodb_tables"):
        store.execute(
            "UPDATE dynamodb_tables SET has_insights = ?, legacy_global = ? WHERE tid = ?",
            (*marks(json.loads(descr)), tid),
        )
    store.execute(
        "CREATE INDEX dynamodb_tables_with_insights ON dynamodb_tables (account, region, name) "
        "WHERE has_insights = 1"
    )
    store.execute(
        "CREATE INDEX dynamodb_tables_legacy_global ON dynamodb_tables (account, name) "
        "WHERE legacy_global = 1"
    )


_ROWID = "SELECT rowid FROM dynamodb_items WHERE tid = ? AND spread = ? AND hk = ? AND rk = ?"

_NAMES_AFTER = (
    "SELECT name FROM dynamodb_tables WHERE account = ? AND region = ? AND name > ? ORDER BY name LIMIT ?"
)

_COLUMNS = "tid, account, region, name, descr, status, status_until, item_count, size_bytes"


def _table(row: tuple[Any, ...]) -> Table:
    tid, account, region, name, descr, status, until, count, size = row
    return Table(tid, account, region, name, json.loads(descr), status, until, count, size)


# A table's rows, by the table id that leads a key or an index of each.
_TABLE_ROWS = (
    "dynamodb_items",
    "dynamodb_index_entries",
    "dynamodb_repl_tombstones",
    "dynamodb_pitr_changes",
)


class TableStore:
    """Table metadata, cached in memory (the row in the store stays the truth)."""

    def __init__(self, store: Store, reclaimer: Reclaimer) -> None:
        self.store = store
        self.reclaimer = reclaimer
        # The rows of a table (by tid) that copies from it still read: `drop` leaves them, and the
        # last copy done hands them to the reclaimer (`provider.release_rows`).
        self.still_read: Callable[[int], set[str]] = lambda tid: set()
        self._cache: dict[tuple[str, str, str], Table] = {}
        # By table id: [items, bytes, {index: [items, bytes]}] not yet written.
        self._deltas: dict[int, list[Any]] = {}

    def clear(self) -> None:
        self._cache.clear()

    def cached(self, account: str, region: str, name: str) -> Table | None:
        return self._cache.get((account, region, name))

    def get(self, account: str, region: str, name: str) -> Table | None:
        key = (account, region, name)
        table = self._cache.get(key)
        if table is None:  # misses are not cached: clients probing names must not grow memory
            row = self.store.query_one(
                f"SELECT {_COLUMNS} FROM dynamodb_tables WHERE account = ? AND region = ? AND name = ?", key
            )
            if row is None:
                return None
            table = self._cache[key] = _table(row)
        return table

    def forget(self, table: Table) -> None:
        """Drop a cached table (after a failed change) so the next lookup reads the store."""
        self._cache.pop((table.account, table.region, table.name), None)

    def counts(self, table: Table) -> None:
        """Load the live item count and size (kept by every write) into `table`."""
        row = self.store.query_one(
            "SELECT item_count, size_bytes FROM dynamodb_tables WHERE tid = ?", (table.tid,)
        )
        if row is not None:
            table.item_count, table.size_bytes = row
            delta = self._deltas.get(table.tid)
            if delta is not None:
                table.item_count += delta[0]
                table.size_bytes += delta[1]

    def index_counts(self, table: Table, index: str) -> tuple[int, int]:
        """An index's live item count and size (kept by every write, as the table's); `index` is
        where its entries are stored (`schema.entries_key`)."""
        row = self.store.query_one(
            "SELECT item_count, size_bytes FROM dynamodb_index_counts WHERE tid = ? AND idx = ?",
            (table.tid, index),
        )
        count, size = row if row is not None else (0, 0)
        pending = self._deltas.get(table.tid)
        if pending is not None and index in pending[2]:
            count += pending[2][index][0]
            size += pending[2][index][1]
        return count, size

    def names_after(self, account: str, region: str, after: str, limit: int) -> list[str]:
        """At most `limit` of the region's table names past `after`, in order: a walk of the name
        index from there (ListTables' pages)."""
        return [r[0] for r in self.store.query(_NAMES_AFTER, (account, region, after, limit))]

    def with_insights(self, account: str, region: str) -> list[str]:
        """The names of the region's tables with contributor insights set, in order."""
        rows = self.store.query(
            "SELECT name FROM dynamodb_tables WHERE account = ? AND region = ? AND has_insights = 1 "
            "ORDER BY name",
            (account, region),
        )
        return [r[0] for r in rows]

    def by_tid(self, tid: int) -> Table | None:
        """A table by its id (the cached one when cached), None once dropped."""
        row = self.store.query_one("SELECT account, region, name FROM dynamodb_tables WHERE tid = ?", (tid,))
        return None if row is None else self.get(*row)

    def creating(self) -> list[Table]:
        """The tables being created (or restored, or filled as a new replica)."""
        rows = self.store.query("SELECT account, region, name FROM dynamodb_tables WHERE status = 'CREATING'")
        return [table for table in (self.get(*row) for row in rows) if table is not None]

    def all(self) -> list[Table]:
        return [_table(r) for r in self.store.query(f"SELECT {_COLUMNS} FROM dynamodb_tables")]

    def naming(self, keys: Sequence[str]) -> list[Table]:
        """The tables whose description may hold one of these keys: those whose text names one,
        found by SQLite without parsing every description (the rare other text that names it, an
        attribute so named, only costs its parse)."""
        where = " OR ".join("instr(descr, ?)" for _ in keys)
        quoted = [f'"{key}"' for key in keys]
        rows = self.store.query(f"SELECT {_COLUMNS} FROM dynamodb_tables WHERE {where}", quoted)
        return [_table(r) for r in rows]

    def reserved(self, account: str, region: str, *, but: int | None = None) -> tuple[int, int]:
        """The read and write capacity the tables of a region reserve (limits.reserved), all but
        table `but`'s: two rows read, however many tables there are."""
        row = self.store.query_one(
            "SELECT read_units, write_units FROM dynamodb_reserved WHERE account = ? AND region = ?",
            (account, region),
        )
        read, write = row if row is not None else (0, 0)
        own = None
        if but is not None:
            own = self.store.query_one(
                "SELECT reserved_read, reserved_write FROM dynamodb_tables WHERE tid = ?", (but,)
            )
        return (read, write) if own is None else (read - own[0], write - own[1])

    def create(
        self, account: str, region: str, name: str, desc: dict[str, Any], status: str, until: float
    ) -> Table:
        read, write = limits.reserved(desc)
        tid = self.store.insert(
            "INSERT INTO dynamodb_tables (account, region, name, descr, status, status_until, reserved_read, "
            "reserved_write, has_insights, legacy_global) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (account, region, name, json.dumps(desc), status, until, read, write, *marks(desc)),
        )
        self.store.execute(_RESERVE, (account, region, read, write))
        self._cache.pop((account, region, name), None)
        return Table(tid, account, region, name, desc, status, until)

    def save(self, table: Table) -> None:
        read, write = limits.reserved(table.desc)
        self.store.execute(_RESERVE_AGAIN, (read, write, table.tid))  # (before the row changes)
        self.store.execute(
            "UPDATE dynamodb_tables SET descr = ?, status = ?, status_until = ?, reserved_read = ?, "
            "reserved_write = ?, has_insights = ?, legacy_global = ? WHERE tid = ?",
            (
                json.dumps(table.desc),
                table.status,
                table.status_until,
                read,
                write,
                *marks(table.desc),
                table.tid,
            ),
        )
        table.refresh()

    def drop(self, table: Table) -> None:
        """Forget the table; its items and what goes with them are deleted in the background
        (table ids are never reused, so nothing reaches them meanwhile)."""
        read = self.still_read(table.tid)
        for name in _TABLE_ROWS:
            if name not in read:
                self.reclaimer.drop(name, "tid", table.tid)
        self.store.execute("DELETE FROM dynamodb_index_counts WHERE tid = ?", (table.tid,))
        self.store.execute(_RESERVE_AGAIN, (0, 0, table.tid))
        self.store.execute("DELETE FROM dynamodb_tables WHERE tid = ?", (table.tid,))
        self._cache.pop((table.account, table.region, table.name), None)
        self._deltas.pop(table.tid, None)

    def count(
        self,
        table: Table,
        delta_items: int,
        delta_bytes: int,
        indexes: dict[str, list[int]] | None = None,
        *,
        later: bool = False,
    ) -> None:
        """Add to a table's item count and size, and to its `indexes`' (name: [items, bytes]): now,
        or (`later`, for a unit of change that cannot fail any more) in memory, written once per
        commit group just before it commits, in the same transaction as the writes they count
        (one statement per table and per index per group, not per write)."""
        if not later:
            self.store.execute(_COUNT, (delta_items, delta_bytes, table.tid))
            for index, (items, size) in (indexes or {}).items():
                self.store.execute(_INDEX_COUNT, (table.tid, index, items, size))
            return
        delta = self._deltas.get(table.tid)
        if delta is None:
            if not self._deltas:
                self.store.before_commit(self._flush)
                # Once the group is over, committed (flushed) or rolled back (never written),
                # nothing of it may be added to the next group.
                self.store.after_commit(self._forget)
            delta = self._deltas[table.tid] = [0, 0, {}]
        delta[0] += delta_items
        delta[1] += delta_bytes
        for index, (items, size) in (indexes or {}).items():
            add_count(delta[2], index, items, size)

    def _forget(self, error: BaseException | None) -> None:
        self._deltas.clear()

    def _flush(self) -> None:
        deltas, self._deltas = self._deltas, {}
        rows = [(items, size, tid) for tid, (items, size, _) in deltas.items() if items or size]
        if len(rows) == 1:
            self.store.execute(_COUNT, rows[0])
        elif rows:
            self.store.executemany(_COUNT, rows)
        index_rows = [
            (tid, index, items, size)
            for tid, (_, _, indexes) in deltas.items()
            for index, (items, size) in indexes.items()
            if items or size
        ]
        if index_rows:
            self.store.executemany(_INDEX_COUNT, index_rows)


def add_count(counts: dict[str, list[int]], index: str, items: int, size: int) -> None:
    """Add to an index's [items, bytes] in `counts`."""
    found = counts.get(index)
    if found is None:
        counts[index] = [items, size]
    else:
        found[0] += items
        found[1] += size


# A table's share of its region's reserved capacity: added, and replaced by its new one (0, 0 when it
# goes), in the unit of change that writes the table's row.
_RESERVE = (
    "INSERT INTO dynamodb_reserved (account, region, read_units, write_units) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (account, region) DO UPDATE SET read_units = read_units + excluded.read_units, "
    "write_units = write_units + excluded.write_units"
)
_RESERVE_AGAIN = (
    "UPDATE dynamodb_reserved SET read_units = read_units + ? - t.reserved_read, "
    "write_units = write_units + ? - t.reserved_write FROM dynamodb_tables AS t "
    "WHERE t.tid = ? AND dynamodb_reserved.account = t.account AND dynamodb_reserved.region = t.region"
)
_COUNT = "UPDATE dynamodb_tables SET item_count = item_count + ?, size_bytes = size_bytes + ? WHERE tid = ?"
_INDEX_COUNT = (
    "INSERT INTO dynamodb_index_counts (tid, idx, item_count, size_bytes) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (tid, idx) DO UPDATE SET item_count = item_count + excluded.item_count, "
    "size_bytes = size_bytes + excluded.size_bytes"
)
