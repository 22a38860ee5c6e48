"""Requests that repeat an expression with the same placeholder maps (which the server parses once)
behave exactly like fresh ones: each marks its own placeholders used, and applying a remembered
update never changes what the next request sees."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.dynamodb.conftest import error

VALUES = {":v": {"N": "1"}, ":w": {"S": "two"}}
COND = "attribute_not_exists(x) OR x <> :v"


def test_a_remembered_condition_still_marks_its_placeholders(ddb: Any, make_table: Any) -> None:
    name = make_table()
    key = {"id": {"S": "k"}}
    # the condition uses :v in each request; the updates use :v and :w, then only :w
    ddb.update_item(
        TableName=name,
        Key=key,
        UpdateExpression="SET a = :v, b = :w",
        ConditionExpression=COND,
        ExpressionAttributeValues=VALUES,
    )
    ddb.update_item(
        TableName=name,
        Key=key,
        UpdateExpression="SET c = :w",
        ConditionExpression=COND,
        ExpressionAttributeValues=VALUES,
    )
    for _ in range(2):  # the same unused :v, remembered or not, is refused the same way
        with pytest.raises(ClientError) as exc:
            ddb.update_item(
                TableName=name,
                Key=key,
                UpdateExpression="SET d = :w",
                ConditionExpression="attribute_exists(a)",
                ExpressionAttributeValues=VALUES,
            )
        assert error(exc) == (
            "ValidationException",
            "Value provided in ExpressionAttributeValues unused in expressions: keys: {:v}",
        )
    item = ddb.get_item(TableName=name, Key=key)["Item"]
    assert item == {"id": {"S": "k"}, "a": {"N": "1"}, "b": {"S": "two"}, "c": {"S": "two"}}


def test_repeated_updates_apply_afresh_each_time(ddb: Any, make_table: Any) -> None:
    name = make_table()
    key = {"id": {"S": "k"}}
    update = {
        "TableName": name,
        "Key": key,
        "UpdateExpression": "SET l = list_append(if_not_exists(l, :empty), :x), n = if_not_exists(n, :zero) + :one "
        "ADD s :s",
        "ExpressionAttributeValues": {
            ":empty": {"L": []},
            ":x": {"L": [{"M": {"deep": {"S": "v"}}}]},
            ":zero": {"N": "0"},
            ":one": {"N": "1"},
            ":s": {"SS": ["a"]},
        },
        "ReturnValues": "ALL_NEW",
    }
    first = ddb.update_item(**update)["Attributes"]
    second = ddb.update_item(**update)["Attributes"]
    third = ddb.update_item(**update)["Attributes"]
    entry = {"M": {"deep": {"S": "v"}}}
    assert first["l"] == {"L": [entry]} and first["n"] == {"N": "1"}
    assert second["l"] == {"L": [entry, entry]} and second["n"] == {"N": "2"}
    assert third["l"] == {"L": [entry, entry, entry]} and third["n"] == {"N": "3"}
    assert third["s"] == {"SS": ["a"]}
    # a new item starts from the expression's own values, unchanged by the updates above
    other = ddb.update_item(**{**update, "Key": {"id": {"S": "other"}}})["Attributes"]
    assert other["l"] == {"L": [entry]} and other["n"] == {"N": "1"}


def test_a_bad_expression_fails_every_time(ddb: Any, make_table: Any) -> None:
    name = make_table()
    for _ in range(2):
        with pytest.raises(ClientError) as exc:
            ddb.update_item(
                TableName=name,
                Key={"id": {"S": "k"}},
                UpdateExpression="SET a = :v + :w",
                ExpressionAttributeValues=VALUES,
            )
        assert exc.value.response["Error"]["Code"] == "ValidationException"
    assert "Item" not in ddb.get_item(TableName=name, Key={"id": {"S": "k"}})
