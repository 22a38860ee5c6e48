"""Kinesis Data Streams destinations: their lifecycle, and the change records a table's writes send
to the stream (read back with boto3's Kinesis client)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import make_client
from tests.dynamodb.conftest import create, unique
from tests.dynamodb.global_helpers import global_table, item, wait_for

STATE = "Table is not in a valid state to enable Kinesis Streaming Destination: "


def error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


@pytest.fixture
def kinesis(client: Any) -> Any:
    return client("kinesis")


def new_stream(kinesis: Any, shards: int = 2) -> str:
    name = unique("dest")
    kinesis.create_stream(StreamName=name, ShardCount=shards)
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.1})
    return kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]


def read_all(kinesis: Any, arn: str) -> list[dict[str, Any]]:
    """Every record of the stream, shard by shard (an item's changes share a shard)."""
    out = []
    for shard in kinesis.list_shards(StreamARN=arn)["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamARN=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        out += kinesis.get_records(StreamARN=arn, ShardIterator=iterator)["Records"]
    return out


def destinations(ddb: Any, name: str) -> list[dict[str, Any]]:
    return ddb.describe_kinesis_streaming_destination(TableName=name)["KinesisDataStreamDestinations"]


def test_changes_reach_the_stream_in_order_with_both_images(
    ddb: Any, kinesis: Any, make_table: Any, server: Any
) -> None:
    name = make_table()
    arn = new_stream(kinesis)
    ddb.put_item(TableName=name, Item={"id": {"S": "before"}})  # before the destination: not sent
    out = ddb.enable_kinesis_streaming_destination(TableName=name, StreamArn=arn)
    assert (out["DestinationStatus"], out["EnableKinesisStreamingConfiguration"]) == ("ENABLING", {})
    assert destinations(ddb, name) == [{"StreamArn": arn, "DestinationStatus": "ACTIVE"}]

    ddb.put_item(TableName=name, Item={"id": {"S": "a"}, "n": {"N": "1"}})
    ddb.update_item(
        TableName=name,
        Key={"id": {"S": "a"}},
        UpdateExpression="SET n = n + :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
    )
    ddb.put_item(TableName=name, Item={"id": {"S": "a"}, "n": {"N": "2"}})  # changes nothing: no record
    ddb.delete_item(TableName=name, Key={"id": {"S": "a"}})
    ddb.delete_item(TableName=name, Key={"id": {"S": "never-there"}})  # deletes nothing: no record
    ddb.batch_write_item(
        RequestItems={name: [{"PutRequest": {"Item": {"id": {"S": f"b{i}"}}}} for i in range(3)]}
    )
    ddb.transact_write_items(
        TransactItems=[{"Put": {"TableName": name, "Item": {"id": {"S": "t"}, "s": {"S": "x"}}}}]
    )

    records = read_all(kinesis, arn)
    data = [json.loads(r["Data"]) for r in records]
    by_item: dict[str, list[dict[str, Any]]] = {}
    for d in data:
        by_item.setdefault(d["dynamodb"]["Keys"]["id"]["S"], []).append(d)
    assert sorted(by_item) == ["a", "b0", "b1", "b2", "t"]
    first = by_item["a"][0]
    assert list(first) == [
        "awsRegion", "eventID", "eventName", "userIdentity", "recordFormat", "tableName", "dynamodb", "eventSource",
    ]  # fmt: skip
    assert (first["awsRegion"], first["userIdentity"], first["recordFormat"], first["eventSource"]) == (
        "us-east-1",
        None,
        "application/json",
        "aws:dynamodb",
    )
    assert first["tableName"] == name
    assert [d["eventName"] for d in by_item["a"]] == ["INSERT", "MODIFY", "REMOVE"]
    insert, modify, remove = (d["dynamodb"] for d in by_item["a"])
    assert insert["NewImage"] == {"id": {"S": "a"}, "n": {"N": "1"}} and "OldImage" not in insert
    assert modify["OldImage"]["n"] == {"N": "1"} and modify["NewImage"]["n"] == {"N": "2"}
    assert remove["OldImage"]["n"] == {"N": "2"} and "NewImage" not in remove
    assert insert["SizeBytes"] == 3 + 3 + 2 + 1  # the key (id: "a") + the image (id: "a", n: 1)
    assert abs(insert["ApproximateCreationDateTime"] / 1000 - server.now()) < 60
    assert len({d["eventID"] for d in data}) == len(data)
    # An item's records share one partition key, so one shard, in the order of the changes.
    assert (
        len(
            {
                r["PartitionKey"]
                for r in records
                if json.loads(r["Data"])["dynamodb"]["Keys"]["id"]["S"] == "a"
            }
        )
        == 1
    )


def test_lifecycle_rules(ddb: Any, kinesis: Any, make_table: Any, server: Any) -> None:
    name = make_table()
    arn, other = new_stream(kinesis, 1), new_stream(kinesis, 1)
    missing = arn.rsplit("/", 1)[0] + "/" + unique("missing")
    # A stream that is not there: accepted, then ENABLE_FAILED (nothing is live, so another may go).
    assert ddb.enable_kinesis_streaming_destination(TableName=name, StreamArn=missing)[
        "DestinationStatus"
    ] == ("ENABLING")
    assert destinations(ddb, name) == [
        {
            "StreamArn": missing,
            "DestinationStatus": "ENABLE_FAILED",
            "DestinationStatusDescription": "User does not have a permission to use kinesis stream",
        }
    ]
    with pytest.raises(ClientError) as exc:
        ddb.disable_kinesis_streaming_destination(TableName=name, StreamArn=missing)
    assert error(exc) == (
        "ValidationException",
        STATE + "KinesisStreamingDestination must be ACTIVE to perform DISABLE operation.",
    )
    precision = {"ApproximateCreationDateTimePrecision": "MICROSECOND"}
    with pytest.raises(ClientError) as exc:
        ddb.update_kinesis_streaming_destination(
            TableName=name, StreamArn=missing, UpdateKinesisStreamingConfiguration=precision
        )
    assert error(exc) == (
        "ValidationException",
        STATE
        + f"Kinesis streaming is not in ACTIVE state. Updates are only allowed in ACTIVE state. TableName: {name}",
    )
    ddb.enable_kinesis_streaming_destination(TableName=name, StreamArn=arn)
    # One live destination at a time: neither the same stream nor another may be enabled now.
    for stream in (arn, other):
        with pytest.raises(ClientError) as exc:
            ddb.enable_kinesis_streaming_destination(TableName=name, StreamArn=stream)
        assert error(exc) == (
            "ValidationException",
            STATE
            + "EnableKinesisStreamingDestination must be DISABLED or ENABLE_FAILED to perform ENABLE operation.",
        )
    assert [(d["StreamArn"], d["DestinationStatus"]) for d in destinations(ddb, name)] == [
        (arn, "ACTIVE"),
        (missing, "ENABLE_FAILED"),
    ]
    # MICROSECOND precision reaches the records' timestamps.
    ddb.update_kinesis_streaming_destination(
        TableName=name, StreamArn=arn, UpdateKinesisStreamingConfiguration=precision
    )
    ddb.put_item(TableName=name, Item={"id": {"S": "x"}})
    (record,) = read_all(kinesis, arn)
    change = json.loads(record["Data"])["dynamodb"]
    assert change["ApproximateCreationDateTimePrecision"] == "MICROSECOND"
    assert abs(change["ApproximateCreationDateTime"] / 1_000_000 - server.now()) < 60
    # Disabled: no more records; then another stream may take over.
    assert ddb.disable_kinesis_streaming_destination(TableName=name, StreamArn=arn)["DestinationStatus"] == (
        "DISABLING"
    )
    ddb.put_item(TableName=name, Item={"id": {"S": "y"}})
    assert len(read_all(kinesis, arn)) == 1
    ddb.enable_kinesis_streaming_destination(TableName=name, StreamArn=other)
    ddb.put_item(TableName=name, Item={"id": {"S": "z"}})
    assert [json.loads(r["Data"])["dynamodb"]["Keys"] for r in read_all(kinesis, other)] == [
        {"id": {"S": "z"}}
    ]
    assert [d["DestinationStatus"] for d in destinations(ddb, name)] == [
        "ACTIVE",
        "DISABLED",
        "ENABLE_FAILED",
    ]


def test_a_stream_elsewhere_fails(ddb: Any, kinesis: Any, make_table: Any, client: Any) -> None:
    """The stream must be in the table's own account and region."""
    name = make_table()
    west = client("kinesis", region="us-west-2")
    west_name = unique("west")
    west.create_stream(StreamName=west_name, ShardCount=1)
    west.get_waiter("stream_exists").wait(StreamName=west_name, WaiterConfig={"Delay": 0.1})
    arn = west.describe_stream_summary(StreamName=west_name)["StreamDescriptionSummary"]["StreamARN"]
    ddb.enable_kinesis_streaming_destination(TableName=name, StreamArn=arn)
    assert destinations(ddb, name)[0]["DestinationStatus"] == "ENABLE_FAILED"
    ddb.put_item(TableName=name, Item={"id": {"S": "x"}})
    assert read_all(west, arn) == []


def test_ttl_deletes_carry_the_service_identity(ddb: Any, kinesis: Any, make_table: Any, server: Any) -> None:
    name = make_table()
    arn = new_stream(kinesis, 1)
    ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    ddb.enable_kinesis_streaming_destination(TableName=name, StreamArn=arn)
    ddb.put_item(TableName=name, Item={"id": {"S": "old"}, "exp": {"N": str(int(time.time()) - 10)}})
    deadline = time.time() + 30
    while time.time() < deadline:
        records = [json.loads(r["Data"]) for r in read_all(kinesis, arn)]
        if len(records) == 2:
            break
        time.sleep(0.2)
    assert [r["eventName"] for r in records] == ["INSERT", "REMOVE"]
    assert records[0]["userIdentity"] is None
    assert records[1]["userIdentity"] == {"type": "Service", "principalId": "dynamodb.amazonaws.com"}


def test_records_survive_kill(fresh_server: Any) -> None:
    """Each change's record is written with the change: what was acknowledged is in the stream
    after kill -9, once, and the stream goes on with higher sequence numbers."""
    proc = fresh_server()
    ddb, kinesis = make_client(proc.url, "dynamodb"), make_client(proc.url, "kinesis")
    name = create(ddb)
    arn = new_stream(kinesis, 2)
    ddb.enable_kinesis_streaming_destination(TableName=name, StreamArn=arn)
    ddb.describe_kinesis_streaming_destination(TableName=name)
    for i in range(40):
        ddb.put_item(TableName=name, Item={"id": {"S": f"k{i}"}})
    before = max(int(r["SequenceNumber"]) for r in read_all(kinesis, arn))
    proc.kill()
    proc.start()
    ddb, kinesis = make_client(proc.url, "dynamodb"), make_client(proc.url, "kinesis")
    keys = sorted(json.loads(r["Data"])["dynamodb"]["Keys"]["id"]["S"] for r in read_all(kinesis, arn))
    assert keys == sorted(f"k{i}" for i in range(40))
    ddb.put_item(TableName=name, Item={"id": {"S": "after"}})
    after = [r for r in read_all(kinesis, arn) if b'"after"' in r["Data"]]
    assert len(after) == 1 and int(after[0]["SequenceNumber"]) > before


def test_each_replica_streams_its_changes_replicated_ones_too(server: Any, client: Any) -> None:
    """A global table's replica with a destination sends the changes it receives from the other
    replicas as well as its own, each with the region that wrote it to the replica."""
    table, (east, west) = global_table(server, "us-east-1", "eu-west-3")
    west_kinesis = client("kinesis", region="eu-west-3")
    arn = new_stream(west_kinesis, 1)
    west.enable_kinesis_streaming_destination(TableName=table, StreamArn=arn)
    east.put_item(TableName=table, Item={"pk": {"S": "from-east"}})
    wait_for(lambda: item(west, table, "from-east"))
    west.put_item(TableName=table, Item={"pk": {"S": "from-west"}})
    records = [json.loads(r["Data"]) for r in read_all(west_kinesis, arn)]
    assert [(r["dynamodb"]["Keys"]["pk"]["S"], r["eventName"], r["awsRegion"]) for r in records] == [
        ("from-east", "INSERT", "eu-west-3"),
        ("from-west", "INSERT", "eu-west-3"),
    ]
