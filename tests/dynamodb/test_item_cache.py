"""Point reads are served from the items recently read (item_cache): every way an item changes must
show in the next read of it, after a read that kept it."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from gondwana.services.dynamodb.item_cache import LARGEST, ItemCache
from tests.conftest import make_client
from tests.dynamodb.conftest import create
from tests.dynamodb.global_helpers import global_table, wait_for
from tests.support.server import ServerProcess

KEY = {"id": {"S": "k"}}


def _get(ddb: Any, name: str, **extra: Any) -> Any:
    return ddb.get_item(TableName=name, Key=KEY, ConsistentRead=True, **extra).get("Item")


def test_every_write_path_shows_in_the_next_read(ddb: Any, make_table: Any) -> None:
    name = make_table()
    seen = []

    def step(write: Any) -> None:
        _get(ddb, name)  # read (and keep) what is there
        write()
        seen.append(_get(ddb, name))

    step(lambda: ddb.put_item(TableName=name, Item={**KEY, "v": {"N": "1"}}))
    step(lambda: ddb.put_item(TableName=name, Item={**KEY, "v": {"N": "2"}}))
    step(
        lambda: ddb.update_item(
            TableName=name,
            Key=KEY,
            UpdateExpression="SET v = v + :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )
    )
    step(
        lambda: ddb.batch_write_item(
            RequestItems={name: [{"PutRequest": {"Item": {**KEY, "v": {"N": "4"}}}}]}
        )
    )
    step(
        lambda: ddb.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": name,
                        "Key": KEY,
                        "UpdateExpression": "SET v = :five",
                        "ExpressionAttributeValues": {":five": {"N": "5"}},
                    }
                }
            ]
        )
    )
    step(lambda: ddb.execute_statement(Statement=f"UPDATE \"{name}\" SET v = 6 WHERE id = 'k'"))
    step(lambda: ddb.delete_item(TableName=name, Key=KEY))
    step(lambda: ddb.execute_statement(Statement=f"INSERT INTO \"{name}\" VALUE {{'id': 'k', 'v': 7}}"))
    step(lambda: ddb.batch_write_item(RequestItems={name: [{"DeleteRequest": {"Key": KEY}}]}))
    step(
        lambda: ddb.transact_write_items(
            TransactItems=[{"Put": {"TableName": name, "Item": {**KEY, "v": {"N": "8"}}}}]
        )
    )
    step(lambda: ddb.transact_write_items(TransactItems=[{"Delete": {"TableName": name, "Key": KEY}}]))
    step(lambda: ddb.put_item(TableName=name, Item={**KEY, "v": {"N": "9"}}))
    step(lambda: ddb.execute_statement(Statement=f"DELETE FROM \"{name}\" WHERE id = 'k'"))
    values = [item["v"]["N"] if item else None for item in seen]
    assert values == ["1", "2", "3", "4", "5", "6", None, "7", None, "8", None, "9", None]


def test_failed_writes_leave_the_kept_item(ddb: Any, make_table: Any) -> None:
    name = make_table()
    ddb.put_item(TableName=name, Item={**KEY, "v": {"N": "1"}})
    assert _get(ddb, name) == {**KEY, "v": {"N": "1"}}
    with pytest.raises(ClientError):
        ddb.put_item(
            TableName=name, Item={**KEY, "v": {"N": "2"}}, ConditionExpression="attribute_not_exists(id)"
        )
    with pytest.raises(ClientError):
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": name, "Item": {**KEY, "v": {"N": "3"}}}},
                {
                    "ConditionCheck": {
                        "TableName": name,
                        "Key": {"id": {"S": "absent"}},
                        "ConditionExpression": "attribute_exists(id)",
                    }
                },
            ]
        )
    assert _get(ddb, name) == {**KEY, "v": {"N": "1"}}
    projected = ddb.get_item(TableName=name, Key=KEY, ProjectionExpression="v")["Item"]
    assert projected == {"v": {"N": "1"}}


def test_a_dropped_or_reset_table_is_not_read_back(fresh_server: Any) -> None:
    proc = fresh_server()
    ddb = make_client(proc.url, "dynamodb")
    name = create(ddb)
    ddb.put_item(TableName=name, Item={**KEY, "v": {"N": "1"}})
    assert _get(ddb, name)
    ddb.delete_table(TableName=name)
    create(ddb, name=name)  # the same name: a new table
    assert _get(ddb, name) is None
    ddb.put_item(TableName=name, Item={**KEY, "v": {"N": "2"}})
    assert _get(ddb, name) == {**KEY, "v": {"N": "2"}}
    proc.reset()
    create(ddb, name=name)
    assert _get(ddb, name) is None
    ddb.put_item(TableName=name, Item={**KEY, "v": {"N": "3"}})
    assert _get(ddb, name) == {**KEY, "v": {"N": "3"}}
    proc.kill()
    proc.restart()
    assert _get(ddb, name) == {**KEY, "v": {"N": "3"}}


def test_replicated_changes_show_in_the_replica(server: ServerProcess) -> None:
    table, (east, west) = global_table(server, "us-east-1", "us-west-2")
    key = {"pk": {"S": "k"}}
    for value in ("1", "2", None):
        if value is None:
            east.delete_item(TableName=table, Key=key)
        else:
            east.put_item(TableName=table, Item={**key, "v": {"S": value}})

        def arrived(value: str | None = value) -> bool:
            item = west.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
            return (item["v"]["S"] if item else None) == value

        wait_for(arrived)


def test_the_cache_is_bounded_in_bytes_oldest_out_first() -> None:
    cache = ItemCache(limit=3000)
    keys = [(1, (i, b"h", b"")) for i in range(5)]
    for key in keys:
        cache.keep(key, "x" * 1000, 1000)
    assert [cache.get(k) is not None for k in keys] == [False, False, True, True, True]
    cache.keep(keys[2], "y" * 10, 10)  # replaced (now the newest), its old text no longer counted
    cache.keep(keys[0], "z" * 1000, 1000)  # 3010 bytes: the oldest (3) goes
    assert [cache.get(k) is not None for k in keys] == [True, False, True, False, True]
    assert cache.get(keys[2]) == ("y" * 10, 10)
    cache.keep(keys[4], "w" * (LARGEST + 1), 1)  # too large to keep: the old entry goes too
    assert cache.get(keys[4]) is None
    cache.drop(keys[4])
    cache.clear()
    assert all(cache.get(k) is None for k in keys)


def test_writes_over_items_keep_them_unless_their_group_fails(tmp_path: Any) -> None:
    """A write over an existing item keeps what it wrote for the next read (a new item is not
    kept); if the group it belongs to is rolled back, the kept text goes with it."""
    import asyncio

    from gondwana.services.dynamodb.storage import MIGRATIONS, TableStore
    from gondwana.services.dynamodb.writes import Change, Writer
    from gondwana.storage.reclaim import Reclaimer
    from gondwana.storage.sqlite import SqliteStore

    desc = {
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
    }

    def item(value: str) -> dict[str, Any]:
        return {**KEY, "v": {"N": value}}

    async def scenario() -> list[Any]:
        store = SqliteStore(tmp_path / "kept.db")
        store.register("dynamodb", MIGRATIONS)
        writer = Writer(store, TableStore(store, Reclaimer(store, lambda *_: None)))
        with store.transaction():
            table = writer.tables.create("000000000000", "us-east-1", "t", desc, "ACTIVE", 0.0)
        where = table.encode_key(KEY)

        def write(old: str | None, new: str, fail: bool = False) -> None:
            with store.transaction(undo_group=True):
                change = Change(item(old) if old else None, item(new), where)
                writer.apply_many(table, (change,), now=1.0, region="us-east-1", last=True)
                if fail:
                    raise RuntimeError("fails after writing: the group is undone")

        seen = []
        write(None, "1")
        seen.append(writer.cache.get((table.tid, where)))  # a new item: not kept
        await store.flushed()
        write("1", "2")
        seen.append(writer.cache.get((table.tid, where)))  # written over: kept, before the commit
        await store.flushed()
        seen.append(writer.read(table, where)[0])
        with store.transaction():  # opens the next group
            store.execute("UPDATE dynamodb_tables SET status = status")
        write("2", "3")
        with pytest.raises(RuntimeError):
            write("3", "4", fail=True)  # the whole group is rolled back, "3" with it
        await asyncio.sleep(0)
        seen.append(writer.cache.get((table.tid, where)))
        seen.append(writer.read(table, where)[0])
        with pytest.raises(RuntimeError):
            write("2", "5", fail=True)  # opens the group, then fails: ROLLBACK, and its entry goes
        seen.append(writer.cache.get((table.tid, where)))
        store.close()
        return seen

    seen = asyncio.run(scenario())
    assert seen[0] is None
    assert seen[1] is not None and '"2"' in seen[1][0]
    assert seen[2] == item("2")
    assert seen[3] is None  # dropped with its group
    assert seen[4] == item("2")
    assert seen[5] is None
