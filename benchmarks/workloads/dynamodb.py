"""DynamoDB (issue 5): ~1 KiB items in a table with a hash and range key and one global secondary
index (projection ALL): PutItem, GetItem (ConsistentRead), UpdateItem with a condition, Query of
100 items, the same through the GSI, BatchWriteItem of 25; and PutItem / GetItem on a table that
already holds 200,000 items (8,000 BatchWriteItem of 25), as % of the same on a small table.
"""

from __future__ import annotations

from typing import Any

from harness.requests import SEQ, Call, Clients
from workloads import Workload

TABLE = "bench"
PAD = "x" * 900  # with the keys and other attributes: ~1 KiB per item
KEYS = 1000  # items GetItem and UpdateItem rotate over
PARTITIONS = 4  # Query partitions, 100 items each
BIG = 1_000_000  # the table size: 40,000 BatchWriteItem of 25 in the prefill


def _item(pk: str, sk: str, gk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}, "gk": {"S": gk}, "n": {"N": "0"}, "pad": {"S": PAD}}


def _table(clients: Clients) -> None:
    """Create the table unless it exists, wait until ACTIVE, and write the items the reads use."""
    ddb = clients.client("dynamodb")
    if TABLE in ddb.list_tables()["TableNames"]:
        return
    ddb.create_table(
        TableName=TABLE,
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk", "gk")],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-gk",
                "KeySchema": [
                    {"AttributeName": "gk", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.get_waiter("table_exists").wait(TableName=TABLE, WaiterConfig={"Delay": 0.2, "MaxAttempts": 300})
    items = [_item(f"k{i:04d}", "0", f"g{i % 10}") for i in range(KEYS)]
    items += [_item(f"q{p}", f"{i:04d}", f"gq{p}") for p in range(PARTITIONS) for i in range(100)]
    for start in range(0, len(items), 25):
        requests = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
        ddb.batch_write_item(RequestItems={TABLE: requests})


def _put(clients: Clients) -> list[Call]:
    _table(clients)
    return [
        Call("dynamodb", "put_item", {"TableName": TABLE, "Item": _item(f"p{SEQ}", "0", f"g{k}")})
        for k in range(10)
    ]


def _get(clients: Clients) -> list[Call]:
    _table(clients)
    return [
        Call(
            "dynamodb",
            "get_item",
            {"TableName": TABLE, "Key": {"pk": {"S": f"k{i:04d}"}, "sk": {"S": "0"}}, "ConsistentRead": True},
        )
        for i in range(KEYS)
    ]


def _update(clients: Clients) -> list[Call]:
    _table(clients)
    return [
        Call(
            "dynamodb",
            "update_item",
            {
                "TableName": TABLE,
                "Key": {"pk": {"S": f"k{i:04d}"}, "sk": {"S": "0"}},
                "UpdateExpression": "SET n = n + :one",
                "ConditionExpression": "attribute_exists(pk) AND n >= :zero",
                "ExpressionAttributeValues": {":one": {"N": "1"}, ":zero": {"N": "0"}},
            },
        )
        for i in range(KEYS)
    ]


def _query(clients: Clients) -> list[Call]:
    _table(clients)
    return [
        Call(
            "dynamodb",
            "query",
            {
                "TableName": TABLE,
                "KeyConditionExpression": "pk = :p",
                "ExpressionAttributeValues": {":p": {"S": f"q{p}"}},
            },
        )
        for p in range(PARTITIONS)
    ]


def _query_gsi(clients: Clients) -> list[Call]:
    _table(clients)
    return [
        Call(
            "dynamodb",
            "query",
            {
                "TableName": TABLE,
                "IndexName": "by-gk",
                "KeyConditionExpression": "gk = :g",
                "ExpressionAttributeValues": {":g": {"S": f"gq{p}"}},
            },
        )
        for p in range(PARTITIONS)
    ]


def _batch(clients: Clients) -> list[Call]:
    _table(clients)
    requests = [{"PutRequest": {"Item": _item(f"b{SEQ}-{k}", "0", f"g{k % 10}")}} for k in range(25)]
    return [Call("dynamodb", "batch_write_item", {"RequestItems": {TABLE: requests}})]


WORKLOADS = [
    Workload(
        "ddb.PutItem",
        "PutItem of a new ~1 KiB item (and its GSI entry)",
        _put,
        peers=("moto",),
        target_pct=20,
    ),
    Workload(
        "ddb.GetItem", "GetItem, ConsistentRead, 1,000 keys in rotation", _get, peers=("moto",), target_pct=20
    ),
    Workload(
        "ddb.UpdateItem",
        "UpdateItem SET n = n + 1 with a condition, 1,000 keys in rotation",
        _update,
        peers=("moto",),
    ),
    Workload(
        "ddb.Query100",
        "Query of one partition: 100 items of ~1 KiB",
        _query,
        peers=("moto",),
        units_per_request=100,
        unit="item",
        target_units=150_000,  # the 1,500 queries/s
    ),
    Workload(
        "ddb.QueryGSI100",
        "Query of the GSI: 100 items of ~1 KiB",
        _query_gsi,
        units_per_request=100,
        unit="item",
    ),
    Workload(
        "ddb.BatchWrite25",
        "BatchWriteItem of 25 new ~1 KiB items",
        _batch,
        peers=("moto",),
        units_per_request=25,
        unit="item",
    ),
    Workload(
        f"ddb.PutItem.{BIG // 1000}k",
        f"PutItem on a table already holding {BIG:,} items: the cost must not grow with size",
        _put,
        prefill=_batch,
        prefill_requests=BIG // 25,
        baseline="ddb.PutItem",
    ),
    Workload(
        f"ddb.GetItem.{BIG // 1000}k",
        f"GetItem on a table already holding {BIG:,} items",
        _get,
        prefill=_batch,
        prefill_requests=BIG // 25,
        baseline="ddb.GetItem",
    ),
]
