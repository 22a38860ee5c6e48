"""The data plane keeps streams, shards and routes in memory between changes: every change made
after records flowed must still show in the very next PutRecord, GetShardIterator and GetRecords."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.kinesis.conftest import error_of, unique


def _wait(kinesis: Any, name: str) -> None:
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.05, "MaxAttempts": 40})


def _drain(kinesis: Any, name: str, shard: str) -> dict[str, Any]:
    it = kinesis.get_shard_iterator(StreamName=name, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    return kinesis.get_records(ShardIterator=it["ShardIterator"])


def test_encryption_and_record_size_changes_reach_the_next_put(kinesis: Any, new_stream: Any) -> None:
    name = new_stream(1)
    assert "EncryptionType" not in kinesis.put_record(StreamName=name, Data=b"a", PartitionKey="k")
    kinesis.start_stream_encryption(StreamName=name, EncryptionType="KMS", KeyId="alias/aws/kinesis")
    _wait(kinesis, name)
    assert kinesis.put_record(StreamName=name, Data=b"b", PartitionKey="k")["EncryptionType"] == "KMS"
    kinesis.stop_stream_encryption(StreamName=name, EncryptionType="KMS", KeyId="alias/aws/kinesis")
    _wait(kinesis, name)
    assert "EncryptionType" not in kinesis.put_record(StreamName=name, Data=b"c", PartitionKey="k")

    big = b"x" * (1024 * 1024 + 1)
    with pytest.raises(ClientError) as exc:
        kinesis.put_record(StreamName=name, Data=big, PartitionKey="k")
    assert error_of(exc)[0] == "ValidationException"
    kinesis.update_max_record_size(
        StreamARN=kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"],
        MaxRecordSizeInKiB=2048,
    )
    assert kinesis.put_record(StreamName=name, Data=big, PartitionKey="k")["ShardId"]


def test_split_routes_the_next_put_to_the_children(kinesis: Any, new_stream: Any) -> None:
    name = new_stream(1)
    first = kinesis.put_record(StreamName=name, Data=b"before", PartitionKey="k")
    assert first["ShardId"] == "shardId-000000000000"
    kinesis.split_shard(StreamName=name, ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2**127))
    _wait(kinesis, name)
    after = kinesis.put_record(StreamName=name, Data=b"after", PartitionKey="k")
    assert after["ShardId"] in ("shardId-000000000001", "shardId-000000000002")
    assert after["SequenceNumber"] > first["SequenceNumber"]
    parent = _drain(kinesis, name, "shardId-000000000000")  # read before: now closed, read to its end
    assert [r["Data"] for r in parent["Records"]] == [b"before"]
    assert "NextShardIterator" not in parent and len(parent["ChildShards"]) == 2


def test_recreated_stream_is_a_new_stream(kinesis: Any) -> None:
    name = unique()
    kinesis.create_stream(StreamName=name, ShardCount=1)
    _wait(kinesis, name)
    old = kinesis.put_record(StreamName=name, Data=b"old", PartitionKey="k")
    assert [r["Data"] for r in _drain(kinesis, name, old["ShardId"])["Records"]] == [b"old"]
    kinesis.delete_stream(StreamName=name)
    kinesis.get_waiter("stream_not_exists").wait(
        StreamName=name, WaiterConfig={"Delay": 0.05, "MaxAttempts": 40}
    )
    with pytest.raises(ClientError) as exc:
        kinesis.put_record(StreamName=name, Data=b"gone", PartitionKey="k")
    assert error_of(exc)[0] == "ResourceNotFoundException"
    kinesis.create_stream(StreamName=name, ShardCount=2)
    _wait(kinesis, name)
    new = kinesis.put_record(StreamName=name, Data=b"new", PartitionKey="k")
    assert new["SequenceNumber"] != old["SequenceNumber"]
    assert [r["Data"] for r in _drain(kinesis, name, new["ShardId"])["Records"]] == [b"new"]
    assert len(kinesis.list_shards(StreamName=name)["Shards"]) == 2
