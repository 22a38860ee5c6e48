"""Records are stored in blocks (one per write and shard): every way into a block finds the same
records, in order, once each; data written in the earlier one-row-per-record layout is migrated."""

from __future__ import annotations

import json
import sqlite3
from array import array
from typing import Any

from tests.conftest import make_client
from tests.kinesis.test_records import shard_for

KEYS = [f"key-{i}" for i in range(40)]


def _iterator(kinesis: Any, name: str, shard: str, kind: str, **kw: Any) -> str:
    return kinesis.get_shard_iterator(StreamName=name, ShardId=shard, ShardIteratorType=kind, **kw)[
        "ShardIterator"
    ]


def _read(kinesis: Any, iterator: str, limit: int | None = None) -> list[dict[str, Any]]:
    """Every record from the iterator to the tip, `limit` per call."""
    out: list[dict[str, Any]] = []
    while True:
        page = kinesis.get_records(ShardIterator=iterator, **({"Limit": limit} if limit else {}))
        out += page["Records"]
        if not page["Records"]:
            return out
        iterator = page["NextShardIterator"]


def test_batches_across_shards_read_back_in_order_from_any_position(kinesis: Any, new_stream: Any) -> None:
    name = new_stream(3)
    shards = kinesis.list_shards(StreamName=name)["Shards"]
    written: dict[str, list[tuple[str, bytes, str]]] = {s["ShardId"]: [] for s in shards}
    for batch in range(3):
        entries = [{"Data": f"{batch}-{k}".encode(), "PartitionKey": k} for k in KEYS]
        result = kinesis.put_records(StreamName=name, Records=entries)
        assert result["FailedRecordCount"] == 0
        for entry, out in zip(entries, result["Records"], strict=True):
            assert out["ShardId"] == shard_for(shards, entry["PartitionKey"])
            written[out["ShardId"]].append((out["SequenceNumber"], entry["Data"], entry["PartitionKey"]))
    stamp = None
    for shard, expected in written.items():
        assert len(expected) > 3
        for limit in (None, 1, 7):
            got = _read(kinesis, _iterator(kinesis, name, shard, "TRIM_HORIZON"), limit)
            assert [(r["SequenceNumber"], r["Data"], r["PartitionKey"]) for r in got] == expected
            stamp = got[0]["ApproximateArrivalTimestamp"]
        middle = len(expected) // 2
        at = _iterator(kinesis, name, shard, "AT_SEQUENCE_NUMBER", StartingSequenceNumber=expected[middle][0])
        assert [r["SequenceNumber"] for r in _read(kinesis, at, 3)] == [e[0] for e in expected[middle:]]
        after = _iterator(
            kinesis, name, shard, "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=expected[middle][0]
        )
        assert [r["SequenceNumber"] for r in _read(kinesis, after)] == [e[0] for e in expected[middle + 1 :]]
        by_time = _iterator(kinesis, name, shard, "AT_TIMESTAMP", Timestamp=stamp)
        assert [r["SequenceNumber"] for r in _read(kinesis, by_time)] == [e[0] for e in expected]


def test_records_of_the_row_per_record_layout_are_migrated(fresh_server: Any, tmp_path: Any) -> None:
    data = tmp_path / "old"
    proc = fresh_server(data_dir=data)
    kinesis = make_client(proc.url, "kinesis")
    kinesis.create_stream(StreamName="m", ShardCount=2)
    shards = kinesis.list_shards(StreamName="m")["Shards"]
    puts = kinesis.put_records(
        StreamName="m", Records=[{"Data": k.encode(), "PartitionKey": k} for k in KEYS]
    )
    proc.stop()
    db = sqlite3.connect(data / "gondwana.db", isolation_level=None)
    blocks = db.execute(
        "SELECT stream_id, shard, first_seq, last_seq, seqs, offsets, pkeys, data, arrival FROM kinesis_blocks"
    )
    rows = []
    for stream_id, shard, first, last, seqs, offsets, keys, blob, arrival in blocks.fetchall():
        # empty counters run first..last without a gap; empty offsets: one record, the whole data
        counters = array("q", seqs) or range(first, last + 1)
        ends = array("q", offsets) or [0, len(blob)]
        for i, (counter, key) in enumerate(zip(counters, json.loads(keys), strict=True)):
            rows.append((stream_id, shard, counter, arrival, key, blob[ends[i] : ends[i + 1]]))
    db.executescript(
        "DROP TABLE kinesis_blocks;"
        "CREATE TABLE kinesis_records (stream_id INTEGER NOT NULL, shard INTEGER NOT NULL, "
        "seq INTEGER NOT NULL, arrival REAL NOT NULL, pkey TEXT NOT NULL, data BLOB NOT NULL, "
        "PRIMARY KEY (stream_id, shard, seq));"
        "ALTER TABLE kinesis_streams DROP COLUMN distribution;"  # (added by later versions)
        "DROP INDEX kinesis_shards_closed; DROP INDEX kinesis_shards_parent; DROP INDEX kinesis_shards_adjacent;"
        "UPDATE _gondwana_schema SET version = 2 WHERE component = 'kinesis';"
    )
    db.executemany("INSERT INTO kinesis_records VALUES (?, ?, ?, ?, ?, ?)", rows)
    db.close()
    assert len(rows) == len(KEYS)

    proc.restart()
    kinesis = make_client(proc.url, "kinesis")
    for shard in shards:
        expected = [
            (out["SequenceNumber"], key.encode())
            for key, out in zip(KEYS, puts["Records"], strict=True)
            if out["ShardId"] == shard["ShardId"]
        ]
        got = _read(kinesis, _iterator(kinesis, "m", shard["ShardId"], "TRIM_HORIZON"), 5)
        assert [(r["SequenceNumber"], r["Data"]) for r in got] == expected
    kinesis.put_record(StreamName="m", Data=b"after", PartitionKey=KEYS[0])
    got = _read(kinesis, _iterator(kinesis, "m", puts["Records"][0]["ShardId"], "TRIM_HORIZON"))
    assert got[-1]["Data"] == b"after"


def test_gapless_and_one_record_blocks_read_back_from_any_position(kinesis: Any, new_stream: Any) -> None:
    """One-shard writes store no counters (they run without a gap) and PutRecord no offsets either:
    reads cut them into records the same way, from any position and with any limit."""
    name = new_stream(1)
    shard = "shardId-000000000000"
    written: list[tuple[str, bytes]] = []
    for n in (7, 1, 0, 0, 5):
        if n:
            entries = [
                {"Data": f"b{len(written) + k}".encode() * (k + 1), "PartitionKey": f"k{k}"} for k in range(n)
            ]
            out = kinesis.put_records(StreamName=name, Records=entries)["Records"]
            written += [(o["SequenceNumber"], e["Data"]) for o, e in zip(out, entries, strict=True)]
        else:
            data = f"one{len(written)}".encode()
            written.append(
                (kinesis.put_record(StreamName=name, Data=data, PartitionKey="p")["SequenceNumber"], data)
            )
    for limit in (None, 1, 3, 4):
        got = _read(kinesis, _iterator(kinesis, name, shard, "TRIM_HORIZON"), limit)
        assert [(r["SequenceNumber"], r["Data"]) for r in got] == written
    for i, (seq, _) in enumerate(written):
        at = _iterator(kinesis, name, shard, "AT_SEQUENCE_NUMBER", StartingSequenceNumber=seq)
        assert [r["SequenceNumber"] for r in _read(kinesis, at, 2)] == [w[0] for w in written[i:]]
        after = _iterator(kinesis, name, shard, "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=seq)
        assert [r["SequenceNumber"] for r in _read(kinesis, after)] == [w[0] for w in written[i + 1 :]]
