"""MREC replication: the outbox appended by local writes, and the task that delivers it.

Each entry is applied to its target after the pair's delay (+ injected lag), only while the two
regions can reach each other; entries of one pair are delivered in order, so a partition or a down
region queues them and a heal drains them. Conflicts resolve last-writer-wins per item by
(written, origin): the loser is dropped wherever it arrives, so every replica converges.

Delivery is one task that sleeps until the head of a queue is due (a timer, no polling), then takes
the due prefix of each queue in chunks: one SELECT, one range DELETE and one transaction per chunk.
A pass works for at most SLICE seconds before letting requests run, so a backlog never stalls the
loop and entries that fall due meanwhile are not held behind one long batch.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from gondwana.services.dynamodb import codec
from gondwana.services.dynamodb.replication.apply import Where, apply_changes, tombstone
from gondwana.services.dynamodb.replication.stats import PairStats
from gondwana.services.dynamodb.types import Item

if TYPE_CHECKING:
    from collections.abc import Iterable

    from gondwana.services.dynamodb.provider import DynamoDBService
    from gondwana.services.dynamodb.schema import Table

log = logging.getLogger("gondwana.dynamodb.replication")
CHUNK = 64  # entries read per look at a queue's head; doubles while whole chunks are due
MAX_CHUNK = 128  # entries applied per transaction at most (a few ms of work)
SLICE = 0.020  # seconds a pass may deliver before the loop serves requests again
GRACE = 0.002  # a pass starts this long after the head is due, so it takes several entries at once

_RECORD = (
    "INSERT INTO dynamodb_repl_outbox (account, name, source, target, keys, item, written, origin) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_HEAD = (
    "SELECT seq, account, name, keys, item, written, origin FROM dynamodb_repl_outbox "
    "WHERE source = ? AND target = ? ORDER BY seq LIMIT ?"
)
_TAKE = "DELETE FROM dynamodb_repl_outbox WHERE source = ? AND target = ? AND seq BETWEEN ? AND ?"


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
        self._waiter: asyncio.Future[None] | None = None
        self._cursor = 0  # where the next pass starts among the pairs (round robin under backlog)
        # (account, table name, region) -> the last outbox row of that table from or to the region
        # that is void: the region left the group (a row so voided is taken as if delivered).
        self.cutoffs: dict[tuple[str, str, str], int] = {}
        # (source, target) -> rows queued, kept by every insert and delete of `record` and delivery
        # for the control API; counted again from the rows when unknown (start, a copy made by a
        # new replica, reset) or once the store undid changes (store.undone moved).
        self._queued: dict[tuple[str, str], int] | None = None
        self._queued_undone = 0

    # ---- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        self.pending = {
            (s, t) for s, t in self.store.query("SELECT DISTINCT source, target FROM dynamodb_repl_outbox")
        }
        rows = self.store.query("SELECT account, name, region, below FROM dynamodb_repl_cutoffs")
        self.cutoffs = {(account, name, region): below for account, name, region, below in rows}
        if self.task is None or self.task.done():
            for listeners in (self.runtime.faults.listeners, self.runtime.clock_listeners):
                if self.wake not in listeners:
                    listeners.append(self.wake)
            self.task = self.runtime.spawn(self._run())
        self.wake()

    def start_pairs(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Pick up pairs (source, target) whose entries were queued outside `record` (a new
        replica's copy of what third regions still had queued for its source)."""
        self.pending.update(pairs)
        self._queued = None
        self.wake()

    def reset(self) -> None:
        self.pending.clear()
        self._queued = None
        self.cutoffs.clear()
        self.stats.clear()
        self.pair_ms.clear()
        self.default_ms = self.runtime.settings.replication_delay_ms

    def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def wake(self) -> None:
        """Run a delivery pass now (a pass already due to run, or running, covers it)."""
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def delay(self, source: str, target: str) -> float:
        return self.pair_ms.get((source, target), self.default_ms) / 1000.0

    # ---- the outbox ----------------------------------------------------------------------------

    def record(self, table: Table, changes: list[tuple[Item, Item | None]], now: float, region: str) -> None:
        """Queue local changes (key, new image or None) of a replicated table, made by one write, for
        every other replica (inside the caller's store transaction). A put stores just the item (its
        key is in it), a delete just the key."""
        base = (table.account, table.name, table.region)
        texts = [
            ("", codec.dumps(new)) if new is not None else (codec.dumps(key), None) for key, new in changes
        ]
        wake = False
        for target in targets(table):
            rows = [(*base, target, keys_text, item_text, now, region) for keys_text, item_text in texts]
            if len(rows) == 1:
                self.store.execute(_RECORD, rows[0])
            else:
                self.store.executemany(_RECORD, rows)
            self._count((table.region, target), len(rows))
            # A pair already queued has a timer for its head, which is due no later than these entries.
            if (table.region, target) not in self.pending:
                self.pending.add((table.region, target))
                wake = True
        for key, new in changes:
            if new is None:
                tombstone(self.store, table, key, now, region)
        if wake:
            self.wake()

    def cut(self, account: str, name: str, region: str) -> None:
        """`region` leaves table `name`'s group: the rows queued so far from or to it are void (in
        the caller's unit of change). They are taken as delivery reaches them, a pass at a time,
        instead of all in the call; void, they never reach a replica made there again."""
        row = self.store.query_one("SELECT MAX(seq) FROM dynamodb_repl_outbox")
        below = row[0] if row and row[0] is not None else 0
        self.store.execute(
            "INSERT INTO dynamodb_repl_cutoffs (account, name, region, below) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (account, name, region) DO UPDATE SET below = excluded.below",
            (account, name, region, below),
        )

        def committed(error: BaseException | None) -> None:
            if error is None:
                self.cutoffs[(account, name, region)] = below

        self.store.after_commit(committed)

    def _void(self, seq: int, account: str, name: str, source: str, target: str) -> bool:
        cutoffs = self.cutoffs
        return seq <= cutoffs.get((account, name, source), 0) or seq <= cutoffs.get(
            (account, name, target), 0
        )

    # ---- delivery ------------------------------------------------------------------------------

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while not self.runtime.shutting_down.is_set():
            try:
                wait = self.drain()
            except Exception:
                log.exception("replication pass failed")
                wait = 1.0
            if wait == 0.0:  # more is due: let requests run, then go on
                await asyncio.sleep(0)
                continue
            self._waiter = waiter = loop.create_future()
            timer = None if wait is None else loop.call_later(wait, _settle, waiter)
            try:
                await waiter
            finally:
                self._waiter = None
                if timer is not None:
                    timer.cancel()

    def drain(self) -> float | None:
        """Deliver due entries for up to SLICE seconds; the seconds until the next pass should run
        (0: at once, more is due; None: nothing queued, a new entry wakes us)."""
        faults = self.runtime.faults
        deadline = time.perf_counter() + SLICE
        soonest: float | None = None
        pairs = sorted(self.pending)
        start = self._cursor % len(pairs) if pairs else 0
        for i, (source, target) in enumerate(pairs[start:] + pairs[:start]):
            if time.perf_counter() >= deadline:
                self._cursor = start + i
                return 0.0
            if not faults.reachable(source, target):
                continue
            delay = self.delay(source, target) + faults.extra_lag(source, target)
            chunk = CHUNK
            while True:
                rows = self.store.query(_HEAD, (source, target, chunk))
                now = self.runtime.now()
                due = 0
                for row in rows:  # entries are due in queue order: stop at the first one that is not
                    if row[5] + delay > now:
                        wait = row[5] + delay - now + GRACE
                        soonest = wait if soonest is None else min(soonest, wait)
                        break
                    due += 1
                if due:
                    self._deliver(source, target, rows[:due] if due < len(rows) else rows, now)
                if due < chunk:  # the head is not due yet, or the queue is empty now
                    if due == len(rows):
                        self.pending.discard((source, target))  # the next record wakes us
                    break
                if time.perf_counter() >= deadline:
                    self._cursor = start + i + 1
                    return 0.0
                chunk = min(chunk * 2, MAX_CHUNK)
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
                        self._take(source, target, row[0], row[0])
        stats = self.stats.get((source, target))
        if stats is None:
            stats = self.stats[(source, target)] = PairStats()
        stats.add_many([(now - written) * 1000.0 for applied, written in outcomes if applied])
        stats.conflicts_dropped += sum(1 for applied, _ in outcomes if not applied)

    def _apply(self, source: str, target: str, rows: list[Any]) -> list[tuple[bool, float]]:
        """Apply `rows` (a prefix of the pair's queue) in one transaction: (applied, written) per
        delivered entry. Consecutive entries of one table from one write (same written, origin,
        distinct items: a BatchWriteItem's) are applied together."""
        runs: list[tuple[Table, float, str, list[tuple[Where, Item | None]], set[Where]]] = []
        ident: tuple[str, str] | None = None
        table: Table | None = None
        with self.store.transaction():
            self._take(source, target, rows[0][0], rows[-1][0])
            for seq, account, name, keys_text, item_text, written, origin in rows:
                if self.cutoffs and self._void(seq, account, name, source, target):
                    continue
                if (account, name) != ident:
                    ident = (account, name)
                    table = self.svc.table_store.get(account, target, name)
                    if table is not None and source not in [
                        r["RegionName"] for r in table.desc.get("_replicas", [])
                    ]:
                        table = None
                if table is None:
                    continue  # the replica (or the group) is gone
                new = codec.loads(item_text) if item_text is not None else None
                key = codec.loads(keys_text) if keys_text else table.key_of(new)  # type: ignore[arg-type]
                where = table.encode_key(key)
                run = runs[-1] if runs else None
                if (
                    run is None
                    or run[0] is not table
                    or run[1] != written
                    or run[2] != origin
                    or where in run[4]
                ):
                    run = (table, written, origin, [], set())
                    runs.append(run)
                run[3].append((where, new))
                run[4].add(where)
            outcomes = []
            for table, written, origin, changes, _ in runs:
                outcomes += apply_changes(self.svc, table, changes, written, origin)
        return outcomes

    def _take(self, source: str, target: str, first: int, last: int) -> None:
        """Delete the pair's entries `first`..`last` (delivered or dropped), counted."""
        self._count((source, target), -self.store.execute(_TAKE, (source, target, first, last)))

    # ---- the control API -----------------------------------------------------------------------

    def _count(self, pair: tuple[str, str], rows: int) -> None:
        queued = self._queued
        if queued is not None:
            queued[pair] = queued.get(pair, 0) + rows

    def pending_counts(self) -> dict[tuple[str, str], int]:
        """Rows queued per pair (those with any)."""
        if self._queued is None or self._queued_undone != self.store.undone:
            rows = self.store.query(
                "SELECT source, target, COUNT(*) FROM dynamodb_repl_outbox GROUP BY source, target"
            )
            self._queued = {(s, t): n for s, t, n in rows}
            self._queued_undone = self.store.undone
        return {pair: n for pair, n in self._queued.items() if n}


def _settle(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
