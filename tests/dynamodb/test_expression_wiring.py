"""How the service hands requests to the expression language: edge cases of the wiring."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError


@pytest.fixture
def table(client: Any) -> tuple[Any, str]:
    ddb = client("dynamodb")
    name = f"wiring-{uuid.uuid4().hex[:8]}"
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return ddb, name


def test_remove_of_a_nested_path_on_a_missing_item_creates_the_key_only(table: tuple[Any, str]) -> None:
    ddb, name = table
    ddb.update_item(TableName=name, Key={"pk": {"S": "new"}}, UpdateExpression="REMOVE a.b")
    assert ddb.get_item(TableName=name, Key={"pk": {"S": "new"}})["Item"] == {"pk": {"S": "new"}}


def test_updated_new_returns_only_the_nested_paths_written(table: tuple[Any, str]) -> None:
    ddb, name = table
    ddb.put_item(TableName=name, Item={"pk": {"S": "k"}, "m": {"M": {"x": {"N": "1"}, "y": {"N": "2"}}}})
    out = ddb.update_item(
        TableName=name,
        Key={"pk": {"S": "k"}},
        UpdateExpression="SET m.x = :v",
        ExpressionAttributeValues={":v": {"N": "5"}},
        ReturnValues="UPDATED_NEW",
    )
    assert out["Attributes"] == {"m": {"M": {"x": {"N": "5"}}}}


@pytest.mark.parametrize("call", ["put", "query", "scan"])
def test_conditional_operator_without_conditions(table: tuple[Any, str], call: str) -> None:
    ddb, name = table
    with pytest.raises(ClientError) as caught:
        if call == "put":
            ddb.put_item(TableName=name, Item={"pk": {"S": "x"}}, ConditionalOperator="AND")
        elif call == "query":
            ddb.query(
                TableName=name,
                KeyConditions={"pk": {"AttributeValueList": [{"S": "x"}], "ComparisonOperator": "EQ"}},
                ConditionalOperator="OR",
            )
        else:
            ddb.scan(TableName=name, ConditionalOperator="AND")
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert (
        caught.value.response["Error"]["Message"]
        == "ConditionalOperator cannot be used without Filter or Expected"
    )
