"""FIFO deduplication records: swept in rowid order (no expiry index), a chunk at a time, renewed
records move to the back, and a data directory from before the change is upgraded in place."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from gondwana.runtime import Runtime
from gondwana.services.sqs import common, dedup
from gondwana.services.sqs.common import SWEEP_CHUNK
from gondwana.services.sqs.storage import MIGRATIONS
from gondwana.storage.sqlite import SqliteStore
from tests.sqs.test_fifo import bodies, make_fifo
from tests.sqs.test_retention import store_at
from tests.support.inprocess import in_process


def record(
    store: SqliteStore, dedup_id: str, seq: int, now: float, renew: bool = False, space: str = "space"
) -> None:
    """Store message `seq` of queue 1, sent at `now`, and record its id as `dedup.remember` does
    (`space`: the column that keys messages by their queue, `queue_id` in older releases)."""
    with store.transaction():
        store.execute(
            f"INSERT INTO sqs_messages (seq, {space}, message_id, body, md5_body, sender_id, sent_at, "
            "visible_at, group_id, dedup_id) VALUES (?, 1, ?, 'b', 'h', 's', ?, ?, 'g', ?)",
            (seq, f"m-{seq}", now, now, dedup_id),
        )
        sql = dedup._RECORD[False] if renew else dedup._RECORD_NEW[False]
        assert store.execute(sql, (1, now + dedup.WINDOW, seq, seq)) == 1


def kept(store: SqliteStore) -> list[str]:
    return [row[0] for row in store.query("SELECT dedup_id FROM sqs_dedup ORDER BY rowid")]


def sweep(store: SqliteStore, now: float, limit: int = 100) -> bool:
    with store.transaction():
        return dedup.sweep(store, now, limit)


def test_sweep_forgets_the_expired_front_and_a_renewed_id_moves_back(tmp_path: Path) -> None:
    store = store_at(tmp_path / "dedup.db", MIGRATIONS)
    try:
        indexes = store.query(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'sqs_dedup'"
        )
        assert [name for (name,) in indexes] == ["sqlite_autoindex_sqs_dedup_1"]  # the key only
        sweep(store, 1000.0)  # an empty table: nothing to do
        for k, sent in enumerate((0.0, 10.0, 20.0, 30.0)):
            record(store, f"d{k}", k + 1, sent)
        sweep(store, 300.0)  # d0 expires at 300: gone; d1 (310) is live
        assert kept(store) == ["d1", "d2", "d3"]
        record(store, "d1", 5, 400.0, renew=True)  # past its window: replaced, at the back
        assert kept(store) == ["d2", "d3", "d1"]
        assert store.query_one("SELECT seq, message_id FROM sqs_dedup WHERE dedup_id = 'd1'") == (5, "m-5")
        sweep(store, 330.0)  # d2 (320) and d3 (330) expired; the renewed d1 (700) stays
        assert kept(store) == ["d1"]
        sweep(store, 700.0)  # all expired
        assert kept(store) == []
    finally:
        store.close()


def test_sweep_stops_at_the_first_live_record(tmp_path: Path) -> None:
    """A record written while the clock stood later than for the next one (the clock went back)
    only delays forgetting those behind it."""
    store = store_at(tmp_path / "dedup.db", MIGRATIONS)
    try:
        record(store, "early", 1, 0.0)
        record(store, "late", 2, 100.0)
        record(store, "back", 3, 50.0)  # expires at 350, before "late" (400)
        sweep(store, 360.0)
        assert kept(store) == ["late", "back"]
        sweep(store, 400.0)
        assert kept(store) == []
    finally:
        store.close()


def test_a_data_directory_from_before_loses_the_expiry_index_and_keeps_its_records(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    store = store_at(path, MIGRATIONS[:2])  # as the previous release left it
    record(store, "old", 1, 0.0, space="queue_id")
    record(store, "live", 2, 100.0, space="queue_id")
    assert store.query_one("SELECT 1 FROM sqlite_master WHERE name = 'sqs_dedup_expiry'")
    store.close()

    store = store_at(path, MIGRATIONS)
    try:
        assert store.query_one("SELECT version FROM _gondwana_schema WHERE component = 'sqs'") == (
            len(MIGRATIONS),
        )
        assert not store.query_one("SELECT 1 FROM sqlite_master WHERE name = 'sqs_dedup_expiry'")
        assert kept(store) == ["old", "live"]
        sweep(store, 350.0)
        assert kept(store) == ["live"]
    finally:
        store.close()


def test_an_expired_id_sent_again_is_stored_and_deduplicates_anew(sqs: Any, server: Any, name: Any) -> None:
    url = make_fifo(sqs, name)
    first = sqs.send_message(QueueUrl=url, MessageBody="a", MessageGroupId="g", MessageDeduplicationId="d")
    server.advance_clock(301)
    # In a batch with a new id: the batch's hopeful insert meets the expired record, and the
    # careful path replaces it.
    second = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "0", "MessageBody": "b", "MessageGroupId": "g", "MessageDeduplicationId": "d"},
            {"Id": "1", "MessageBody": "c", "MessageGroupId": "g", "MessageDeduplicationId": "e"},
        ],
    )["Successful"]
    assert second[0]["MessageId"] != first["MessageId"]
    again = sqs.send_message(QueueUrl=url, MessageBody="z", MessageGroupId="g", MessageDeduplicationId="d")
    assert (again["MessageId"], again["SequenceNumber"]) == (
        second[0]["MessageId"],
        second[0]["SequenceNumber"],
    )
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    assert bodies(got) == ["a", "b", "c"]


def test_sweep_forgets_a_chunk_at_a_time_and_says_when_more_may_be_due(tmp_path: Path) -> None:
    store = store_at(tmp_path / "dedup.db", MIGRATIONS)
    try:
        for k in range(250):
            record(store, f"old{k}", k + 1, 0.0)  # expire at 300
        record(store, "live", 251, 100.0)  # expires at 400
        record(store, "old-behind", 252, 0.0)  # expired, but behind a live one
        assert sweep(store, 350.0) is True
        assert len(kept(store)) == 152
        assert sweep(store, 350.0) is True
        assert sweep(store, 350.0) is False  # 50 forgotten, then the live record stopped it
        assert kept(store) == ["live", "old-behind"]
        assert sweep(store, 350.0) is False
    finally:
        store.close()


def expired_rows(runtime: Runtime, table: str, columns: str, count: int) -> None:
    """`count` rows of `table` (`columns`, numbered by `value`, then the expiry) expired a second ago."""
    with runtime.store.transaction():
        runtime.store.execute(
            "WITH RECURSIVE n(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM n WHERE value < ?2) "
            f"INSERT INTO {table} SELECT {columns}, ?1 FROM n",
            (runtime.now() - 1, count),
        )


def count(runtime: Runtime, table: str) -> int:
    return runtime.store.query_one(f"SELECT COUNT(*) FROM {table}")[0]


DEDUP = "1, '', 'id' || value, 'm', value"


def test_a_sweep_pass_forgets_a_chunk_and_says_whether_more_is_due(tmp_path: Path) -> None:
    """A pass forgets at most a chunk of each (all at once would hold up every request), and
    reports more while it forgot a full one: the service's chain (`passes.every`) then runs the
    next pass at the loop's next turn, not a chunk per interval."""

    async def scenario(runtime: Runtime, sqs: Any) -> list[tuple[bool, int]]:
        expired_rows(runtime, "sqs_dedup", DEDUP, 2 * SWEEP_CHUNK + 10)
        expired_rows(runtime, "sqs_attempts", "1, 'a' || value, ''", 2 * SWEEP_CHUNK + 10)
        seen = []
        for _ in range(4):
            seen.append((sqs.sweep(), count(runtime, "sqs_dedup") + count(runtime, "sqs_attempts")))
            await runtime.store.flushed()
        return seen

    left = 2 * (2 * SWEEP_CHUNK + 10)
    assert in_process(tmp_path, "sqs", scenario) == [
        (True, left - 2 * SWEEP_CHUNK),
        (True, left - 4 * SWEEP_CHUNK),
        (False, 0),
        (False, 0),
    ]


def test_the_service_sweeps_a_backlog_pass_after_pass(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(
        common, "SWEEP_INTERVAL", 0.2
    )  # the service's first pass, and the wait after a last one

    async def scenario(runtime: Runtime, sqs: Any) -> int:
        expired_rows(runtime, "sqs_dedup", DEDUP, 3 * SWEEP_CHUNK + 10)
        await asyncio.sleep(0.3)  # more than one interval, less than two: the passes followed at once
        return count(runtime, "sqs_dedup")

    assert in_process(tmp_path, "sqs", scenario) == 0


def test_a_sweep_that_fails_is_tried_again(tmp_path: Path, monkeypatch: Any) -> None:
    """A pass that fails (here a table gone missing; in life a failing disk) is logged and rolled
    back, and the sweeping goes on: the next pass still comes."""
    monkeypatch.setattr(common, "SWEEP_INTERVAL", 0.01)

    async def scenario(runtime: Runtime, sqs: Any) -> int:
        expired_rows(runtime, "sqs_dedup", DEDUP, 1)
        with runtime.store.transaction():
            runtime.store.execute("ALTER TABLE sqs_attempts RENAME TO sqs_attempts_away")
        await asyncio.sleep(0.05)  # passes failed on the missing table, and were undone
        assert count(runtime, "sqs_dedup") == 1
        with runtime.store.transaction():
            runtime.store.execute("ALTER TABLE sqs_attempts_away RENAME TO sqs_attempts")
        await asyncio.sleep(0.1)
        return count(runtime, "sqs_dedup")

    assert in_process(tmp_path, "sqs", scenario) == 0


def test_a_reset_starts_no_second_chain_of_sweeps(tmp_path: Path, monkeypatch: Any) -> None:
    """The chain started with the service goes on through a reset (which cancels no timer): each
    reset that armed a sweep of its own added a chain, and a suite that resets often swept many
    times a minute."""

    async def scenario(runtime: Runtime, sqs: Any) -> int:
        armed: list[Any] = []
        monkeypatch.setattr(runtime, "later", lambda delay, callback: armed.append(callback))
        for _ in range(3):
            runtime.reset()
        return len(armed)  # (nothing else a reset does arms a timer either)

    assert in_process(tmp_path, "sqs", scenario) == 0
