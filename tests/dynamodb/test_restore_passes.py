"""A restore from a backup too large to write within the RestoreTableFromBackup call goes on in
the background: the table CREATING meanwhile (its data refused, its backup held), then ACTIVE with
exactly the backup's items, a kill -9 in the middle included."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import make_client
from tests.dynamodb.conftest import error
from tests.dynamodb.test_gsi_backfill import ITEMS, filled, pages
from tests.support.server import ServerProcess


def backed_up(ddb: Any) -> tuple[str, str, list[dict[str, Any]]]:
    """A filled table, a backup of it, and its items as they were then."""
    name = filled(ddb)
    arn = ddb.create_backup(TableName=name, BackupName="whole")["BackupDetails"]["BackupArn"]
    items = pages(ddb.scan, TableName=name)
    ddb.delete_item(TableName=name, Key={"id": {"S": "i0"}})  # after the backup: not restored
    return name, arn, items


def until_active(ddb: Any, name: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while (table := ddb.describe_table(TableName=name)["Table"])["TableStatus"] != "ACTIVE":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    return table


def check_restored(ddb: Any, target: str, items: list[dict[str, Any]]) -> None:
    table = until_active(ddb, target)
    assert "RestoreInProgress" not in table.get("RestoreSummary", {})
    assert table["ItemCount"] == len(items) == ITEMS
    by_id = lambda item: item["id"]["S"]  # noqa: E731
    assert sorted(pages(ddb.scan, TableName=target), key=by_id) == sorted(items, key=by_id)


def test_a_large_restore_goes_on_while_the_table_is_creating(ddb: Any) -> None:
    _, arn, items = backed_up(ddb)
    target = f"restored-{time.monotonic_ns()}"
    out = ddb.restore_table_from_backup(TargetTableName=target, BackupArn=arn)["TableDescription"]
    assert out["TableStatus"] == "CREATING"
    assert out["RestoreSummary"]["RestoreInProgress"] is True
    with pytest.raises(ClientError) as exc:
        ddb.get_item(TableName=target, Key={"id": {"S": "i1"}})
    assert error(exc)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        ddb.delete_backup(BackupArn=arn)
    assert error(exc) == ("BackupInUseException", f"Backup is being used to restore table: {arn}")
    check_restored(ddb, target, items)
    ddb.delete_backup(BackupArn=arn)  # free again


def test_a_restore_goes_on_after_a_kill(fresh_server: Callable[..., ServerProcess]) -> None:
    proc = fresh_server()
    ddb = make_client(proc.url, "dynamodb")
    _, arn, items = backed_up(ddb)
    ddb.restore_table_from_backup(TargetTableName="restored", BackupArn=arn)
    proc.kill()
    proc.start()
    check_restored(make_client(proc.url, "dynamodb"), "restored", items)
