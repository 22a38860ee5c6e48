"""PutItem without a condition writes a new item without reading first, and the table's item count
and size are kept in memory per commit group: both answer exactly as before, through overwrites
(the old item comes back, the stream says MODIFY, the index entry moves), concurrent writers in one
group, failed writes, and kill -9."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import make_client
from tests.dynamodb.conftest import GSI_BY_G, create


def _size(item: dict[str, Any]) -> int:  # strings only: name bytes + value bytes
    return sum(len(k) + len(v["S"]) for k, v in item.items())


def test_put_new_and_overwrite_keep_counts_images_and_indexes(fresh_server: Any) -> None:
    proc = fresh_server()
    ddb = make_client(proc.url, "dynamodb")
    name = create(
        ddb,
        more_attrs={"g": "S"},
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        GlobalSecondaryIndexes=[GSI_BY_G],
    )
    first = {"id": {"S": "a"}, "g": {"S": "g1"}, "v": {"S": "one"}}
    assert "Attributes" not in ddb.put_item(TableName=name, Item=first, ReturnValues="ALL_OLD")
    ddb.get_item(TableName=name, Key={"id": {"S": "a"}})  # kept by the item cache: known to exist
    second = {"id": {"S": "a"}, "g": {"S": "g2"}, "v": {"S": "two!"}}
    assert ddb.put_item(TableName=name, Item=second, ReturnValues="ALL_OLD")["Attributes"] == first
    third = {"id": {"S": "a"}, "g": {"S": "g3"}, "v": {"S": "three"}}
    assert ddb.put_item(TableName=name, Item=third, ReturnValues="ALL_OLD")["Attributes"] == second

    def put(i: int) -> None:  # many writers at once: several puts per commit group
        client = make_client(proc.url, "dynamodb")
        client.put_item(
            TableName=name, Item={"id": {"S": f"k{i:03d}"}, "g": {"S": "g1"}, "v": {"S": "x" * i}}
        )

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, range(40)))
        list(pool.map(put, range(20)))  # the same keys again: overwrites, no new items
    with pytest.raises(ClientError):  # a failed conditional put changes no count
        ddb.put_item(TableName=name, Item=first, ConditionExpression="attribute_not_exists(id)")
    ddb.delete_item(TableName=name, Key={"id": {"S": "k000"}})
    expected_count = 40
    expected_size = _size(third) + sum(
        _size({"id": {"S": f"k{i:03d}"}, "g": {"S": "g1"}, "v": {"S": "x" * i}}) for i in range(1, 40)
    )
    table = ddb.describe_table(TableName=name)["Table"]
    assert (table["ItemCount"], table["TableSizeBytes"]) == (expected_count, expected_size)
    proc.kill()
    proc.start()
    ddb = make_client(proc.url, "dynamodb")
    table = ddb.describe_table(TableName=name)["Table"]
    assert (table["ItemCount"], table["TableSizeBytes"]) == (expected_count, expected_size)
    by_g = {
        g: [
            i["id"]["S"]
            for i in ddb.query(
                TableName=name,
                IndexName="by-g",
                KeyConditionExpression="g = :g",
                ExpressionAttributeValues={":g": {"S": g}},
            )["Items"]
        ]
        for g in ("g1", "g2", "g3")
    }
    assert (
        by_g["g2"] == [] and by_g["g3"] == ["a"] and sorted(by_g["g1"]) == [f"k{i:03d}" for i in range(1, 40)]
    )
    streams = make_client(proc.url, "dynamodbstreams")
    arn = table["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    records = streams.get_records(ShardIterator=it["ShardIterator"], Limit=3)["Records"]
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "MODIFY"]
    assert records[2]["dynamodb"]["OldImage"] == second and records[2]["dynamodb"]["NewImage"] == third


DESC = {
    "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
    "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
}


def test_counts_of_a_rolled_back_group_are_forgotten(tmp_path: Any) -> None:
    """Counts kept for the commit group leave with it: a group whose only unit fails after
    counting is rolled back whole, and neither it nor the next group carries its counts."""
    import asyncio

    from gondwana.services.dynamodb.storage import MIGRATIONS, TableStore
    from gondwana.storage.reclaim import Reclaimer
    from gondwana.storage.sqlite import SqliteStore

    async def scenario() -> tuple[int, int, int]:
        store = SqliteStore(tmp_path / "counts.db")
        store.register("dynamodb", MIGRATIONS)
        tables = TableStore(store, Reclaimer(store, lambda *_: None))
        with store.transaction():
            table = tables.create("000000000000", "us-east-1", "t", DESC, "ACTIVE", 0.0)
        await store.flushed()
        with pytest.raises(RuntimeError), store.transaction():
            tables.count(table, 1, 100, later=True)
            raise RuntimeError("fails after counting")
        with store.transaction():
            tables.count(table, 2, 30, later=True)
        await store.flushed()
        tables.counts(table)
        stored = store.query_one(
            "SELECT item_count, size_bytes FROM dynamodb_tables WHERE tid = ?", (table.tid,)
        )
        store.close()
        assert stored is not None
        return table.item_count, stored[0], stored[1]

    assert asyncio.run(scenario()) == (2, 2, 30)
