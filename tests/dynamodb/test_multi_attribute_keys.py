"""GSI keys of several attributes (DynamoDB, November 2025): up to four HASH and four RANGE
attributes per GSI, each of its own type. Items lacking any of them stay out of the index; a query
wants equality on every HASH attribute and conditions on the RANGE attributes from the left
(equality on each but the last one conditioned); results come in the order of the RANGE values
taken together; LastEvaluatedKey carries every key attribute."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import make_client
from tests.dynamodb.conftest import create, error, unique

# h1 (S), h2 (N) hashed together; r1 (N), r2 (B), r3 (S) ordered left to right.
GSI = {
    "IndexName": "multi",
    "KeySchema": [
        {"AttributeName": "h1", "KeyType": "HASH"},
        {"AttributeName": "h2", "KeyType": "HASH"},
        {"AttributeName": "r1", "KeyType": "RANGE"},
        {"AttributeName": "r2", "KeyType": "RANGE"},
        {"AttributeName": "r3", "KeyType": "RANGE"},
    ],
    "Projection": {"ProjectionType": "ALL"},
}
TYPES = {"h1": "S", "h2": "N", "r1": "N", "r2": "B", "r3": "S"}
HASH = {":a": {"S": "team"}, ":b": {"N": "7"}}


def _item(pk: str, **attrs: Any) -> dict[str, Any]:
    item = {"pk": {"S": pk}}
    for name, value in attrs.items():
        kind = TYPES.get(name, "S")
        item[name] = {kind: value if kind != "N" else str(value)}
    return item


def _table(ddb: Any, gsi: dict[str, Any] = GSI, **extra: Any) -> str:
    return create(ddb, ("pk", "S"), more_attrs=TYPES, GlobalSecondaryIndexes=[gsi], **extra)


def _query(ddb: Any, name: str, cond: str, values: dict[str, Any] | None = None, **extra: Any) -> Any:
    return ddb.query(
        TableName=name,
        IndexName="multi",
        KeyConditionExpression=cond,
        ExpressionAttributeValues={**HASH, **(values or {})},
        **extra,
    )


def _pks(response: dict[str, Any]) -> list[str]:
    return [item["pk"]["S"] for item in response["Items"]]


@pytest.fixture
def filled(ddb: Any) -> str:
    """Nine items in one partition (h1 = team, h2 = 7) and one in another, written out of order."""
    name = _table(ddb)
    rows = [
        ("a", 100, b"\x00\x01", "x"),
        ("b", 5, b"\x01", "x"),
        ("c", 50, b"\x00", "y"),
        ("d", 50, b"\x00", "x"),
        ("e", 1000, b"\x00", "x"),
        ("f", 50, b"\x00\xff", "x"),
        ("g", 50, b"\x01", "z"),
        ("h", -3, b"\x02", "x"),
        ("i", 50, b"\x00\x00", "x"),
    ]
    for pk, r1, r2, r3 in rows:
        ddb.put_item(TableName=name, Item=_item(pk, h1="team", h2=7, r1=r1, r2=r2, r3=r3))
    ddb.put_item(TableName=name, Item=_item("other", h1="team", h2=8, r1=50, r2=b"\x00", r3="x"))
    return name


# Ordered by (r1 numerically, r2 by unsigned bytes with a prefix first, r3): the fixture's order.
ORDER = ["h", "b", "d", "c", "i", "f", "g", "a", "e"]


def test_create_and_describe_keep_the_key_schema(ddb: Any, filled: str) -> None:
    gsi = ddb.describe_table(TableName=filled)["Table"]["GlobalSecondaryIndexes"][0]
    assert gsi["KeySchema"] == GSI["KeySchema"]
    assert gsi["ItemCount"] == 10


def test_query_orders_by_all_range_attributes(ddb: Any, filled: str) -> None:
    assert _pks(_query(ddb, filled, "h1 = :a AND h2 = :b")) == ORDER
    backwards = _query(ddb, filled, "h2 = :b AND h1 = :a", ScanIndexForward=False)
    assert _pks(backwards) == ORDER[::-1]


@pytest.mark.parametrize(
    ("cond", "values", "expected"),
    [
        ("r1 = :x", {":x": {"N": "50"}}, ["d", "c", "i", "f", "g"]),
        ("r1 = :x AND r2 = :y", {":x": {"N": "50"}, ":y": {"B": b"\x00"}}, ["d", "c"]),
        (
            "r1 = :x AND r2 = :y AND r3 = :z",
            {":x": {"N": "50"}, ":y": {"B": b"\x00"}, ":z": {"S": "y"}},
            ["c"],
        ),
        ("r1 < :x", {":x": {"N": "50"}}, ["h", "b"]),
        ("r1 <= :x", {":x": {"N": "50"}}, ["h", "b", "d", "c", "i", "f", "g"]),
        ("r1 > :x", {":x": {"N": "50"}}, ["a", "e"]),
        ("r1 >= :x", {":x": {"N": "100"}}, ["a", "e"]),
        ("r1 BETWEEN :x AND :y", {":x": {"N": "5"}, ":y": {"N": "100"}}, ["b", "d", "c", "i", "f", "g", "a"]),
        ("r1 = :x AND r2 > :y", {":x": {"N": "50"}, ":y": {"B": b"\x00"}}, ["i", "f", "g"]),
        ("r1 = :x AND r2 < :y", {":x": {"N": "50"}, ":y": {"B": b"\x00\xff"}}, ["d", "c", "i"]),
        ("r1 = :x AND r2 <= :y", {":x": {"N": "50"}, ":y": {"B": b"\x00\x00"}}, ["d", "c", "i"]),
        ("r1 = :x AND r2 >= :y", {":x": {"N": "50"}, ":y": {"B": b"\x00\xff"}}, ["f", "g"]),
        ("r1 = :x AND begins_with(r2, :y)", {":x": {"N": "50"}, ":y": {"B": b"\x00"}}, ["d", "c", "i", "f"]),
        (
            "r1 = :x AND r2 = :y AND r3 BETWEEN :p AND :q",
            {":x": {"N": "50"}, ":y": {"B": b"\x00"}, ":p": {"S": "a"}, ":q": {"S": "x"}},
            ["d"],
        ),
    ],
)
def test_range_conditions_from_the_left(
    ddb: Any, filled: str, cond: str, values: Any, expected: list
) -> None:
    assert _pks(_query(ddb, filled, f"h1 = :a AND h2 = :b AND {cond}", values)) == expected


def test_pages_carry_every_key_attribute(ddb: Any, filled: str) -> None:
    seen: list[str] = []
    start: dict[str, Any] | None = None
    while True:
        extra = {"ExclusiveStartKey": start} if start else {}
        page = _query(ddb, filled, "h1 = :a AND h2 = :b", Limit=2, **extra)
        seen += _pks(page)
        start = page.get("LastEvaluatedKey")
        if start is None:
            break
        assert set(start) == {"pk", "h1", "h2", "r1", "r2", "r3"}
    assert seen == ORDER
    with pytest.raises(ClientError) as exc:
        _query(ddb, filled, "h1 = :a AND h2 = :b", ExclusiveStartKey=_item("b", h1="team", h2=7, r1=5))
    assert error(exc)[0] == "ValidationException"


def test_legacy_key_conditions(ddb: Any, filled: str) -> None:
    conditions = {
        "h1": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "team"}]},
        "h2": {"ComparisonOperator": "EQ", "AttributeValueList": [{"N": "7"}]},
        "r1": {"ComparisonOperator": "EQ", "AttributeValueList": [{"N": "50"}]},
        "r2": {"ComparisonOperator": "GT", "AttributeValueList": [{"B": b"\x00"}]},
    }
    found = ddb.query(TableName=filled, IndexName="multi", KeyConditions=conditions)
    assert _pks(found) == ["i", "f", "g"]
    del conditions["r1"]
    with pytest.raises(ClientError) as exc:
        ddb.query(TableName=filled, IndexName="multi", KeyConditions=conditions)
    assert "r1" in error(exc)[1]


def test_scan_and_partiql_read_the_index(ddb: Any, filled: str) -> None:
    scanned = ddb.scan(TableName=filled, IndexName="multi")
    assert sorted(_pks(scanned)) == sorted([*ORDER, "other"])
    statement = f'SELECT pk FROM "{filled}"."multi" WHERE h1 = ? AND h2 = ?'
    found = ddb.execute_statement(Statement=statement, Parameters=[{"S": "team"}, {"N": "8"}])
    assert found["Items"] == [{"pk": {"S": "other"}}]


@pytest.mark.parametrize(
    ("cond", "values", "message"),
    [
        ("h1 = :a", {}, "Query condition missed key schema element: h2"),
        ("h1 = :a AND h2 > :b", {}, "Query key condition not supported"),
        ("h1 = :a AND h2 = :b AND nope = :x", {":x": {"S": "v"}}, "Query key condition not supported"),
        (
            "h1 = :a AND h2 = :b AND r2 = :y",
            {":y": {"B": b"\x00"}},
            "RANGE key attributes r1 must have equality conditions specified in the query because a "
            "condition is present on key attribute r2",
        ),
        (
            "h1 = :a AND h2 = :b AND r1 > :x AND r2 = :y",
            {":x": {"N": "1"}, ":y": {"B": b"\x00"}},
            "RANGE key attributes r1 must have equality conditions specified in the query because a "
            "condition is present on key attribute r2",
        ),
        (
            "h1 = :a AND h2 = :b AND r1 = :x AND r3 = :z",
            {":x": {"N": "1"}, ":z": {"S": "x"}},
            "RANGE key attributes r2 must have equality conditions specified in the query because a "
            "condition is present on key attribute r3",
        ),
        (
            "h1 = :a AND h2 = :b AND r1 = :x",
            {":x": {"S": "1"}},
            "One or more parameter values were invalid: Condition parameter type does not match schema type",
        ),
    ],
)
def test_query_errors(ddb: Any, filled: str, cond: str, values: Any, message: str) -> None:
    with pytest.raises(ClientError) as exc:
        _query(ddb, filled, cond, values)
    assert error(exc) == ("ValidationException", message)


def test_filters_may_not_name_any_index_key_attribute(ddb: Any, filled: str) -> None:
    with pytest.raises(ClientError) as exc:
        _query(ddb, filled, "h1 = :a AND h2 = :b", {":x": {"S": "x"}}, FilterExpression="r3 = :x")
    assert error(exc) == (
        "ValidationException",
        "Filter Expression can only contain non-primary key attributes: Primary key attribute: r3",
    )
    with pytest.raises(ClientError) as exc:
        _query(ddb, filled, "h1 = :a AND h2 = :b", ConsistentRead=True)
    assert error(exc)[1] == "Consistent reads are not supported on global secondary indexes"


def test_items_lacking_any_key_attribute_stay_out(ddb: Any) -> None:
    name = _table(ddb)
    ddb.put_item(TableName=name, Item=_item("p", h1="team", h2=7, r1=1, r2=b"\x01"))  # no r3
    assert _query(ddb, name, "h1 = :a AND h2 = :b")["Items"] == []
    ddb.update_item(
        TableName=name,
        Key={"pk": {"S": "p"}},
        UpdateExpression="SET r3 = :z",
        ExpressionAttributeValues={":z": {"S": "z"}},
    )
    assert _pks(_query(ddb, name, "h1 = :a AND h2 = :b")) == ["p"]
    ddb.update_item(TableName=name, Key={"pk": {"S": "p"}}, UpdateExpression="REMOVE h2")
    assert _query(ddb, name, "h1 = :a AND h2 = :b")["Items"] == []
    assert ddb.describe_table(TableName=name)["Table"]["GlobalSecondaryIndexes"][0]["ItemCount"] == 0


def test_key_attributes_are_typed_and_not_empty(ddb: Any) -> None:
    name = _table(ddb)
    with pytest.raises(ClientError) as exc:
        ddb.put_item(TableName=name, Item={**_item("p", h1="team", r1=1), "h2": {"S": "7"}})
    assert error(exc) == (
        "ValidationException",
        "One or more parameter values were invalid: Type mismatch for Index Key h2 Expected: N "
        "Actual: S IndexName: multi",
    )
    with pytest.raises(ClientError) as exc:
        ddb.put_item(TableName=name, Item=_item("p", h1="", h2=7))
    assert "cannot contain an empty string value. IndexName: multi, IndexKey: h1" in error(exc)[1]


def test_keys_only_projects_every_key_attribute(ddb: Any) -> None:
    gsi = {**GSI, "Projection": {"ProjectionType": "KEYS_ONLY"}}
    name = _table(ddb, gsi)
    item = {**_item("p", h1="team", h2=7, r1=1, r2=b"\x01", r3="z"), "extra": {"S": "not projected"}}
    ddb.put_item(TableName=name, Item=item)
    assert _query(ddb, name, "h1 = :a AND h2 = :b")["Items"] == [
        {k: v for k, v in item.items() if k != "extra"}
    ]


def test_update_table_creates_and_backfills_a_multi_attribute_gsi(ddb: Any) -> None:
    name = create(ddb, ("pk", "S"))
    ddb.put_item(TableName=name, Item=_item("in", h1="team", h2=7, r1=2, r2=b"\x01", r3="z"))
    ddb.put_item(TableName=name, Item=_item("out", h1="team", h2=7))
    ddb.update_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": k, "AttributeType": v} for k, v in TYPES.items()],
        GlobalSecondaryIndexUpdates=[{"Create": GSI}],
    )
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.1})
    for _ in range(100):
        gsi = ddb.describe_table(TableName=name)["Table"]["GlobalSecondaryIndexes"][0]
        if gsi["IndexStatus"] == "ACTIVE":
            break
    assert _pks(_query(ddb, name, "h1 = :a AND h2 = :b AND r1 = :x", {":x": {"N": "2"}})) == ["in"]


def _schema_error(ddb: Any, schema: list[tuple[str, str]], lsi: bool = False) -> tuple[str, str]:
    attrs = {a for a, _ in schema}
    index = {
        "IndexName": "bad",
        "KeySchema": [{"AttributeName": a, "KeyType": t} for a, t in schema],
        "Projection": {"ProjectionType": "ALL"},
    }
    place = {"LocalSecondaryIndexes": [index]} if lsi else {"GlobalSecondaryIndexes": [index]}
    with pytest.raises(ClientError) as exc:
        ddb.create_table(
            TableName=unique(),
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in attrs | {"pk", "sk"}],
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            **place,
        )
    return error(exc)


INVALID = "One or more parameter values were invalid: "


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        (
            [(f"h{i}", "HASH") for i in range(5)],
            INVALID + "The KeySchema exceeds the maximum allowed number of HASH key attributes",
        ),
        (
            [("h", "HASH"), *((f"r{i}", "RANGE") for i in range(5))],
            INVALID + "The KeySchema exceeds the maximum allowed number of RANGE key attributes",
        ),
        (
            [("a", "HASH"), ("b", "RANGE"), ("c", "HASH")],
            INVALID + "All HASH key attributes must precede RANGE key attributes in the KeySchema",
        ),
        (
            [("a", "RANGE"), ("b", "HASH")],
            "Invalid KeySchema: The first KeySchemaElement is not a HASH key type",
        ),
        (
            [("a", "HASH"), ("b", "HASH"), ("a", "RANGE")],
            "The KeySchema contains multiple key attributes with the same name",
        ),
    ],
)
def test_create_table_checks_the_key_schema(ddb: Any, schema: list, message: str) -> None:
    assert _schema_error(ddb, schema) == ("ValidationException", message)


def test_tables_and_lsis_keep_one_attribute_each(ddb: Any) -> None:
    too_long = (
        "1 validation error detected: Value '[KeySchemaElement(attributeName=pk, keyType=HASH), "
        "KeySchemaElement(attributeName=sk, keyType=RANGE), KeySchemaElement(attributeName=l, keyType=RANGE)]' "
        "at '{}' failed to satisfy constraint: Member must have length less than or equal to 2"
    )
    lsi = [("pk", "HASH"), ("sk", "RANGE"), ("l", "RANGE")]
    assert _schema_error(ddb, lsi, lsi=True) == (
        "ValidationException",
        too_long.format("localSecondaryIndexes.1.member.keySchema"),
    )
    for schema, message in (
        (lsi, too_long.format("keySchema")),
        ([*lsi[:1], ("q", "HASH")], "Invalid KeySchema: The second KeySchemaElement is not a RANGE key type"),
    ):
        with pytest.raises(ClientError) as exc:
            ddb.create_table(
                TableName=unique(),
                BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a, _ in schema],
                KeySchema=[{"AttributeName": a, "KeyType": t} for a, t in schema],
            )
        assert error(exc) == ("ValidationException", message)
    for empty in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        with pytest.raises(ClientError) as exc:
            create(ddb, ("pk", "S"), **{empty: []})
        assert error(exc) == ("ValidationException", f"{INVALID}List of {empty} is empty")


def test_entries_survive_kill_9(fresh_server: Any) -> None:
    proc = fresh_server()
    ddb = make_client(proc.url, "dynamodb")
    name = _table(ddb)
    for pk, r1 in (("x", 3), ("y", 1), ("z", 2)):
        ddb.put_item(TableName=name, Item=_item(pk, h1="team", h2=7, r1=r1, r2=b"\x00", r3="s"))
    proc.kill()
    proc.start()
    ddb = make_client(proc.url, "dynamodb")
    assert _pks(_query(ddb, name, "h1 = :a AND h2 = :b")) == ["y", "z", "x"]
