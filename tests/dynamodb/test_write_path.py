"""The single-item write path: placeholder maps checked once and remembered (the same answers for a
repeated request, valid or not), and a write whose read, condition or new image fails writes
nothing."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.dynamodb.conftest import error


def test_remembered_placeholder_maps_answer_as_fresh_ones(ddb: Any, raw: Any, make_table: Any) -> None:
    name = make_table()
    key = {"id": {"S": "k"}}
    for n in range(2):  # non-canonical numbers are normalised whether the maps are remembered or not
        ddb.update_item(
            TableName=name,
            Key=key,
            UpdateExpression="SET n = :v, m = :w",
            ExpressionAttributeValues={":v": {"N": "01.50"}, ":w": {"N": f"{n}"}},
        )
        assert ddb.get_item(TableName=name, Key=key)["Item"]["n"] == {"N": "1.5"}
    for _ in range(2):  # invalid maps are refused every time, never remembered as checked
        with pytest.raises(ClientError) as exc:
            raw.update_item(
                TableName=name,
                Key=key,
                UpdateExpression="SET n = :v",
                ExpressionAttributeValues={":v": {"N": "1x"}},
            )
        assert error(exc) == (
            "ValidationException",
            "ExpressionAttributeValues contains invalid value: The parameter cannot be converted to a "
            "numeric value: 1x for key :v",
        )
    # the same values with an empty names map: still refused after the values were checked alone
    with pytest.raises(ClientError) as exc:
        raw.update_item(
            TableName=name,
            Key=key,
            UpdateExpression="SET n = :v, m = :w",
            ExpressionAttributeNames={},
            ExpressionAttributeValues={":v": {"N": "01.50"}, ":w": {"N": "1"}},
        )
    assert error(exc) == ("ValidationException", "ExpressionAttributeNames must not be empty")


def test_failed_writes_write_nothing(ddb: Any, streams: Any, make_table: Any) -> None:
    name = make_table(StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    key = {"id": {"S": "k"}}
    ddb.put_item(TableName=name, Item={**key, "n": {"N": "1"}})
    with pytest.raises(ClientError) as exc:
        ddb.put_item(
            TableName=name,
            Item={**key, "n": {"N": "2"}},
            ConditionExpression="n = :two",
            ExpressionAttributeValues={":two": {"N": "2"}},
        )
    assert error(exc)[0] == "ConditionalCheckFailedException"
    with pytest.raises(ClientError) as exc:  # the condition holds; the new image is too large
        ddb.update_item(
            TableName=name,
            Key=key,
            UpdateExpression="SET big = :big",
            ConditionExpression="n = :one",
            ExpressionAttributeValues={":big": {"S": "x" * 400 * 1024}, ":one": {"N": "1"}},
        )
    assert error(exc) == ("ValidationException", "Item size to update has exceeded the maximum allowed size")
    with pytest.raises(ClientError) as exc:  # a type error in the update itself
        ddb.update_item(
            TableName=name,
            Key=key,
            UpdateExpression="SET n = n + :s",
            ExpressionAttributeValues={":s": {"S": "a"}},
        )
    assert error(exc)[0] == "ValidationException"
    assert ddb.get_item(TableName=name, Key=key)["Item"] == {**key, "n": {"N": "1"}}
    described = ddb.describe_table(TableName=name)["Table"]
    assert described["ItemCount"] == 1
    arn = described["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    records = streams.get_records(ShardIterator=it["ShardIterator"])["Records"]
    assert [r["eventName"] for r in records] == ["INSERT"]


def test_a_single_item_write_joins_its_group_without_a_savepoint_unless_it_can_fail_late(
    tmp_path: Any,
) -> None:
    """PutItem/UpdateItem/DeleteItem fail only before they write, so their unit joins the commit
    group as it is; a strongly consistent global table's write can still be refused after writing
    locally (as it replicates), so its unit keeps a savepoint and a refusal undoes only itself."""
    import asyncio

    from gondwana.services.dynamodb.storage import MIGRATIONS, TableStore
    from gondwana.services.dynamodb.writes import Writer
    from gondwana.storage.reclaim import Reclaimer
    from gondwana.storage.sqlite import SqliteStore

    desc = {
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
    }

    async def scenario(strong: bool) -> tuple[list[str], list[BaseException | None]]:
        store = SqliteStore(tmp_path / f"unit-{strong}.db")
        store.register("dynamodb", MIGRATIONS)
        writer = Writer(store, TableStore(store, Reclaimer(store, lambda *_: None)))
        with store.transaction():
            table = writer.tables.create("000000000000", "us-east-1", "t", dict(desc), "ACTIVE", 0.0)
        if strong:
            table.desc["_consistency"] = "STRONG"
        await store.flushed()
        statements: list[str] = []
        store._conn.set_trace_callback(statements.append)
        waiters: list[BaseException | None] = []
        with store.transaction():  # another request's write opens the group
            store.execute("UPDATE dynamodb_tables SET status = 'ACTIVE'")
        store.after_commit(waiters.append)
        with pytest.raises(RuntimeError), writer.unit(table):
            store.execute("UPDATE dynamodb_tables SET status = 'CREATING'")
            raise RuntimeError("refused after writing")
        await asyncio.sleep(0.01)
        store.close()
        return [s for s in statements if s.startswith(("SAVEPOINT", "ROLLBACK"))], waiters

    savepoints, waiters = asyncio.run(scenario(strong=False))
    assert savepoints == ["ROLLBACK"] and isinstance(waiters[0], RuntimeError)  # the group is undone
    savepoints, waiters = asyncio.run(scenario(strong=True))
    assert savepoints == ["SAVEPOINT u0", "ROLLBACK TO u0"] and waiters == [None]  # only itself
