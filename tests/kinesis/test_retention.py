"""Retention: expired records are never returned and are trimmed; increase/decrease rules."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import make_client
from tests.kinesis.conftest import error_of

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
    import asyncio

    from gondwana.config import Settings
    from gondwana.server.app import build_runtime
    from gondwana.services.kinesis import provider

    monkeypatch.setattr(provider, "TRIM_EVERY", 0.01)
    calls = []

    def sweep() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise OSError("disk I/O error")

    async def scenario() -> int:
        runtime = build_runtime(Settings(data_dir=tmp_path / "data", services=["kinesis"]))
        kinesis = runtime.services["kinesis"]
        monkeypatch.setattr(kinesis, "_sweep", sweep)
        kinesis.start()
        await asyncio.sleep(0.1)
        runtime.cancel_background()
        runtime.store.close()
        return len(calls)

    assert asyncio.run(scenario()) > 1
