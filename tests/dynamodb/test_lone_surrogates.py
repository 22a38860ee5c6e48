"""Strings with lone surrogates (a JSON request can carry `\\ud800`) are stored and answered like
any other string, with boto3: sized and keyed by their 3-byte form, and sent back as `\\u`
escapes so the answer stays valid UTF-8 (botocore decodes it strictly)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

ODD = "lone \ud800 and \udfff"


def test_lone_surrogates_round_trip_in_values_and_keys(ddb: Any, make_table: Callable[..., str]) -> None:
    table = make_table(("pk", "S"), ("sk", "S"))
    item = {"pk": {"S": "p"}, "sk": {"S": ODD}, "v": {"S": ODD}, "l": {"L": [{"SS": [ODD, "b"]}]}}
    assert ddb.put_item(TableName=table, Item=item)["ResponseMetadata"]["HTTPStatusCode"] == 200
    got = ddb.get_item(TableName=table, Key={"pk": {"S": "p"}, "sk": {"S": ODD}}, ConsistentRead=True)
    assert got["Item"]["v"] == {"S": ODD} and got["Item"]["sk"] == {"S": ODD}
    # The decoding path (a projection, an old image) answers the same, as escapes.
    projected = ddb.get_item(
        TableName=table, Key={"pk": {"S": "p"}, "sk": {"S": ODD}}, ProjectionExpression="v, l"
    )["Item"]
    assert projected["v"] == {"S": ODD} and set(projected["l"]["L"][0]["SS"]) == {ODD, "b"}
    old = ddb.put_item(TableName=table, Item={**item, "v": {"S": "plain"}}, ReturnValues="ALL_OLD")
    assert old["Attributes"]["v"] == {"S": ODD}
    # Keys order by their UTF-8 bytes: a lone surrogate (ED A0 80) after "z", before U+E000.
    for sk in ("\ue000", "\ud800", "z"):
        ddb.put_item(TableName=table, Item={"pk": {"S": "q"}, "sk": {"S": sk}})
    page = ddb.query(
        TableName=table,
        KeyConditionExpression="pk = :q",
        ExpressionAttributeValues={":q": {"S": "q"}},
    )
    assert [i["sk"]["S"] for i in page["Items"]] == ["z", "\ud800", "\ue000"]
    assert ddb.describe_table(TableName=table)["Table"]["ItemCount"] == 4


def test_names_with_lone_surrogates_are_refused_not_failed(ddb: Any, streams: Any) -> None:
    """Found by the wire fuzzer: a table or stream ARN carrying a lone surrogate reached SQLite,
    which cannot encode it (500). No table is named so (the name's pattern refuses it) and no
    stream has such an ARN (not found)."""
    with pytest.raises(ClientError) as exc:
        ddb.describe_table(TableName="arn:aws:dynamodb:us-east-1:000000000000:table/abc\ud800")
    assert exc.value.response["Error"]["Code"] == "ValidationException"
    arn = "arn:aws:dynamodb:us-east-1:000000000000:table/abc/stream/2026-11-27T00:00:00.000\ud800"
    shard = {"ShardId": "shardId-00000000000000000000-00000000", "ShardIteratorType": "LATEST"}
    for call, params in ((streams.describe_stream, {}), (streams.get_shard_iterator, shard)):
        with pytest.raises(ClientError) as exc:
            call(StreamArn=arn, **params)
        assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"
