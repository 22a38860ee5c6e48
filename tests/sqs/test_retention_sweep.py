"""The counters' retention sweep (`engine.expire`) against the store itself: what it deletes, what
it learns, and that it reads the visibility index only, which carries every message's send time."""

from __future__ import annotations

from pathlib import Path

from gondwana.services.sqs import engine
from gondwana.services.sqs.queues import Queue
from gondwana.services.sqs.storage import MIGRATIONS
from gondwana.storage import reclaim
from gondwana.storage.sqlite import SqliteStore

RETENTION = 60


def store_at(path: Path, migrations: list[str] = MIGRATIONS) -> SqliteStore:
    """A store with SQS's tables as `migrations` leave them (and the reclaimer's, which the
    runtime registers first: SQS's migrations update its pending deletes)."""
    store = SqliteStore(path)
    store.register("reclaim", reclaim.MIGRATIONS)
    store.register("sqs", migrations)
    return store


def message(store: SqliteStore, seq: int, sent: float, visible: float, space: str = "space") -> None:
    """Store message `seq` of space 1 (`space`: the column, `queue_id` in older releases)."""
    with store.transaction():
        store.execute(
            f"INSERT INTO sqs_messages (seq, {space}, message_id, body, md5_body, sender_id, sent_at, "
            "visible_at) VALUES (?, 1, ?, 'b', 'h', 's', ?, ?)",
            (seq, f"m-{seq}", sent, visible),
        )


def left(store: SqliteStore) -> list[int]:
    return [seq for (seq,) in store.query("SELECT seq FROM sqs_messages ORDER BY seq")]


def sweep(store: SqliteStore, q: Queue, now: float) -> None:
    engine.expire(store, q, now)
    store._commit_now()  # no event loop here to commit the group


def queue() -> Queue:
    attributes = {"MessageRetentionPeriod": str(RETENTION)}
    return Queue(1, "123456789012", "us-east-1", "q", False, attributes, {}, 0.0, 0.0)


def test_the_sweep_drops_what_expired_by_its_send_time_and_learns_the_oldest_left(tmp_path: Path) -> None:
    store = store_at(tmp_path / "sqs.db")
    try:
        message(store, 1, sent=0.0, visible=0.0)
        message(store, 2, sent=10.0, visible=500.0)  # in flight long after its retention ended
        message(store, 3, sent=30.0, visible=30.0)
        message(store, 4, sent=5.0, visible=40.0)  # moved here later, keeping its age
        q = queue()
        sweep(store, q, now=65.0)  # 0 and 5 are more than 60 s old
        assert left(store) == [2, 3]
        assert q.oldest_sent == 10.0
        sweep(store, q, now=69.0)  # nothing more is due: nothing read
        assert q.oldest_sent == 10.0
        sweep(store, q, now=71.0)
        assert left(store) == [3] and q.oldest_sent == 30.0
        sweep(store, q, now=95.0)
        assert left(store) == [] and q.oldest_sent == 95.0  # empty: nothing older than now
    finally:
        store.close()


def test_the_sweep_reads_the_visibility_index_alone(tmp_path: Path) -> None:
    store = store_at(tmp_path / "sqs.db")
    try:
        plan = store.query("EXPLAIN QUERY PLAN " + engine._SENT_BOUNDS, (1, 0.0))
        assert [detail for *_, detail in plan] == [
            "SEARCH sqs_messages USING COVERING INDEX sqs_messages_visible (space=?)"
        ]
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
        q = queue()
        sweep(store, q, now=61.0)
        assert left(store) == [2] and q.oldest_sent == 30.0
    finally:
        store.close()
