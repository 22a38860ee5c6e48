"""On-demand streams' own settings: warm throughput (UpdateStreamWarmThroughput, and at creation or a
mode switch) and the record distribution strategy (AUTO spreads records, ignoring their keys)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import make_client
from tests.kinesis.conftest import error_of, unique


def _wait(kinesis: Any, name: str) -> None:
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.05, "MaxAttempts": 40})


def _on_demand(kinesis: Any, **kwargs: Any) -> str:
    name = unique()
    kinesis.create_stream(StreamName=name, StreamModeDetails={"StreamMode": "ON_DEMAND"}, **kwargs)
    _wait(kinesis, name)
    return name


def _summary(kinesis: Any, name: str) -> dict[str, Any]:
    return kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]


def test_warm_throughput_needs_an_on_demand_stream_and_the_commitment(fresh_server: Any) -> None:
    kinesis = make_client(fresh_server(in_memory=True).url, "kinesis")
    name = _on_demand(kinesis)
    assert "WarmThroughput" not in _summary(kinesis, name)
    with pytest.raises(ClientError) as exc:  # the account has no minimum throughput commitment
        kinesis.update_stream_warm_throughput(StreamName=name, WarmThroughputMiBps=100)
    code, message, status = error_of(exc)
    assert (code, status) == (
        "InvalidArgumentException",
        400,
    ) and "MinimumThroughputBillingCommitment" in message
    with pytest.raises(ClientError) as exc:
        kinesis.create_stream(
            StreamName=unique(), StreamModeDetails={"StreamMode": "ON_DEMAND"}, WarmThroughputMiBps=10
        )
    assert error_of(exc)[0] == "InvalidArgumentException"

    kinesis.update_account_settings(MinimumThroughputBillingCommitment={"Status": "ENABLED"})
    out = kinesis.update_stream_warm_throughput(StreamName=name, WarmThroughputMiBps=100)
    assert out["StreamName"] == name and out["StreamARN"].endswith(f":stream/{name}")
    assert out["WarmThroughput"]["TargetMiBps"] == 100
    _wait(kinesis, name)
    summary = _summary(kinesis, name)
    assert summary["WarmThroughput"] == {"TargetMiBps": 100, "CurrentMiBps": 100}
    assert summary["StreamStatus"] == "ACTIVE"
    arn = summary["StreamARN"]
    kinesis.update_stream_warm_throughput(StreamARN=arn, WarmThroughputMiBps=20)  # releasing capacity
    _wait(kinesis, name)
    assert _summary(kinesis, name)["WarmThroughput"]["TargetMiBps"] == 20

    with pytest.raises(ClientError) as exc:  # more than 10 GiB/s
        kinesis.update_stream_warm_throughput(StreamName=name, WarmThroughputMiBps=10_241)
    assert error_of(exc)[0] == "LimitExceededException"
    assert _summary(kinesis, name)["WarmThroughput"]["TargetMiBps"] == 20  # unchanged

    created = _on_demand(kinesis, WarmThroughputMiBps=50)
    assert _summary(kinesis, created)["WarmThroughput"]["TargetMiBps"] == 50

    provisioned = unique()
    kinesis.create_stream(StreamName=provisioned, ShardCount=1)
    _wait(kinesis, provisioned)
    with pytest.raises(ClientError) as exc:
        kinesis.update_stream_warm_throughput(StreamName=provisioned, WarmThroughputMiBps=10)
    assert error_of(exc)[0] == "InvalidArgumentException"
    with pytest.raises(ClientError) as exc:
        kinesis.update_stream_warm_throughput(StreamName=unique(), WarmThroughputMiBps=10)
    assert error_of(exc)[0] == "ResourceNotFoundException"

    # a switch refused for its warm throughput is not counted among the two allowed a day
    with pytest.raises(ClientError) as exc:
        kinesis.update_stream_mode(
            StreamARN=arn, StreamModeDetails={"StreamMode": "PROVISIONED"}, WarmThroughputMiBps=10
        )
    assert error_of(exc)[0] == "InvalidArgumentException"
    # switching to provisioned drops the setting; switching back may set it again
    kinesis.update_stream_mode(StreamARN=arn, StreamModeDetails={"StreamMode": "PROVISIONED"})
    _wait(kinesis, name)
    assert "WarmThroughput" not in _summary(kinesis, name)
    kinesis.update_stream_mode(
        StreamARN=arn, StreamModeDetails={"StreamMode": "ON_DEMAND"}, WarmThroughputMiBps=30
    )
    _wait(kinesis, name)
    assert _summary(kinesis, name)["WarmThroughput"]["TargetMiBps"] == 30


def _shards_of(kinesis: Any, name: str, records: list[dict[str, Any]]) -> Counter[str]:
    out = kinesis.put_records(StreamName=name, Records=records)
    assert out["FailedRecordCount"] == 0
    return Counter(r["ShardId"] for r in out["Records"])


def test_auto_distribution_spreads_records_whatever_their_keys(kinesis: Any) -> None:
    name = _on_demand(kinesis)
    arn = _summary(kinesis, name)["StreamARN"]
    assert _summary(kinesis, name)["RecordDistributionStrategy"] == "USER_PARTITION_KEY"
    same_key = [{"Data": b"x", "PartitionKey": "one"} for _ in range(400)]
    assert len(_shards_of(kinesis, name, same_key)) == 1  # by partition key: one shard

    kinesis.update_stream_record_distribution_strategy(StreamARN=arn, RecordDistributionStrategy="AUTO")
    summary = _summary(kinesis, name)
    assert summary["RecordDistributionStrategy"] == "AUTO" and summary["StreamStatus"] == "ACTIVE"
    spread = _shards_of(kinesis, name, same_key)
    assert len(spread) == 4 and min(spread.values()) > 50, spread  # ~100 each of 4 shards
    explicit = [{"Data": b"x", "PartitionKey": "k", "ExplicitHashKey": "0"} for _ in range(400)]
    assert len(_shards_of(kinesis, name, explicit)) == 4  # explicit hash keys are ignored too
    # No partition key at all: the current model allows it, and AUTO needs none.
    put = kinesis.put_record(StreamName=name, Data=b"keyless")
    it = kinesis.get_shard_iterator(
        StreamName=name,
        ShardId=put["ShardId"],
        ShardIteratorType="AT_SEQUENCE_NUMBER",
        StartingSequenceNumber=put["SequenceNumber"],
    )["ShardIterator"]
    assert kinesis.get_records(ShardIterator=it, Limit=1)["Records"][0]["Data"] == b"keyless"

    kinesis.update_stream_record_distribution_strategy(
        StreamARN=arn, RecordDistributionStrategy="USER_PARTITION_KEY"
    )
    assert len(_shards_of(kinesis, name, same_key)) == 1
    with pytest.raises(ClientError) as exc:  # keys are needed again
        kinesis.put_record(StreamName=name, Data=b"keyless")
    assert error_of(exc)[0] == "ValidationException"

    created = _on_demand(kinesis, RecordDistributionStrategy="AUTO")
    assert _summary(kinesis, created)["RecordDistributionStrategy"] == "AUTO"


def test_distribution_strategy_is_for_on_demand_streams(kinesis: Any, new_stream: Any) -> None:
    name = new_stream(2)
    summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    assert "RecordDistributionStrategy" not in summary
    with pytest.raises(ClientError) as exc:
        kinesis.update_stream_record_distribution_strategy(
            StreamARN=summary["StreamARN"], RecordDistributionStrategy="AUTO"
        )
    assert error_of(exc)[:1] + error_of(exc)[2:] == ("InvalidArgumentException", 400)
    with pytest.raises(ClientError) as exc:
        kinesis.create_stream(StreamName=unique(), ShardCount=1, RecordDistributionStrategy="AUTO")
    assert error_of(exc)[0] == "InvalidArgumentException"
    with pytest.raises(ClientError) as exc:
        kinesis.update_stream_record_distribution_strategy(
            StreamARN=summary["StreamARN"].replace(name, unique()), RecordDistributionStrategy="AUTO"
        )
    assert error_of(exc)[0] == "ResourceNotFoundException"


def test_auto_survives_a_restart(fresh_server: Any) -> None:
    proc = fresh_server()
    kinesis = make_client(proc.url, "kinesis")
    name = _on_demand(kinesis, RecordDistributionStrategy="AUTO")
    proc.kill()
    proc.restart()
    kinesis = make_client(proc.url, "kinesis")
    assert _summary(kinesis, name)["RecordDistributionStrategy"] == "AUTO"
    same_key = [{"Data": b"x", "PartitionKey": "one"} for _ in range(200)]
    assert len(_shards_of(kinesis, name, same_key)) > 1
