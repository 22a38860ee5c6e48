"""UpdateTimeToLive sets the expiry of the existing items in background passes (set in the call,
100,000 items held up every request for 1 s). Until a pass reaches an item, the sweeper checks the
item against the new setting: turned on, expired items go once indexed; turned off, no item goes.
DescribeTimeToLive shows ENABLING or DISABLING meanwhile, as AWS does for a while."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from gondwana.runtime import Runtime
from gondwana.services.dynamodb import background, expiry_index
from tests.support.inprocess import dynamodb_table, in_process, request_context

ITEMS = 400
TTL = {"TableName": "src", "TimeToLiveSpecification": {"Enabled": True, "AttributeName": "exp"}}


@pytest.fixture(autouse=True)
def small_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(expiry_index, "ROWS", 20)
    monkeypatch.setattr(background, "QUANTUM", 0.0)  # one chunk a pass


def indexed(runtime: Runtime) -> int:
    return runtime.store.query_one("SELECT COUNT(*) FROM dynamodb_items WHERE expires IS NOT NULL")[0]


def items(runtime: Runtime) -> int:
    return runtime.store.query_one("SELECT COUNT(*) FROM dynamodb_items")[0]


async def walked(runtime: Runtime, ddb: Any) -> None:
    for _ in range(1000):
        await asyncio.sleep(0.002)
        if "_ttl_walk" not in ddb.tables.find("123456789012", "us-east-1", "src").desc:
            return
    raise AssertionError("the walk never ended")


def status(ddb: Any, ctx: Any) -> str:
    return ddb.describe_time_to_live(ctx, {"TableName": "src"})["TimeToLiveDescription"]["TimeToLiveStatus"]


def test_turning_ttl_on_and_off_indexes_the_items_in_passes(tmp_path: Path) -> None:
    async def scenario(runtime: Runtime, ddb: Any) -> dict[str, Any]:
        ddb.ttl.stop()  # swept by hand here
        ctx = request_context()
        dynamodb_table(ddb, ctx, "src")
        now = runtime.now()
        for start in range(0, ITEMS, 25):  # every other item expired an hour ago, the rest in a day
            puts = [
                {
                    "PutRequest": {
                        "Item": {
                            "id": {"S": f"i{k}"},
                            "exp": {"N": str(int(now + (-1 if k % 2 else 24) * 3600))},
                        }
                    }
                }
                for k in range(start, start + 25)
            ]
            ddb.batch_write_item(ctx, {"RequestItems": {"src": puts}})
        seen: dict[str, Any] = {}
        ddb.update_time_to_live(ctx, TTL)
        seen["on, in the call"] = indexed(runtime)
        seen["statuses"] = [status(ddb, ctx)]
        await walked(runtime, ddb)
        seen["statuses"].append(status(ddb, ctx))
        seen["on, walked"] = indexed(runtime)
        seen["swept"] = ddb.ttl.sweep()
        seen["left"] = items(runtime)
        runtime.clock.offset += 3601  # (one change an hour)
        ddb.update_time_to_live(
            ctx, {**TTL, "TimeToLiveSpecification": {**TTL["TimeToLiveSpecification"], "Enabled": False}}
        )
        runtime.clock.offset += 48 * 3600  # every item's time has come, but TTL is off
        seen["off, stale"] = indexed(runtime)
        seen["statuses"].append(status(ddb, ctx))
        seen["swept while off"] = ddb.ttl.sweep()
        await walked(runtime, ddb)
        seen["statuses"].append(status(ddb, ctx))
        seen["off, walked"] = indexed(runtime)
        seen["at the end"] = items(runtime)
        return seen

    seen = in_process(tmp_path, "dynamodb", scenario)
    assert 0 < seen["on, in the call"] < ITEMS  # a pass in the call, the rest after
    assert seen["on, walked"] == ITEMS
    assert (seen["swept"], seen["left"]) == (ITEMS // 2, ITEMS // 2)
    assert seen["off, stale"] > 0 and seen["swept while off"] == 0
    assert (seen["off, walked"], seen["at the end"]) == (0, ITEMS // 2)
    assert seen["statuses"] == ["ENABLING", "ENABLED", "DISABLING", "DISABLED"]


def test_the_walk_goes_on_after_a_restart(tmp_path: Path) -> None:
    async def before(runtime: Runtime, ddb: Any) -> int:
        ddb.ttl.stop()
        ctx = request_context()
        dynamodb_table(ddb, ctx, "src")
        exp = {"N": str(int(runtime.now() + 86400))}
        for start in range(0, ITEMS, 25):
            puts = [
                {"PutRequest": {"Item": {"id": {"S": f"i{k}"}, "exp": exp}}} for k in range(start, start + 25)
            ]
            ddb.batch_write_item(ctx, {"RequestItems": {"src": puts}})
        ddb.update_time_to_live(ctx, TTL)
        await runtime.store.flushed()
        return indexed(runtime)

    async def after(runtime: Runtime, ddb: Any) -> list[Any]:
        ddb.ttl.stop()
        await walked(runtime, ddb)
        return [indexed(runtime), status(ddb, request_context())]

    assert 0 < in_process(tmp_path, "dynamodb", before) < ITEMS  # stopped with the walk under way
    assert in_process(tmp_path, "dynamodb", after) == [ITEMS, "ENABLED"]
