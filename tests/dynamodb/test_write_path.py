"""The single-item write path: placeholder maps checked once and remembered (the same answers for a
repeated request, valid or not), and a write whose read, condition or new image fails writes
nothing."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.dynamodb.conftest import error


def test_remembered_placeholder_maps_answer_as_fresh_ones(ddb: Any, raw: Any, make_table: Any) -> None:
    name = make_table()
    key = {"id": {"S": "k"}}
    for n in range(2):  # non-canonical numbers are normalised whether the maps are remembered or not
        ddb.update_item(
            TableName=name,
            Key=key,
            UpdateExpression="SET n = :v, m = :w",
            ExpressionAttributeValues={":v": {"N": "01.50"}, ":w": {"N": f"{n}"}},
        )
        assert ddb.get_item(TableName=name, Key=key)["Item"]["n"] == {"N": "1.5"}
    for _ in range(2):  # invalid maps are refused every time, never remembered as checked
        with pytest.raises(ClientError) as exc:
            raw.update_item(
                TableName=name,
                Key=key,
                UpdateExpression="SET n = :v",
                ExpressionAttributeValues={":v": {"N": "1x"}},
            )
        assert error(exc) == (
            "ValidationException",
            "ExpressionAttributeValues contains invalid value: The parameter cannot be converted to a "
            "numeric value: 1x for key :v",
        )
    # the same values with an empty names map: still refused after the values were checked alone
    with pytest.raises(ClientError) as exc:
        raw.update_item(
            TableName=name,
            Key=key,
            UpdateExpression="SET n = :v, m = :w",
            ExpressionAttributeNames={},
            ExpressionAttributeValues={":v": {"N": "01.50"}, ":w": {"N": "1"}},
        )
    assert error(exc) == ("ValidationException", "ExpressionAttributeNames must not be empty")


def test_failed_writes_write_nothing(ddb: Any, streams: Any, make_table: Any) -> None:
    name = make_table(StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    key = {"id": {"S": "k"}}
    ddb.put_item(TableName=name, Item={**key, "n": {"N": "1"}})
    with pytest.raises(ClientError) as exc:
        ddb.put_item(
            TableName=name,
            Item={**key, "n": {"N": "2"}},
            ConditionExpression="n = :two",
            ExpressionAttributeValues={":two": {"N": "2"}},
        )
    assert error(exc)[0] == "ConditionalCheckFailedException"
    with pytest.raises(ClientError) as exc:  # the condition holds; the new image is too large
        ddb.update_item(
            TableName=name,
            Key=key,
            UpdateExpression="SET big = :big",
            ConditionExpression="n = :one",
            ExpressionAttributeValues={":big": {"S": "x" * 400 * 1024}, ":one": {"N": "1"}},
        )
    assert error(exc) == ("ValidationException", "Item size to update has exceeded the maximum allowed size")
    with pytest.raises(ClientError) as exc:  # a type error in the update itself
        ddb.update_item(
            TableName=name,
            Key=key,
            UpdateExpression="SET n = n + :s",
            ExpressionAttributeValues={":s": {"S": "a"}},
        )
    assert error(exc)[0] == "ValidationException"
    assert ddb.get_item(TableName=name, Key=key)["Item"] == {**key, "n": {"N": "1"}}
    described = ddb.describe_table(TableName=name)["Table"]
    assert described["ItemCount"] == 1
    arn = described["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    records = streams.get_records(ShardIterator=it["ShardIterator"])["Records"]
    assert [r["eventName"] for r in records] == ["INSERT"]
