"""CreateBackup copies the table's items in background passes (copied in the call, 100,000 small items
held up every request for 0.17 s), yet the backup holds the table exactly as it was at the request:
writes meanwhile keep what they change for it first. CREATING until copied (no restore meanwhile),
across a restart, and from a table deleted meanwhile, whose items go once copied. The SYSTEM
backup DeleteTable leaves is copied the same way."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from gondwana.protocols.errors import ServiceError
from gondwana.runtime import Runtime
from gondwana.services.dynamodb import background, snapshots
from tests.support.inprocess import dynamodb_table, in_process, request_context

ITEMS = 400


@pytest.fixture(autouse=True)
def small_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(snapshots, "ROWS", 25)  # 16 chunks
    monkeypatch.setattr(background, "QUANTUM", 0.0)  # one chunk a pass


def filled(ddb: Any, ctx: Any) -> dict[str, int]:
    dynamodb_table(ddb, ctx, "src")
    for start in range(0, ITEMS, 25):
        puts = [
            {"PutRequest": {"Item": {"id": {"S": f"i{k}"}, "n": {"N": str(k)}}}}
            for k in range(start, start + 25)
        ]
        ddb.batch_write_item(ctx, {"RequestItems": {"src": puts}})
    return {f"i{k}": k for k in range(ITEMS)}


def backed_up(ddb: Any, ctx: Any) -> tuple[dict[str, int], str]:
    """The table filled (its items, by id) and a backup of it asked for, then items changed."""
    snapshot = filled(ddb, ctx)
    arn = ddb.create_backup(ctx, {"TableName": "src", "BackupName": "b"})["BackupDetails"]["BackupArn"]
    write_meanwhile(ddb, ctx, 0)
    return snapshot, arn


def write_meanwhile(ddb: Any, ctx: Any, round_: int) -> None:
    """Items changed, deleted and made, all over the key space."""
    for k in range(round_, ITEMS, 7):
        ddb.put_item(ctx, {"TableName": "src", "Item": {"id": {"S": f"i{k}"}, "n": {"N": str(-k)}}})
    for k in range(round_ + 3, ITEMS, 11):
        ddb.delete_item(ctx, {"TableName": "src", "Key": {"id": {"S": f"i{k}"}}})
    for k in range(5):
        ddb.put_item(ctx, {"TableName": "src", "Item": {"id": {"S": f"new{round_}-{k}"}, "n": {"N": "0"}}})


def status(ddb: Any, ctx: Any, arn: str) -> str:
    return ddb.describe_backup(ctx, {"BackupArn": arn})["BackupDescription"]["BackupDetails"]["BackupStatus"]


async def available(ddb: Any, ctx: Any, arn: str) -> None:
    for _ in range(2000):
        if status(ddb, ctx, arn) == "AVAILABLE":
            return
        await asyncio.sleep(0.002)
    raise AssertionError("the backup never became available")


async def restored(runtime: Runtime, ddb: Any, ctx: Any, arn: str | None, target: str) -> dict[str, int]:
    """The items of `target` once ACTIVE, restored from the backup `arn` (None: restoring already)."""
    if arn is not None:
        ddb.restore_table_from_backup(ctx, {"TargetTableName": target, "BackupArn": arn})
    for _ in range(2000):
        if ddb.describe_table(ctx, {"TableName": target})["Table"]["TableStatus"] == "ACTIVE":
            break
        await asyncio.sleep(0.002)
    await runtime.store.flushed()
    rows = runtime.store.query(
        "SELECT i.item FROM dynamodb_items i JOIN dynamodb_tables t ON t.tid = i.tid WHERE t.name = ?",
        (target,),
    )
    return {item["id"]["S"]: int(item["n"]["N"]) for item in (json.loads(text) for (text,) in rows)}


def left_behind(runtime: Runtime) -> list[int]:
    store = runtime.store
    return [
        store.query_one("SELECT COUNT(*) FROM dynamodb_backups WHERE walked IS NOT NULL")[0],
        store.query_one("SELECT COUNT(*) FROM dynamodb_snapshot_keys")[0],
    ]


def test_writes_during_the_copy_leave_the_backup_as_the_table_was(tmp_path: Path) -> None:
    async def scenario(runtime: Runtime, ddb: Any) -> dict[str, Any]:
        ctx = request_context()
        seen: dict[str, Any] = {"snapshot": filled(ddb, ctx)}
        await runtime.store.flushed()
        arn = ddb.create_backup(ctx, {"TableName": "src", "BackupName": "b"})["BackupDetails"]["BackupArn"]
        seen["copied in the call"] = runtime.store.query_one("SELECT COUNT(*) FROM dynamodb_backup_items")[0]
        seen["status"] = status(ddb, ctx, arn)
        try:
            ddb.restore_table_from_backup(ctx, {"TargetTableName": "early", "BackupArn": arn})
        except ServiceError as exc:
            seen["early restore"] = (exc.code, exc.message)
        write_meanwhile(ddb, ctx, 0)  # before any pass
        await asyncio.sleep(0.01)
        write_meanwhile(ddb, ctx, 1)  # after a few
        await available(ddb, ctx, arn)
        seen["backup"] = await restored(runtime, ddb, ctx, arn, "back")
        seen["rows"] = runtime.store.query_one(
            "SELECT COUNT(*) FROM dynamodb_backup_items WHERE backup = (SELECT id FROM dynamodb_backups WHERE name = 'b')"
        )[0]  # each item once
        seen["table now"] = await restored(runtime, ddb, ctx, await later_backup(ddb, ctx), "now")
        await asyncio.sleep(0.05)  # the reclaimer's passes
        seen["left"] = left_behind(runtime)
        return seen

    seen = in_process(tmp_path, "dynamodb", scenario)
    assert seen["copied in the call"] < ITEMS  # not whole in the call
    assert seen["status"] == "CREATING"
    assert seen["early restore"][0] == "BackupInUseException"
    assert seen["backup"] == seen["snapshot"] and seen["rows"] == ITEMS
    assert seen["table now"] != seen["snapshot"]  # the writes did happen
    assert seen["left"] == [0, 0]


async def later_backup(ddb: Any, ctx: Any) -> str:
    arn = ddb.create_backup(ctx, {"TableName": "src", "BackupName": "after"})["BackupDetails"]["BackupArn"]
    await available(ddb, ctx, arn)
    return arn


def test_a_copy_goes_on_after_a_restart(tmp_path: Path) -> None:
    async def before(runtime: Runtime, ddb: Any) -> Any:
        snapshot, arn = backed_up(ddb, request_context())
        await runtime.store.flushed()
        return [snapshot, arn, left_behind(runtime)[0]]  # stopped with the copy under way

    async def after(runtime: Runtime, ddb: Any) -> Any:
        ctx = request_context()
        write_meanwhile(ddb, ctx, 1)
        await available(ddb, ctx, arn)
        return await restored(runtime, ddb, ctx, arn, "back")

    snapshot, arn, walking = in_process(tmp_path, "dynamodb", before)
    assert walking == 1
    assert in_process(tmp_path, "dynamodb", after) == snapshot


def items_of_dropped(runtime: Runtime) -> int:
    return runtime.store.query_one(
        "SELECT COUNT(*) FROM dynamodb_items WHERE tid NOT IN (SELECT tid FROM dynamodb_tables)"
    )[0]


def test_a_copy_goes_on_from_a_deleted_table(tmp_path: Path) -> None:
    """The table's items stay until the copy is done, then go to the reclaimer."""

    async def scenario(runtime: Runtime, ddb: Any) -> Any:
        snapshot, arn = backed_up(ddb, ctx := request_context())
        ddb.delete_table(ctx, {"TableName": "src"})
        kept = items_of_dropped(runtime)
        await available(ddb, ctx, arn)
        back = await restored(runtime, ddb, ctx, arn, "back")
        await asyncio.sleep(0.05)  # the reclaimer's passes
        return [kept > 0, back == snapshot, items_of_dropped(runtime)]

    assert in_process(tmp_path, "dynamodb", scenario) == [True, True, 0]


def test_the_backup_a_deleted_table_leaves_is_copied_in_passes(tmp_path: Path) -> None:
    """With point-in-time recovery on, DeleteTable leaves a SYSTEM backup: the table as deleted."""

    async def scenario(runtime: Runtime, ddb: Any) -> Any:
        ctx = request_context()
        filled(ddb, ctx)
        write_meanwhile(ddb, ctx, 0)
        ddb.update_continuous_backups(
            ctx,
            {"TableName": "src", "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True}},
        )
        last = await restored(runtime, ddb, ctx, await later_backup(ddb, ctx), "last")
        arn = ddb.delete_table(ctx, {"TableName": "src"})["TableDescription"]["TableArn"]
        listed = ddb.list_backups(ctx, {"BackupType": "SYSTEM"})["BackupSummaries"]
        system = next(b["BackupArn"] for b in listed if b["TableArn"] == arn)
        copied = runtime.store.query_one(
            "SELECT COUNT(*) FROM dynamodb_backup_items WHERE backup = (SELECT MAX(id) FROM dynamodb_backups)"
        )[0]
        await available(ddb, ctx, system)
        back = await restored(runtime, ddb, ctx, system, "back")
        await asyncio.sleep(0.05)
        return [copied < len(last), back == last, items_of_dropped(runtime)]

    assert in_process(tmp_path, "dynamodb", scenario) == [True, True, 0]
