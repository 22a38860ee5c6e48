"""Key parameters of the common shape (S and B keys) take a one-pass check: it must answer exactly
as the full checks do, for good keys and for every kind of bad one."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.dynamodb.conftest import error

MISMATCH = ("ValidationException", "The provided key element does not match the schema")


def test_string_and_binary_keys(ddb: Any, raw: Any, make_table: Any) -> None:
    name = make_table(range_key=("r", "B"))
    wide = "é" * 1024  # 2048 UTF-8 bytes: the largest hash key
    for key in ({"id": {"S": "a"}, "r": {"B": b"\x00\xff"}}, {"id": {"S": wide}, "r": {"B": b"\x01" * 1024}}):
        ddb.put_item(TableName=name, Item={**key, "v": {"S": "here"}})
        assert ddb.get_item(TableName=name, Key=key)["Item"]["v"] == {"S": "here"}
        ddb.update_item(
            TableName=name,
            Key=key,
            UpdateExpression="SET w = :w",
            ExpressionAttributeValues={":w": {"N": "1"}},
        )
        assert ddb.delete_item(TableName=name, Key=key, ReturnValues="ALL_OLD")["Attributes"]["w"] == {
            "N": "1"
        }
    assert "Item" not in ddb.get_item(TableName=name, Key={"id": {"S": "a"}, "r": {"B": b"\x00"}})
    cases = [
        ({"id": {"S": "a"}}, MISMATCH),
        ({"id": {"S": "a"}, "r": {"S": "x"}}, MISMATCH),
        ({"id": {"N": "1"}, "r": {"B": b"x"}}, MISMATCH),
        ({"id": {"S": "a"}, "x": {"B": b"x"}}, MISMATCH),
        ({"id": {"S": "a"}, "r": {"B": b"x"}, "x": {"S": "1"}}, MISMATCH),
        (
            {"id": {"S": ""}, "r": {"B": b"x"}},
            (
                "ValidationException",
                "One or more parameter values are not valid. The AttributeValue for a key attribute cannot "
                "contain an empty string value. Key: id",
            ),
        ),
        (
            {"id": {"S": "a"}, "r": {"B": b""}},
            (
                "ValidationException",
                "One or more parameter values are not valid. The AttributeValue for a key attribute cannot "
                "contain an empty binary value. Key: r",
            ),
        ),
        (
            {"id": {"S": "é" * 1025}, "r": {"B": b"x"}},
            (
                "ValidationException",
                "One or more parameter values were invalid: Size of hashkey has exceeded the maximum size "
                "limit of2048 bytes",
            ),
        ),
        (
            {"id": {"S": "a"}, "r": {"B": b"x" * 1025}},
            (
                "ValidationException",
                "One or more parameter values were invalid: Aggregated size of all range keys has exceeded "
                "the size limit of 1024 bytes",
            ),
        ),
        (
            {"id": {"S": "a", "N": "1"}, "r": {"B": b"x"}},
            (
                "ValidationException",
                "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the "
                "supported datatypes",
            ),
        ),
    ]
    update = {"UpdateExpression": "SET w = :w", "ExpressionAttributeValues": {":w": {"N": "1"}}}
    for key, expected in cases:
        for operation, extra in ((raw.get_item, {}), (raw.delete_item, {}), (raw.update_item, update)):
            with pytest.raises(ClientError) as exc:
                operation(TableName=name, Key=key, **extra)
            assert error(exc) == expected, (operation, key)
