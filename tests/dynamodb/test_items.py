"""PutItem/GetItem/UpdateItem/DeleteItem: types, numbers, sizes, keys, conditions, ReturnValues."""

from __future__ import annotations

import http.client
import json
from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError

from tests.dynamodb.conftest import error
from tests.support.server import ServerProcess


def test_put_get_delete_roundtrip_all_types(ddb: Any, make_table: Any) -> None:
    name = make_table()
    item = {
        "id": {"S": "a"},
        "s": {"S": ""},
        "n": {"N": "1.50"},
        "b": {"B": b"\x00\x90"},
        "t": {"BOOL": True},
        "z": {"NULL": True},
        "m": {"M": {"x": {"L": [{"N": "1"}, {"S": "y"}]}}},
        "l": {"L": []},
        "ss": {"SS": ["a", "b"]},
        "ns": {"NS": ["1", "2.0"]},
        "bs": {"BS": [b"\x01", b"\x02"]},
        "e": {"M": {}},
    }
    ddb.put_item(TableName=name, Item=item)
    got = ddb.get_item(TableName=name, Key={"id": {"S": "a"}}, ConsistentRead=True)["Item"]
    assert got["n"] == {"N": "1.5"} and got["b"] == {"B": b"\x00\x90"} and got["s"] == {"S": ""}
    assert sorted(got["ns"]["NS"]) == ["1", "2"] and got["m"] == item["m"] and got["e"] == {"M": {}}
    out = ddb.delete_item(TableName=name, Key={"id": {"S": "a"}}, ReturnValues="ALL_OLD")
    assert out["Attributes"]["id"] == {"S": "a"}
    assert "Item" not in ddb.get_item(TableName=name, Key={"id": {"S": "a"}})


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("01", "1"),
        ("1.500", "1.5"),
        ("-0", "0"),
        ("1e2", "100"),
        ("1E-5", "0.00001"),
        ("-.5", "-0.5"),
        ("9.9999999999999999999999999999999999999E+125", "99999999999999999999999999999999999999" + "0" * 88),
        ("1E-130", "0." + "0" * 129 + "1"),
    ],
)
def test_numbers_normalised(ddb: Any, make_table: Any, given: str, stored: str) -> None:
    name = make_table()
    ddb.put_item(TableName=name, Item={"id": {"S": "n"}, "v": {"N": given}})
    assert ddb.get_item(TableName=name, Key={"id": {"S": "n"}})["Item"]["v"] == {"N": stored}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"N": "abc"}, "The parameter cannot be converted to a numeric value: abc"),
        ({"N": "1" * 39}, "Attempting to store more than 38 significant digits in a Number"),
        (
            {"N": "1E+126"},
            "Number overflow. Attempting to store a number with magnitude larger than supported range",
        ),
        (
            {"N": "1E-131"},
            "Number underflow. Attempting to store a number with magnitude smaller than supported range",
        ),
        ({"SS": []}, "One or more parameter values were invalid: An string set  may not be empty"),
        ({"NS": []}, "One or more parameter values were invalid: An number set  may not be empty"),
        (
            {"SS": ["a", "a"]},
            "One or more parameter values were invalid: Input collection [a, a] contains duplicates.",
        ),
        ({"NS": ["1", "1.0"]}, "Input collection contains duplicates"),
        (
            {"BS": [b"b", b"b"]},
            "One or more parameter values were invalid: "
            "Input collection [Yg==, Yg==]of type BS contains duplicates.",
        ),
        ({"BS": []}, "One or more parameter values were invalid: Binary sets should not be empty"),
        ({"N": ""}, "The parameter cannot be converted to a numeric value"),
        ({}, "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"),
        (
            {"S": "a", "N": "1"},
            "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the "
            "supported datatypes",
        ),
    ],
)
def test_invalid_values(raw: Any, make_table: Any, value: dict[str, Any], message: str) -> None:
    name = make_table()
    with pytest.raises(ClientError) as exc:
        raw.put_item(TableName=name, Item={"id": {"S": "x"}, "v": value})
    assert error(exc) == ("ValidationException", message)
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "Item" not in raw.get_item(TableName=name, Key={"id": {"S": "x"}})


def test_key_validation(ddb: Any, raw: Any, make_table: Any) -> None:
    name = make_table(range_key=("r", "N"))
    cases = [
        ({"id": {"S": "a"}}, "One or more parameter values were invalid: Missing the key r in the item"),
        (
            {"id": {"S": "a"}, "r": {"S": "1"}},
            "One or more parameter values were invalid: Type mismatch for key r expected: N actual: S",
        ),
        (
            {"id": {"S": ""}, "r": {"N": "1"}},
            "One or more parameter values are not valid. The AttributeValue for a key attribute cannot "
            "contain an "
            "empty string value. Key: id",
        ),
        (
            {"id": {"S": "x" * 2049}, "r": {"N": "1"}},
            "One or more parameter values were invalid: Size of hashkey has exceeded the maximum size "
            "limit of2048 bytes",
        ),
    ]
    for item, message in cases:
        with pytest.raises(ClientError) as exc:
            raw.put_item(TableName=name, Item=item)
        assert error(exc) == ("ValidationException", message)
    for key in (
        {"id": {"S": "a"}},
        {"id": {"S": "a"}, "r": {"S": "1"}},
        {"id": {"S": "a"}, "r": {"N": "1"}, "x": {"S": "1"}},
    ):
        with pytest.raises(ClientError) as exc:
            raw.get_item(TableName=name, Key=key)
        assert error(exc) == ("ValidationException", "The provided key element does not match the schema")
    with pytest.raises(ClientError) as exc:
        ddb.get_item(TableName="no-such-table", Key={"id": {"S": "a"}})
    assert error(exc) == ("ResourceNotFoundException", "Requested resource not found")


def test_item_size_limit_counts_names(ddb: Any, make_table: Any) -> None:
    name = make_table()
    # id(2) + "a"(1) + name "v"(1) + value: exactly 400 KB
    ddb.put_item(TableName=name, Item={"id": {"S": "a"}, "v": {"S": "x" * (409600 - 4)}})
    with pytest.raises(ClientError) as exc:
        ddb.put_item(TableName=name, Item={"id": {"S": "a"}, "vv": {"S": "x" * (409600 - 4)}})
    assert error(exc) == ("ValidationException", "Item size has exceeded the maximum allowed size")
    got = ddb.get_item(TableName=name, Key={"id": {"S": "a"}})["Item"]
    assert "v" in got and "vv" not in got


def test_return_values_put_and_invalid(ddb: Any, make_table: Any) -> None:
    name = make_table()
    assert "Attributes" not in ddb.put_item(
        TableName=name, Item={"id": {"S": "a"}, "d": {"S": "1"}}, ReturnValues="ALL_OLD"
    )
    out = ddb.put_item(TableName=name, Item={"id": {"S": "a"}, "d": {"S": "2"}}, ReturnValues="ALL_OLD")
    assert out["Attributes"] == {"id": {"S": "a"}, "d": {"S": "1"}}
    with pytest.raises(ClientError) as exc:
        ddb.put_item(TableName=name, Item={"id": {"S": "a"}}, ReturnValues="ALL_NEW")
    assert error(exc) == ("ValidationException", "ReturnValues can only be ALL_OLD or NONE")


def test_conditions_and_return_values_on_failure(ddb: Any, make_table: Any) -> None:
    name = make_table()
    ddb.put_item(TableName=name, Item={"id": {"S": "456"}, "price": {"N": "650"}})
    with pytest.raises(ClientError) as exc:
        ddb.put_item(
            TableName=name,
            Item={"id": {"S": "456"}},
            ConditionExpression="attribute_not_exists(id)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    assert error(exc) == ("ConditionalCheckFailedException", "The conditional request failed")
    assert exc.value.response["Item"] == {"id": {"S": "456"}, "price": {"N": "650"}}
    with pytest.raises(ClientError) as exc:
        ddb.delete_item(
            TableName=name,
            Key={"id": {"S": "456"}},
            ConditionExpression="price > :p",
            ExpressionAttributeValues={":p": {"N": "1000"}},
        )
    assert "Item" not in exc.value.response
    ddb.delete_item(
        TableName=name,
        Key={"id": {"S": "456"}},
        ConditionExpression="price < :p",
        ExpressionAttributeValues={":p": {"N": "1000"}},
    )
    assert "Item" not in ddb.get_item(TableName=name, Key={"id": {"S": "456"}})
    # legacy Expected
    ddb.put_item(TableName=name, Item={"id": {"S": "e"}, "v": {"N": "1"}})
    with pytest.raises(ClientError) as exc:
        ddb.put_item(TableName=name, Item={"id": {"S": "e"}}, Expected={"v": {"Value": {"N": "2"}}})
    assert error(exc)[0] == "ConditionalCheckFailedException"
    ddb.put_item(TableName=name, Item={"id": {"S": "e"}}, Expected={"v": {"Value": {"N": "1"}}})


def test_expression_parameter_rules(ddb: Any, make_table: Any) -> None:
    name = make_table()
    with pytest.raises(ClientError) as exc:
        ddb.put_item(TableName=name, Item={"id": {"S": "a"}}, ExpressionAttributeValues={":v": {"S": "x"}})
    assert error(exc) == (
        "ValidationException",
        "ExpressionAttributeValues can only be specified when using expressions: ConditionExpression is null",
    )
    with pytest.raises(ClientError) as exc:
        ddb.put_item(
            TableName=name,
            Item={"id": {"S": "a"}},
            ConditionExpression="attribute_exists(id)",
            ExpressionAttributeValues={":v": {"S": "x"}},
        )
    assert error(exc) == (
        "ValidationException",
        "Value provided in ExpressionAttributeValues unused in expressions: keys: {:v}",
    )
    with pytest.raises(ClientError) as exc:
        ddb.put_item(
            TableName=name,
            Item={"id": {"S": "a"}},
            ConditionExpression="attribute_exists(id)",
            Expected={"id": {"Exists": False}},
        )
    assert error(exc) == (
        "ValidationException",
        "Can not use both expression and non-expression parameters in the "
        "same request: Non-expression parameters: {Expected} Expression parameters: {ConditionExpression}",
    )
    with pytest.raises(ClientError) as exc:
        ddb.put_item(
            TableName=name,
            Item={"id": {"S": "a"}},
            ConditionExpression="v = :v",
            ExpressionAttributeValues={":v": {"SS": []}},
        )
    assert error(exc) == (
        "ValidationException",
        "ExpressionAttributeValues contains invalid value: One or more "
        "parameter values were invalid: An string set  may not be empty for key :v",
    )


def test_update_item_expressions_and_return_values(ddb: Any, make_table: Any) -> None:
    name = make_table()
    key = {"id": {"S": "u"}}
    out = ddb.update_item(
        TableName=name,
        Key=key,
        UpdateExpression="SET c = :one, l = :l",
        ExpressionAttributeValues={":one": {"N": "1"}, ":l": {"L": [{"S": "a"}]}},
        ReturnValues="ALL_NEW",
    )
    assert out["Attributes"] == {"id": {"S": "u"}, "c": {"N": "1"}, "l": {"L": [{"S": "a"}]}}
    out = ddb.update_item(
        TableName=name,
        Key=key,
        UpdateExpression="SET c = c + :one ADD s :s REMOVE l",
        ExpressionAttributeValues={":one": {"N": "1"}, ":s": {"SS": ["x"]}},
        ReturnValues="UPDATED_OLD",
    )
    assert out["Attributes"] == {"c": {"N": "1"}, "l": {"L": [{"S": "a"}]}}
    out = ddb.update_item(
        TableName=name,
        Key=key,
        UpdateExpression="SET c = c + :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
        ReturnValues="UPDATED_NEW",
    )
    assert out["Attributes"] == {"c": {"N": "3"}}
    with pytest.raises(ClientError) as exc:
        ddb.update_item(
            TableName=name,
            Key=key,
            UpdateExpression="SET id = :v",
            ExpressionAttributeValues={":v": {"S": "z"}},
        )
    assert error(exc) == (
        "ValidationException",
        "One or more parameter values were invalid: Cannot update attribute "
        "id. This attribute is part of the key",
    )
    with pytest.raises(ClientError) as exc:
        ddb.update_item(
            TableName=name,
            Key=key,
            UpdateExpression="SET c = :v",
            ConditionExpression="c = :x",
            ExpressionAttributeValues={":v": {"N": "0"}, ":x": {"N": "99"}},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    assert error(exc)[0] == "ConditionalCheckFailedException" and exc.value.response["Item"]["c"] == {
        "N": "3"
    }
    # legacy AttributeUpdates
    ddb.update_item(TableName=name, Key=key, AttributeUpdates={"c": {"Action": "ADD", "Value": {"N": "10"}}})
    assert ddb.get_item(TableName=name, Key=key)["Item"]["c"] == {"N": "13"}
    # no update at all creates the item with its key only
    ddb.update_item(TableName=name, Key={"id": {"S": "bare"}})
    assert ddb.get_item(TableName=name, Key={"id": {"S": "bare"}})["Item"] == {"id": {"S": "bare"}}


def test_get_item_projection(ddb: Any, make_table: Any) -> None:
    name = make_table()
    ddb.put_item(
        TableName=name,
        Item={"id": {"S": "p"}, "a": {"M": {"b": {"S": "x"}, "c": {"S": "y"}}}, "d": {"N": "1"}},
    )
    got = ddb.get_item(
        TableName=name,
        Key={"id": {"S": "p"}},
        ProjectionExpression="a.b, #d",
        ExpressionAttributeNames={"#d": "d"},
    )["Item"]
    assert got == {"a": {"M": {"b": {"S": "x"}}}, "d": {"N": "1"}}
    got = ddb.get_item(TableName=name, Key={"id": {"S": "p"}}, AttributesToGet=["d"])["Item"]
    assert got == {"d": {"N": "1"}}


def test_consumed_capacity(ddb: Any, make_table: Any) -> None:
    name = make_table()
    out = ddb.put_item(
        TableName=name, Item={"id": {"S": "c"}, "v": {"S": "x" * 2000}}, ReturnConsumedCapacity="TOTAL"
    )
    assert out["ConsumedCapacity"]["TableName"] == name and out["ConsumedCapacity"]["CapacityUnits"] == 2.0
    out = ddb.get_item(TableName=name, Key={"id": {"S": "c"}}, ReturnConsumedCapacity="TOTAL")
    assert out["ConsumedCapacity"]["CapacityUnits"] == 0.5
    out = ddb.get_item(
        TableName=name, Key={"id": {"S": "c"}}, ConsistentRead=True, ReturnConsumedCapacity="INDEXES"
    )
    assert (
        out["ConsumedCapacity"]["CapacityUnits"] == 1.0
        and out["ConsumedCapacity"]["Table"]["CapacityUnits"] == 1.0
    )


def test_resource_api_with_conditions(resource: Any, make_table: Any) -> None:
    name = make_table(range_key=("n", "N"))
    table = resource.Table(name)
    table.put_item(Item={"id": "r", "n": 1, "price": Decimal("9.5"), "tags": {"a", "b"}})
    table.update_item(
        Key={"id": "r", "n": 1},
        UpdateExpression="SET price = price + :d",
        ExpressionAttributeValues={":d": Decimal("0.5")},
        ConditionExpression=Attr("price").lt(10),
    )
    item = table.get_item(Key={"id": "r", "n": 1})["Item"]
    assert item["price"] == Decimal("10") and item["tags"] == {"a", "b"}
    with pytest.raises(ClientError) as exc:
        table.put_item(Item={"id": "r", "n": 1}, ConditionExpression=Attr("id").not_exists())
    assert error(exc)[0] == "ConditionalCheckFailedException"
    table.delete_item(Key={"id": "r", "n": 1}, ConditionExpression=Attr("tags").contains("a"))
    assert "Item" not in table.get_item(Key={"id": "r", "n": 1})


def test_placeholders_without_expressions(ddb: Any, make_table: Any) -> None:
    name = make_table()
    key = {"id": {"S": "a"}}
    with pytest.raises(ClientError) as exc:
        ddb.get_item(TableName=name, Key=key, ExpressionAttributeNames={"#a": "a"})
    assert error(exc) == (
        "ValidationException",
        "ExpressionAttributeNames can only be specified when using expressions",
    )
    with pytest.raises(ClientError) as exc:
        ddb.update_item(TableName=name, Key=key, ExpressionAttributeValues={":a": {"S": "a"}})
    assert error(exc) == (
        "ValidationException",
        "ExpressionAttributeValues can only be specified when using "
        "expressions: UpdateExpression and ConditionExpression are null",
    )
    with pytest.raises(ClientError) as exc:
        ddb.get_item(TableName=name, Key=key, ProjectionExpression="a", ExpressionAttributeNames={"#a": "a"})
    assert error(exc) == (
        "ValidationException",
        "Value provided in ExpressionAttributeNames unused in expressions: keys: {#a}",
    )


def test_null_false_is_stored_as_null_true(ddb: Any, make_table: Any) -> None:
    name = make_table()
    ddb.put_item(TableName=name, Item={"id": {"S": "n"}, "z": {"NULL": False}})
    assert ddb.get_item(TableName=name, Key={"id": {"S": "n"}})["Item"]["z"] == {"NULL": True}


def test_updated_values_are_the_written_paths(ddb: Any, make_table: Any) -> None:
    name = make_table()
    key = {"id": {"S": "nested"}}
    ddb.put_item(
        TableName=name, Item={**key, "a": {"M": {"b": {"N": "1"}, "c": {"N": "2"}}}, "l": {"L": [{"S": "x"}]}}
    )
    out = ddb.update_item(
        TableName=name,
        Key=key,
        UpdateExpression="SET a.b = :v, l[0] = :w",
        ExpressionAttributeValues={":v": {"N": "5"}, ":w": {"S": "y"}},
        ReturnValues="UPDATED_NEW",
    )
    assert out["Attributes"] == {"a": {"M": {"b": {"N": "5"}}}, "l": {"L": [{"S": "y"}]}}
    out = ddb.update_item(TableName=name, Key=key, UpdateExpression="REMOVE a.c", ReturnValues="UPDATED_OLD")
    assert out["Attributes"] == {"a": {"M": {"c": {"N": "2"}}}}
    out = ddb.update_item(TableName=name, Key=key, UpdateExpression="REMOVE a.c", ReturnValues="UPDATED_NEW")
    assert "Attributes" not in out


def test_nesting_depth_and_range_key_size(raw: Any, make_table: Any) -> None:
    name = make_table(range_key=("r", "S"))

    def nested(depth: int) -> dict[str, Any]:
        value: dict[str, Any] = {"S": "leaf"}
        for _ in range(depth):
            value = {"M": {"m": value}}
        return value

    raw.put_item(TableName=name, Item={"id": {"S": "a"}, "r": {"S": "1"}, "deep": nested(32)})
    with pytest.raises(ClientError) as exc:
        raw.put_item(TableName=name, Item={"id": {"S": "a"}, "r": {"S": "2"}, "deep": nested(33)})
    assert error(exc) == ("ValidationException", "Nesting Levels have exceeded supported limits")
    raw.put_item(TableName=name, Item={"id": {"S": "a"}, "r": {"S": "x" * 1024}})
    with pytest.raises(ClientError) as exc:
        raw.put_item(TableName=name, Item={"id": {"S": "a"}, "r": {"S": "x" * 1025}})
    assert error(exc) == (
        "ValidationException",
        "One or more parameter values were invalid: Aggregated size of all "
        "range keys has exceeded the size limit of 1024 bytes",
    )


def test_placeholder_values_nested_past_the_binders_depth(server: ServerProcess, make_table: Any) -> None:
    """ExpressionAttributeValues nested ~1,000 JSON levels deep (within what the JSON decoder
    accepts, deeper than the model binder follows) are refused as the decoder refuses deeper
    bodies (SerializationException), not with a 500."""
    name = make_table()
    value = '{"S":"x"}'
    for _ in range(500):
        value = '{"M":{"a":' + value + "}}"
    body = (
        f'{{"TableName":"{name}","Key":{{"id":{{"S":"k"}}}},"UpdateExpression":"SET v = :v",'
        f'"ExpressionAttributeValues":{{":v":{value}}}}}'
    )
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    headers = {"X-Amz-Target": "DynamoDB_20120810.UpdateItem", "Content-Type": "application/x-amz-json-1.0"}
    conn.request("POST", "/", body=body.encode(), headers=headers)
    response = conn.getresponse()
    answer = json.loads(response.read())
    conn.close()
    assert response.status == 400
    assert answer["__type"] == "com.amazon.coral.service#SerializationException"
