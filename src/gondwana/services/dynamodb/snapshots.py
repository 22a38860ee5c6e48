"""A backup's items copied from its table in passes of a few milliseconds, yet exactly as the table
was when the backup was asked for: a copy-on-write snapshot. Copied in one statement in the
CreateBackup call, 100,000 small items held up every request for 0.17 s.

A pass copies the next items in key order (`walked` in the backup's row: where the walk stands, so
a restart goes on). A write to an item the walk has not reached yet first keeps the item as it
was for the backup (`preserve`, called by the writer) and notes its key, which the walk then
passes over; a later write to it finds the key noted and keeps nothing. An item made after the
request is noted without an image. The backup is CREATING until the walk is done. A table dropped
meanwhile (or whose drop asked for the backup: a SYSTEM backup) takes no writes any more; its items
are left to the reclaimer by the last copy done from them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from gondwana.services.dynamodb import background, codec, keys
from gondwana.services.dynamodb.keys import Where
from gondwana.services.dynamodb.types import Item
from gondwana.storage.passes import in_passes

if TYPE_CHECKING:
    from gondwana.services.dynamodb.provider import DynamoDBService
    from gondwana.services.dynamodb.schema import Table

ROWS = 500  # items copied per statement
NOT_YET = 1e18  # a backup's available_at while it is copied

_END = (
    "SELECT spread, hk, rk FROM dynamodb_items WHERE tid = ?1 AND (spread, hk, rk) > (?2, ?3, ?4) "
    "ORDER BY spread, hk, rk LIMIT 1 OFFSET ?5"
)
_COPY = (  # the items after the walk's position (up to a bound), but those the writes kept already
    "INSERT INTO dynamodb_backup_items (backup, item) SELECT ?1, i.item FROM dynamodb_items AS i "
    "WHERE i.tid = ?2 AND (i.spread, i.hk, i.rk) > (?3, ?4, ?5) AND {bound} NOT EXISTS "
    "(SELECT 1 FROM dynamodb_snapshot_keys AS k WHERE k.backup = ?1 AND k.spread = i.spread "
    "AND k.hk = i.hk AND k.rk = i.rk) ORDER BY i.spread, i.hk, i.rk"
)
_COPY_TO = _COPY.format(bound="(i.spread, i.hk, i.rk) <= (?6, ?7, ?8) AND")
_COPY_REST = _COPY.format(bound="")
_NOTE = (
    "INSERT INTO dynamodb_snapshot_keys (backup, spread, hk, rk) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"
)
_KEEP = "INSERT INTO dynamodb_backup_items (backup, item) VALUES (?, ?)"


class Snapshots:
    """The backups being copied, by table id: [backup id, the last key copied] each. The writer
    reads this on every write, so it stays a plain dict; the store is the truth, read again after
    a failed commit (whose positions memory had run ahead of)."""

    def __init__(self, svc: DynamoDBService) -> None:
        self.svc = svc
        self.walking: dict[int, list[list[Any]]] = {}

    def start(self, table: Table, backup: int) -> bool:
        """In the caller's unit of change: the first pass, the rest in the background from the
        commit on; True when the backup already holds every item."""
        self.walking.setdefault(table.tid, []).append([backup, keys.FIRST])
        if self._pass(table.tid, backup):
            return True
        self._in_background(table.tid, backup)
        return False

    def resume(self) -> None:
        """Go on with the copies a restart interrupted."""
        self._reload()
        for tid, walks in self.walking.items():
            for backup, _ in walks:
                self._in_background(tid, backup)

    def preserve(self, walks: list[list[Any]], changes: Sequence[tuple[Where, Item | None]]) -> None:
        """Before items change (`where`, the item as it was): keep them for each backup whose walk
        has not reached them yet, unless kept already."""
        store = self.svc.runtime.store
        for backup, walked in walks:
            for where, old in changes:
                if where > walked and store.execute(_NOTE, (backup, *where)) and old is not None:
                    store.execute(_KEEP, (backup, codec.dumps(old)))

    def reading(self, tid: int) -> bool:
        """Whether copies still read the items of a table (one being dropped: nothing writes them
        any more, and the last copy done hands them to the reclaimer)."""
        return tid in self.walking

    def _reload(self) -> None:
        self.walking.clear()
        rows = self.svc.runtime.store.query(
            "SELECT id, walked FROM dynamodb_backups WHERE walked IS NOT NULL"
        )
        for backup, walked in rows:
            tid, *at = json.loads(walked)
            self.walking.setdefault(tid, []).append([backup, keys.position(at)])

    def _in_background(self, tid: int, backup: int) -> None:
        store = self.svc.runtime.store

        def step() -> bool:
            with store.transaction():
                return not self._pass(tid, backup)

        in_passes(store, self.svc.runtime.later, step, f"backing up table {tid}", background.RETRY)

    def _pass(self, tid: int, backup: int) -> bool:
        """Copy the next items for about a quantum, in the caller's unit of change; True once done."""
        walk = next((w for w in self.walking.get(tid, []) if w[0] == backup), None)
        if walk is None:
            return True  # undone (a reset, a failed commit: `_undone` starts passes again)
        store = self.svc.runtime.store
        store.after_commit(self._undone)
        started = time.perf_counter()
        walked = walk[1]
        while True:  # a chunk at least
            end = store.query_one(_END, (tid, *walked, ROWS - 1))
            if end is None:
                store.execute(_COPY_REST, (backup, tid, *walked))
                self._done(tid, walk)
                return True
            store.execute(_COPY_TO, (backup, tid, *walked, *end))
            walked = walk[1] = tuple(end)
            if time.perf_counter() - started >= background.QUANTUM:
                break
        store.execute(
            "UPDATE dynamodb_backups SET walked = ? WHERE id = ?",
            (json.dumps([tid, *keys.stored(walked)]), backup),
        )
        return False

    def _done(self, tid: int, walk: list[Any]) -> None:
        runtime = self.svc.runtime
        runtime.store.execute(
            "UPDATE dynamodb_backups SET walked = NULL, available_at = MAX(created + ?, ?) WHERE id = ?",
            (runtime.state_delay, runtime.now(), walk[0]),
        )
        runtime.reclaimer.drop("dynamodb_snapshot_keys", "backup", walk[0])
        walks = self.walking[tid]
        walks.remove(walk)
        if not walks:
            del self.walking[tid]
            self.svc.release_rows(tid)  # (the table may have gone meanwhile)

    def _undone(self, error: BaseException | None) -> None:
        """After a failed commit: positions as stored, and passes again for a copy that was done
        only in memory (its last pass undone; nothing else would carry it on)."""
        if error is None:
            return
        before = {w[0] for walks in self.walking.values() for w in walks}
        self._reload()
        for tid, walks in self.walking.items():
            for backup, _ in walks:
                if backup not in before:
                    self._in_background(tid, backup)
