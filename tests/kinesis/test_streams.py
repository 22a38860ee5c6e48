"""Stream lifecycle, description, listing and the limits checked before anything is allocated."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.kinesis.conftest import error_of, unique

ACCOUNT = "000000000000"


def test_create_describe_delete_lifecycle(kinesis: Any, server_now: Any) -> None:
    name = unique()
    assert kinesis.create_stream(StreamName=name, ShardCount=3)["ResponseMetadata"]["HTTPStatusCode"] == 200
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.05, "MaxAttempts": 20})
    desc = kinesis.describe_stream(StreamName=name)["StreamDescription"]
    assert desc["StreamStatus"] == "ACTIVE"
    assert desc["StreamARN"] == f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/{name}"
    assert desc["RetentionPeriodHours"] == 24
    assert desc["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}
    assert desc["EncryptionType"] == "NONE"
    assert desc["EnhancedMonitoring"] == [{"ShardLevelMetrics": []}]
    assert desc["HasMoreShards"] is False
    assert [s["ShardId"] for s in desc["Shards"]] == [f"shardId-{i:012d}" for i in range(3)]
    assert abs(desc["StreamCreationTimestamp"].timestamp() - server_now()) < 60

    summary = kinesis.describe_stream_summary(StreamARN=desc["StreamARN"])["StreamDescriptionSummary"]
    assert summary["OpenShardCount"] == 3
    assert summary["ConsumerCount"] == 0
    assert summary["StreamName"] == name

    kinesis.delete_stream(StreamName=name)
    kinesis.get_waiter("stream_not_exists").wait(
        StreamName=name, WaiterConfig={"Delay": 0.05, "MaxAttempts": 20}
    )
    with pytest.raises(ClientError) as exc:
        kinesis.describe_stream(StreamName=name)
    assert error_of(exc) == (
        "ResourceNotFoundException",
        f"Stream {name} under account {ACCOUNT} not found.",
        400,
    )


def test_hash_ranges_partition_the_key_space(kinesis: Any, new_stream: Any) -> None:
    for count in (1, 3, 7):
        shards = kinesis.list_shards(StreamName=new_stream(count))["Shards"]
        ranges = [
            (int(s["HashKeyRange"]["StartingHashKey"]), int(s["HashKeyRange"]["EndingHashKey"]))
            for s in shards
        ]
        assert ranges[0][0] == 0 and ranges[-1][1] == 2**128 - 1
        for (_, end), (start, _) in itertools.pairwise(ranges):
            assert start == end + 1
        assert all(s["SequenceNumberRange"]["StartingSequenceNumber"].isdigit() for s in shards)


def test_create_without_shard_count_is_on_demand_with_four_shards(kinesis: Any) -> None:
    name = unique()
    kinesis.create_stream(StreamName=name)
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.05, "MaxAttempts": 20})
    desc = kinesis.describe_stream(StreamName=name)["StreamDescription"]
    assert desc["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}
    assert len(desc["Shards"]) == 4


def test_create_existing_stream_is_in_use(kinesis: Any, new_stream: Any) -> None:
    name = new_stream()
    with pytest.raises(ClientError) as exc:
        kinesis.create_stream(StreamName=name, ShardCount=1)
    assert error_of(exc) == (
        "ResourceInUseException",
        f"Stream {name} under account {ACCOUNT} already exists.",
        400,
    )


def test_limits_are_checked_before_anything_is_allocated(kinesis: Any, raw_kinesis: Any) -> None:
    name = unique()
    with pytest.raises(ClientError) as exc:
        kinesis.create_stream(StreamName=name, ShardCount=100_000_000_000)
    code, message, status = error_of(exc)
    assert (code, status) == ("LimitExceededException", 400)
    assert "100000000000" in message
    with pytest.raises(ClientError):
        kinesis.describe_stream(StreamName=name)

    with pytest.raises(ClientError) as exc:
        kinesis.create_stream(StreamName=name, ShardCount=501)
    assert error_of(exc)[0] == "LimitExceededException"
    assert "Limit: 500" in error_of(exc)[1]

    long_name = "a" * 129
    with pytest.raises(ClientError) as exc:
        raw_kinesis.create_stream(StreamName=long_name, ShardCount=1)
    assert error_of(exc) == (
        "ValidationException",
        f"1 validation error detected: Value '{long_name}' at 'streamName' failed to satisfy constraint: "
        "Member must have length less than or equal to 128",
        400,
    )
    with pytest.raises(ClientError) as exc:
        raw_kinesis.create_stream(StreamName="bad name!", ShardCount=0)
    code, message, _ = error_of(exc)
    assert code == "ValidationException" and message.startswith("2 validation errors detected: ")
    assert (
        "at 'shardCount' failed to satisfy constraint: Member must have value greater than or equal to 1"
        in message
    )


def test_list_streams_paginates_with_summaries(kinesis: Any) -> None:
    prefix = unique("ls")
    names = sorted(f"{prefix}-{i}" for i in range(5))
    for n in names:
        kinesis.create_stream(StreamName=n, ShardCount=1)
    seen: list[str] = []
    page = kinesis.list_streams(Limit=2, ExclusiveStartStreamName=prefix)
    while True:
        seen += [n for n in page["StreamNames"] if n.startswith(prefix)]
        for summary in page["StreamSummaries"]:
            assert summary["StreamARN"].endswith(f":stream/{summary['StreamName']}")
            assert summary["StreamStatus"] in ("CREATING", "ACTIVE", "DELETING")
        if not page["HasMoreStreams"]:
            break
        assert page["NextToken"]
        page = kinesis.list_streams(NextToken=page["NextToken"], Limit=2)
    assert seen == names
    paginated = [n for p in kinesis.get_paginator("list_streams").paginate() for n in p["StreamNames"]]
    assert set(names) <= set(paginated)


def test_stream_arn_works_wherever_stream_name_does(kinesis: Any, new_stream: Any) -> None:
    name = new_stream()
    arn = f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/{name}"
    assert kinesis.describe_stream(StreamARN=arn)["StreamDescription"]["StreamName"] == name
    put = kinesis.put_record(StreamARN=arn, Data=b"x", PartitionKey="k")
    it = kinesis.get_shard_iterator(StreamARN=arn, ShardId=put["ShardId"], ShardIteratorType="TRIM_HORIZON")
    assert kinesis.get_records(StreamARN=arn, ShardIterator=it["ShardIterator"])["Records"][0]["Data"] == b"x"
    assert kinesis.list_shards(StreamARN=arn)["Shards"]
    missing = f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/{unique()}"
    with pytest.raises(ClientError) as exc:
        kinesis.describe_stream_summary(StreamARN=missing)
    assert error_of(exc)[0] == "ResourceNotFoundException"
    kinesis.delete_stream(StreamARN=arn)


def test_streams_are_per_region(client: Any, new_stream: Any) -> None:
    name = new_stream()
    other = client("kinesis", region="eu-west-1")
    with pytest.raises(ClientError) as exc:
        other.describe_stream(StreamName=name)
    assert error_of(exc)[0] == "ResourceNotFoundException"
    other.create_stream(StreamName=name, ShardCount=2)
    assert other.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"].startswith(
        "arn:aws:kinesis:eu-west-1:"
    )


def test_state_delay_shows_transient_states(fresh_server: Any) -> None:
    from tests.conftest import make_client

    proc = fresh_server("--state-delay", "400", in_memory=True)
    kinesis = make_client(proc.url, "kinesis")
    kinesis.create_stream(StreamName="slow", ShardCount=1)
    assert kinesis.describe_stream(StreamName="slow")["StreamDescription"]["StreamStatus"] == "CREATING"
    with pytest.raises(ClientError) as exc:
        kinesis.split_shard(
            StreamName="slow", ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2**127)
        )
    assert error_of(exc) == (
        "ResourceInUseException",
        f"Stream slow under account {ACCOUNT} not ACTIVE, instead in state CREATING",
        400,
    )
    kinesis.get_waiter("stream_exists").wait(
        StreamName="slow", WaiterConfig={"Delay": 0.1, "MaxAttempts": 50}
    )
    kinesis.split_shard(
        StreamName="slow", ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2**127)
    )
    assert kinesis.describe_stream(StreamName="slow")["StreamDescription"]["StreamStatus"] == "UPDATING"
    kinesis.get_waiter("stream_exists").wait(
        StreamName="slow", WaiterConfig={"Delay": 0.1, "MaxAttempts": 50}
    )
    kinesis.delete_stream(StreamName="slow")
    assert kinesis.describe_stream(StreamName="slow")["StreamDescription"]["StreamStatus"] == "DELETING"
    kinesis.get_waiter("stream_not_exists").wait(
        StreamName="slow", WaiterConfig={"Delay": 0.1, "MaxAttempts": 50}
    )


def test_at_most_five_streams_creating_at_once(fresh_server: Any) -> None:
    from tests.conftest import make_client

    proc = fresh_server("--state-delay", "60000", in_memory=True)
    kinesis = make_client(proc.url, "kinesis")
    for i in range(5):
        kinesis.create_stream(StreamName=f"c{i}", ShardCount=1)
    with pytest.raises(ClientError) as exc:
        kinesis.create_stream(StreamName="c5", ShardCount=1)
    assert error_of(exc)[0] == "LimitExceededException"
    with pytest.raises(ClientError):
        kinesis.describe_stream(StreamName="c5")
    proc.advance_clock(61)
    kinesis.create_stream(StreamName="c5", ShardCount=1)
    statuses = {s["StreamName"]: s["StreamStatus"] for s in kinesis.list_streams()["StreamSummaries"]}
    assert statuses == {
        "c0": "ACTIVE",
        "c1": "ACTIVE",
        "c2": "ACTIVE",
        "c3": "ACTIVE",
        "c4": "ACTIVE",
        "c5": "CREATING",
    }


def test_pages_are_capped_at_one_hundred(fresh_server: Any) -> None:
    from tests.conftest import make_client

    proc = fresh_server(in_memory=True)
    kinesis = make_client(proc.url, "kinesis")
    kinesis.create_stream(StreamName="wide", ShardCount=101)
    page = kinesis.describe_stream(StreamName="wide", Limit=500)["StreamDescription"]
    assert len(page["Shards"]) == 100 and page["HasMoreShards"] is True
    assert len(kinesis.list_shards(StreamName="wide", MaxResults=5000)["Shards"]) == 101
    for i in range(100):
        kinesis.create_stream(StreamName=f"s{i:03d}", ShardCount=1)
    listed = kinesis.list_streams(Limit=1000)
    assert len(listed["StreamNames"]) == 100 and listed["HasMoreStreams"] is True
    assert kinesis.list_streams(NextToken=listed["NextToken"])["StreamNames"] == ["wide"]


def test_a_stream_arn_with_a_lone_surrogate_is_invalid(kinesis: Any) -> None:
    """Found by probing after the wire fuzzer: such an ARN reached SQLite, which cannot encode a
    lone surrogate (500). Stream names are [a-zA-Z0-9_.-]: it names no stream."""
    arn = "arn:aws:kinesis:us-east-1:000000000000:stream/a\ud800"
    calls = (
        (kinesis.describe_stream_summary, {"StreamARN": arn}),
        (kinesis.list_tags_for_resource, {"ResourceARN": arn}),
    )
    for call, params in calls:
        with pytest.raises(ClientError) as exc:
            call(**params)
        assert exc.value.response["Error"]["Code"] == "InvalidArgumentException"
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
