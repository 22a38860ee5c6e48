"""Retention: expired records are never returned and are trimmed; increase/decrease rules."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from gondwana.runtime import Runtime
from gondwana.services.kinesis import provider, records, storage, timeline
from gondwana.storage.sqlite import SqliteStore
from tests.conftest import make_client
from tests.kinesis.conftest import error_of
from tests.support.inprocess import in_process, request_context

SHARD = "shardId-000000000000"
HOUR = 3600


def read(kinesis: Any, name: str, kind: str = "TRIM_HORIZON", **kw: Any) -> list[bytes]:
    it = kinesis.get_shard_iterator(StreamName=name, ShardId=SHARD, ShardIteratorType=kind, **kw)[
        "ShardIterator"
    ]
    return [r["Data"] for r in kinesis.get_records(ShardIterator=it)["Records"]]


def test_records_past_retention_are_gone_and_trimmed(fresh_server: Any, tmp_path: Any) -> None:
    proc = fresh_server(data_dir=tmp_path / "ret")
    kinesis = make_client(proc.url, "kinesis")
    kinesis.create_stream(StreamName="r", ShardCount=1)
    first = kinesis.put_record(StreamName="r", Data=b"old", PartitionKey="k")
    stamp = kinesis.get_records(
        ShardIterator=kinesis.get_shard_iterator(
            StreamName="r", ShardId=SHARD, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
    )["Records"][0]["ApproximateArrivalTimestamp"]
    proc.advance_clock(23 * HOUR)
    kinesis.put_record(StreamName="r", Data=b"new", PartitionKey="k")
    assert read(kinesis, "r") == [b"old", b"new"]
    proc.advance_clock(2 * HOUR)  # "old" is now 25 h old
    assert read(kinesis, "r") == [b"new"]
    assert read(kinesis, "r", "AT_TIMESTAMP", Timestamp=stamp) == [b"new"]
    assert read(kinesis, "r", "AT_SEQUENCE_NUMBER", StartingSequenceNumber=first["SequenceNumber"]) == [
        b"new"
    ]
    # raising the retention does not bring expired data back
    kinesis.increase_stream_retention_period(StreamName="r", RetentionPeriodHours=48)
    assert read(kinesis, "r") == [b"new"]
    proc.advance_clock(24 * HOUR)  # "new" is 25 h old but within 48 h
    assert read(kinesis, "r") == [b"new"]
    proc.stop()
    rows = (
        sqlite3.connect(tmp_path / "ret" / "gondwana.db")
        .execute("SELECT pkeys, data FROM kinesis_blocks")
        .fetchall()
    )
    assert rows == [(b'["k"]', b"new")]  # the expired record was deleted from storage, not just hidden


def test_retention_period_rules(kinesis: Any, new_stream: Any) -> None:
    name = new_stream(1)

    def fails(call: Any, hours: int) -> tuple[str, str, int]:
        with pytest.raises(ClientError) as exc:
            call(StreamName=name, RetentionPeriodHours=hours)
        return error_of(exc)

    assert fails(kinesis.increase_stream_retention_period, 8761) == (
        "InvalidArgumentException",
        "Maximum allowed retention period is 8760 hours. Requested retention period (8761 hours) is too long.",
        400,
    )
    assert fails(kinesis.decrease_stream_retention_period, 23) == (
        "InvalidArgumentException",
        "Minimum allowed retention period is 24 hours. Requested retention period (23 hours) is too short.",
        400,
    )
    kinesis.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=8760)
    assert kinesis.describe_stream(StreamName=name)["StreamDescription"]["RetentionPeriodHours"] == 8760
    assert fails(kinesis.increase_stream_retention_period, 100) == (
        "InvalidArgumentException",
        f"Requested retention period (100 hours) for stream {name} can not be shorter than existing retention "
        "period (8760 hours). Use DecreaseRetentionPeriod API.",
        400,
    )
    kinesis.decrease_stream_retention_period(StreamName=name, RetentionPeriodHours=48)
    assert fails(kinesis.decrease_stream_retention_period, 72) == (
        "InvalidArgumentException",
        f"Requested retention period (72 hours) for stream {name} can not be longer than existing retention "
        "period (48 hours). Use IncreaseRetentionPeriod API.",
        400,
    )
    assert (
        kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["RetentionPeriodHours"]
        == 48
    )


def test_decreasing_retention_hides_older_records(fresh_server: Any) -> None:
    proc = fresh_server(in_memory=True)
    kinesis = make_client(proc.url, "kinesis")
    kinesis.create_stream(StreamName="d", ShardCount=1)
    kinesis.increase_stream_retention_period(StreamName="d", RetentionPeriodHours=72)
    kinesis.put_record(StreamName="d", Data=b"a", PartitionKey="k")
    proc.advance_clock(30 * HOUR)
    kinesis.put_record(StreamName="d", Data=b"b", PartitionKey="k")
    assert read(kinesis, "d") == [b"a", b"b"]
    kinesis.decrease_stream_retention_period(StreamName="d", RetentionPeriodHours=24)
    assert read(kinesis, "d") == [b"b"]


def test_raising_retention_does_not_bring_back_an_expired_shard(fresh_server: Any) -> None:
    """A closed shard expires once its retention has passed; raising the retention later keeps it
    gone (found by tests/kinesis/test_stateful.py: ListShards listed it again)."""
    proc = fresh_server(in_memory=True)
    kinesis = make_client(proc.url, "kinesis")
    kinesis.create_stream(StreamName="x", ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName="x", WaiterConfig={"Delay": 0.05})
    kinesis.split_shard(StreamName="x", ShardToSplit=SHARD, NewStartingHashKey=str(2**127))
    kinesis.get_waiter("stream_exists").wait(StreamName="x", WaiterConfig={"Delay": 0.05})
    proc.advance_clock(24 * HOUR + 60)  # the parent expires
    listed = lambda: [s["ShardId"] for s in kinesis.list_shards(StreamName="x")["Shards"]]  # noqa: E731
    assert SHARD not in listed()
    kinesis.increase_stream_retention_period(StreamName="x", RetentionPeriodHours=48)
    assert SHARD not in listed()
    with pytest.raises(ClientError) as info:
        kinesis.get_shard_iterator(StreamName="x", ShardId=SHARD, ShardIteratorType="TRIM_HORIZON")
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_a_sweep_that_fails_does_not_end_the_sweeping(tmp_path: Path, monkeypatch: Any) -> None:
    """The retention sweep (and the settling of due transitions) runs on a timer chain; a sweep
    that raises (a failing disk) is logged, and the next one still comes."""
    monkeypatch.setattr(provider, "TRIM_EVERY", 0.01)
    calls = []

    def sweep() -> bool:
        calls.append(1)
        if len(calls) == 1:
            raise OSError("disk I/O error")
        return False

    async def scenario(runtime: Runtime, kinesis: Any) -> int:
        monkeypatch.setattr(kinesis, "_sweep", sweep)
        kinesis._start_sweeping()
        await asyncio.sleep(0.1)
        return len(calls)

    assert in_process(tmp_path, "kinesis", scenario) > 1


def blocks(store: SqliteStore, sizes: list[int], arrivals: list[float]) -> None:
    """Blocks of shard 0 of stream 1, numbered from 1, of these sizes and arrival times."""
    with store.transaction():
        for counter, (size, arrival) in enumerate(zip(sizes, arrivals, strict=True), 1):
            records.append_one(store, 1, 0, counter, "k", b"d", size, arrival)


def counters(store: SqliteStore) -> list[int]:
    return [c for (c,) in store.query("SELECT last_seq FROM kinesis_blocks ORDER BY last_seq")]


def test_trim_deletes_the_oldest_expired_blocks_within_its_budget(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "k.db")
    try:
        storage.register(store)
        page = timeline.PAGE
        blocks(store, [10, 10, 3 * page, 10, 10, 10, 10], [0, 1, 2, 3, 4, 5, 100])
        cutoff = 50.0  # all but the last block expired
        assert timeline.trim(store, 1, 0, cutoff, 2 * page) == 2 * page  # a small block counts a page
        assert counters(store) == [3, 4, 5, 6, 7]
        assert timeline.trim(store, 1, 0, cutoff, page) == 3 * page  # a block is never split
        assert counters(store) == [4, 5, 6, 7]
        assert timeline.trim(store, 1, 0, cutoff, 10 * page) == 3 * page  # the rest, below budget
        assert counters(store) == [7]
        assert timeline.trim(store, 1, 0, cutoff, page) == 0
        blocks(store, [10] * 3, [200, 201, 202])  # counters 1-3 again, arriving after block 7
        assert timeline.trim(store, 1, 0, 500.0, None) == 0  # no budget: all of it at once
        assert counters(store) == []
    finally:
        store.close()


def expired_backlog(runtime: Runtime, kinesis: Any, count: int) -> None:
    """A stream with `count` small blocks past its retention."""
    ctx = request_context()
    kinesis.create_stream(ctx, {"StreamName": "s", "ShardCount": 1})
    assert runtime.store.query("SELECT id FROM kinesis_streams") == [(1,)]
    blocks(runtime.store, [10] * count, [runtime.now() - 25 * HOUR] * count)


def left(runtime: Runtime) -> int:
    return runtime.store.query_one("SELECT COUNT(*) FROM kinesis_blocks")[0]


def test_a_backlog_larger_than_a_pass_is_trimmed_pass_after_pass(tmp_path: Path, monkeypatch: Any) -> None:
    """Expired records beyond one pass's budget (a server that was down, a clock moved on) are
    deleted in passes at the loop's next turns, not all at once (holding up every request) nor a
    pass a minute."""
    monkeypatch.setattr(provider, "TRIM_BUDGET", 3 * timeline.PAGE)
    passes: list[int] = []
    trim = timeline.trim

    def counted(*args: Any) -> int:
        passes.append(trim(*args))
        return passes[-1]

    async def scenario(runtime: Runtime, kinesis: Any) -> int:
        expired_backlog(runtime, kinesis, 20)
        monkeypatch.setattr(timeline, "trim", counted)
        kinesis._start_sweeping()
        for _ in range(100):
            await asyncio.sleep(0)
        return left(runtime)

    assert in_process(tmp_path, "kinesis", scenario) == 0
    assert passes[:7] == [3 * timeline.PAGE] * 6 + [2 * timeline.PAGE]


def test_a_pass_whose_commit_fails_waits_the_interval(tmp_path: Path, monkeypatch: Any) -> None:
    """A pass that spent its budget is followed at once only once it is committed: on a full disk
    every commit fails and the records come back, so passes following each other would spin."""
    monkeypatch.setattr(provider, "TRIM_BUDGET", 3 * timeline.PAGE)
    passes: list[int] = []
    trim = timeline.trim

    def refuse() -> None:
        raise OSError("database or disk is full")

    async def scenario(runtime: Runtime, kinesis: Any) -> int:
        def failing(*args: Any) -> int:
            passes.append(trim(*args))
            runtime.store.before_commit(refuse)  # this pass's commit fails, as on a full disk
            return passes[-1]

        expired_backlog(runtime, kinesis, 20)
        await runtime.store.flushed()  # (the chain's first pass may have trimmed meanwhile)
        monkeypatch.setattr(timeline, "trim", failing)
        before = left(runtime)
        kinesis._start_sweeping()
        for _ in range(100):
            await asyncio.sleep(0)
        return left(runtime) - before

    assert in_process(tmp_path, "kinesis", scenario) == 0  # undone, and no pass since
    assert passes == [3 * timeline.PAGE]
