"""DynamoDB Streams (view types, event order, iterators, retention) and the TTL sweeper."""

from __future__ import annotations

import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import make_client
from tests.dynamodb.conftest import create, error


def _records(
    streams: Any, arn: str, kind: str = "TRIM_HORIZON", **kwargs: Any
) -> tuple[list[Any], str | None]:
    shards = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    shard = shards[-1]["ShardId"]  # the open one
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType=kind, **kwargs)[
        "ShardIterator"
    ]
    out = streams.get_records(ShardIterator=it)
    return out["Records"], out.get("NextShardIterator")


@pytest.mark.parametrize("view", ["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"])
def test_stream_view_types_and_events(ddb: Any, streams: Any, make_table: Any, view: str) -> None:
    name = make_table(StreamSpecification={"StreamEnabled": True, "StreamViewType": view})
    table = ddb.describe_table(TableName=name)["Table"]
    arn = table["LatestStreamArn"]
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": view}
    ddb.put_item(TableName=name, Item={"id": {"S": "Fred"}})
    ddb.update_item(
        TableName=name,
        Key={"id": {"S": "Fred"}},
        UpdateExpression="SET a = :a",
        ExpressionAttributeValues={":a": {"S": "x"}},
    )
    ddb.update_item(
        TableName=name,
        Key={"id": {"S": "Fred"}},
        UpdateExpression="SET a = :a",
        ExpressionAttributeValues={":a": {"S": "x"}},
    )  # no change: no record
    ddb.delete_item(TableName=name, Key={"id": {"S": "Fred"}})
    ddb.delete_item(TableName=name, Key={"id": {"S": "Fred"}})  # nothing deleted: no record
    records, _ = _records(streams, arn)
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    first = records[0]
    assert first["eventSource"] == "aws:dynamodb" and first["eventVersion"] == "1.1"
    assert first["awsRegion"] == "us-east-1" and first["dynamodb"]["StreamViewType"] == view
    assert first["dynamodb"]["Keys"] == {"id": {"S": "Fred"}}
    has_new = view in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES")
    has_old = view in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES")
    assert ("NewImage" in first["dynamodb"]) == has_new and "OldImage" not in first["dynamodb"]
    assert ("OldImage" in records[2]["dynamodb"]) == has_old and "NewImage" not in records[2]["dynamodb"]
    assert first["dynamodb"]["SizeBytes"] == (12 if has_new else 6)  # keys (id+Fred) [+ new image]
    seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert seqs == sorted(seqs)


def test_stream_shapes_iterators_and_disable(ddb: Any, streams: Any, make_table: Any) -> None:
    name = make_table(StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    arn = ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    assert {
        "StreamArn": arn,
        "TableName": name,
        "StreamLabel": arn.rsplit("/", 1)[1],
    } in streams.list_streams(TableName=name)["Streams"]
    desc = streams.describe_stream(StreamArn=arn)["StreamDescription"]
    assert desc["StreamStatus"] == "ENABLED" and desc["TableName"] == name
    assert desc["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    for i in range(3):
        ddb.put_item(TableName=name, Item={"id": {"S": str(i)}, "bin": {"B": b"\x90"}})
    records, _ = _records(streams, arn)
    assert records[0]["dynamodb"]["NewImage"]["bin"] == {"B": b"\x90"}
    second = records[1]["dynamodb"]["SequenceNumber"]
    after, _ = _records(streams, arn, "AFTER_SEQUENCE_NUMBER", SequenceNumber=second)
    at, _ = _records(streams, arn, "AT_SEQUENCE_NUMBER", SequenceNumber=second)
    assert [r["dynamodb"]["Keys"]["id"]["S"] for r in after] == ["2"]
    assert [r["dynamodb"]["Keys"]["id"]["S"] for r in at] == ["1", "2"]
    latest, nxt = _records(streams, arn, "LATEST")
    assert latest == [] and nxt
    ddb.put_item(TableName=name, Item={"id": {"S": "late"}})
    assert [r["dynamodb"]["Keys"]["id"]["S"] for r in streams.get_records(ShardIterator=nxt)["Records"]] == [
        "late"
    ]
    ddb.update_table(TableName=name, StreamSpecification={"StreamEnabled": False})
    desc = streams.describe_stream(StreamArn=arn)["StreamDescription"]
    assert (
        desc["StreamStatus"] == "DISABLED"
        and "EndingSequenceNumber" in desc["Shards"][0]["SequenceNumberRange"]
    )
    records, nxt = _records(streams, arn)
    assert len(records) == 4 and nxt is None  # closed shard, read to its end
    assert "StreamSpecification" not in ddb.describe_table(TableName=name)["Table"]
    with pytest.raises(ClientError) as exc:
        streams.describe_stream(StreamArn=arn + "x")
    assert error(exc)[0] == "ResourceNotFoundException"


def test_iterator_expiry_and_retention(fresh_server: Any) -> None:
    proc = fresh_server("--ttl-interval", "0.05", in_memory=True)
    ddb, streams = make_client(proc.url, "dynamodb"), make_client(proc.url, "dynamodbstreams")
    name = create(ddb, StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    arn = ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    ddb.put_item(TableName=name, Item={"id": {"S": "old"}})
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    seq = streams.get_records(ShardIterator=it)["Records"][0]["dynamodb"]["SequenceNumber"]
    proc.advance_clock(16 * 60)
    with pytest.raises(ClientError) as exc:
        streams.get_records(ShardIterator=it)
    assert error(exc)[0] == "ExpiredIteratorException"
    proc.advance_clock(24 * 3600)
    ddb.put_item(TableName=name, Item={"id": {"S": "new"}})
    records, _ = _records(streams, arn)
    assert [r["dynamodb"]["Keys"]["id"]["S"] for r in records] == ["new"]
    deadline = time.monotonic() + 10  # the sweeper trims records older than 24 hours
    while time.monotonic() < deadline:
        try:
            streams.get_shard_iterator(
                StreamArn=arn, ShardId=shard, ShardIteratorType="AT_SEQUENCE_NUMBER", SequenceNumber=seq
            )
        except ClientError as trimmed:
            assert trimmed.response["Error"]["Code"] == "TrimmedDataAccessException"
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the old record was never trimmed")


def test_ttl_sweeper_deletes_expired_items_as_the_service(fresh_server: Any) -> None:
    proc = fresh_server("--ttl-interval", "0.05", in_memory=True)
    ddb, streams = make_client(proc.url, "dynamodb"), make_client(proc.url, "dynamodbstreams")
    name = create(
        ddb,
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "OLD_IMAGE"},
        more_attrs={"g": "S"},
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-g",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
    )
    assert ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "DISABLED"
    }
    now = int(time.time())
    ddb.put_item(
        TableName=name, Item={"id": {"S": "before-enable"}, "exp": {"N": str(now + 100)}, "g": {"S": "x"}}
    )
    out = ddb.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"}
    )
    assert out["TimeToLiveSpecification"] == {"Enabled": True, "AttributeName": "exp"}
    assert ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED",
        "AttributeName": "exp",
    }
    with pytest.raises(ClientError) as exc:
        ddb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"}
        )
    assert error(exc) == ("ValidationException", "TimeToLive is already enabled")
    ddb.put_item(TableName=name, Item={"id": {"S": "later"}, "exp": {"N": str(now + 500)}, "g": {"S": "x"}})
    ddb.put_item(TableName=name, Item={"id": {"S": "ancient"}, "exp": {"N": str(now - 6 * 365 * 86400)}})
    ddb.put_item(TableName=name, Item={"id": {"S": "not-a-number"}, "exp": {"S": "1"}})
    ddb.put_item(TableName=name, Item={"id": {"S": "forever"}})
    proc.advance_clock(200)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "Item" in ddb.get_item(
        TableName=name, Key={"id": {"S": "before-enable"}}
    ):
        time.sleep(0.05)
    ids = sorted(i["id"]["S"] for i in ddb.scan(TableName=name)["Items"])
    assert ids == ["ancient", "forever", "later", "not-a-number"]
    assert ddb.scan(TableName=name, IndexName="by-g")["Count"] == 1  # the index entry went too
    arn = ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    records, _ = _records(streams, arn)
    removed = [r for r in records if r["eventName"] == "REMOVE"]
    assert len(removed) == 1
    assert removed[0]["userIdentity"] == {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}
    assert removed[0]["dynamodb"]["OldImage"]["id"] == {"S": "before-enable"}
    assert all("userIdentity" not in r for r in records if r["eventName"] != "REMOVE")
    with pytest.raises(ClientError) as exc:
        ddb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": False, "AttributeName": "exp"}
        )
    assert error(exc) == (
        "ValidationException",
        "Time to live has been modified multiple times within a fixed interval",
    )
    with pytest.raises(ClientError) as exc:  # what the request says is checked before the interval
        ddb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": False, "AttributeName": "other"}
        )
    assert error(exc) == (
        "ValidationException",
        "TimeToLive is active on a different AttributeName: current AttributeName is exp",
    )


def test_shards_rotate_with_lineage(fresh_server: Any) -> None:
    proc = fresh_server(in_memory=True)
    ddb, streams = make_client(proc.url, "dynamodb"), make_client(proc.url, "dynamodbstreams")
    name = create(ddb, StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    arn = ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    ddb.put_item(TableName=name, Item={"id": {"S": "first"}})
    proc.advance_clock(4 * 3600 + 1)
    ddb.put_item(TableName=name, Item={"id": {"S": "second"}})
    shards = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    assert len(shards) == 2
    parent, child = shards
    assert child["ParentShardId"] == parent["ShardId"] and "ParentShardId" not in parent
    assert "EndingSequenceNumber" in parent["SequenceNumberRange"]
    assert "EndingSequenceNumber" not in child["SequenceNumberRange"]
    it = streams.get_shard_iterator(
        StreamArn=arn, ShardId=parent["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )
    out = streams.get_records(ShardIterator=it["ShardIterator"])
    assert [r["dynamodb"]["Keys"]["id"]["S"] for r in out["Records"]] == ["first"]
    assert "NextShardIterator" not in out  # the parent is closed and read to its end
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=child["ShardId"], ShardIteratorType="TRIM_HORIZON")
    out = streams.get_records(ShardIterator=it["ShardIterator"])
    assert [r["dynamodb"]["Keys"]["id"]["S"] for r in out["Records"]] == ["second"] and out[
        "NextShardIterator"
    ]
    with pytest.raises(ClientError) as exc:
        streams.get_shard_iterator(
            StreamArn=arn, ShardId="shardId-00000000000000000000-00000000", ShardIteratorType="LATEST"
        )
    assert error(exc)[0] == "ResourceNotFoundException"


def test_get_records_pages_at_one_megabyte(ddb: Any, streams: Any, make_table: Any) -> None:
    name = make_table(StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    arn = ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    for i in range(5):
        ddb.put_item(TableName=name, Item={"id": {"S": str(i)}, "v": {"S": "x" * 300_000}})
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    seen = []
    while it and len(seen) < 5:
        out = streams.get_records(ShardIterator=it)
        assert len(out["Records"]) <= 3
        seen += [r["dynamodb"]["Keys"]["id"]["S"] for r in out["Records"]]
        it = out.get("NextShardIterator")
    assert seen == ["0", "1", "2", "3", "4"]


def test_the_ttl_sweep_reads_the_expiry_index(tmp_path: Any) -> None:
    """The sweep skips a deleted table's items (their rows wait to be reclaimed) without letting
    the table id steer SQLite onto an index that reads every item of every table."""
    from gondwana.services.dynamodb import ttl
    from gondwana.services.dynamodb.storage import MIGRATIONS
    from gondwana.storage.sqlite import SqliteStore

    store = SqliteStore(tmp_path / "ttl.db")
    try:
        store.register("dynamodb", MIGRATIONS)
        plan = [row[-1] for row in store.query("EXPLAIN QUERY PLAN " + ttl.EXPIRED, (1.0, 0.0, 10))]
        assert plan[0] == "SEARCH dynamodb_items USING INDEX dynamodb_items_expiry (expires>? AND expires<?)"
    finally:
        store.close()
