"""MREC replication: the outbox appended by local writes, and the task that delivers it.

Each entry is applied to its target after the pair's delay (+ injected lag), only while the two
regions can reach each other; entries of one pair are delivered in order, so a partition or a down
region queues them and a heal drains them. Conflicts resolve last-writer-wins per item by
(written, origin): the loser is dropped wherever it arrives, so every replica converges.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gondwana.services.dynamodb import codec
from gondwana.services.dynamodb.types import Item

if TYPE_CHECKING:
    from gondwana.services.dynamodb.provider import DynamoDBService
    from gondwana.services.dynamodb.schema import Table

log = logging.getLogger("gondwana.dynamodb.replication")
BATCH = 500
SAMPLES = 2000


@dataclass(slots=True)
class PairStats:
    applied: int = 0
    conflicts_dropped: int = 0
    last: float | None = None
    sorted_ms: list[float] = field(default_factory=list)  # the latest SAMPLES latencies, sorted
    recent: deque[float] = field(default_factory=deque)
    max_ms: float = 0.0

    def add(self, ms: float) -> None:
        self.applied += 1
        self.last = ms
        self.max_ms = max(self.max_ms, ms)
        self.recent.append(ms)
        bisect.insort(self.sorted_ms, ms)
        if len(self.recent) > SAMPLES:
            old = self.recent.popleft()
            del self.sorted_ms[bisect.bisect_left(self.sorted_ms, old)]

    def latency(self) -> dict[str, float | None]:
        s = self.sorted_ms
        if not s:
            return {"last": None, "p50": None, "p99": None, "max": None}
        pick = lambda q: round(s[min(len(s) - 1, int(q * len(s)))], 3)  # noqa: E731
        return {
            "last": round(self.last or 0.0, 3),
            "p50": pick(0.5),
            "p99": pick(0.99),
            "max": round(self.max_ms, 3),
        }


def targets(table: Table) -> list[str]:
    return [r["RegionName"] for r in table.desc.get("_replicas", []) if r["RegionName"] != table.region]


class Replicator:
    def __init__(self, svc: DynamoDBService) -> None:
        self.svc = svc
        self.runtime = svc.runtime
        self.store = svc.runtime.store
        self.default_ms = svc.runtime.settings.replication_delay_ms
        self.pair_ms: dict[tuple[str, str], int] = {}
        self.stats: dict[tuple[str, str], PairStats] = {}
        self.pending: set[tuple[str, str]] = set()
        self.task: asyncio.Task[Any] | None = None
        self._wake: asyncio.Event | None = None

    # ---- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        self.pending = {
            (s, t) for s, t in self.store.query("SELECT DISTINCT source, target FROM dynamodb_repl_outbox")
        }
        if self.task is None or self.task.done():
            self._wake = asyncio.Event()
            self.runtime.faults.listeners.append(self.wake)
            self.runtime.clock_listeners.append(self.wake)
            self.task = self.runtime.spawn(self._run())
        self.wake()

    def start_pairs(self, account: str, name: str) -> None:
        """Pick up pairs whose entries were queued outside `record` (a new replica)."""
        self.pending |= {
            (s, t) for s, t in self.store.query("SELECT DISTINCT source, target FROM dynamodb_repl_outbox")
        }
        self.wake()

    def reset(self) -> None:
        self.pending.clear()
        self.stats.clear()
        self.pair_ms.clear()
        self.default_ms = self.runtime.settings.replication_delay_ms

    def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def wake(self) -> None:
        if self._wake is not None:
            self._wake.set()

    def delay(self, source: str, target: str) -> float:
        return self.pair_ms.get((source, target), self.default_ms) / 1000.0

    # ---- the outbox ----------------------------------------------------------------------------

    def record(self, table: Table, key: Item, new: Item | None, now: float, region: str) -> None:
        """Queue a local change of a replicated table for every other replica (inside the caller's
        store transaction)."""
        keys_text = codec.dumps(key)
        item_text = codec.dumps(new) if new is not None else None
        wake = False
        for target in targets(table):
            self.store.execute(
                "INSERT INTO dynamodb_repl_outbox (account, name, source, target, keys, item, written, "
                "origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (table.account, table.name, table.region, target, keys_text, item_text, now, region),
            )
            # A pair already queued has a timer for its head, which is due no later than this entry.
            wake = wake or (table.region, target) not in self.pending
            self.pending.add((table.region, target))
        if new is None:
            tombstone(self.store, table, key, now, region)
        if wake:
            self.wake()

    # ---- delivery ------------------------------------------------------------------------------

    async def _run(self) -> None:
        assert self._wake is not None
        while not self.runtime.shutting_down.is_set():
            self._wake.clear()
            try:
                wait = self.drain()
            except Exception:
                log.exception("replication pass failed")
                wait = 1.0
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=wait)
            except TimeoutError:
                pass

    def drain(self) -> float | None:
        """Deliver every due entry; the seconds until the next one is due (None: nothing queued)."""
        faults = self.runtime.faults
        soonest: float | None = None
        for source, target in sorted(self.pending):
            if not faults.reachable(source, target):
                continue
            delay = self.delay(source, target) + faults.extra_lag(source, target)
            rows = self.store.query(
                "SELECT seq, account, name, keys, item, written, origin FROM dynamodb_repl_outbox "
                "WHERE source = ? AND target = ? ORDER BY seq LIMIT ?",
                (source, target, BATCH),
            )
            if not rows:
                self.pending.discard((source, target))
                continue
            now = self.runtime.now()
            due_rows = []
            for row in rows:
                wait = row[5] + delay - now
                if wait > 0:
                    soonest = wait if soonest is None else min(soonest, wait)
                    break
                due_rows.append(row)
            else:
                if len(rows) == BATCH:
                    soonest = 0.0
                else:  # the queue is empty now: the next record for this pair wakes us
                    self.pending.discard((source, target))
            if due_rows:
                self._deliver(source, target, due_rows, now)
        return soonest

    def _deliver(self, source: str, target: str, rows: list[Any], now: float) -> None:
        try:
            outcomes = self._apply(source, target, rows)
        except Exception:  # one bad entry must not stall the pair: apply them one by one
            log.exception("replication %s -> %s failed; retrying entry by entry", source, target)
            outcomes = []
            for row in rows:
                try:
                    outcomes += self._apply(source, target, [row])
                except Exception:
                    log.exception("dropping replication entry %s (%s -> %s)", row[0], source, target)
                    with self.store.transaction():
                        self.store.execute("DELETE FROM dynamodb_repl_outbox WHERE seq = ?", (row[0],))
        stats = self.stats.setdefault((source, target), PairStats())
        for applied, written in outcomes:
            if applied:
                stats.add((now - written) * 1000.0)
            else:
                stats.conflicts_dropped += 1

    def _apply(self, source: str, target: str, rows: list[Any]) -> list[tuple[bool, float]]:
        """Apply `rows` in one transaction: (applied, written) per delivered entry."""
        tables: dict[tuple[str, str], Table | None] = {}
        outcomes = []
        with self.store.transaction():
            for seq, account, name, keys_text, item_text, written, origin in rows:
                self.store.execute("DELETE FROM dynamodb_repl_outbox WHERE seq = ?", (seq,))
                if (account, name) not in tables:
                    tables[(account, name)] = self.svc.table_store.get(account, target, name)
                table = tables[(account, name)]
                if table is None or source not in [r["RegionName"] for r in table.desc.get("_replicas", [])]:
                    continue  # the replica (or the group) is gone
                new = codec.loads(item_text) if item_text is not None else None
                applied = apply_change(self.svc, table, codec.loads(keys_text), new, written, origin)
                outcomes.append((applied, written))
        return outcomes

    # ---- the control API -----------------------------------------------------------------------

    def pending_counts(self) -> dict[tuple[str, str], int]:
        rows = self.store.query(
            "SELECT source, target, COUNT(*) FROM dynamodb_repl_outbox GROUP BY source, target"
        )
        return {(s, t): n for s, t, n in rows}


def tombstone(store: Any, table: Table, key: Item, written: float, origin: str) -> None:
    store.execute(
        "INSERT INTO dynamodb_repl_tombstones (tid, spread, hk, rk, written, origin) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (tid, spread, hk, rk) "
        "DO UPDATE SET written = excluded.written, origin = excluded.origin",
        (table.tid, *table.encode_key(key), written, origin),
    )


def apply_change(
    svc: DynamoDBService, table: Table, key: Item, new: Item | None, written: float, origin: str
) -> bool:
    """Apply a replicated change if it is newer than what the replica has (item or tombstone)."""
    store = svc.runtime.store
    where = (table.tid, *table.encode_key(key))
    row = store.query_one(
        "SELECT item, written, origin FROM dynamodb_items WHERE tid = ? AND spread = ? AND hk = ? AND rk = ?",
        where,
    )
    if row is None:
        dead = store.query_one(
            "SELECT written, origin FROM dynamodb_repl_tombstones WHERE tid = ? AND spread = ? AND hk = ? "
            "AND rk = ?",
            where,
        )
        current = (dead[0], dead[1]) if dead else None
    else:
        current = (row[1], row[2])
    if current is not None and current >= (written, origin):
        return False  # last writer wins: this change lost (or was already applied)
    old = codec.loads(row[0]) if row else None
    svc.writer.apply(table, old, new, now=written, region=origin, replicated=True)
    if new is None:
        tombstone(store, table, key, written, origin)
    return True
