"""SubscribeToShard through boto3's event-stream reader (HTTP/1.1 chunked, AWS event-stream framing)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, EventStreamError

from tests.conftest import make_client
from tests.kinesis.conftest import error_of

ACCOUNT = "000000000000"
SHARD = "shardId-000000000000"


def arn_of(name: str) -> str:
    return f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/{name}"


def consumer(kinesis: Any, name: str) -> str:
    return kinesis.register_stream_consumer(StreamARN=arn_of(name), ConsumerName="fan")["Consumer"][
        "ConsumerARN"
    ]


def test_subscribe_delivers_records_then_new_ones(kinesis: Any, new_stream: Any) -> None:
    name = new_stream(1)
    consumer_arn = consumer(kinesis, name)
    puts = [
        kinesis.put_record(StreamName=name, Data=f"Hello world_{i}".encode(), PartitionKey="1")
        for i in range(5)
    ]
    response = kinesis.subscribe_to_shard(
        ConsumerARN=consumer_arn, ShardId=SHARD, StartingPosition={"Type": "TRIM_HORIZON"}
    )
    stream = response["EventStream"]
    events = iter(stream)
    first = next(events)["SubscribeToShardEvent"]
    assert [r["Data"] for r in first["Records"]] == [f"Hello world_{i}".encode() for i in range(5)]
    assert [r["SequenceNumber"] for r in first["Records"]] == [p["SequenceNumber"] for p in puts]
    assert first["ContinuationSequenceNumber"] == puts[-1]["SequenceNumber"]
    assert first["MillisBehindLatest"] == 0
    assert all(r["PartitionKey"] == "1" and r["ApproximateArrivalTimestamp"] for r in first["Records"])

    late = kinesis.put_record(StreamName=name, Data=b"late", PartitionKey="1")
    second = next(events)["SubscribeToShardEvent"]
    while not second["Records"]:
        second = next(events)["SubscribeToShardEvent"]
    assert [r["SequenceNumber"] for r in second["Records"]] == [late["SequenceNumber"]]

    # a second subscription for the same consumer and shard within 5 seconds is refused
    with pytest.raises(ClientError) as exc:
        kinesis.subscribe_to_shard(
            ConsumerARN=consumer_arn, ShardId=SHARD, StartingPosition={"Type": "LATEST"}
        )
    assert error_of(exc)[0] == "ResourceInUseException"
    stream.close()


def test_subscribe_positions_and_errors(kinesis: Any, new_stream: Any) -> None:
    name = new_stream(1)
    consumer_arn = consumer(kinesis, name)
    puts = [kinesis.put_record(StreamName=name, Data=f"{i}".encode(), PartitionKey="k") for i in range(4)]
    response = kinesis.subscribe_to_shard(
        ConsumerARN=consumer_arn,
        ShardId=SHARD,
        StartingPosition={"Type": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": puts[1]["SequenceNumber"]},
    )
    event = next(iter(response["EventStream"]))["SubscribeToShardEvent"]
    assert [r["Data"] for r in event["Records"]] == [b"2", b"3"]
    response["EventStream"].close()
    with pytest.raises(ClientError) as exc:
        kinesis.subscribe_to_shard(
            ConsumerARN=consumer_arn.replace("/consumer/fan:", "/consumer/nope:"),
            ShardId=SHARD,
            StartingPosition={"Type": "LATEST"},
        )
    assert error_of(exc)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        kinesis.subscribe_to_shard(
            ConsumerARN=consumer_arn, ShardId="shardId-000000000007", StartingPosition={"Type": "LATEST"}
        )
    assert error_of(exc)[0] == "ResourceNotFoundException"


def test_closed_shard_subscription_announces_children_and_ends(kinesis: Any, new_stream: Any) -> None:
    name = new_stream(1)
    consumer_arn = consumer(kinesis, name)
    kinesis.put_record(StreamName=name, Data=b"parent", PartitionKey="k")
    kinesis.split_shard(StreamName=name, ShardToSplit=SHARD, NewStartingHashKey=str(2**127))
    response = kinesis.subscribe_to_shard(
        ConsumerARN=consumer_arn, ShardId=SHARD, StartingPosition={"Type": "TRIM_HORIZON"}
    )
    events = [e["SubscribeToShardEvent"] for e in response["EventStream"]]  # ends by itself
    assert [r["Data"] for e in events for r in e["Records"]] == [b"parent"]
    children = events[-1]["ChildShards"]
    assert {c["ShardId"] for c in children} == {"shardId-000000000001", "shardId-000000000002"}
    assert all(c["ParentShards"] == [SHARD] for c in children)


def test_takeover_after_five_seconds_and_five_minute_expiry(fresh_server: Any) -> None:
    proc = fresh_server(in_memory=True)
    kinesis = make_client(proc.url, "kinesis")
    kinesis.create_stream(StreamName="t", ShardCount=1)
    consumer_arn = consumer(kinesis, "t")
    old = kinesis.subscribe_to_shard(
        ConsumerARN=consumer_arn, ShardId=SHARD, StartingPosition={"Type": "LATEST"}
    )
    old_events = iter(old["EventStream"])
    next(old_events)
    proc.advance_clock(6)
    new = kinesis.subscribe_to_shard(
        ConsumerARN=consumer_arn, ShardId=SHARD, StartingPosition={"Type": "LATEST"}
    )
    with pytest.raises(EventStreamError) as exc:
        for _ in old_events:
            pass
    assert exc.value.response["Error"]["Code"] == "ResourceInUseException"
    new_events = iter(new["EventStream"])
    next(new_events)
    proc.advance_clock(301)
    # the subscription ends after 5 minutes of the server clock: iteration stops instead of hanging
    assert all("SubscribeToShardEvent" in event for event in new_events)


def test_subscribing_a_consumer_that_is_not_active_is_refused(fresh_server: Any) -> None:
    proc = fresh_server("--state-delay", "60000", in_memory=True)
    kinesis = make_client(proc.url, "kinesis")
    kinesis.create_stream(StreamName="slow", ShardCount=1)
    proc.advance_clock(61)
    consumer = kinesis.register_stream_consumer(StreamARN=arn_of("slow"), ConsumerName="late")["Consumer"]
    assert consumer["ConsumerStatus"] == "CREATING"
    with pytest.raises(ClientError) as exc:
        kinesis.subscribe_to_shard(
            ConsumerARN=consumer["ConsumerARN"], ShardId=SHARD, StartingPosition={"Type": "LATEST"}
        )
    created = int(consumer["ConsumerCreationTimestamp"].timestamp())
    assert error_of(exc) == (
        "ResourceInUseException",
        f"Consumer late with creation timestamp {created} under stream: slow , account {ACCOUNT} "
        "is not in ACTIVE status.",
        400,
    )


def test_a_split_ends_a_live_subscription_with_its_children(kinesis: Any, new_stream: Any) -> None:
    name = new_stream(1)
    consumer_arn = consumer(kinesis, name)
    response = kinesis.subscribe_to_shard(
        ConsumerARN=consumer_arn, ShardId=SHARD, StartingPosition={"Type": "LATEST"}
    )
    events = iter(response["EventStream"])
    assert next(events)["SubscribeToShardEvent"]["Records"] == []
    kinesis.put_record(StreamName=name, Data=b"before", PartitionKey="k")
    kinesis.split_shard(StreamName=name, ShardToSplit=SHARD, NewStartingHashKey=str(2**127))
    rest = [e["SubscribeToShardEvent"] for e in events]  # ends by itself once the parent is read
    assert [r["Data"] for e in rest for r in e["Records"]] == [b"before"]
    assert {c["ShardId"] for c in rest[-1]["ChildShards"]} == {"shardId-000000000001", "shardId-000000000002"}
