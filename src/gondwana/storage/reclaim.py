"""The rows a deleted resource leaves behind (a table's items, an index's entries, a queue's
messages, a stream's records), deleted a pass at a time in the background.

Deleted in the request that deleted the resource, they held up every request for as long: 1.2 s
for a DynamoDB table of 200,000 items. Resource ids are never reused (a GSI's entries are keyed
by its name and 48 random bits), so no request can reach such rows meanwhile; what is still to
delete is itself a table, so a restart goes on with it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from gondwana.storage.base import Store
from gondwana.storage.passes import Later, Passes

MIGRATIONS = [
    "CREATE TABLE reclaim_pending (id INTEGER PRIMARY KEY AUTOINCREMENT, tbl TEXT NOT NULL, "
    "col TEXT NOT NULL, value INTEGER NOT NULL)",
    # further columns that narrow the rows (a JSON object of column: value), or NULL
    "ALTER TABLE reclaim_pending ADD COLUMN also TEXT",
]
QUANTUM = 0.005  # seconds of deleting per pass: small rows go by the thousand, large ones a few
RETRY = 10.0  # seconds before a pass that failed (a failing disk) is tried again
PAGE = 64  # pending entries a pass reads


class Reclaimer:
    def __init__(self, store: Store, later: Later) -> None:
        self.store = store
        self._passes = Passes(store, later, self.run_pass, "deleting the rows of deleted resources", RETRY)
        self._deleters: dict[tuple[str, tuple[str, ...]], Callable[[list[int | str], int], int]] = {}
        store.register("reclaim", MIGRATIONS)

    def drop(self, table: str, column: str, value: int, **also: int | str) -> None:
        """In the caller's unit of change: `table`'s rows whose `column` is `value` (and each column
        named in `also` its value) are to go. The columns must lead an index of the table."""
        self.store.execute(
            "INSERT INTO reclaim_pending (tbl, col, value, also) VALUES (?, ?, ?, ?)",
            (table, column, value, json.dumps(also) if also else None),
        )
        self.store.after_commit(lambda error: self.resume() if error is None else None)

    def resume(self) -> None:
        """Start passes (none run while nothing is pending; a restart calls this once)."""
        self._passes.start()

    def run_pass(self) -> bool:
        """Delete for about a quantum, the oldest drop first; False when nothing was pending. A
        statement deletes one row at first, and twice as many each time the last was quick: rows
        range from a hundred bytes (messages) to megabytes (a stream's blocks)."""
        started = time.perf_counter()
        # A page of the oldest (10,000 queues deleted leave 40,000 entries, all read every pass).
        pending = self.store.query(
            "SELECT id, tbl, col, value, also FROM reclaim_pending ORDER BY id LIMIT ?", (PAGE,)
        )
        if not pending:
            return False
        rows = 1
        with self.store.transaction():
            for entry, table, column, value, also in pending:
                narrower: dict[str, int | str] = json.loads(also) if also else {}
                delete = self._deleter(table, (column, *narrower))
                values = [value, *narrower.values()]
                while True:
                    before = time.perf_counter()
                    if delete(values, rows) < rows:
                        break
                    now = time.perf_counter()
                    if now - started > QUANTUM:
                        return True
                    if now - before < QUANTUM / 8:
                        rows *= 2
                self.store.execute("DELETE FROM reclaim_pending WHERE id = ?", (entry,))
        return True

    def _deleter(self, table: str, columns: tuple[str, ...]) -> Callable[[list[int | str], int], int]:
        """What deletes up to `rows` rows whose `columns` have the values given and says how many
        it deleted: one statement by rowid, or, in a table WITHOUT ROWID, the keys read and then
        deleted one seek each (SQLite's row-value IN would scan the whole range at every statement)."""
        deleter = self._deleters.get((table, columns))
        if deleter is not None:
            return deleter
        store = self.store
        where = " AND ".join(f'"{c}" = ?' for c in columns)
        schema = store.query_one("SELECT sql FROM sqlite_master WHERE name = ?", (table,))
        if schema is not None and "WITHOUT ROWID" not in schema[0].upper():
            by_rowid = (
                f'DELETE FROM "{table}" WHERE rowid IN (SELECT rowid FROM "{table}" WHERE {where} LIMIT ?)'
            )

            def deleter(values: list[int | str], rows: int) -> int:
                return store.execute(by_rowid, (*values, rows))

        else:
            info = store.query(f'PRAGMA table_info("{table}")')  # (cid, name, type, ..., pk)
            key = [c[1] for c in sorted(info, key=lambda c: c[5]) if c[5]]
            select = f'SELECT {", ".join(key)} FROM "{table}" WHERE {where} LIMIT ?'
            delete = f'DELETE FROM "{table}" WHERE ' + " AND ".join(f'"{k}" = ?' for k in key)

            def deleter(values: list[int | str], rows: int) -> int:
                keys = store.query(select, (*values, rows))
                store.executemany(delete, keys)
                return len(keys)

        self._deleters[(table, columns)] = deleter
        return deleter
