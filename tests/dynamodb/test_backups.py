"""On-demand backups and restores, against the real server with boto3."""

from __future__ import annotations

import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from gondwana.services.dynamodb.backups import FIRST_EXPIRY
from gondwana.services.dynamodb.storage import MIGRATIONS
from gondwana.storage.sqlite import SqliteStore
from tests.conftest import make_client
from tests.dynamodb.conftest import create, error, unique

GSI = {
    "IndexName": "by-g",
    "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
    "Projection": {"ProjectionType": "ALL"},
}


def table_with_items(ddb: Any, count: int = 30) -> str:
    name = create(ddb, ("id", "S"), ("r", "N"), more_attrs={"g": "S"}, GlobalSecondaryIndexes=[GSI])
    for i in range(count):
        item = {"id": {"S": f"h{i % 3}"}, "r": {"N": str(i)}, "v": {"S": "x" * i}}
        if i % 2:
            item["g"] = {"S": f"g{i % 4}"}  # sparse in the index
        ddb.put_item(TableName=name, Item=item)
    return name


def scan_all(ddb: Any, name: str, **extra: Any) -> list[dict[str, Any]]:
    items = ddb.scan(TableName=name, **extra)["Items"]
    return sorted(items, key=lambda i: (i["id"]["S"], int(i["r"]["N"])))


def test_backup_then_restore_is_the_table_at_backup_time(ddb: Any) -> None:
    name = table_with_items(ddb)
    before = scan_all(ddb, name)
    table = ddb.describe_table(TableName=name)["Table"]
    details = ddb.create_backup(TableName=name, BackupName="nightly.1")["BackupDetails"]
    arn = details["BackupArn"]
    assert arn.startswith(f"{table['TableArn']}/backup/")
    assert (details["BackupName"], details["BackupStatus"], details["BackupType"]) == (
        "nightly.1",
        "CREATING",
        "USER",
    )
    # Changes after the backup are not in it.
    ddb.put_item(TableName=name, Item={"id": {"S": "later"}, "r": {"N": "1"}})
    ddb.delete_item(TableName=name, Key={"id": {"S": "h0"}, "r": {"N": "0"}})

    described = ddb.describe_backup(BackupArn=arn)["BackupDescription"]
    assert described["BackupDetails"]["BackupStatus"] == "AVAILABLE"
    assert described["BackupDetails"]["BackupSizeBytes"] == table["TableSizeBytes"]
    source = described["SourceTableDetails"]
    assert (source["TableName"], source["TableId"], source["ItemCount"], source["BillingMode"]) == (
        name,
        table["TableId"],
        30,
        "PAY_PER_REQUEST",
    )
    assert described["SourceTableFeatureDetails"]["GlobalSecondaryIndexes"][0]["IndexName"] == "by-g"

    target = unique("restored")
    restored = ddb.restore_table_from_backup(TargetTableName=target, BackupArn=arn)["TableDescription"]
    assert restored["TableStatus"] == "CREATING"
    assert restored["RestoreSummary"]["SourceBackupArn"] == arn
    assert restored["RestoreSummary"]["SourceTableArn"] == table["TableArn"]
    ddb.get_waiter("table_exists").wait(TableName=target, WaiterConfig={"Delay": 0.1})
    now = ddb.describe_table(TableName=target)["Table"]
    assert "RestoreSummary" not in now  # (AWS shows it only while the restore is CREATING)
    assert (now["ItemCount"], now["TableSizeBytes"]) == (30, table["TableSizeBytes"])
    assert scan_all(ddb, target) == before
    # The index is rebuilt from the items (sparse: only those with g).
    by_g = ddb.query(
        TableName=target,
        IndexName="by-g",
        KeyConditionExpression="g = :g",
        ExpressionAttributeValues={":g": {"S": "g1"}},
    )["Items"]
    assert sorted(int(i["r"]["N"]) for i in by_g) == [i for i in range(30) if i % 2 and i % 4 == 1]
    assert now["GlobalSecondaryIndexes"][0]["ItemCount"] == 15
    # The restored table takes writes like any other.
    ddb.put_item(TableName=target, Item={"id": {"S": "new"}, "r": {"N": "0"}})
    assert ddb.describe_table(TableName=target)["Table"]["ItemCount"] == 31


def test_overrides_and_what_is_not_restored(ddb: Any) -> None:
    name = table_with_items(ddb, 4)
    ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    arn = ddb.create_backup(TableName=name, BackupName="b-1")["BackupDetails"]["BackupArn"]
    target = unique("restored")
    ddb.restore_table_from_backup(
        TargetTableName=target,
        BackupArn=arn,
        BillingModeOverride="PROVISIONED",
        ProvisionedThroughputOverride={"ReadCapacityUnits": 7, "WriteCapacityUnits": 3},
        GlobalSecondaryIndexOverride=[],
    )
    table = ddb.describe_table(TableName=target)["Table"]
    assert table["ProvisionedThroughput"]["ReadCapacityUnits"] == 7
    assert table.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED") == "PROVISIONED"
    assert "GlobalSecondaryIndexes" not in table
    assert (
        ddb.describe_time_to_live(TableName=target)["TimeToLiveDescription"]["TimeToLiveStatus"] == "DISABLED"
    )
    assert len(scan_all(ddb, target)) == 4


def test_list_backups_filters_and_pages(ddb: Any) -> None:
    one, two = table_with_items(ddb, 1), table_with_items(ddb, 1)
    start = time.time() - 5
    arns = [
        ddb.create_backup(TableName=one, BackupName=f"one-{i}")["BackupDetails"]["BackupArn"]
        for i in range(3)
    ]
    other = ddb.create_backup(TableName=two, BackupName="two-0")["BackupDetails"]["BackupArn"]
    listed = ddb.list_backups(TableName=one)["BackupSummaries"]
    assert [b["BackupArn"] for b in listed] == arns
    assert {b["TableName"] for b in listed} == {one} and listed[0]["BackupStatus"] == "AVAILABLE"
    page = ddb.list_backups(TableName=one, Limit=2)
    assert [b["BackupArn"] for b in page["BackupSummaries"]] == arns[:2]
    rest = ddb.list_backups(TableName=one, Limit=2, ExclusiveStartBackupArn=page["LastEvaluatedBackupArn"])
    assert [b["BackupArn"] for b in rest["BackupSummaries"]] == arns[
        2:
    ] and "LastEvaluatedBackupArn" not in rest
    every = [b["BackupArn"] for b in ddb.list_backups(TimeRangeLowerBound=start)["BackupSummaries"]]
    assert {*arns, other} <= set(every)
    assert ddb.list_backups(TableName=one, BackupType="SYSTEM")["BackupSummaries"] == []
    assert ddb.list_backups(TableName=one, TimeRangeUpperBound=start)["BackupSummaries"] == []


def test_errors(ddb: Any, client: Any) -> None:
    name = table_with_items(ddb, 1)
    with pytest.raises(ClientError) as exc:
        ddb.create_backup(TableName="no-such-table", BackupName="b-1")
    assert error(exc) == ("TableNotFoundException", "Table not found: no-such-table")
    arn = ddb.create_backup(TableName=name, BackupName="b-1")["BackupDetails"]["BackupArn"]
    with pytest.raises(ClientError) as exc:
        ddb.restore_table_from_backup(TargetTableName=name, BackupArn=arn)
    assert error(exc) == ("TableAlreadyExistsException", f"Table already exists: {name}")
    # Another region does not see the backup.
    with pytest.raises(ClientError) as exc:
        client("dynamodb", region="eu-west-1").describe_backup(BackupArn=arn)
    assert error(exc) == ("BackupNotFoundException", f"Backup not found: {arn}")
    with pytest.raises(ClientError) as exc:
        ddb.create_backup(TableName=name, BackupName="no spaces")
    assert error(exc)[0] == "ValidationException"
    # Deleting the table keeps its backups; deleting a backup answers DELETED, then it is gone.
    ddb.delete_table(TableName=name)
    gone = ddb.delete_backup(BackupArn=arn)["BackupDescription"]
    assert gone["BackupDetails"]["BackupStatus"] == "DELETED"
    with pytest.raises(ClientError) as exc:
        ddb.describe_backup(BackupArn=arn)
    assert error(exc) == ("BackupNotFoundException", f"Backup not found: {arn}")


def test_backups_survive_kill(fresh_server: Any) -> None:
    proc = fresh_server()
    ddb = make_client(proc.url, "dynamodb")
    name = table_with_items(ddb, 5)
    arn = ddb.create_backup(TableName=name, BackupName="b-1")["BackupDetails"]["BackupArn"]
    ddb.update_continuous_backups(
        TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    time.sleep(0.2)
    mid = float(proc.call("GET", "/_gondwana/clock")["now"])
    time.sleep(0.2)
    ddb.delete_item(TableName=name, Key={"id": {"S": "h0"}, "r": {"N": "0"}})  # recorded for recovery
    proc.kill()
    proc.start()
    ddb = make_client(proc.url, "dynamodb")
    assert ddb.describe_backup(BackupArn=arn)["BackupDescription"]["SourceTableDetails"]["ItemCount"] == 5
    target = unique("restored")
    ddb.restore_table_from_backup(TargetTableName=target, BackupArn=arn)
    assert len(scan_all(ddb, target)) == 5
    # The change before the kill can still be undone: the table as it was a moment before it (once
    # five minutes have passed: the latest restorable time lags that much, as on AWS).
    proc.advance_clock(301)
    again = unique("restored")
    ddb.restore_table_to_point_in_time(SourceTableName=name, TargetTableName=again, RestoreDateTime=mid)
    assert scan_all(ddb, again) == scan_all(ddb, target)


def test_restore_of_many_items(ddb: Any) -> None:
    """More items than a restore writes at once (they go in chunks)."""
    name = create(ddb)
    for start in range(0, 1050, 25):
        batch = [{"PutRequest": {"Item": {"id": {"S": f"k{i}"}}}} for i in range(start, start + 25)]
        ddb.batch_write_item(RequestItems={name: batch})
    arn = ddb.create_backup(TableName=name, BackupName="big")["BackupDetails"]["BackupArn"]
    target = unique("restored")
    ddb.restore_table_from_backup(TargetTableName=target, BackupArn=arn)
    # More than one pass writes when the machine is busy: the table is ACTIVE once all are written.
    ddb.get_waiter("table_exists").wait(TableName=target, WaiterConfig={"Delay": 0.05})
    assert ddb.describe_table(TableName=target)["Table"]["ItemCount"] == 1050
    assert ddb.scan(TableName=target, Select="COUNT")["Count"] == 1050


def items_of(ddb: Any, name: str) -> dict[str, int]:
    return {i["id"]["S"]: int(i["n"]["N"]) for i in ddb.scan(TableName=name, ConsistentRead=True)["Items"]}


def test_restore_to_point_in_time(fresh_server: Any) -> None:
    proc = fresh_server(in_memory=True)
    ddb = make_client(proc.url, "dynamodb")

    def now() -> float:
        return float(proc.call("GET", "/_gondwana/clock")["now"])

    name = create(ddb)
    ddb.put_item(TableName=name, Item={"id": {"S": "before"}, "n": {"N": "0"}})
    ddb.update_continuous_backups(
        TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    enabled = now()
    proc.advance_clock(60)
    ddb.put_item(TableName=name, Item={"id": {"S": "a"}, "n": {"N": "1"}})
    ddb.put_item(TableName=name, Item={"id": {"S": "b"}, "n": {"N": "1"}})
    first = now()
    proc.advance_clock(60)
    ddb.update_item(
        TableName=name,
        Key={"id": {"S": "a"}},
        UpdateExpression="SET n = n + :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
    )
    ddb.delete_item(TableName=name, Key={"id": {"S": "b"}})
    ddb.transact_write_items(
        TransactItems=[{"Put": {"TableName": name, "Item": {"id": {"S": "c"}, "n": {"N": "3"}}}}]
    )
    second = now()
    proc.advance_clock(60)
    ddb.put_item(TableName=name, Item={"id": {"S": "d"}, "n": {"N": "4"}})
    ddb.delete_item(TableName=name, Key={"id": {"S": "before"}})
    # The latest restorable time is five minutes back (as on AWS): nothing since can be restored yet.
    window = ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    latest_time = window["PointInTimeRecoveryDescription"]["LatestRestorableDateTime"].timestamp()
    assert latest_time == pytest.approx(enabled, abs=0.01)  # (and no earlier than the enabling)
    with pytest.raises(ClientError) as exc:
        ddb.restore_table_to_point_in_time(
            SourceTableName=name, TargetTableName=unique("pitr"), RestoreDateTime=second
        )
    assert error(exc)[0] == "InvalidRestoreTimeException"
    proc.advance_clock(300)

    expected = {
        enabled: {"before": 0},
        first: {"before": 0, "a": 1, "b": 1},
        second: {"before": 0, "a": 2, "c": 3},
    }
    for when, items in expected.items():
        target = unique("pitr")
        out = ddb.restore_table_to_point_in_time(
            SourceTableName=name, TargetTableName=target, RestoreDateTime=when
        )
        summary = out["TableDescription"]["RestoreSummary"]
        assert summary["SourceTableArn"].endswith(f":table/{name}") and summary["RestoreInProgress"] is True
        assert items_of(ddb, target) == items
        assert ddb.describe_table(TableName=target)["Table"]["ItemCount"] == len(items)
    latest = unique("pitr")
    arn = ddb.describe_table(TableName=name)["Table"]["TableArn"]
    ddb.restore_table_to_point_in_time(
        SourceTableArn=arn, TargetTableName=latest, UseLatestRestorableTime=True
    )
    assert items_of(ddb, latest) == {"a": 2, "c": 3, "d": 4}

    # Outside the window, a table without recovery, a target that exists.
    with pytest.raises(ClientError) as exc:
        ddb.restore_table_to_point_in_time(
            SourceTableName=name, TargetTableName=unique("pitr"), RestoreDateTime=enabled - 10
        )
    assert error(exc)[0] == "InvalidRestoreTimeException"
    with pytest.raises(ClientError) as exc:
        ddb.restore_table_to_point_in_time(
            SourceTableName=name, TargetTableName=latest, UseLatestRestorableTime=True
        )
    assert error(exc) == ("TableAlreadyExistsException", f"Table already exists: {latest}")
    with pytest.raises(ClientError) as exc:
        ddb.restore_table_to_point_in_time(
            SourceTableName="nope", TargetTableName="t-1", UseLatestRestorableTime=True
        )
    assert error(exc) == ("TableNotFoundException", "Table not found: nope")
    with pytest.raises(ClientError) as exc:  # by ARN, AWS's message names no table
        ddb.restore_table_to_point_in_time(
            SourceTableArn=arn.replace(name, "nope"), TargetTableName="t-1", UseLatestRestorableTime=True
        )
    assert error(exc) == ("TableNotFoundException", "Table not found")
    ddb.update_continuous_backups(
        TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False}
    )
    with pytest.raises(ClientError) as exc:
        ddb.restore_table_to_point_in_time(
            SourceTableName=name, TargetTableName="t-2", UseLatestRestorableTime=True
        )
    assert error(exc) == (
        "PointInTimeRecoveryUnavailableException",
        f"Point in time recovery is not enabled for table '{name}'",
    )
    # Enabled again, the window starts afresh: the earlier history is gone.
    ddb.update_continuous_backups(
        TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    with pytest.raises(ClientError) as exc:
        ddb.restore_table_to_point_in_time(
            SourceTableName=name, TargetTableName="t-3", RestoreDateTime=second
        )
    assert error(exc)[0] == "InvalidRestoreTimeException"
    # 36 days on, the sweeper has forgotten what no recovery period reaches; restores go on.
    ddb.put_item(TableName=name, Item={"id": {"S": "e"}, "n": {"N": "5"}})
    proc.advance_clock(36 * 86400)
    time.sleep(1.5)  # a sweep (every second)
    target = unique("pitr")
    ddb.restore_table_to_point_in_time(
        SourceTableName=name, TargetTableName=target, UseLatestRestorableTime=True
    )
    assert items_of(ddb, target) == {"a": 2, "c": 3, "d": 4, "e": 5}


def test_restore_keeps_local_indexes_and_encryption(ddb: Any) -> None:
    name = create(
        ddb,
        ("id", "S"),
        ("r", "N"),
        more_attrs={"l": "N"},
        LocalSecondaryIndexes=[
            {
                "IndexName": "by-l",
                "KeySchema": [
                    {"AttributeName": "id", "KeyType": "HASH"},
                    {"AttributeName": "l", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
        SSESpecification={"Enabled": True, "SSEType": "KMS"},
        TableClass="STANDARD_INFREQUENT_ACCESS",
    )
    for i in range(5):
        ddb.put_item(TableName=name, Item={"id": {"S": "h"}, "r": {"N": str(i)}, "l": {"N": str(10 - i)}})
    arn = ddb.create_backup(TableName=name, BackupName="lsi")["BackupDetails"]["BackupArn"]
    features = ddb.describe_backup(BackupArn=arn)["BackupDescription"]["SourceTableFeatureDetails"]
    assert features["LocalSecondaryIndexes"][0]["IndexName"] == "by-l"
    assert features["SSEDescription"]["SSEType"] == "KMS"
    target = unique("restored")
    ddb.restore_table_from_backup(TargetTableName=target, BackupArn=arn)
    table = ddb.describe_table(TableName=target)["Table"]
    assert table["SSEDescription"]["SSEType"] == "KMS"
    assert table.get("TableClassSummary", {}).get("TableClass", "STANDARD") == "STANDARD"  # not restored
    by_l = ddb.query(
        TableName=target,
        IndexName="by-l",
        KeyConditionExpression="id = :h",
        ExpressionAttributeValues={":h": {"S": "h"}},
    )["Items"]
    assert [int(i["l"]["N"]) for i in by_l] == [6, 7, 8, 9, 10]


def test_backup_arns_as_aws_matches_them(ddb: Any, client: Any) -> None:
    name = table_with_items(ddb, 1)
    arn = ddb.create_backup(TableName=name, BackupName="arns")["BackupDetails"]["BackupArn"]
    assert (
        arn.split("/backup/")[1].endswith(tuple("0123456789abcdef")) and len(arn.split("/backup/")[1]) == 23
    )
    # Another region in the ARN: found in the caller's region all the same, the ARN echoed as given.
    elsewhere = arn.replace(":us-east-1:", ":eu-west-1:")
    assert (
        ddb.describe_backup(BackupArn=elsewhere)["BackupDescription"]["BackupDetails"]["BackupArn"]
        == elsewhere
    )
    cases = [
        (arn.replace(":000000000000:", ":111111111111:"), ("AccessDeniedException", "Access is denied")),
        (
            arn.replace(":us-east-1:", ":xx-fake-1:"),
            ("ValidationException", "Invalid Request: BackupArn is not valid"),
        ),
        (arn.split("/backup/")[0] + "/stream/x" * 4, ("ValidationException", "Invalid Backup ARN")),
    ]
    for bad, expected in cases:
        with pytest.raises(ClientError) as exc:
            ddb.describe_backup(BackupArn=bad)
        assert error(exc) == expected
    # ListBackups: the range's bounds in order; a cursor is a position, even once its backup is gone.
    with pytest.raises(ClientError) as exc:
        ddb.list_backups(TimeRangeLowerBound=2000, TimeRangeUpperBound=1000)
    assert error(exc) == (
        "ValidationException",
        "One or more parameter values were invalid: Time range lower bound must be less than or equal to upper "
        "bound",
    )
    later = [
        ddb.create_backup(TableName=name, BackupName=f"b-{i}")["BackupDetails"]["BackupArn"] for i in range(2)
    ]
    ddb.delete_backup(BackupArn=later[0])
    rest = ddb.list_backups(TableName=name, ExclusiveStartBackupArn=later[0])["BackupSummaries"]
    assert [b["BackupArn"] for b in rest] == [later[1]]


def test_deleting_a_table_with_recovery_keeps_a_system_backup(ddb: Any) -> None:
    name = table_with_items(ddb, 3)
    ddb.update_continuous_backups(
        TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    ddb.delete_table(TableName=name)
    assert ddb.list_backups(TableName=name)["BackupSummaries"] == []  # USER by default
    (kept,) = ddb.list_backups(TableName=name, BackupType="SYSTEM")["BackupSummaries"]
    assert (kept["BackupName"], kept["BackupType"]) == (f"{name}$DeletedTableBackup", "SYSTEM")
    assert kept["BackupArn"].endswith("-00000000")
    expiry = kept["BackupExpiryDateTime"] - kept["BackupCreationDateTime"]
    assert abs(expiry.total_seconds() - 35 * 86400) < 1
    assert ddb.list_backups(TableName=name, BackupType="ALL")["BackupSummaries"] == [kept]
    with pytest.raises(ClientError) as exc:
        ddb.delete_backup(BackupArn=kept["BackupArn"])
    assert error(exc)[0] == "ValidationException"
    assert error(exc)[1].startswith(
        f"Invalid Request: User is not allowed to delete the system backup with arn {kept['BackupArn']}."
    )
    target = unique("revived")
    ddb.restore_table_from_backup(TargetTableName=target, BackupArn=kept["BackupArn"])
    assert len(scan_all(ddb, target)) == 3


def test_a_system_backup_expires_after_35_days(fresh_server: Any) -> None:
    proc = fresh_server(in_memory=True)
    ddb = make_client(proc.url, "dynamodb")
    name = table_with_items(ddb, 2)
    ddb.update_continuous_backups(
        TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    ddb.delete_table(TableName=name)
    (kept,) = ddb.list_backups(BackupType="SYSTEM")["BackupSummaries"]
    proc.advance_clock(35 * 86400 + 1)
    time.sleep(1.5)  # a sweep
    assert ddb.list_backups(BackupType="ALL")["BackupSummaries"] == []
    with pytest.raises(ClientError) as exc:
        ddb.describe_backup(BackupArn=kept["BackupArn"])
    assert error(exc)[0] == "BackupNotFoundException"


def test_backups_and_restores_in_transition(fresh_server: Any) -> None:
    """With a state delay: a CREATING table cannot be backed up (AWS answers as for a missing
    table), and a backup feeds one restore at a time."""
    proc = fresh_server("--state-delay", "500", in_memory=True)
    ddb = make_client(proc.url, "dynamodb")
    name = create(ddb)
    with pytest.raises(ClientError) as exc:
        ddb.create_backup(TableName=name, BackupName="early")
    assert error(exc) == ("TableNotFoundException", f"Table not found: {name}")
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.2})
    arn = ddb.create_backup(TableName=name, BackupName="b-1")["BackupDetails"]["BackupArn"]
    other = ddb.create_backup(TableName=name, BackupName="b-2")["BackupDetails"]["BackupArn"]
    time.sleep(0.6)  # AVAILABLE
    one = unique("one")
    ddb.restore_table_from_backup(TargetTableName=one, BackupArn=arn)
    with pytest.raises(ClientError) as exc:  # its target is taken while it restores
        ddb.restore_table_from_backup(TargetTableName=one, BackupArn=other)
    assert error(exc) == ("TableInUseException", f"Table: {one} is already being restored from backup: {arn}")
    with pytest.raises(ClientError) as exc:
        ddb.restore_table_from_backup(TargetTableName=unique("two"), BackupArn=arn)
    assert error(exc) == ("BackupInUseException", f"Backup is being used to restore another table: {arn}")
    with pytest.raises(ClientError) as exc:
        ddb.delete_backup(BackupArn=arn)
    assert error(exc) == ("BackupInUseException", f"Backup is being used to restore table: {arn}")
    time.sleep(0.6)  # the first restore's table is ACTIVE
    ddb.restore_table_from_backup(TargetTableName=unique("two"), BackupArn=arn)


def test_restore_requests_aws_refuses(ddb: Any) -> None:
    name = table_with_items(ddb, 1)
    ddb.update_continuous_backups(
        TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    arn = ddb.describe_table(TableName=name)["Table"]["TableArn"]
    target = unique("pitr")
    point = [
        (
            {"SourceTableName": name, "SourceTableArn": arn, "UseLatestRestorableTime": True},
            "Must provide exactly one of: sourceTableArn, sourceTableName",
        ),
        ({"UseLatestRestorableTime": True}, "The parameter 'TableName' is required but was not present in the request"),
        ({"SourceTableName": name}, "Invalid Request: Either one of RestoreDateTime or UseLatestRestorableTime"),
        (
            {"SourceTableName": name, "UseLatestRestorableTime": True, "RestoreDateTime": time.time()},
            "Invalid Request: Both RestoreDateTime and UseLatestRestorableTime cannot be set",
        ),
        ({"SourceTableArn": "arn:aws:sqs:us-east-1:000000000000:q", "UseLatestRestorableTime": True},
         "sourceTableArn is not a valid ARN"),
        (
            {"SourceTableArn": arn.replace(":000000000000:", ":111111111111:"), "UseLatestRestorableTime": True},
            "This action is only supported by accounts that match the resource owner’s account.",
        ),
    ]  # fmt: skip
    for params, message in point:
        with pytest.raises(ClientError) as exc:
            ddb.restore_table_to_point_in_time(TargetTableName=target, **params)
        assert error(exc)[0] == "ValidationException" and error(exc)[1].startswith(message), error(exc)
    with pytest.raises(ClientError) as exc:
        ddb.restore_table_to_point_in_time(SourceTableName=name, TargetTableName=target, RestoreDateTime=0)
    code, message = error(exc)
    assert code == "InvalidRestoreTimeException"
    assert message.startswith(
        "RestoreDateTime '1970-01-01T00:00:00Z' must be within EarliestRestorableDateTime '"
    )

    backup = ddb.create_backup(TableName=name, BackupName="overrides")["BackupDetails"]["BackupArn"]
    overrides = [
        (
            {"ProvisionedThroughputOverride": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}},
            "Invalid Request: Cannot override ProvisionedThroughput unless BillingMode is PROVISIONED",
        ),
        (
            {"BillingModeOverride": "PROVISIONED"},
            "Invalid Request: Must override ProvisionedThroughput if BillingMode is overridden to PROVISIONED",
        ),
        (
            {
                "GlobalSecondaryIndexOverride": [
                    {**GSI, "IndexName": "new-one", "KeySchema": [{"AttributeName": "r", "KeyType": "HASH"}]}
                ]
            },
            "Invalid Request: Index new-one does not match a secondary index that existed in the source table and cannot be "
            "created during the restore operation",
        ),
    ]
    for params, message in overrides:
        with pytest.raises(ClientError) as exc:
            ddb.restore_table_from_backup(TargetTableName=target, BackupArn=backup, **params)
        assert error(exc) == ("ValidationException", message)
    with pytest.raises(ClientError) as exc:
        ddb.describe_table(TableName=target)
    assert error(exc)[0] == "ResourceNotFoundException"  # nothing was created by any of these
    # An index may be renamed (the same keys and projection).
    ddb.restore_table_from_backup(
        TargetTableName=target,
        BackupArn=backup,
        GlobalSecondaryIndexOverride=[{**GSI, "IndexName": "renamed"}],
    )
    indexes = ddb.describe_table(TableName=target)["Table"]["GlobalSecondaryIndexes"]
    assert [i["IndexName"] for i in indexes] == ["renamed"]


def test_the_sweepers_look_for_expired_system_backups_reads_an_index(tmp_path: Any) -> None:
    """Every second: the first expiry time from the index (it scanned every backup: 2-6 ms at
    10,000 backups)."""
    store = SqliteStore(tmp_path / "backups.db")
    try:
        store.register("dynamodb", MIGRATIONS)
        plan = [row[-1] for row in store.query(f"EXPLAIN QUERY PLAN {FIRST_EXPIRY}")]
        assert plan == ["SEARCH dynamodb_backups USING COVERING INDEX dynamodb_backups_by_expiry (expires>?)"]
    finally:
        store.close()
