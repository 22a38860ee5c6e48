"""Closed shards expire once their retention period has passed: no call lists or describes them
from then on (AWS's EXPIRED), and the sweep forgets them, a chunk a pass, with their records."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

from gondwana.runtime import Runtime
from gondwana.services.kinesis import records, retention, timeline
from tests.conftest import make_client
from tests.support.inprocess import in_process, request_context

HOUR = 3600


def listed(kinesis: Any, name: str) -> list[str]:
    """Every shard ListShards lists, page after page."""
    page = kinesis.list_shards(StreamName=name)
    found = [s["ShardId"] for s in page["Shards"]]
    while "NextToken" in page:
        page = kinesis.list_shards(NextToken=page["NextToken"])
        found += [s["ShardId"] for s in page["Shards"]]
    return found


def described(kinesis: Any, name: str) -> list[str]:
    """Every shard DescribeStream shows, page after page."""
    found: list[str] = []
    while True:
        start = {"ExclusiveStartShardId": found[-1]} if found else {}
        page = kinesis.describe_stream(StreamName=name, Limit=100, **start)["StreamDescription"]
        found += [s["ShardId"] for s in page["Shards"]]
        if not page["HasMoreShards"]:
            return found


def stored(data: Path) -> int:
    # Read-only: closing a connection that may write deletes the live server's WAL once its
    # checkpointer has rewound it (later commits are then out of sight, and lost to a kill).
    db = sqlite3.connect(f"file:{data / 'gondwana.db'}?mode=ro", uri=True)
    try:
        return db.execute("SELECT COUNT(*) FROM kinesis_shards").fetchone()[0]
    finally:
        db.close()


def test_expired_shards_are_no_longer_listed_and_are_forgotten_across_a_kill(
    fresh_server: Any, tmp_path: Path
) -> None:
    data = tmp_path / "expiry"
    proc = fresh_server(data_dir=data)
    kinesis = make_client(proc.url, "kinesis")
    kinesis.create_stream(StreamName="x", ShardCount=200)
    for target in (400, 200, 400, 200, 400):  # 1,400 shards closed, 400 open
        kinesis.update_shard_count(StreamName="x", TargetShardCount=target, ScalingType="UNIFORM_SCALING")
    kinesis.get_waiter("stream_exists").wait(StreamName="x", WaiterConfig={"Delay": 0.05})
    proc.advance_clock(12 * HOUR)
    opened = listed(kinesis, "x")
    last = kinesis.list_shards(StreamName="x", ShardFilter={"Type": "AT_LATEST"})["Shards"][-1]["ShardId"]
    kinesis.split_shard(StreamName="x", ShardToSplit=last, NewStartingHashKey=str(2**128 - 2**100))
    kinesis.get_waiter("stream_exists").wait(StreamName="x", WaiterConfig={"Delay": 0.05})
    everything = listed(kinesis, "x")
    assert len(everything) == 1802 and everything[:1800] == opened

    proc.advance_clock(12 * HOUR - 60)  # closed 24 h less a minute ago: all still there
    assert listed(kinesis, "x") == everything == described(kinesis, "x")
    proc.advance_clock(120)  # 1,400 expire, and the sweep starts at once: killed while it forgets
    proc.crash()
    kinesis = make_client(proc.url, "kinesis")
    remaining = everything[1400:]
    assert listed(kinesis, "x") == remaining == described(kinesis, "x")
    deadline = time.monotonic() + 10
    while stored(data) > len(remaining) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stored(data) == len(remaining)
    shards = kinesis.list_shards(StreamName="x")["Shards"]
    assert shards[0]["ParentShardId"] == everything[1200]  # lineage still names forgotten parents
    assert (
        kinesis.describe_stream_summary(StreamName="x")["StreamDescriptionSummary"]["OpenShardCount"] == 401
    )

    proc.advance_clock(12 * HOUR)  # the shard split 12 h later expires in its turn
    assert listed(kinesis, "x") == [s for s in remaining if s != last] == described(kinesis, "x")
    deadline = time.monotonic() + 10
    while stored(data) > 401 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stored(data) == 401


def add_shards(runtime: Runtime, closes: list[float]) -> list[int]:
    """Closed shards of stream 1, after its open one, closed at these times."""
    with runtime.store.transaction():
        for index, closed in enumerate(closes, 1):
            runtime.store.execute(
                "INSERT INTO kinesis_shards (stream_id, idx, start_hash, end_hash, start_seq, end_seq, "
                "created, closed) VALUES (1, ?, ?, ?, 0, 0, ?, ?)",
                (index, f"{0:039d}", f"{1:039d}", closed - 1, closed),
            )
    return list(range(1, len(closes) + 1))


def shard_rows(runtime: Runtime) -> list[int]:
    return [i for (i,) in runtime.store.query("SELECT idx FROM kinesis_shards ORDER BY idx")]


async def sweep_until_idle(kinesis: Any) -> None:
    kinesis._start_sweeping()
    for _ in range(50):
        await asyncio.sleep(0)
    await kinesis.store.flushed()


def test_the_sweep_forgets_expired_shards_a_chunk_a_pass(tmp_path: Path, monkeypatch: Any) -> None:
    """The longest closed first, `FORGET_CHUNK` a pass, with the records left in them (the
    stream's counter kept past them); a shard closed within the retention period stays."""
    monkeypatch.setattr(retention, "FORGET_CHUNK", 4)
    chunks: list[list[int]] = []
    forget = retention.Retention._forget

    def counted(self: Any, stream_id: int, indexes: list[int], budget: int | None) -> int:
        chunks.append(indexes)
        return forget(self, stream_id, indexes, budget)

    async def scenario(runtime: Runtime, kinesis: Any) -> int:
        kinesis.create_stream(request_context(), {"StreamName": "s", "ShardCount": 1})
        now = runtime.now()
        add_shards(runtime, [now - 30 * HOUR + i for i in range(9)] + [now - 23 * HOUR])
        with runtime.store.transaction():  # a record left in an expired shard
            records.append_one(runtime.store, 1, 2, 500, "k", b"d", 1, now - 31 * HOUR)
        monkeypatch.setattr(retention.Retention, "_forget", counted)
        await sweep_until_idle(kinesis)
        assert shard_rows(runtime) == [0, 10]
        assert runtime.store.query("SELECT COUNT(*) FROM kinesis_blocks") == [(0,)]
        assert kinesis.streams.load_id(1).seq >= 500  # the counter outlives the records
        return 0

    in_process(tmp_path, "kinesis", scenario)
    assert chunks == [[1, 2, 3, 4], [5, 6, 7, 8], [9]]


def test_forgetting_goes_on_after_a_restart(tmp_path: Path, monkeypatch: Any) -> None:
    """Each pass is a unit of change, and what is still expired is the place to go on from."""
    monkeypatch.setattr(retention, "FORGET_CHUNK", 4)

    async def interrupted(runtime: Runtime, kinesis: Any) -> int:
        kinesis._stop_sweeping()
        kinesis.create_stream(request_context(), {"StreamName": "s", "ShardCount": 1})
        add_shards(runtime, [runtime.now() - 30 * HOUR + i for i in range(10)])
        assert kinesis.retention.run_pass(runtime.now(), 2**20) is True
        assert kinesis.retention.run_pass(runtime.now(), 2**20) is True
        await runtime.store.flushed()
        return len(shard_rows(runtime))

    async def restarted(runtime: Runtime, kinesis: Any) -> int:
        await sweep_until_idle(kinesis)
        return len(shard_rows(runtime))

    assert in_process(tmp_path, "kinesis", interrupted) == 11 - 8
    assert in_process(tmp_path, "kinesis", restarted) == 1


def test_an_idle_sweep_reads_no_shard(tmp_path: Path, monkeypatch: Any) -> None:
    """Once a stream's shards were walked, the sweeps skip it until its oldest record can have
    expired (before, every sweep read every shard ever made, one query each)."""
    seeks: list[int] = []
    oldest = timeline.oldest

    def counted(store: Any, stream_id: int, shard: int) -> float | None:
        seeks.append(shard)
        return oldest(store, stream_id, shard)

    async def scenario(runtime: Runtime, kinesis: Any) -> int:
        kinesis.create_stream(request_context(), {"StreamName": "s", "ShardCount": 5})
        with runtime.store.transaction():
            records.append_one(runtime.store, 1, 3, 1, "k", b"d", 1, runtime.now() - 10 * HOUR)
        monkeypatch.setattr(timeline, "oldest", counted)
        await sweep_until_idle(kinesis)
        assert seeks == [0, 1, 2, 3, 4]
        runtime.clock.advance(13 * HOUR)  # (not through the control API: no new chain)
        assert kinesis._sweep() is False
        assert seeks == [0, 1, 2, 3, 4]  # nothing can have expired: no shard read
        runtime.clock.advance(2 * HOUR)  # the record has expired: the stream is walked again
        assert kinesis._sweep() is False
        assert seeks[5:] == [0, 1, 2, 3, 3, 4]  # (shard 3 again once trimmed)
        assert runtime.store.query("SELECT COUNT(*) FROM kinesis_blocks") == [(0,)]
        return 0

    in_process(tmp_path, "kinesis", scenario)
