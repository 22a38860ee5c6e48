"""The expression language through the real server with boto3 (client and resource APIs)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from tests.dynamodb.conftest import error


def put(ddb: Any, table: str, item: dict[str, Any]) -> None:
    ddb.put_item(TableName=table, Item=item)


def get(ddb: Any, table: str, key: dict[str, Any]) -> dict[str, Any]:
    return ddb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item", {})


def fails(fn: Any, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as exc:
        fn(**kwargs)
    return error(exc)


def test_condition_expressions_gate_writes(ddb: Any, make_table: Any) -> None:
    name = make_table()
    key = {"id": {"S": "c"}}
    put(
        ddb,
        name,
        {**key, "n": {"N": "5"}, "tags": {"SS": ["a", "b"]}, "m": {"M": {"l": {"L": [{"S": "x"}]}}}},
    )
    ddb.put_item(
        TableName=name,
        Item={**key, "n": {"N": "6"}},
        ConditionExpression="n BETWEEN :lo AND :hi AND contains(tags, :t) AND m.l[0] = :x "
        "AND size(tags) = :two",
        ExpressionAttributeValues={
            ":lo": {"N": "1"},
            ":hi": {"N": "5"},
            ":t": {"S": "a"},
            ":x": {"S": "x"},
            ":two": {"N": "2"},
        },
    )
    assert get(ddb, name, key)["n"] == {"N": "6"}
    code, message = fails(
        ddb.put_item,
        TableName=name,
        Item=key,
        ConditionExpression="attribute_not_exists(id) OR n IN (:a, :b)",
        ExpressionAttributeValues={":a": {"N": "1"}, ":b": {"N": "2"}},
    )
    assert (code, message) == ("ConditionalCheckFailedException", "The conditional request failed")
    ddb.delete_item(
        TableName=name,
        Key=key,
        ConditionExpression="NOT attribute_type(n, :s)",
        ExpressionAttributeValues={":s": {"S": "S"}},
    )
    assert get(ddb, name, key) == {}


def test_update_expression_end_to_end(ddb: Any, make_table: Any) -> None:
    name = make_table()
    key = {"id": {"S": "u"}}
    ddb.update_item(
        TableName=name,
        Key=key,
        UpdateExpression="SET #c = if_not_exists(#c, :zero) + :inc, "
        "lst = list_append(if_not_exists(lst, :empty), :more),"
        " doc = :doc ADD tags :tags",
        ExpressionAttributeNames={"#c": "count"},
        ExpressionAttributeValues={
            ":zero": {"N": "0"},
            ":inc": {"N": "1.50"},
            ":empty": {"L": []},
            ":more": {"L": [{"S": "a"}, {"S": "b"}, {"S": "c"}]},
            ":tags": {"SS": ["x", "y"]},
            ":doc": {"M": {"inr": {"M": {"v": {"N": "1"}}}}},
        },
    )
    item = get(ddb, name, key)
    assert item["count"] == {"N": "1.5"}
    assert item["lst"] == {"L": [{"S": "a"}, {"S": "b"}, {"S": "c"}]}
    out = ddb.update_item(
        TableName=name,
        Key=key,
        UpdateExpression="SET doc.inr.w = :v, lst[9] = :v REMOVE lst[0] DELETE tags :x ADD #c :inc",
        ExpressionAttributeNames={"#c": "count"},
        ExpressionAttributeValues={":v": {"S": "new"}, ":x": {"SS": ["x"]}, ":inc": {"N": "1"}},
        ReturnValues="ALL_NEW",
    )["Attributes"]
    assert out["doc"] == {"M": {"inr": {"M": {"v": {"N": "1"}, "w": {"S": "new"}}}}}
    assert out["lst"] == {"L": [{"S": "b"}, {"S": "c"}, {"S": "new"}]}
    assert out["tags"] == {"SS": ["y"]}
    assert out["count"] == {"N": "2.5"}


@pytest.mark.parametrize(
    ("update", "values", "message"),
    [
        (
            "SET a = b + :n",
            {":n": {"N": "1"}},
            "The provided expression refers to an attribute that does not exist in the item",
        ),
        (
            "SET s = s + :n",
            {":n": {"N": "1"}},
            "An operand in the update expression has an incorrect data type",
        ),
        (
            "SET nope.x = :n",
            {":n": {"N": "1"}},
            "The document path provided in the update expression is invalid for update",
        ),
        ("ADD s :n", {":n": {"N": "1"}}, "An operand in the update expression has an incorrect data type"),
        (
            "SET a = :n, a.b = :n",
            {":n": {"N": "1"}},
            "Invalid UpdateExpression: Two document paths overlap with each other; "
            "must remove or rewrite one of these "
            "paths; path one: [a], path two: [a, b]",
        ),
        (
            "SET a = :n SET b = :n",
            {":n": {"N": "1"}},
            'Invalid UpdateExpression: The "SET" section can only be used once in an update expression;',
        ),
        (
            "ADD a :s",
            {":s": {"S": "x"}},
            "Invalid UpdateExpression: Incorrect operand type for operator or function; "
            "operator: ADD, operand type: STRING",
        ),
        (
            "SET a = :n,",
            {":n": {"N": "1"}},
            'Invalid UpdateExpression: Syntax error; token: "<EOF>", near: ","',
        ),
        (
            "SET size = :n",
            {":n": {"N": "1"}},
            "Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: size",
        ),
        (
            "SET a = :m",
            {":n": {"N": "1"}},
            "Invalid UpdateExpression: An expression attribute value used in expression is not defined; "
            "attribute value: :m",
        ),
        (
            "SET a = :n",
            {":n": {"N": "1"}, ":b": {"N": "2"}},
            "Value provided in ExpressionAttributeValues unused in expressions: keys: {:b}",
        ),
    ],
)
def test_update_errors(ddb: Any, make_table: Any, update: str, values: dict[str, Any], message: str) -> None:
    name = make_table()
    key = {"id": {"S": "e"}}
    put(ddb, name, {**key, "s": {"S": "text"}})
    assert fails(
        ddb.update_item, TableName=name, Key=key, UpdateExpression=update, ExpressionAttributeValues=values
    ) == ("ValidationException", message)
    assert get(ddb, name, key) == {**key, "s": {"S": "text"}}  # nothing written


@pytest.mark.parametrize(
    ("condition", "names", "message"),
    [
        (
            "status = :v",
            None,
            "Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: status",
        ),
        (
            "#s = :v",
            None,
            "Invalid ConditionExpression: An expression attribute name used in the document path "
            "is not defined; "
            "attribute name: #s",
        ),
        (
            "a = :v",
            {"#s": "status"},
            "Value provided in ExpressionAttributeNames unused in expressions: keys: {#s}",
        ),
        ("a = :v AND", None, 'Invalid ConditionExpression: Syntax error; token: "<EOF>", near: "AND"'),
        (
            "Begins_With(a, :v)",
            None,
            "Invalid ConditionExpression: Invalid function name; function: Begins_With",
        ),
        (
            "a < :v OR ((a = :v))",
            None,
            "Invalid ConditionExpression: The expression has redundant parentheses;",
        ),
    ],
)
def test_condition_errors(ddb: Any, make_table: Any, condition: str, names: Any, message: str) -> None:
    name = make_table()
    kwargs: dict[str, Any] = {"ExpressionAttributeNames": names} if names else {}
    assert fails(
        ddb.put_item,
        TableName=name,
        Item={"id": {"S": "x"}},
        ConditionExpression=condition,
        ExpressionAttributeValues={":v": {"S": "v"}},
        **kwargs,
    ) == ("ValidationException", message)


def test_projection_expression(ddb: Any, make_table: Any) -> None:
    name = make_table()
    key = {"id": {"S": "p"}}
    put(
        ddb,
        name,
        {
            **key,
            "a": {"M": {"b": {"N": "1"}, "c": {"N": "2"}}},
            "l": {"L": [{"S": "0"}, {"S": "1"}, {"S": "2"}]},
        },
    )
    got = ddb.get_item(
        TableName=name,
        Key=key,
        ProjectionExpression="a.c, l[2], l[0], #i",
        ExpressionAttributeNames={"#i": "id"},
    )["Item"]
    assert got == {**key, "a": {"M": {"c": {"N": "2"}}}, "l": {"L": [{"S": "0"}, {"S": "2"}]}}
    assert fails(ddb.get_item, TableName=name, Key=key, ProjectionExpression="a, a.b") == (
        "ValidationException",
        "Invalid ProjectionExpression: Two document paths overlap with each other; "
        "must remove or rewrite one of "
        "these paths; path one: [a], path two: [a, b]",
    )


def test_query_key_conditions_and_filters(ddb: Any, make_table: Any) -> None:
    name = make_table(range_key=("sk", "S"))
    for sk, n in (("a1", 1), ("a2", 2), ("b1", 3)):
        put(ddb, name, {"id": {"S": "h"}, "sk": {"S": sk}, "n": {"N": str(n)}})
    items = ddb.query(
        TableName=name,
        KeyConditionExpression="#h = :h AND begins_with(sk, :p)",
        FilterExpression="n >= :two",
        ExpressionAttributeNames={"#h": "id"},
        ExpressionAttributeValues={":h": {"S": "h"}, ":p": {"S": "a"}, ":two": {"N": "2"}},
    )["Items"]
    assert [i["sk"]["S"] for i in items] == ["a2"]
    between = ddb.query(
        TableName=name,
        KeyConditionExpression=":lo <= sk AND id = :h",
        ExpressionAttributeValues={":h": {"S": "h"}, ":lo": {"S": "a2"}},
    )["Items"]
    assert [i["sk"]["S"] for i in between] == ["a2", "b1"]
    assert fails(
        ddb.query,
        TableName=name,
        KeyConditionExpression="id = :h OR sk = :h",
        ExpressionAttributeValues={":h": {"S": "h"}},
    ) == (
        "ValidationException",
        "Invalid KeyConditionExpression: Invalid operator used in KeyConditionExpression: OR",
    )
    assert fails(
        ddb.query,
        TableName=name,
        KeyConditionExpression="sk = :h",
        ExpressionAttributeValues={":h": {"S": "h"}},
    ) == ("ValidationException", "Query condition missed key schema element: id")
    code, _ = fails(
        ddb.query,
        TableName=name,
        KeyConditionExpression="id = :h",
        FilterExpression="sk = :h",
        ExpressionAttributeValues={":h": {"S": "h"}},
    )
    assert code == "ValidationException"  # a Query filter may not name a key attribute
    scanned = ddb.scan(
        TableName=name,
        FilterExpression="sk = :s OR n < :one",
        ExpressionAttributeValues={":s": {"S": "b1"}, ":one": {"N": "1.5"}},
    )["Items"]
    assert sorted(i["sk"]["S"] for i in scanned) == ["a1", "b1"]
    assert fails(
        ddb.scan,
        TableName=name,
        FilterExpression="n > :v",
        ExpressionAttributeValues={":v": {"BOOL": True}},
    ) == (
        "ValidationException",
        "Invalid FilterExpression: Incorrect operand type for operator or function; operator or function: >, "
        "operand type: BOOL",
    )


def test_resource_api_conditions(resource: Any, make_table: Any) -> None:
    name = make_table(range_key=("n", "N"))
    table = resource.Table(name)
    for n in range(5):
        table.put_item(Item={"id": "r", "n": n, "tags": {f"t{n % 2}"}, "doc": {"deep": [n, n * 2]}})
    found = table.query(
        KeyConditionExpression=Key("id").eq("r") & Key("n").between(1, 3),
        FilterExpression=Attr("tags").contains("t1") | Attr("doc.deep[1]").eq(4),
    )["Items"]
    assert [item["n"] for item in found] == [1, 2, 3]
    table.update_item(
        Key={"id": "r", "n": 0},
        UpdateExpression="SET doc.deep[0] = doc.deep[1] + :d",
        ExpressionAttributeValues={":d": Decimal("0.25")},
        ConditionExpression=Attr("n").not_exists() | Attr("n").eq(0),
    )
    assert table.get_item(Key={"id": "r", "n": 0})["Item"]["doc"]["deep"] == [Decimal("0.25"), 0]
    scanned = table.scan(FilterExpression=Attr("doc.deep").size().gt(1) & ~Attr("n").is_in([0, 1]))["Items"]
    assert sorted(item["n"] for item in scanned) == [2, 3, 4]


def test_legacy_parameters(ddb: Any, make_table: Any) -> None:
    name = make_table(range_key=("sk", "N"))
    for sk in range(4):
        put(ddb, name, {"id": {"S": "h"}, "sk": {"N": str(sk)}, "v": {"S": f"v{sk}"}})
    items = ddb.query(
        TableName=name,
        KeyConditions={
            "id": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "h"}]},
            "sk": {"ComparisonOperator": "GE", "AttributeValueList": [{"N": "1"}]},
        },
        QueryFilter={"v": {"ComparisonOperator": "NE", "AttributeValueList": [{"S": "v2"}]}},
        AttributesToGet=["sk"],
    )["Items"]
    assert items == [{"sk": {"N": "1"}}, {"sk": {"N": "3"}}]
    ddb.update_item(
        TableName=name,
        Key={"id": {"S": "h"}, "sk": {"N": "0"}},
        AttributeUpdates={"c": {"Action": "ADD", "Value": {"N": "2"}}, "v": {"Action": "DELETE"}},
        Expected={"v": {"Value": {"S": "v0"}}},
    )
    assert get(ddb, name, {"id": {"S": "h"}, "sk": {"N": "0"}}) == {
        "id": {"S": "h"},
        "sk": {"N": "0"},
        "c": {"N": "2"},
    }
    code, _ = fails(
        ddb.put_item,
        TableName=name,
        Item={"id": {"S": "h"}, "sk": {"N": "1"}},
        Expected={"v": {"Exists": False}},
    )
    assert code == "ConditionalCheckFailedException"


def test_pathological_expressions_get_validation_errors(ddb: Any, make_table: Any) -> None:
    name = make_table()
    for condition in ("(" * 4096, "NOT " * 1000 + "a < :v", "(" * 2000 + "a < :v" + ")" * 2000):
        code, message = fails(
            ddb.put_item,
            TableName=name,
            Item={"id": {"S": "x"}},
            ConditionExpression=condition,
            ExpressionAttributeValues={":v": {"N": "1"}},
        )
        assert code == "ValidationException" and message.startswith("Invalid ConditionExpression: ")
    code, message = fails(
        ddb.scan,
        TableName=name,
        FilterExpression="a = :v" + " " * 4096,
        ExpressionAttributeValues={":v": {"N": "1"}},
    )
    assert (code, message) == (
        "ValidationException",
        "Invalid FilterExpression: Expression size has exceeded the maximum allowed size; "
        "expression size: 4102",
    )
