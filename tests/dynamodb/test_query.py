"""Query and Scan: DynamoDB's key order, ScanIndexForward, Limit and pagination, Select, filters,
the 1 MB page, and parallel scan segments."""

from __future__ import annotations

from typing import Any

import pytest
from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from tests.dynamodb.conftest import error

NUMBERS = [
    "-1E+10",
    "-100",
    "-2.5",
    "-2",
    "-0.001",
    "0",
    "0.001",
    "0.5",
    "1",
    "1.5",
    "2",
    "10",
    "100",
    "1E+20",
]


def _sorts(ddb: Any, name: str) -> list[Any]:
    items = ddb.query(
        TableName=name, KeyConditionExpression="id = :h", ExpressionAttributeValues={":h": {"S": "h"}}
    )["Items"]
    return [next(iter(i["r"].values())) for i in items]


def test_number_sort_key_order(ddb: Any, make_table: Any) -> None:
    name = make_table(range_key=("r", "N"))
    for n in reversed(NUMBERS):
        ddb.put_item(TableName=name, Item={"id": {"S": "h"}, "r": {"N": n}})
    expected = [str(__import__("decimal").Decimal(n).normalize()) for n in NUMBERS]
    got = _sorts(ddb, name)
    assert [__import__("decimal").Decimal(g) for g in got] == [
        __import__("decimal").Decimal(e) for e in expected
    ]
    back = ddb.query(
        TableName=name,
        KeyConditionExpression="id = :h",
        ScanIndexForward=False,
        ExpressionAttributeValues={":h": {"S": "h"}},
    )["Items"]
    assert [i["r"]["N"] for i in back] == list(reversed(got))


def test_binary_and_string_sort_key_order(ddb: Any, make_table: Any) -> None:
    name = make_table(range_key=("r", "B"))
    values = [b"\x00", b"\x00\x00", b"\x01", b"\x7f", b"\x80", b"\xff", b"\xff\x00"]
    for v in reversed(values):
        ddb.put_item(TableName=name, Item={"id": {"S": "h"}, "r": {"B": v}})
    assert _sorts(ddb, name) == values  # unsigned byte order
    name = make_table(range_key=("r", "S"))
    strings = ["A", "Z", "a", "aa", "b", "é", "\U0001f600"]
    for v in reversed(strings):
        ddb.put_item(TableName=name, Item={"id": {"S": "h"}, "r": {"S": v}})
    assert _sorts(ddb, name) == sorted(strings, key=lambda s: s.encode())


@pytest.mark.parametrize(
    ("expr", "values", "expected"),
    [
        ("r = :a", {":a": {"N": "5"}}, [5]),
        ("r < :a", {":a": {"N": "3"}}, [0, 1, 2]),
        ("r <= :a", {":a": {"N": "3"}}, [0, 1, 2, 3]),
        ("r > :a", {":a": {"N": "7"}}, [8, 9]),
        ("r >= :a", {":a": {"N": "7"}}, [7, 8, 9]),
        ("r BETWEEN :a AND :b", {":a": {"N": "2"}, ":b": {"N": "4"}}, [2, 3, 4]),
    ],
)
def test_range_conditions(
    ddb: Any, make_table: Any, expr: str, values: dict[str, Any], expected: list[int]
) -> None:
    name = make_table(range_key=("r", "N"))
    for i in range(10):
        ddb.put_item(TableName=name, Item={"id": {"S": "h"}, "r": {"N": str(i)}})
    ddb.put_item(TableName=name, Item={"id": {"S": "other"}, "r": {"N": "5"}})
    items = ddb.query(
        TableName=name,
        KeyConditionExpression=f"id = :h AND {expr}",
        ExpressionAttributeValues={":h": {"S": "h"}, **values},
    )["Items"]
    assert [int(i["r"]["N"]) for i in items] == expected


def test_begins_with_and_resource_key_conditions(resource: Any, make_table: Any) -> None:
    name = make_table(range_key=("r", "S"))
    table = resource.Table(name)
    for r in ["a", "ab", "abc", "abd", "ac", "b", "a\xff"]:
        table.put_item(Item={"id": "h", "r": r, "v": len(r)})
    got = table.query(KeyConditionExpression=Key("id").eq("h") & Key("r").begins_with("ab"))["Items"]
    assert [i["r"] for i in got] == ["ab", "abc", "abd"]
    got = table.query(
        KeyConditionExpression=Key("id").eq("h") & Key("r").begins_with("ab"), ScanIndexForward=False
    )
    assert [i["r"] for i in got["Items"]] == ["abd", "abc", "ab"]
    got = table.query(KeyConditionExpression=Key("id").eq("h"), FilterExpression=Attr("v").gt(1))["Items"]
    assert sorted(i["r"] for i in got) == sorted(["a\xff", "ab", "abc", "abd", "ac"])
    with pytest.raises(ClientError) as exc:
        table.query(KeyConditionExpression=Key("id").eq("h"), FilterExpression=Attr("r").eq("a"))
    assert error(exc) == (
        "ValidationException",
        "Filter Expression can only contain non-primary key attributes: Primary key attribute: r",
    )


def test_pagination_limit_and_select_count(ddb: Any, make_table: Any) -> None:
    name = make_table(range_key=("r", "N"))
    for i in range(10):
        ddb.put_item(TableName=name, Item={"id": {"S": "h"}, "r": {"N": str(i)}, "odd": {"BOOL": i % 2 == 1}})
    seen, start, pages = [], None, 0
    while True:
        kwargs = {"ExclusiveStartKey": start} if start else {}
        page = ddb.query(
            TableName=name,
            KeyConditionExpression="id = :h",
            Limit=3,
            ExpressionAttributeValues={":h": {"S": "h"}},
            **kwargs,
        )
        pages += 1
        seen += [int(i["r"]["N"]) for i in page["Items"]]
        start = page.get("LastEvaluatedKey")
        if not start:
            break
        assert set(start) == {"id", "r"}
    assert seen == list(range(10)) and pages == 4
    # Limit counts items evaluated before the filter
    page = ddb.query(
        TableName=name,
        KeyConditionExpression="id = :h",
        Limit=4,
        FilterExpression="odd = :t",
        ExpressionAttributeValues={":h": {"S": "h"}, ":t": {"BOOL": True}},
    )
    assert page["Count"] == 2 and page["ScannedCount"] == 4 and page["LastEvaluatedKey"]["r"] == {"N": "3"}
    count = ddb.query(
        TableName=name,
        KeyConditionExpression="id = :h",
        Select="COUNT",
        ExpressionAttributeValues={":h": {"S": "h"}},
    )
    assert count["Count"] == 10 and "Items" not in count
    with pytest.raises(ClientError) as exc:
        ddb.query(
            TableName=name,
            KeyConditionExpression="id = :h",
            Select="COUNT",
            ProjectionExpression="r",
            ExpressionAttributeValues={":h": {"S": "h"}},
        )
    assert error(exc) == (
        "ValidationException",
        "Cannot specify the ProjectionExpression when choosing to get only the Count",
    )
    with pytest.raises(ClientError) as exc:
        ddb.query(
            TableName=name,
            ExclusiveStartKey={"id": {"S": "h"}},
            KeyConditionExpression="id = :h",
            ExpressionAttributeValues={":h": {"S": "h"}},
        )
    assert error(exc) == (
        "ValidationException",
        "The provided starting key is invalid: The provided key element does not match the schema",
    )


def test_query_requires_key_condition_and_legacy_key_conditions(ddb: Any, make_table: Any) -> None:
    name = make_table(range_key=("r", "N"))
    for i in range(3):
        ddb.put_item(TableName=name, Item={"id": {"S": "h"}, "r": {"N": str(i)}})
    with pytest.raises(ClientError) as exc:
        ddb.query(TableName=name)
    assert error(exc) == (
        "ValidationException",
        "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.",
    )
    items = ddb.query(
        TableName=name,
        KeyConditions={
            "id": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "h"}]},
            "r": {"ComparisonOperator": "GT", "AttributeValueList": [{"N": "0"}]},
        },
    )["Items"]
    assert [i["r"]["N"] for i in items] == ["1", "2"]


def test_one_megabyte_page_before_filter(ddb: Any, make_table: Any) -> None:
    name = make_table(range_key=("r", "N"))
    big = "x" * 300_000
    for i in range(5):
        ddb.put_item(TableName=name, Item={"id": {"S": "h"}, "r": {"N": str(i)}, "v": {"S": big}})
    page = ddb.query(
        TableName=name,
        KeyConditionExpression="id = :h",
        ExpressionAttributeValues={":h": {"S": "h"}},
        FilterExpression="attribute_not_exists(v)",
    )
    assert page["Count"] == 0 and page["ScannedCount"] == 4 and page["LastEvaluatedKey"]["r"] == {"N": "3"}
    scan = ddb.scan(TableName=name, Select="COUNT")
    assert scan["ScannedCount"] == 4 and "LastEvaluatedKey" in scan


def test_scan_pagination_and_parallel_segments(ddb: Any, make_table: Any) -> None:
    name = make_table()
    ids = {f"item-{i}" for i in range(40)}
    for i in ids:
        ddb.put_item(TableName=name, Item={"id": {"S": i}})
    seen: list[str] = []
    start = None
    while True:
        page = ddb.scan(TableName=name, Limit=7, **({"ExclusiveStartKey": start} if start else {}))
        seen += [i["id"]["S"] for i in page["Items"]]
        start = page.get("LastEvaluatedKey")
        if not start:
            break
    assert sorted(seen) == sorted(ids)
    parts = [
        {i["id"]["S"] for i in ddb.scan(TableName=name, Segment=s, TotalSegments=4)["Items"]}
        for s in range(4)
    ]
    assert set().union(*parts) == ids and sum(len(p) for p in parts) == 40
    assert sum(1 for p in parts if p) >= 2
    with pytest.raises(ClientError) as exc:
        ddb.scan(TableName=name, Segment=4, TotalSegments=4)
    assert error(exc) == (
        "ValidationException",
        "The Segment parameter is zero-based and must be less than parameter "
        "TotalSegments: Segment: 4 is not less than TotalSegments: 4",
    )
    with pytest.raises(ClientError) as exc:
        ddb.scan(TableName=name, Segment=1)
    assert error(exc)[0] == "ValidationException"


def test_scan_filters_and_projection(ddb: Any, make_table: Any) -> None:
    name = make_table()
    for i in range(6):
        ddb.put_item(TableName=name, Item={"id": {"S": str(i)}, "n": {"N": str(i)}, "x": {"S": "y"}})
    out = ddb.scan(
        TableName=name,
        FilterExpression="n >= :a",
        ProjectionExpression="id",
        ExpressionAttributeValues={":a": {"N": "4"}},
    )
    assert sorted(i["id"]["S"] for i in out["Items"]) == ["4", "5"] and all(
        set(i) == {"id"} for i in out["Items"]
    )
    out = ddb.scan(
        TableName=name, ScanFilter={"n": {"ComparisonOperator": "LT", "AttributeValueList": [{"N": "2"}]}}
    )
    assert out["Count"] == 2 and out["ScannedCount"] == 6


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"Select": "SPECIFIC_ATTRIBUTES"},
            "Must specify the AttributesToGet or ProjectionExpression "
            "when choosing to get SPECIFIC_ATTRIBUTES",
        ),
        (
            {"Select": "ALL_PROJECTED_ATTRIBUTES"},
            "ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName",
        ),
        (
            {"Select": "ALL_ATTRIBUTES", "ProjectionExpression": "id"},
            "Cannot specify the ProjectionExpression when choosing to get ALL_ATTRIBUTES",
        ),
    ],
)
def test_scan_select_rules(ddb: Any, make_table: Any, kwargs: dict[str, Any], message: str) -> None:
    name = make_table()
    with pytest.raises(ClientError) as exc:
        ddb.scan(TableName=name, **kwargs)
    assert error(exc) == ("ValidationException", message)


def test_reverse_pagination(ddb: Any, make_table: Any) -> None:
    name = make_table(range_key=("r", "N"))
    for i in range(9):
        ddb.put_item(TableName=name, Item={"id": {"S": "h"}, "r": {"N": str(i)}})
    seen: list[int] = []
    start = None
    while True:
        page = ddb.query(
            TableName=name,
            KeyConditionExpression="id = :h AND r BETWEEN :a AND :b",
            ScanIndexForward=False,
            ExpressionAttributeValues={":h": {"S": "h"}, ":a": {"N": "1"}, ":b": {"N": "7"}},
            Limit=2,
            **({"ExclusiveStartKey": start} if start else {}),
        )
        seen += [int(i["r"]["N"]) for i in page["Items"]]
        start = page.get("LastEvaluatedKey")
        if not start:
            break
    assert seen == [7, 6, 5, 4, 3, 2, 1]


def test_scan_start_key_must_belong_to_the_segment(ddb: Any, make_table: Any) -> None:
    name = make_table()
    for i in range(30):
        ddb.put_item(TableName=name, Item={"id": {"S": f"k{i}"}})
    first = ddb.scan(TableName=name, Segment=0, TotalSegments=2, Limit=1)
    start = first["LastEvaluatedKey"]
    ddb.scan(TableName=name, Segment=0, TotalSegments=2, ExclusiveStartKey=start)  # same segment: fine
    with pytest.raises(ClientError) as exc:
        ddb.scan(TableName=name, Segment=1, TotalSegments=2, ExclusiveStartKey=start)
    assert error(exc) == (
        "ValidationException",
        "The provided Exclusive start key does not map to the provided Segment and TotalSegments values.",
    )


def test_query_filter_may_not_name_keys(ddb: Any, make_table: Any) -> None:
    name = make_table(range_key=("r", "N"))
    with pytest.raises(ClientError) as exc:
        ddb.query(
            TableName=name,
            KeyConditions={"id": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "h"}]}},
            QueryFilter={"r": {"ComparisonOperator": "GT", "AttributeValueList": [{"N": "1"}]}},
        )
    assert error(exc) == (
        "ValidationException",
        "QueryFilter can only contain non-key attributes: Primary key attribute: r",
    )


def test_start_key_outside_the_key_condition(ddb: Any, make_table: Any) -> None:
    name = make_table(range_key=("r", "N"))
    query = {
        "TableName": name,
        "KeyConditionExpression": "id = :h AND r > :a",
        "ExpressionAttributeValues": {":h": {"S": "h"}, ":a": {"N": "5"}},
    }
    for start in ({"id": {"S": "other"}, "r": {"N": "7"}}, {"id": {"S": "h"}, "r": {"N": "2"}}):
        with pytest.raises(ClientError) as exc:
            ddb.query(**query, ExclusiveStartKey=start)
        assert error(exc) == (
            "ValidationException",
            "The provided starting key is outside query boundaries based on provided conditions",
        )
    assert ddb.query(**query, ExclusiveStartKey={"id": {"S": "h"}, "r": {"N": "7"}})["Count"] == 0
