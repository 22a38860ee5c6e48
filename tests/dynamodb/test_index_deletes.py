"""Deleting a GSI: the UpdateTable call deletes none of its entries (a large index held up every
request), background passes do. Meanwhile nothing reaches them: the index is not read, writes do not
keep it, and a new index of the same name has entries of its own. A kill -9 in between included."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from gondwana.protocols.errors import ServiceError
from gondwana.runtime import Runtime
from tests.conftest import make_client
from tests.dynamodb.conftest import create, error
from tests.support.inprocess import dynamodb_table, in_process, request_context
from tests.support.server import ServerProcess

ITEMS = 3000
GSI = {
    "IndexName": "by-g",
    "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
    "Projection": {"ProjectionType": "ALL"},
}
BY_G = {"KeyConditionExpression": "g = :g", "ExpressionAttributeValues": {":g": {"S": "g1"}}}


def item(k: int) -> dict[str, Any]:
    return {"id": {"S": f"i{k}"}, "g": {"S": f"g{k % 5}"}, "n": {"N": str(k)}}


def entries(store: Any) -> dict[str, int]:
    return dict(store.query("SELECT idx, COUNT(*) FROM dynamodb_index_entries GROUP BY idx"))


def test_the_call_deletes_nothing_and_a_new_index_of_the_name_starts_afresh(tmp_path: Path) -> None:
    async def scenario(runtime: Runtime, ddb: Any) -> dict[str, Any]:
        ctx = request_context()
        attributes = [{"AttributeName": a, "AttributeType": "S"} for a in ("id", "g")]
        dynamodb_table(ddb, ctx, "tbl", AttributeDefinitions=attributes, GlobalSecondaryIndexes=[GSI])
        for start in range(0, ITEMS, 25):
            puts = [{"PutRequest": {"Item": item(k)}} for k in range(start, start + 25)]
            ddb.batch_write_item(ctx, {"RequestItems": {"tbl": puts}})
        await runtime.store.flushed()
        seen: dict[str, Any] = {"before": entries(runtime.store)}
        ddb.update_table(
            ctx, {"TableName": "tbl", "GlobalSecondaryIndexUpdates": [{"Delete": {"IndexName": "by-g"}}]}
        )
        seen["right after"] = entries(runtime.store)
        try:
            ddb.query(ctx, {"TableName": "tbl", "IndexName": "by-g", **BY_G})
        except ServiceError as exc:
            seen["query"] = (exc.code, exc.message)
        keys_only = {**GSI, "Projection": {"ProjectionType": "KEYS_ONLY"}}
        ddb.update_table(
            ctx,
            {
                "TableName": "tbl",
                "AttributeDefinitions": [{"AttributeName": "g", "AttributeType": "S"}],
                "GlobalSecondaryIndexUpdates": [{"Create": keys_only}],
            },
        )
        ddb.put_item(ctx, {"TableName": "tbl", "Item": item(ITEMS)})  # kept by the new index only
        for _ in range(1000):  # the backfill and the reclaim, a few milliseconds a pass
            await asyncio.sleep(0.01)
            index = ddb.describe_table(ctx, {"TableName": "tbl"})["Table"]["GlobalSecondaryIndexes"][0]
            if index["IndexStatus"] == "ACTIVE" and len(entries(runtime.store)) == 1:
                break
        await runtime.store.flushed()
        seen["after"] = entries(runtime.store)
        seen["described"] = index["ItemCount"]
        got = ddb.query(ctx, {"TableName": "tbl", "IndexName": "by-g", **BY_G})
        seen["found"] = (got["Count"], {name for found in got["Items"] for name in found})
        seen["counts"] = runtime.store.query("SELECT idx FROM dynamodb_index_counts")
        seen["pending"] = runtime.store.query("SELECT * FROM reclaim_pending")
        return seen

    seen = in_process(tmp_path, "dynamodb", scenario)
    assert seen["before"] == {"by-g": ITEMS}
    assert seen["right after"] == {"by-g": ITEMS}  # nothing deleted in the request
    assert seen["query"] == ("ValidationException", "The table does not have the specified index: by-g")
    [(key, count)] = seen["after"].items()
    assert key.startswith("by-g/") and count == ITEMS + 1  # the old entries gone, the new all there
    assert seen["described"] == ITEMS + 1
    assert seen["found"] == ((ITEMS + 1) // 5, {"id", "g"})  # one group, keys only
    assert seen["counts"] == [(key,)] and seen["pending"] == []


def rows(data: Path) -> dict[str, int]:
    db = sqlite3.connect(data / "gondwana.db")
    try:
        tables = ("dynamodb_index_entries", "dynamodb_index_counts", "reclaim_pending")
        return {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables}
    finally:
        db.close()


def test_a_deleting_index_is_out_of_reach_and_leaves_nothing_across_a_kill(
    fresh_server: Callable[..., ServerProcess],
) -> None:
    proc = fresh_server("--state-delay", "30000")
    ddb = make_client(proc.url, "dynamodb")
    name = create(ddb, more_attrs={"g": "S"}, GlobalSecondaryIndexes=[GSI])
    proc.advance_clock(31)
    for start in range(0, 200, 25):
        puts = [{"PutRequest": {"Item": item(k)}} for k in range(start, start + 25)]
        ddb.batch_write_item(RequestItems={name: puts})
    assert rows(proc.data_dir)["dynamodb_index_entries"] == 200  # type: ignore[arg-type]
    ddb.update_table(TableName=name, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "by-g"}}])
    assert (
        ddb.describe_table(TableName=name)["Table"]["GlobalSecondaryIndexes"][0]["IndexStatus"] == "DELETING"
    )
    with pytest.raises(ClientError) as exc:
        ddb.query(TableName=name, IndexName="by-g", **BY_G)
    assert error(exc) == ("ValidationException", "The table does not have the specified index: by-g")
    for k in range(200, 250):  # writes while it is DELETING add nothing to it
        ddb.put_item(TableName=name, Item=item(k))
    proc.kill()
    proc.start()
    ddb = make_client(proc.url, "dynamodb")
    proc.advance_clock(62)  # (the clock the test advanced starts again from the wall clock's)
    assert "GlobalSecondaryIndexes" not in ddb.describe_table(TableName=name)["Table"]
    deadline = time.monotonic() + 10
    while any(rows(proc.data_dir).values()) and time.monotonic() < deadline:  # type: ignore[arg-type]
        time.sleep(0.05)
    assert rows(proc.data_dir) == dict.fromkeys(rows(proc.data_dir), 0)  # type: ignore[arg-type]
    assert ddb.scan(TableName=name, Select="COUNT")["Count"] == 250
