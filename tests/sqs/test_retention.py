"""Retention (`retention.py`) against the store itself: messages past the retention period are
gone at once for the counters, and rounds of passes delete them, a window of the visibility index
at a time (which carries every send time), learning each queue's oldest message left."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gondwana.runtime import Runtime
from gondwana.services.sqs import engine, retention
from gondwana.services.sqs.queues import SWEEPING, Queue
from gondwana.services.sqs.registry import Registry
from gondwana.services.sqs.retention import Retention
from gondwana.services.sqs.storage import MIGRATIONS
from gondwana.storage import reclaim
from gondwana.storage.sqlite import SqliteStore
from tests.support.inprocess import in_process, request_context

RETENTION = 60


def store_at(path: Path, migrations: list[str] = MIGRATIONS) -> SqliteStore:
    """A store with SQS's tables as `migrations` leave them (and the reclaimer's, which the
    runtime registers first: SQS's migrations update its pending deletes)."""
    store = SqliteStore(path)
    store.register("reclaim", reclaim.MIGRATIONS)
    store.register("sqs", migrations)
    return store


def message(
    store: SqliteStore, seq: int, sent: float, visible: float, space: str = "space", group: str | None = None
) -> None:
    """Store message `seq` of space 1 (`space`: the column, `queue_id` in older releases)."""
    with store.transaction():
        store.execute(
            f"INSERT INTO sqs_messages (seq, {space}, message_id, body, md5_body, sender_id, sent_at, "
            "visible_at, group_id) VALUES (?, 1, ?, 'b', 'h', 's', ?, ?, ?)",
            (seq, f"m-{seq}", sent, visible, group),
        )
        if group is not None:
            store.execute(
                "INSERT INTO sqs_groups (space, group_id, head) VALUES (1, ?, ?) ON CONFLICT DO NOTHING",
                (group, seq),
            )


def fill(runtime: Runtime, space: int, count: int, sent: float | None = None) -> None:
    """`count` messages in `space`, sent (and visible) at `sent` (default now), written at once."""
    when = runtime.now() if sent is None else sent
    with runtime.store.transaction():
        runtime.store.execute(
            "WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < ?2) "
            "INSERT INTO sqs_messages (space, message_id, body, md5_body, sender_id, sent_at, visible_at) "
            "SELECT ?1, 'm' || k, 'b', 'h', 's', ?3, ?3 FROM n",
            (space, count, when),
        )


def left(store: SqliteStore) -> list[int]:
    return [seq for (seq,) in store.query("SELECT seq FROM sqs_messages ORDER BY seq")]


class Rounds:
    """A queue (id and space 1) and its retention, driven by hand: `round(now)` runs a whole
    round, pass after pass, committing each as the event loop would."""

    def __init__(self, store: SqliteStore, fifo: bool = False) -> None:
        self.store = store
        with store.transaction():
            store.execute(
                "INSERT INTO sqs_queues (id, account, region, name, fifo, attributes, tags, created, "
                "modified, space) VALUES (1, 'a', 'r', 'q', ?, ?, '{}', 0, 0, 1)",
                (int(fifo), f'{{"MessageRetentionPeriod": "{RETENTION}"}}'),
            )
        store._commit_now()
        self.registry = Registry(store)
        self.registry.load()
        self.queue: Queue = self.registry.by_id[1]
        self.clock = 0.0
        self.armed: list[Callable[[], None]] = []
        self.retention = Retention(
            store, lambda _, callback: self.armed.append(callback), self.registry, self.now
        )

    def now(self) -> float:
        return self.clock

    def round(self, now: float) -> int:
        """Run a round at `now`; its number of passes (0: nothing was due)."""
        self.clock = now
        self.retention.start()
        passes = 0
        while self.armed:
            self.armed.pop()()
            passes += 1
            self.store._commit_now()  # no event loop here to commit the group
        return passes


def test_a_round_drops_what_expired_by_its_send_time_and_learns_the_oldest_left(
    tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setattr(retention, "WINDOW", 2)  # several passes, the ties of a batch across two
    store = store_at(tmp_path / "sqs.db")
    try:
        message(store, 1, sent=0.0, visible=0.0)
        message(store, 2, sent=10.0, visible=500.0)  # in flight long after its retention ended
        message(store, 3, sent=30.0, visible=30.0)
        message(store, 4, sent=5.0, visible=40.0)  # moved here later, keeping its age
        message(store, 5, sent=0.0, visible=0.0)
        message(store, 6, sent=0.0, visible=0.0)
        rounds = Rounds(store)
        assert rounds.round(now=65.0) == 4  # six entries, two a pass, and the end
        assert left(store) == [2, 3]
        assert rounds.queue.oldest_sent == 10.0
        assert rounds.round(now=69.0) == 0  # nothing more is due: nothing read
        assert rounds.round(now=71.0) > 0
        assert left(store) == [3] and rounds.queue.oldest_sent == 30.0
        rounds.round(now=95.0)
        assert left(store) == [] and rounds.queue.oldest_sent == 95.0  # empty: nothing older than now
    finally:
        store.close()


def test_a_round_moves_the_heads_of_groups_whose_first_messages_expired(tmp_path: Path) -> None:
    store = store_at(tmp_path / "sqs.db")
    try:
        message(store, 1, sent=0.0, visible=0.0, group="a")
        message(store, 2, sent=0.0, visible=0.0, group="b")
        message(store, 3, sent=30.0, visible=30.0, group="a")
        message(store, 4, sent=30.0, visible=30.0, group="c")
        Rounds(store, fifo=True).round(now=65.0)
        assert left(store) == [3, 4]
        assert store.query("SELECT group_id, head FROM sqs_groups ORDER BY group_id") == [("a", 3), ("c", 4)]
    finally:
        store.close()


def test_a_message_moved_in_during_a_round_leaves_the_queue_due(tmp_path: Path) -> None:
    """A message moved from another queue may keep an old send time behind the walk: the round
    learns nothing then, and the next one walks the queue again."""
    store = store_at(tmp_path / "sqs.db")
    try:
        message(store, 1, sent=0.0, visible=0.0)
        rounds = Rounds(store)
        rounds.clock = 65.0
        rounds.retention.start()
        rounds.queue.oldest_sent = None  # as `engine.enqueue` does
        rounds.round(now=65.0)
        assert left(store) == [] and rounds.queue.oldest_sent is None
    finally:
        store.close()


def test_the_counters_leave_out_expired_messages_not_yet_deleted(tmp_path: Path) -> None:
    store = store_at(tmp_path / "sqs.db")
    try:
        message(store, 1, sent=0.0, visible=0.0)
        message(store, 2, sent=0.0, visible=100.0)
        message(store, 3, sent=30.0, visible=30.0)
        message(store, 4, sent=30.0, visible=100.0)
        counts = engine.counters(store, Rounds(store).queue, 65.0, True)
        assert counts["ApproximateNumberOfMessages"] == counts["ApproximateNumberOfMessagesDelayed"] == "1"
        assert left(store) == [1, 2, 3, 4]
    finally:
        store.close()


@pytest.mark.parametrize(
    ("sql", "params"),
    [(retention._WINDOW_SQL, (1, 0.0, 0, 10)), (engine._COUNT_VISIBLE, (1, 0.0, 0.0))],
)
def test_the_walk_and_the_visible_count_read_the_visibility_index_alone(
    tmp_path: Path, sql: str, params: tuple[Any, ...]
) -> None:
    store = store_at(tmp_path / "sqs.db")
    try:
        plan = [detail for *_, detail in store.query("EXPLAIN QUERY PLAN " + sql, params)]
        assert len(plan) == 1 and plan[0].startswith(
            "SEARCH sqs_messages USING COVERING INDEX sqs_messages_visible"
        )
    finally:
        store.close()


def test_a_data_directory_from_before_gets_the_send_time_in_its_index(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    store = store_at(path, MIGRATIONS[:3])  # as the previous release left it
    message(store, 1, sent=0.0, visible=0.0, space="queue_id")
    message(store, 2, sent=30.0, visible=30.0, space="queue_id")
    store.close()

    store = store_at(path)
    try:
        columns = [row[2] for row in store.query("PRAGMA index_info(sqs_messages_visible)")]
        assert columns == ["space", "visible_at", "seq", "sent_at"]
        Rounds(store).round(now=61.0)
        assert left(store) == [2]
    finally:
        store.close()


def test_the_service_deletes_an_expired_backlog_in_passes(tmp_path: Path, monkeypatch: Any) -> None:
    """Messages that expired together (a burst a minute old, a server that was down) go in passes
    at the loop's next turns once the sweep starts a round, not in one statement."""
    monkeypatch.setattr(retention, "WINDOW", 500)
    reads: list[int] = []

    async def scenario(runtime: Runtime, sqs: Any) -> int:
        queue = sqs.registry.create("a", "r", "q", False, {"MessageRetentionPeriod": "60"}, {}, runtime.now())
        fill(runtime, queue.space, 5000, sent=runtime.now() - 61)
        queue.oldest_sent = None  # as after a restart (messages older than the queue come only so)
        query = runtime.store.query

        def counted(sql: str, params: Any = ()) -> Any:
            rows = query(sql, params)
            if sql == retention._WINDOW_SQL:
                reads.append(len(rows))
            return rows

        monkeypatch.setattr(runtime.store, "query", counted)
        sqs.sweep()
        for _ in range(200):
            await asyncio.sleep(0.005)
            if queue.oldest_sent not in (None, SWEEPING):
                break
        return query("SELECT COUNT(*) FROM sqs_messages")[0][0]

    assert in_process(tmp_path, "sqs", scenario) == 0
    assert reads == [500] * 10 + [0]


@pytest.mark.parametrize("fifo", [False, True])
def test_a_receive_passes_over_expired_messages_and_leaves_them_to_the_rounds(
    tmp_path: Path, fifo: bool
) -> None:
    """Dropped by the receive one by one, messages that expired together held up every request
    (0.55 s for 100,000 on a standard queue, 1.5 s on a FIFO one); passed over, they cost an index
    read, and the receive still finds the live messages behind them, in group order."""

    async def scenario(runtime: Runtime, sqs: Any) -> int:
        ctx = request_context()
        attributes = {"MessageRetentionPeriod": "60", **({"FifoQueue": "true"} if fifo else {})}
        url = sqs.create_queue(ctx, {"QueueName": "q.fifo" if fifo else "q", "Attributes": attributes})[
            "QueueUrl"
        ]
        group = {"MessageGroupId": "g"} if fifo else {}
        for k in range(3):
            dedup = {"MessageDeduplicationId": f"old{k}"} if fifo else {}
            sqs.send_message(ctx, {"QueueUrl": url, "MessageBody": f"old{k}", **group, **dedup})
        runtime.clock.offset += 61
        dedup = {"MessageDeduplicationId": "live"} if fifo else {}
        sqs.send_message(ctx, {"QueueUrl": url, "MessageBody": "live", **group, **dedup})
        got = sqs.receive_message(ctx, {"QueueUrl": url, "MaxNumberOfMessages": 10})["Messages"]
        assert [m["Body"] for m in got] == ["live"]
        return runtime.store.query_one("SELECT COUNT(*) FROM sqs_messages")[0]

    assert in_process(tmp_path, "sqs", scenario) == 4  # the round deletes the three, later
