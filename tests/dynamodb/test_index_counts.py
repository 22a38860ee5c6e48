"""Each index's ItemCount and IndexSizeBytes in DescribeTable are kept by every write (not counted
per call): after any mix of writes they equal what the index holds, counted from a Scan of it."""

from __future__ import annotations

import random
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from gondwana.services.dynamodb.types import item_size
from tests.conftest import make_client
from tests.dynamodb.conftest import create

INDEXES = {
    "GlobalSecondaryIndexes": [
        {
            "IndexName": "all-by-g",
            "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"},
        },
        {
            "IndexName": "keys-by-g-s",
            "KeySchema": [
                {"AttributeName": "g", "KeyType": "HASH"},
                {"AttributeName": "s", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
        },
    ],
    "LocalSecondaryIndexes": [
        {
            "IndexName": "incl-by-s",
            "KeySchema": [
                {"AttributeName": "id", "KeyType": "HASH"},
                {"AttributeName": "s", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["body"]},
        }
    ],
}
_PLAIN = TypeDeserializer()


def _from_scan(ddb: Any, table: str, index: str) -> tuple[int, int]:
    """What the index holds: its items, and their size as DynamoDB sizes them."""
    count = size = 0
    kwargs: dict[str, Any] = {"TableName": table, "IndexName": index}
    while True:
        page = ddb.scan(**kwargs)
        count += len(page["Items"])
        size += sum(item_size(item) for item in page["Items"])
        if "LastEvaluatedKey" not in page:
            return count, size
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _described(ddb: Any, table: str) -> dict[str, tuple[int, int]]:
    desc = ddb.describe_table(TableName=table)["Table"]
    indexes = desc.get("GlobalSecondaryIndexes", []) + desc.get("LocalSecondaryIndexes", [])
    return {i["IndexName"]: (i["ItemCount"], i["IndexSizeBytes"]) for i in indexes}


def _random_item(rng: random.Random, key: tuple[str, str]) -> dict[str, Any]:
    item: dict[str, Any] = {"id": {"S": key[0]}, "r": {"S": key[1]}}
    if rng.random() < 0.7:  # sparse: some items are in no index but the table
        item["g"] = {"S": rng.choice("ab")}
    if rng.random() < 0.7:
        item["s"] = {"S": rng.choice("xyz")}
    if rng.random() < 0.5:
        item["body"] = {"S": "p" * rng.randrange(1, 300)}
    if rng.random() < 0.5:
        item["extra"] = {"N": str(rng.randrange(1000))}
    return item


def _mutate(ddb: Any, table: str, rng: random.Random, key: tuple[str, str]) -> None:
    """One write of any kind, some of them refused (which must change no count)."""
    k = {"id": {"S": key[0]}, "r": {"S": key[1]}}
    roll = rng.random()
    try:
        if roll < 0.3:
            ddb.put_item(TableName=table, Item=_random_item(rng, key))
        elif roll < 0.45:
            ddb.delete_item(TableName=table, Key=k)
        elif roll < 0.65:
            expression = rng.choice(
                ["SET g = :v", "SET s = :v", "REMOVE g", "REMOVE s, body", "SET body = :v", "SET extra = :v"]
            )
            values = {":v": {"S": rng.choice(["a", "b", "x", "q" * rng.randrange(1, 200)])}}
            if ":v" not in expression:
                values = {}
            ddb.update_item(
                TableName=table,
                Key=k,
                UpdateExpression=expression,
                **({"ExpressionAttributeValues": values} if values else {}),
            )
        elif roll < 0.75:  # refused: the condition fails, nothing is written
            ddb.put_item(
                TableName=table,
                Item=_random_item(rng, key),
                ConditionExpression="attribute_not_exists(id) AND attribute_exists(id)",
            )
        elif roll < 0.85:
            ddb.batch_write_item(
                RequestItems={
                    table: [
                        {"PutRequest": {"Item": _random_item(rng, (key[0], f"{key[1]}{n}"))}}
                        for n in range(3)
                    ]
                    + [{"DeleteRequest": {"Key": {"id": {"S": key[0]}, "r": {"S": "0"}}}}]
                }
            )
        else:  # a transaction, canceled half the time by its condition check
            fails = rng.random() < 0.5
            ddb.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": table, "Item": _random_item(rng, key)}},
                    {
                        "ConditionCheck": {
                            "TableName": table,
                            "Key": {"id": {"S": "nobody"}, "r": {"S": "0"}},
                            "ConditionExpression": "attribute_exists(id)"
                            if fails
                            else "attribute_not_exists(id)",
                        }
                    },
                ]
            )
    except (ddb.exceptions.ConditionalCheckFailedException, ddb.exceptions.TransactionCanceledException):
        pass


def test_index_counts_follow_every_kind_of_write_and_survive_kill_9(fresh_server: Any) -> None:
    proc = fresh_server()
    ddb = make_client(proc.url, "dynamodb")
    table = create(ddb, range_key=("r", "S"), more_attrs={"g": "S", "s": "S"}, **INDEXES)
    rng = random.Random(7)
    for _ in range(400):
        _mutate(ddb, table, rng, (rng.choice("ABCDE"), str(rng.randrange(6))))
    described = _described(ddb, table)
    expected = {name: _from_scan(ddb, table, name) for name in described}
    assert described == expected
    assert all(count > 0 for count, _ in expected.values())  # the writes did reach every index
    proc.kill()
    proc.start()
    ddb = make_client(proc.url, "dynamodb")
    assert _described(ddb, table) == expected


def test_a_new_index_is_counted_once_built_and_a_deleted_one_forgotten(ddb: Any) -> None:
    table = create(ddb)
    for n in range(30):
        item = {"id": {"S": str(n)}, **({"g": {"S": "g"}} if n % 3 else {})}
        ddb.put_item(TableName=table, Item=item)
    gsi = {
        "IndexName": "late",
        "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "ALL"},
    }
    ddb.update_table(
        TableName=table,
        AttributeDefinitions=[{"AttributeName": "g", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[{"Create": gsi}],
    )
    ddb.put_item(TableName=table, Item={"id": {"S": "new"}, "g": {"S": "g"}})
    assert _described(ddb, table)["late"] == _from_scan(ddb, table, "late")
    assert _described(ddb, table)["late"][0] == 21
    ddb.update_table(TableName=table, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "late"}}])
    ddb.update_table(
        TableName=table,
        AttributeDefinitions=[{"AttributeName": "g", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[{"Create": {**gsi, "Projection": {"ProjectionType": "KEYS_ONLY"}}}],
    )
    assert _described(ddb, table)["late"] == _from_scan(ddb, table, "late")
