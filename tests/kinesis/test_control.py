"""Tags (both API families), consumers, resource policies, monitoring, encryption, modes, limits."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import make_client
from tests.kinesis.conftest import error_of, unique

ACCOUNT = "000000000000"


def arn_of(name: str, region: str = "us-east-1") -> str:
    return f"arn:aws:kinesis:{region}:{ACCOUNT}:stream/{name}"


def test_stream_tags(kinesis: Any, new_stream: Any) -> None:
    name = new_stream(1, Tags={"team": "data"})
    kinesis.add_tags_to_stream(StreamName=name, Tags={"foo": "bar", "a": "1"})
    listed = kinesis.list_tags_for_stream(StreamName=name)
    assert listed["Tags"] == [
        {"Key": "a", "Value": "1"},
        {"Key": "foo", "Value": "bar"},
        {"Key": "team", "Value": "data"},
    ]
    assert listed["HasMoreTags"] is False
    page = kinesis.list_tags_for_stream(StreamName=name, Limit=1, ExclusiveStartTagKey="a")
    assert page["Tags"] == [{"Key": "foo", "Value": "bar"}] and page["HasMoreTags"] is True
    kinesis.remove_tags_from_stream(StreamName=name, TagKeys=["a", "nope"])
    kinesis.tag_resource(ResourceARN=arn_of(name), Tags={"z": "26"})
    kinesis.untag_resource(ResourceARN=arn_of(name), TagKeys=["team"])
    tags = kinesis.list_tags_for_resource(ResourceARN=arn_of(name))["Tags"]
    assert tags == [{"Key": "foo", "Value": "bar"}, {"Key": "z", "Value": "26"}]
    with pytest.raises(ClientError) as exc:
        kinesis.add_tags_to_stream(StreamName=name, Tags={f"k{i}": "v" for i in range(49)})
    assert error_of(exc)[0] == "InvalidArgumentException"
    assert len(kinesis.list_tags_for_stream(StreamName=name)["Tags"]) == 2  # nothing partial
    with pytest.raises(ClientError) as exc:
        kinesis.list_tags_for_resource(ResourceARN=arn_of(unique()))
    assert error_of(exc)[0] == "ResourceNotFoundException"


def test_consumer_lifecycle(kinesis: Any, new_stream: Any) -> None:
    name = new_stream(1)
    stream_arn = arn_of(name)
    consumer = kinesis.register_stream_consumer(StreamARN=stream_arn, ConsumerName="consumer")["Consumer"]
    assert consumer["ConsumerName"] == "consumer"
    assert consumer["ConsumerARN"].startswith(f"{stream_arn}/consumer/consumer:")
    assert consumer["ConsumerStatus"] in ("CREATING", "ACTIVE")
    described = kinesis.describe_stream_consumer(ConsumerARN=consumer["ConsumerARN"])["ConsumerDescription"]
    assert described["ConsumerStatus"] == "ACTIVE" and described["StreamARN"] == stream_arn
    by_name = kinesis.describe_stream_consumer(StreamARN=stream_arn, ConsumerName="consumer")[
        "ConsumerDescription"
    ]
    assert by_name["ConsumerARN"] == consumer["ConsumerARN"]
    listed = kinesis.list_stream_consumers(StreamARN=stream_arn)["Consumers"]
    assert [(c["ConsumerName"], c["ConsumerStatus"]) for c in listed] == [("consumer", "ACTIVE")]
    summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    assert summary["ConsumerCount"] == 1
    with pytest.raises(ClientError) as exc:
        kinesis.register_stream_consumer(StreamARN=stream_arn, ConsumerName="consumer")
    assert error_of(exc)[0] == "ResourceInUseException"
    with pytest.raises(ClientError) as exc:
        kinesis.delete_stream(StreamName=name)
    assert error_of(exc) == (
        "ResourceInUseException",
        f"DeleteStream can\u2019t delete {ACCOUNT}:{name} because there are consumers associated with this data "
        f"stream. To delete {name} anyway, set the EnforceConsumerDeletion parameter to true to force the "
        "deletion of all the consumers that are associated with it.",
        400,
    )
    kinesis.deregister_stream_consumer(ConsumerARN=consumer["ConsumerARN"])
    with pytest.raises(ClientError) as exc:
        kinesis.describe_stream_consumer(ConsumerARN=consumer["ConsumerARN"])
    assert error_of(exc)[0] == "ResourceNotFoundException"
    assert kinesis.list_stream_consumers(StreamARN=stream_arn)["Consumers"] == []


def test_twenty_consumers_per_stream_and_pagination(kinesis: Any, new_stream: Any) -> None:
    name = new_stream(1)
    for i in range(20):
        kinesis.register_stream_consumer(StreamARN=arn_of(name), ConsumerName=f"c{i:02d}")
    with pytest.raises(ClientError) as exc:
        kinesis.register_stream_consumer(StreamARN=arn_of(name), ConsumerName="one-too-many")
    assert error_of(exc)[0] == "LimitExceededException"
    names = [
        c["ConsumerName"]
        for page in kinesis.get_paginator("list_stream_consumers").paginate(
            StreamARN=arn_of(name), PaginationConfig={"PageSize": 7}
        )
        for c in page["Consumers"]
    ]
    assert names == [f"c{i:02d}" for i in range(20)]
    kinesis.delete_stream(StreamName=name, EnforceConsumerDeletion=True)
    kinesis.get_waiter("stream_not_exists").wait(
        StreamName=name, WaiterConfig={"Delay": 0.05, "MaxAttempts": 20}
    )


def test_consumer_states_with_delay(fresh_server: Any) -> None:
    proc = fresh_server("--state-delay", "300", in_memory=True)
    kinesis = make_client(proc.url, "kinesis")
    kinesis.create_stream(StreamName="c", ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName="c", WaiterConfig={"Delay": 0.1, "MaxAttempts": 50})
    consumer = kinesis.register_stream_consumer(StreamARN=arn_of("c"), ConsumerName="x")["Consumer"]
    assert consumer["ConsumerStatus"] == "CREATING"
    proc.advance_clock(1)
    assert (
        kinesis.describe_stream_consumer(ConsumerARN=consumer["ConsumerARN"])["ConsumerDescription"][
            "ConsumerStatus"
        ]
        == "ACTIVE"
    )
    kinesis.deregister_stream_consumer(ConsumerARN=consumer["ConsumerARN"])
    assert (
        kinesis.list_stream_consumers(StreamARN=arn_of("c"))["Consumers"][0]["ConsumerStatus"] == "DELETING"
    )
    proc.advance_clock(1)
    assert kinesis.list_stream_consumers(StreamARN=arn_of("c"))["Consumers"] == []


def test_resource_policy_crud(kinesis: Any, new_stream: Any) -> None:
    name = new_stream(1)
    arn = arn_of(name)
    assert json.loads(kinesis.get_resource_policy(ResourceARN=arn)["Policy"]) == {}
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowCrossAccountWrite",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "kinesis:PutRecord",
                "Resource": arn,
            }
        ],
    }
    kinesis.put_resource_policy(ResourceARN=arn, Policy=json.dumps(policy))
    assert json.loads(kinesis.get_resource_policy(ResourceARN=arn)["Policy"]) == policy
    kinesis.delete_resource_policy(ResourceARN=arn)
    assert json.loads(kinesis.get_resource_policy(ResourceARN=arn)["Policy"]) == {}
    with pytest.raises(ClientError) as exc:
        kinesis.put_resource_policy(ResourceARN=arn, Policy="not json")
    assert error_of(exc)[0] == "InvalidArgumentException"
    with pytest.raises(ClientError) as exc:
        kinesis.get_resource_policy(ResourceARN=arn_of(unique()))
    assert error_of(exc)[0] == "ResourceNotFoundException"


def test_enhanced_monitoring_and_encryption(kinesis: Any, new_stream: Any) -> None:
    name = new_stream(1)
    out = kinesis.enable_enhanced_monitoring(StreamName=name, ShardLevelMetrics=["IncomingBytes"])
    assert out["CurrentShardLevelMetrics"] == [] and out["DesiredShardLevelMetrics"] == ["IncomingBytes"]
    out = kinesis.enable_enhanced_monitoring(StreamName=name, ShardLevelMetrics=["ALL"])
    assert len(out["DesiredShardLevelMetrics"]) == 7
    out = kinesis.disable_enhanced_monitoring(
        StreamName=name, ShardLevelMetrics=["IncomingBytes", "OutgoingBytes"]
    )
    assert (
        "IncomingBytes" not in out["DesiredShardLevelMetrics"] and len(out["DesiredShardLevelMetrics"]) == 5
    )
    desc = kinesis.describe_stream(StreamName=name)["StreamDescription"]
    assert desc["EnhancedMonitoring"] == [{"ShardLevelMetrics": out["DesiredShardLevelMetrics"]}]

    kinesis.start_stream_encryption(StreamName=name, EncryptionType="KMS", KeyId="alias/aws/kinesis")
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.05, "MaxAttempts": 20})
    desc = kinesis.describe_stream(StreamName=name)["StreamDescription"]
    assert (desc["EncryptionType"], desc["KeyId"]) == ("KMS", "alias/aws/kinesis")
    put = kinesis.put_record(StreamName=name, Data=b"secret", PartitionKey="k")
    assert put["EncryptionType"] == "KMS"
    kinesis.stop_stream_encryption(StreamName=name, EncryptionType="KMS", KeyId="alias/aws/kinesis")
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.05, "MaxAttempts": 20})
    assert kinesis.describe_stream(StreamName=name)["StreamDescription"]["EncryptionType"] == "NONE"


def test_update_stream_mode(fresh_server: Any) -> None:
    proc = fresh_server(in_memory=True)
    kinesis = make_client(proc.url, "kinesis")
    kinesis.create_stream(StreamName="m", ShardCount=2)
    kinesis.update_stream_mode(StreamARN=arn_of("m"), StreamModeDetails={"StreamMode": "ON_DEMAND"})
    assert kinesis.describe_stream_summary(StreamName="m")["StreamDescriptionSummary"][
        "StreamModeDetails"
    ] == {"StreamMode": "ON_DEMAND"}
    kinesis.update_stream_mode(StreamARN=arn_of("m"), StreamModeDetails={"StreamMode": "PROVISIONED"})
    with pytest.raises(ClientError) as exc:
        kinesis.update_stream_mode(StreamARN=arn_of("m"), StreamModeDetails={"StreamMode": "ON_DEMAND"})
    assert error_of(exc)[0] == "LimitExceededException"
    proc.advance_clock(86401)
    kinesis.update_stream_mode(StreamARN=arn_of("m"), StreamModeDetails={"StreamMode": "ON_DEMAND"})


def test_describe_limits(fresh_server: Any) -> None:
    proc = fresh_server(in_memory=True)
    kinesis = make_client(proc.url, "kinesis")
    kinesis.create_stream(StreamName="a", ShardCount=3)
    kinesis.create_stream(StreamName="b")
    limits = kinesis.describe_limits()
    assert (limits["ShardLimit"], limits["OpenShardCount"]) == (500, 7)
    assert (limits["OnDemandStreamCount"], limits["OnDemandStreamCountLimit"]) == (1, 50)
    assert make_client(proc.url, "kinesis", region="ap-south-1").describe_limits()["ShardLimit"] == 200
    with pytest.raises(ClientError) as exc:
        kinesis.create_stream(StreamName="c", ShardCount=494)
    assert error_of(exc) == (
        "LimitExceededException",
        f"This request would exceed the shard limit for the account {ACCOUNT} in us-east-1. Current shard count for "
        "the account: 7. Limit: 500. Number of additional shards that would have resulted from this request: 494. "
        "Refer to the AWS Service Limits page (http://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) "
        "for current limits and how to request higher limits.",
        400,
    )
    kinesis.create_stream(StreamName="c", ShardCount=493)


def test_account_settings(fresh_server: Any) -> None:
    proc = fresh_server(in_memory=True)
    kinesis = make_client(proc.url, "kinesis")
    assert kinesis.describe_account_settings()["MinimumThroughputBillingCommitment"] == {"Status": "DISABLED"}
    out = kinesis.update_account_settings(MinimumThroughputBillingCommitment={"Status": "ENABLED"})
    assert out["MinimumThroughputBillingCommitment"]["Status"] == "ENABLED"
    out = kinesis.update_account_settings(MinimumThroughputBillingCommitment={"Status": "DISABLED"})
    assert out["MinimumThroughputBillingCommitment"]["Status"] == "ENABLED_UNTIL_EARLIEST_ALLOWED_END"
    proc.advance_clock(86401)
    assert kinesis.describe_account_settings()["MinimumThroughputBillingCommitment"]["Status"] == "DISABLED"


def test_tag_characters_are_checked(kinesis: Any, new_stream: Any) -> None:
    name = new_stream(1)
    with pytest.raises(ClientError) as exc:
        kinesis.add_tags_to_stream(StreamName=name, Tags={"ok": "fine", "bad": "semi;colon"})
    assert error_of(exc) == (
        "InvalidArgumentException",
        "Some tags contain invalid characters. Valid characters: Unicode letters, digits, white space, "
        "_ . / = + - % @ :.",
        400,
    )
    assert kinesis.list_tags_for_stream(StreamName=name)["Tags"] == []
    kinesis.add_tags_to_stream(StreamName=name, Tags={"path/key": "a b=c+d@e:f", "ünï": "çødé"})
    assert len(kinesis.list_tags_for_stream(StreamName=name)["Tags"]) == 2


def test_dry_run_stops_after_the_checks(kinesis: Any, new_stream: Any) -> None:
    name = new_stream(1)
    with pytest.raises(ClientError) as exc:
        kinesis.put_record(StreamName=name, Data=b"x", PartitionKey="k", DryRun=True)
    assert error_of(exc)[0] == "DryRunOperationException"
    with pytest.raises(ClientError) as exc:
        kinesis.put_record(StreamName=unique(), Data=b"x", PartitionKey="k", DryRun=True)
    assert error_of(exc)[0] == "ResourceNotFoundException"
    it = kinesis.get_shard_iterator(
        StreamName=name, ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON"
    )
    assert kinesis.get_records(ShardIterator=it["ShardIterator"])["Records"] == []  # nothing was written


def test_deleting_a_stream_keeps_other_streams_consumer_tags(fresh_server: Any) -> None:
    proc = fresh_server(in_memory=True)
    kinesis = make_client(proc.url, "kinesis")
    arns = {}
    for name in ("a_b", "a-b"):  # '_' must not act as a wildcard when the first one goes
        kinesis.create_stream(StreamName=name, ShardCount=1)
        consumer = kinesis.register_stream_consumer(
            StreamARN=arn_of(name), ConsumerName="c", Tags={"who": name}
        )
        arns[name] = consumer["Consumer"]["ConsumerARN"]
    kinesis.delete_stream(StreamName="a_b", EnforceConsumerDeletion=True)
    assert kinesis.list_tags_for_resource(ResourceARN=arns["a-b"])["Tags"] == [{"Key": "who", "Value": "a-b"}]
    kinesis.create_stream(StreamName="a_b", ShardCount=1)
    again = kinesis.register_stream_consumer(StreamARN=arn_of("a_b"), ConsumerName="c")["Consumer"][
        "ConsumerARN"
    ]
    assert kinesis.list_tags_for_resource(ResourceARN=again)["Tags"] == []
