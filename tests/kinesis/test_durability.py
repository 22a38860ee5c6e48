"""Durability: acknowledged records, streams, consumers and iterators survive kill -9 and restart."""

from __future__ import annotations

from typing import Any

from tests.conftest import make_client

ACCOUNT = "000000000000"
SHARD = "shardId-000000000000"


def drain(kinesis: Any, iterator: str) -> tuple[list[dict[str, Any]], str]:
    out = kinesis.get_records(ShardIterator=iterator)
    return out["Records"], out["NextShardIterator"]


def test_records_and_iterators_survive_kill(fresh_server: Any) -> None:
    proc = fresh_server()
    kinesis = make_client(proc.url, "kinesis")
    kinesis.create_stream(StreamName="d", ShardCount=2)
    acked = [
        kinesis.put_record(StreamName="d", Data=f"r{i}".encode(), PartitionKey=f"k{i}") for i in range(20)
    ]
    batch = kinesis.put_records(
        StreamName="d", Records=[{"Data": b"b", "PartitionKey": str(i)} for i in range(30)]
    )
    trim = kinesis.get_shard_iterator(StreamName="d", ShardId=SHARD, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    latest = kinesis.get_shard_iterator(StreamName="d", ShardId=SHARD, ShardIteratorType="LATEST")[
        "ShardIterator"
    ]
    before = {r["SequenceNumber"]: r["Data"] for r in drain(kinesis, trim)[0]}

    proc.kill()
    proc.restart()
    kinesis = make_client(proc.url, "kinesis")

    records, _ = drain(kinesis, trim)  # an iterator issued before the crash still works
    assert {r["SequenceNumber"]: r["Data"] for r in records} == before
    stored = set()
    for shard in ("shardId-000000000000", "shardId-000000000001"):
        it = kinesis.get_shard_iterator(StreamName="d", ShardId=shard, ShardIteratorType="TRIM_HORIZON")
        stored |= {(shard, r["SequenceNumber"]) for r in drain(kinesis, it["ShardIterator"])[0]}
    acknowledged = {(p["ShardId"], p["SequenceNumber"]) for p in acked + batch["Records"]}
    assert acknowledged == stored

    # new records sort after everything written before the crash, and LATEST from before sees them
    after = kinesis.put_record(StreamName="d", Data=b"after", PartitionKey="x", ExplicitHashKey="0")
    assert int(after["SequenceNumber"]) > max(int(s) for sh, s in stored if sh == SHARD)
    records, _ = drain(kinesis, latest)
    assert [r["Data"] for r in records] == [b"after"]


def test_streams_consumers_and_tags_survive_kill(fresh_server: Any) -> None:
    proc = fresh_server()
    kinesis = make_client(proc.url, "kinesis")
    kinesis.create_stream(StreamName="s", ShardCount=1, Tags={"team": "data"})
    kinesis.split_shard(StreamName="s", ShardToSplit=SHARD, NewStartingHashKey=str(2**127))
    kinesis.increase_stream_retention_period(StreamName="s", RetentionPeriodHours=48)
    arn = f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/s"
    consumer = kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="c")["Consumer"]
    before = kinesis.describe_stream(StreamName="s")["StreamDescription"]

    proc.kill()
    proc.restart()
    kinesis = make_client(proc.url, "kinesis")

    assert kinesis.describe_stream(StreamName="s")["StreamDescription"] == before
    assert kinesis.list_tags_for_stream(StreamName="s")["Tags"] == [{"Key": "team", "Value": "data"}]
    described = kinesis.describe_stream_consumer(ConsumerARN=consumer["ConsumerARN"])["ConsumerDescription"]
    assert described["ConsumerName"] == "c" and described["ConsumerStatus"] == "ACTIVE"


def test_transitions_pending_at_a_crash_settle_after_restart(fresh_server: Any) -> None:
    proc = fresh_server("--state-delay", "60000")
    kinesis = make_client(proc.url, "kinesis")
    kinesis.create_stream(StreamName="slow", ShardCount=1)
    assert (
        kinesis.describe_stream_summary(StreamName="slow")["StreamDescriptionSummary"]["StreamStatus"]
        == "CREATING"
    )
    proc.kill()
    proc.restart()
    kinesis = make_client(proc.url, "kinesis")
    assert (
        kinesis.describe_stream_summary(StreamName="slow")["StreamDescriptionSummary"]["StreamStatus"]
        == "CREATING"
    )
    proc.advance_clock(61)
    assert (
        kinesis.describe_stream_summary(StreamName="slow")["StreamDescriptionSummary"]["StreamStatus"]
        == "ACTIVE"
    )
    assert kinesis.list_streams()["StreamSummaries"][0]["StreamStatus"] == "ACTIVE"


def test_reset_wipes_streams_and_keeps_serving(fresh_server: Any) -> None:
    proc = fresh_server(in_memory=True)
    kinesis = make_client(proc.url, "kinesis")
    kinesis.create_stream(StreamName="r", ShardCount=1)
    it = kinesis.get_shard_iterator(StreamName="r", ShardId=SHARD, ShardIteratorType="LATEST")[
        "ShardIterator"
    ]
    proc.reset()
    assert kinesis.list_streams()["StreamNames"] == []
    kinesis.create_stream(StreamName="r", ShardCount=1)
    from botocore.exceptions import ClientError

    try:
        kinesis.get_records(ShardIterator=it)
        raise AssertionError("an iterator from before the reset must not read the new stream")
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "InvalidArgumentException"
    put = kinesis.put_record(StreamName="r", Data=b"x", PartitionKey="k")
    assert put["ShardId"] == SHARD


def test_counter_outlives_trimmed_records_and_kill(fresh_server: Any, tmp_path: Any) -> None:
    """A write stores only its block; the stream's counter must still never go back, even once
    retention has deleted every block that carried it and the process died."""
    import sqlite3

    data = tmp_path / "counter"
    proc = fresh_server(data_dir=data)
    kinesis = make_client(proc.url, "kinesis")
    kinesis.create_stream(StreamName="c", ShardCount=2)
    written = [kinesis.put_record(StreamName="c", Data=b"x", PartitionKey=f"k{i}") for i in range(6)]
    highest = max(int(w["SequenceNumber"][2:38]) for w in written)
    proc.advance_clock(25 * 3600)  # past the 24 h retention: the sweep deletes every block
    kinesis.list_streams()
    proc.kill()
    db = sqlite3.connect(data / "gondwana.db")
    assert db.execute("SELECT COUNT(*) FROM kinesis_blocks").fetchone() == (0,)
    db.close()

    proc.restart()
    kinesis = make_client(proc.url, "kinesis")
    after = kinesis.put_record(StreamName="c", Data=b"y", PartitionKey="k0")
    assert int(after["SequenceNumber"][2:38]) == highest + 1
    batch = kinesis.put_records(StreamName="c", Records=[{"Data": b"z", "PartitionKey": "k1"}])
    assert int(batch["Records"][0]["SequenceNumber"][2:38]) == highest + 2
