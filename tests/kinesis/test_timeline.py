"""Positions by arrival time, found by bisecting a shard's blocks (no index on arrival): AT_TIMESTAMP
finds the first record that arrived at or after any instant, and retention deletes exactly the
blocks past it, however many blocks a shard holds."""

from __future__ import annotations

import sqlite3
from typing import Any

from tests.conftest import make_client

SHARD = "shardId-000000000000"
HOUR = 3600


def _read(kinesis: Any, **position: Any) -> list[dict[str, Any]]:
    iterator = kinesis.get_shard_iterator(StreamName="t", ShardId=SHARD, **position)["ShardIterator"]
    out: list[dict[str, Any]] = []
    while True:
        page = kinesis.get_records(ShardIterator=iterator)
        if not page["Records"]:
            return out
        out += page["Records"]
        iterator = page["NextShardIterator"]


def test_at_timestamp_and_retention_over_many_blocks(fresh_server: Any, tmp_path: Any) -> None:
    data = tmp_path / "timeline"
    proc = fresh_server(data_dir=data)
    kinesis = make_client(proc.url, "kinesis")
    kinesis.create_stream(StreamName="t", ShardCount=1)
    for i in range(30):  # one-record and many-record blocks, some arriving in the same second
        if i % 3 == 0:
            kinesis.put_records(
                StreamName="t", Records=[{"Data": f"{i}-{k}".encode(), "PartitionKey": "p"} for k in range(4)]
            )
        else:
            kinesis.put_record(StreamName="t", Data=str(i).encode(), PartitionKey="p")
        if i % 4 != 1:
            proc.advance_clock(HOUR / 4)
    written = _read(kinesis, ShardIteratorType="TRIM_HORIZON")
    assert len(written) == 10 * 4 + 20
    stamps = [r["ApproximateArrivalTimestamp"].timestamp() for r in written]
    assert stamps == sorted(stamps)

    def first_from(instant: float) -> list[str]:
        expected = [r["SequenceNumber"] for r, s in zip(written, stamps, strict=True) if s >= instant - 1e-6]
        got = [
            r["SequenceNumber"] for r in _read(kinesis, ShardIteratorType="AT_TIMESTAMP", Timestamp=instant)
        ]
        assert got == expected
        return got

    for stamp in sorted(set(stamps)):
        for instant in (stamp - 0.5, stamp, stamp + 0.0005):
            first_from(instant)
    assert first_from(stamps[0] - HOUR) == [r["SequenceNumber"] for r in written]
    proc.advance_clock(60)
    assert first_from(stamps[-1] + 30) == []

    # The writes span 5.5 hours in quarter-hour steps: move the clock to 24 h past a cutoff between
    # two of them; the sweep that runs on the jump deletes exactly the blocks that arrived before it.
    cutoff = stamps[0] + 2.6 * HOUR
    proc.advance_clock(cutoff + 24 * HOUR - proc.call("GET", "/_gondwana/clock")["now"])
    kept = [r for r, s in zip(written, stamps, strict=True) if s >= cutoff]
    assert 0 < len(kept) < len(written)
    assert [r["SequenceNumber"] for r in _read(kinesis, ShardIteratorType="TRIM_HORIZON")] == [
        r["SequenceNumber"] for r in kept
    ]
    proc.stop()
    stored = sqlite3.connect(data / "gondwana.db").execute(
        "SELECT SUM(last_seq - first_seq + 1) FROM kinesis_blocks"
    )
    assert stored.fetchone() == (len(kept),)
