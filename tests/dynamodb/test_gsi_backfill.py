"""A GSI added to a table too large to index within the UpdateTable call is backfilled in the
background: CREATING and Backfilling meanwhile (queries refused), writes going on all the while,
and once ACTIVE it holds exactly the table's items, counted right, a kill -9 in the middle
included."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import make_client
from tests.dynamodb.conftest import create, error
from tests.support.server import ServerProcess

ITEMS = 6000  # far more than a pass indexes in its few milliseconds


def filled(ddb: Any) -> str:
    name = create(ddb)
    for start in range(0, ITEMS, 25):
        items = [
            {"id": {"S": f"i{k}"}, "g": {"S": f"g{k % 7}"}, "n": {"N": str(k)}}
            for k in range(start, start + 25)
        ]
        ddb.batch_write_item(RequestItems={name: [{"PutRequest": {"Item": item}} for item in items]})
    return name


def add_index(ddb: Any, name: str, projection: dict[str, Any]) -> dict[str, Any]:
    out = ddb.update_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "g", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[
            {
                "Create": {
                    "IndexName": "by-g",
                    "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                    "Projection": projection,
                }
            }
        ],
    )
    return out["TableDescription"]["GlobalSecondaryIndexes"][0]


def index_of(ddb: Any, name: str) -> dict[str, Any]:
    return ddb.describe_table(TableName=name)["Table"]["GlobalSecondaryIndexes"][0]


def until_active(ddb: Any, name: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while (index := index_of(ddb, name))["IndexStatus"] != "ACTIVE":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    return index


def pages(call: Callable[..., dict[str, Any]], **kw: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while True:
        page = call(**kw)
        out += page["Items"]
        if "LastEvaluatedKey" not in page:
            return out
        kw["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def check_index(ddb: Any, name: str, projected: tuple[str, ...]) -> None:
    """The index holds each item with a `g` once, as the item is now, and counts them right."""
    table = pages(ddb.scan, TableName=name)
    indexed = pages(ddb.scan, TableName=name, IndexName="by-g")
    expected = sorted(
        ({k: v for k, v in item.items() if k in projected} for item in table if "g" in item),
        key=lambda item: item["id"]["S"],
    )
    assert sorted(indexed, key=lambda item: item["id"]["S"]) == expected
    for group in {item["g"]["S"] for item in table if "g" in item}:
        got = pages(
            ddb.query,
            TableName=name,
            IndexName="by-g",
            KeyConditionExpression="g = :g",
            ExpressionAttributeValues={":g": {"S": group}},
        )
        assert sorted(i["id"]["S"] for i in got) == sorted(
            i["id"]["S"] for i in expected if i["g"]["S"] == group
        )
    assert index_of(ddb, name)["ItemCount"] == len(expected)


def write_meanwhile(ddb: Any, name: str, round_: int) -> None:
    """Writes all over the key space: the index key changed or removed, items deleted and added."""
    for k in range(round_, ITEMS, 97):
        ddb.update_item(
            TableName=name,
            Key={"id": {"S": f"i{k}"}},
            UpdateExpression="SET g = :g, n = :n",
            ExpressionAttributeValues={":g": {"S": f"moved{round_}"}, ":n": {"N": str(round_)}},
        )
    for k in range(round_ + 13, ITEMS, 89):
        ddb.update_item(TableName=name, Key={"id": {"S": f"i{k}"}}, UpdateExpression="REMOVE g")
    for k in range(round_ + 29, ITEMS, 83):
        ddb.delete_item(TableName=name, Key={"id": {"S": f"i{k}"}})
    for k in range(10):
        ddb.put_item(
            TableName=name, Item={"id": {"S": f"new{round_}-{k}"}, "g": {"S": "g1"}, "n": {"N": "0"}}
        )


@pytest.mark.parametrize(
    "projection, projected",
    [
        ({"ProjectionType": "ALL"}, ("id", "g", "n")),
        ({"ProjectionType": "KEYS_ONLY"}, ("id", "g")),
    ],
)
def test_writes_during_the_backfill_end_in_an_exact_index(
    ddb: Any, projection: dict[str, Any], projected: tuple[str, ...]
) -> None:
    name = filled(ddb)
    index = add_index(ddb, name, projection)
    assert (index["IndexStatus"], index["Backfilling"]) == ("CREATING", True)
    with pytest.raises(ClientError) as exc:
        ddb.query(
            TableName=name,
            IndexName="by-g",
            KeyConditionExpression="g = :g",
            ExpressionAttributeValues={":g": {"S": "g1"}},
        )
    assert error(exc) == ("ValidationException", "Cannot read from backfilling global secondary index: by-g")
    for round_ in range(3):
        write_meanwhile(ddb, name, round_)
    assert "Backfilling" not in until_active(ddb, name)
    check_index(ddb, name, projected)


def test_a_backfill_goes_on_after_a_kill(fresh_server: Callable[..., ServerProcess]) -> None:
    proc = fresh_server()
    ddb = make_client(proc.url, "dynamodb")
    name = filled(ddb)
    assert add_index(ddb, name, {"ProjectionType": "ALL"})["IndexStatus"] == "CREATING"
    proc.kill()  # at once, the backfill's passes tens of milliseconds from done: the start resumes them
    proc.start()
    ddb = make_client(proc.url, "dynamodb")
    write_meanwhile(ddb, name, 0)
    write_meanwhile(ddb, name, 1)
    until_active(ddb, name)
    check_index(ddb, name, ("id", "g", "n"))
