"""RestoreTableToPointInTime fills the new table in background passes (built whole in the call,
100,000 items held up every request for 1.6 s), and it still holds the source exactly as it was at
the time asked, however the source changes meanwhile: items changed, deleted and made after that
time, before the restore and during it. Across a restart, a deleted source (whose rows go once
the restore is done), and the source's recovery turned off (its changes recorded until then)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from gondwana.runtime import Runtime
from gondwana.services.dynamodb import background, recovery
from tests.dynamodb.test_backup_passes import ITEMS, filled, restored, write_meanwhile
from tests.support.inprocess import in_process, request_context


@pytest.fixture(autouse=True)
def small_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recovery, "ROWS", 20)
    monkeypatch.setattr(background, "QUANTUM", 0.0)  # one chunk a pass


def history(runtime: Runtime, ddb: Any, ctx: Any) -> dict[str, int]:
    """A table filled, then recovery turned on; five minutes and more later (the latest restorable
    time is five minutes back), its items changed: the table as it was then, by id."""
    then = filled(ddb, ctx)
    ddb.update_continuous_backups(
        ctx, {"TableName": "src", "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True}}
    )
    runtime.clock.offset += 400
    write_meanwhile(ddb, ctx, 0)
    return then


def recover(ddb: Any, ctx: Any, target: str) -> None:
    ddb.restore_table_to_point_in_time(
        ctx, {"SourceTableName": "src", "TargetTableName": target, "UseLatestRestorableTime": True}
    )


def target_rows(runtime: Runtime, target: str) -> int:
    return runtime.store.query_one(
        "SELECT COUNT(*) FROM dynamodb_items i JOIN dynamodb_tables t ON t.tid = i.tid WHERE t.name = ?",
        (target,),
    )[0]


def test_changes_before_and_during_the_restore_leave_it_as_the_table_was(tmp_path: Path) -> None:
    async def scenario(runtime: Runtime, ddb: Any) -> dict[str, Any]:
        ctx = request_context()
        seen: dict[str, Any] = {"then": history(runtime, ddb, ctx)}
        recover(ddb, ctx, "back")
        seen["in the call"] = target_rows(runtime, "back")
        seen["status"] = ddb.describe_table(ctx, {"TableName": "back"})["Table"]["TableStatus"]
        write_meanwhile(ddb, ctx, 1)  # before any pass
        await asyncio.sleep(0.01)
        write_meanwhile(ddb, ctx, 2)  # after a few
        seen["back"] = await restored_table(runtime, ddb, ctx, "back")
        seen["count"] = ddb.describe_table(ctx, {"TableName": "back"})["Table"]["ItemCount"]
        return seen

    seen = in_process(tmp_path, "dynamodb", scenario)
    assert seen["in the call"] < ITEMS and seen["status"] == "CREATING"
    assert seen["back"] == seen["then"] and seen["count"] == ITEMS


async def restored_table(runtime: Runtime, ddb: Any, ctx: Any, target: str) -> dict[str, int]:
    """The target's items once it is ACTIVE (restored() also asks for the restore: not here)."""
    return await restored(runtime, ddb, ctx, None, target)


def test_the_restore_goes_on_from_a_deleted_source_and_then_its_rows_go(tmp_path: Path) -> None:
    """DeleteTable on the source wrote the rest of the restore in the call (1.6 s per 100,000
    items, every request waiting); the restore now reads on from the rows the deleted table leaves,
    which go to the reclaimer once it is done."""

    async def scenario(runtime: Runtime, ddb: Any) -> Any:
        ctx = request_context()
        then = history(runtime, ddb, ctx)
        recover(ddb, ctx, "back")
        source = ddb.table_store.get(ctx.account, ctx.region, "src").tid
        ddb.delete_table(ctx, {"TableName": "src"})
        in_the_call = target_rows(runtime, "back")
        same = await restored_table(runtime, ddb, ctx, "back") == then
        for _ in range(200):  # the reclaimer's passes
            left = [rows_of(runtime, table, source) for table in ("dynamodb_items", "dynamodb_pitr_changes")]
            if left == [0, 0]:
                break
            await asyncio.sleep(0.01)
        return [in_the_call < ITEMS, same, left]

    assert in_process(tmp_path, "dynamodb", scenario) == [True, True, [0, 0]]


def rows_of(runtime: Runtime, table: str, tid: int) -> int:
    return runtime.store.query_one(f"SELECT COUNT(*) FROM {table} WHERE tid = ?", (tid,))[0]


def turn_recovery_off(ddb: Any, ctx: Any) -> str:
    """Recovery off on the source: its status as described then."""
    off = {"PointInTimeRecoveryEnabled": False}
    ddb.update_continuous_backups(ctx, {"TableName": "src", "PointInTimeRecoverySpecification": off})
    described = ddb.describe_continuous_backups(ctx, {"TableName": "src"})["ContinuousBackupsDescription"]
    return described["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"]


def test_the_source_records_for_its_restores_after_recovery_is_turned_off(tmp_path: Path) -> None:
    """Turning the source's recovery off wrote the rest of its restores in the call (as long as
    writing them takes, every request waiting); its changes are now recorded until they are done."""

    async def scenario(runtime: Runtime, ddb: Any) -> Any:
        ctx = request_context()
        then = history(runtime, ddb, ctx)
        recover(ddb, ctx, "back")
        source = ddb.table_store.get(ctx.account, ctx.region, "src").tid
        seen: dict[str, Any] = {"status": turn_recovery_off(ddb, ctx)}
        seen["in the call"] = target_rows(runtime, "back") < ITEMS
        write_meanwhile(ddb, ctx, 1)  # recorded still: the restore reads the images they replaced
        seen["same"] = await restored_table(runtime, ddb, ctx, "back") == then
        recorded = rows_of(runtime, "dynamodb_pitr_changes", source)
        write_meanwhile(ddb, ctx, 2)  # the restore is done: recorded no more
        seen["recorded after"] = rows_of(runtime, "dynamodb_pitr_changes", source) - recorded
        return seen

    assert in_process(tmp_path, "dynamodb", scenario) == {
        "status": "DISABLED",
        "in the call": True,
        "same": True,
        "recorded after": 0,
    }


def test_the_source_records_for_its_restores_across_a_restart(tmp_path: Path) -> None:
    async def before(runtime: Runtime, ddb: Any) -> Any:
        ctx = request_context()
        then = history(runtime, ddb, ctx)
        recover(ddb, ctx, "back")
        turn_recovery_off(ddb, ctx)
        await runtime.store.flushed()
        return [then, runtime.clock.offset, target_rows(runtime, "back")]

    async def after(runtime: Runtime, ddb: Any) -> Any:
        runtime.clock.offset = offset
        ctx = request_context()
        write_meanwhile(ddb, ctx, 1)
        return await restored_table(runtime, ddb, ctx, "back")

    then, offset, written = in_process(tmp_path, "dynamodb", before)
    assert written < ITEMS
    assert in_process(tmp_path, "dynamodb", after) == then


def test_a_restore_goes_on_after_a_restart(tmp_path: Path) -> None:
    async def before(runtime: Runtime, ddb: Any) -> Any:
        ctx = request_context()
        then = history(runtime, ddb, ctx)
        recover(ddb, ctx, "back")
        await runtime.store.flushed()
        return [then, runtime.clock.offset, target_rows(runtime, "back")]

    async def after(runtime: Runtime, ddb: Any) -> Any:
        runtime.clock.offset = offset  # the test clock is memory: where it was
        ctx = request_context()
        write_meanwhile(ddb, ctx, 1)
        return await restored_table(runtime, ddb, ctx, "back")

    then, offset, written = in_process(tmp_path, "dynamodb", before)
    assert written < ITEMS  # stopped with the restore under way
    assert in_process(tmp_path, "dynamodb", after) == then


def test_a_restore_from_a_deleted_source_goes_on_after_a_restart(tmp_path: Path) -> None:
    async def before(runtime: Runtime, ddb: Any) -> Any:
        ctx = request_context()
        then = history(runtime, ddb, ctx)
        recover(ddb, ctx, "back")
        ddb.delete_table(ctx, {"TableName": "src"})
        await runtime.store.flushed()
        return [then, runtime.clock.offset, target_rows(runtime, "back")]

    async def after(runtime: Runtime, ddb: Any) -> Any:
        runtime.clock.offset = offset
        return await restored_table(runtime, ddb, request_context(), "back")

    then, offset, written = in_process(tmp_path, "dynamodb", before)
    assert written < ITEMS
    assert in_process(tmp_path, "dynamodb", after) == then
