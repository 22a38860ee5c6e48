"""UpdateTable's rules, in AWS's words (as published probes of real DynamoDB recorded them): one
logical change per call, the stream and encryption re-sends, a throughput that does not change."""

from __future__ import annotations

import re
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import make_client
from tests.dynamodb.conftest import create, error, unique

INVALID = "One or more parameter values were invalid: "
PT = {"ReadCapacityUnits": 2, "WriteCapacityUnits": 2}
NEW_GSI = {
    "Create": {
        "IndexName": "by-g",
        "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "ALL"},
    }
}


def refused(ddb: Any, name: str, **update: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as exc:
        ddb.update_table(TableName=name, **update)
    return error(exc)


def test_one_logical_change_per_call(ddb: Any) -> None:
    name = create(
        ddb,
        BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
    )
    stream = {"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}
    sse = {"Enabled": True, "SSEType": "KMS"}
    cases = [
        ({"DeletionProtectionEnabled": True, "ProvisionedThroughput": PT}, "DeletionProtection modification"),
        ({"SSESpecification": sse, "DeletionProtectionEnabled": True}, "Server-Side Encryption modification"),
        ({"TableClass": "STANDARD_INFREQUENT_ACCESS", "DeletionProtectionEnabled": True}, "TableClass modification"),
        ({"TableClass": "STANDARD_INFREQUENT_ACCESS", "StreamSpecification": stream}, "TableClass modification"),
    ]  # fmt: skip
    for update, what in cases:
        assert refused(ddb, name, **update) == (
            "ValidationException",
            f"{INVALID}{what} must be the only operation in the request",
        )
    assert refused(ddb, name, StreamSpecification=stream, ProvisionedThroughput=PT) == (
        "ValidationException",
        f"{INVALID}You cannot modify stream status while updating table IOPS",
    )
    assert refused(
        ddb,
        name,
        ProvisionedThroughput=PT,
        AttributeDefinitions=[{"AttributeName": "g", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[
            {**NEW_GSI, "Create": {**NEW_GSI["Create"], "ProvisionedThroughput": PT}}
        ],
    ) == ("ValidationException", f"{INVALID}You cannot create or delete index while updating table IOPS")
    described = ddb.describe_table(TableName=name)["Table"]  # nothing of any of these was applied
    assert (
        described["ProvisionedThroughput"]["ReadCapacityUnits"] == 1
        and "StreamSpecification" not in described
    )
    assert not described.get("DeletionProtectionEnabled")
    # What may go together: a switch to on-demand with a stream.
    ddb.update_table(TableName=name, BillingMode="PAY_PER_REQUEST", StreamSpecification=stream)
    described = ddb.describe_table(TableName=name)["Table"]
    assert described["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert described["StreamSpecification"] == stream


def test_stream_and_encryption_resends(ddb: Any) -> None:
    name = create(ddb)
    assert refused(ddb, name, StreamSpecification={"StreamEnabled": False}) == (
        "ValidationException",
        f"Table has no stream to disable: TableName: {name}",
    )
    assert refused(ddb, name, StreamSpecification={"StreamEnabled": True}) == (
        "ValidationException",
        f"{INVALID}If stream is being enabled then UpdateViewType is required",
    )
    ddb.update_table(
        TableName=name, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    )
    assert refused(ddb, name, StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}) == (
        "ValidationException",
        f"Table already has an enabled stream: TableName: {name}",
    )
    assert refused(
        ddb, name, StreamSpecification={"StreamEnabled": False, "StreamViewType": "NEW_IMAGE"}
    ) == (
        "ValidationException",
        f"{INVALID}If stream is being disabled, then UpdateViewType must not be specified",
    )
    ddb.update_table(TableName=name, StreamSpecification={"StreamEnabled": False})
    table = ddb.describe_table(TableName=name)["Table"]
    assert "StreamSpecification" not in table and table["LatestStreamArn"]  # (the old stream lingers)
    assert refused(ddb, name, SSESpecification={"Enabled": False}) == (
        "ValidationException",
        f"{INVALID}Table is already encrypted by default",
    )
    ddb.update_table(TableName=name, SSESpecification={"Enabled": True, "SSEType": "KMS"})
    key = ddb.describe_table(TableName=name)["Table"]["SSEDescription"]["KMSMasterKeyArn"]
    assert refused(
        ddb, name, SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key}
    ) == (
        "ValidationException",
        f"{INVALID}Table is already encrypted with given KMSMasterKeyId. Use KMSMasterKeyId parameter if you "
        "want to change Master Key",
    )


def test_a_throughput_that_does_not_change_and_an_empty_update(ddb: Any) -> None:
    name = create(
        ddb,
        BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
    )
    assert refused(ddb, name, ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}) == (
        "ValidationException",
        "The provisioned throughput for the table will not change. The requested value equals the current "
        "value. Current ReadCapacityUnits provisioned for the table: 1. Requested ReadCapacityUnits: 1. Current "
        "WriteCapacityUnits provisioned for the table: 1. Requested WriteCapacityUnits: 1. Refer to the Amazon "
        "DynamoDB Developer Guide for current limits and how to request higher limits.",
    )
    assert refused(ddb, name, AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}]) == (
        "ValidationException",
        "At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, GlobalSecondaryIndexUpdates, "
        "SSESpecification, ReplicaUpdates, MultiAccountReplicaReady, ReplicaTransitRoleArn, MultiRegionConsistency, "
        "DeletionProtectionEnabled, OnDemandThroughput, WarmThroughput or TableClass is required",
    )


def test_a_stream_given_to_create_table_needs_its_view_type(ddb: Any) -> None:
    with pytest.raises(ClientError) as exc:
        create(ddb, StreamSpecification={"StreamEnabled": True})
    assert error(exc) == (
        "ValidationException",
        f"{INVALID}Table is being created with a stream enabled, UpdateViewType is required",
    )


def test_recovery_period_is_not_given_to_a_disable(ddb: Any) -> None:
    name = create(ddb)
    with pytest.raises(ClientError) as exc:
        ddb.update_continuous_backups(
            TableName=name,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False, "RecoveryPeriodInDays": 7},
        )
    assert error(exc) == (
        "ValidationException",
        "Invalid Request: Cannot specify RecoveryPeriodInDays when disabling point-in-time recovery.",
    )


def test_time_to_live_is_described_only_for_a_settled_table(fresh_server: Any) -> None:
    proc = fresh_server("--state-delay", "400", in_memory=True)
    ddb = make_client(proc.url, "dynamodb")
    name = create(ddb)
    for state in ("CREATING", "DELETING"):
        with pytest.raises(ClientError) as exc:
            ddb.describe_time_to_live(TableName=name)
        assert error(exc) == (
            "ValidationException",
            f"Cannot describe time to live while table is in {state} state: Current table state is {state}",
        )
        if state == "CREATING":
            ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.2})
            assert ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"] == {
                "TimeToLiveStatus": "DISABLED"
            }
            ddb.delete_table(TableName=name)


def test_index_updates_one_action_per_entry_and_one_entry_per_index(ddb: Any) -> None:
    gsi = {
        "IndexName": "by-a",
        "KeySchema": [{"AttributeName": "a", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "ALL"},
        "ProvisionedThroughput": PT,
    }
    name = create(
        ddb,
        more_attrs={"a": "S"},
        BillingMode="PROVISIONED",
        ProvisionedThroughput=PT,
        GlobalSecondaryIndexes=[gsi],
    )
    faster = {"IndexName": "by-a", "ProvisionedThroughput": {"ReadCapacityUnits": 3, "WriteCapacityUnits": 3}}
    once = f"{INVALID}Only one global secondary index update per index is allowed simultaneously. Index: by-a"
    cases = [
        ([{"Update": faster}, {"Update": faster}], once),
        ([{"Delete": {"IndexName": "by-a"}}, {"Create": gsi}], once),
        ([{"Update": faster, "Delete": {"IndexName": "by-a"}}], f"{INVALID}Only one global secondary index action is allowed per GlobalSecondaryIndexUpdate object"),
        ([{}], f"{INVALID}One of GlobalSecondaryIndexUpdate.Update, GlobalSecondaryIndexUpdate.Create, GlobalSecondaryIndexUpdate.Delete must not be null"),
    ]  # fmt: skip
    attrs = [{"AttributeName": "a", "AttributeType": "S"}]
    for updates, message in cases:
        assert refused(ddb, name, GlobalSecondaryIndexUpdates=updates, AttributeDefinitions=attrs) == (
            "ValidationException",
            message,
        )
    described = ddb.describe_table(TableName=name)["Table"]["GlobalSecondaryIndexes"]
    assert [(g["IndexName"], g["ProvisionedThroughput"]["ReadCapacityUnits"]) for g in described] == [
        ("by-a", 2)
    ]
    assert refused(ddb, name, GlobalSecondaryIndexUpdates=[], DeletionProtectionEnabled=True) == (
        "ValidationException",
        f"{INVALID}List of GlobalSecondaryIndexUpdates is empty",
    )
    code, message = refused(ddb, name, GlobalSecondaryIndexUpdates=[])  # alone: no change at all
    assert code == "ValidationException"
    assert message.startswith(
        "At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, Global"
    )
    new = {**gsi, "IndexName": "by-b", "KeySchema": [{"AttributeName": "b", "KeyType": "HASH"}]}
    assert refused(ddb, name, GlobalSecondaryIndexUpdates=[{"Create": new}]) == (
        "ValidationException",
        f"{INVALID}AttributeDefinitions is not specified for index: by-b",
    )


def test_update_table_reads_attribute_definitions_only_for_a_new_index(ddb: Any) -> None:
    name = create(ddb, BillingMode="PROVISIONED", ProvisionedThroughput=PT)
    stale = [
        {"AttributeName": "id", "AttributeType": "N"},  # the table key is S: ignored, as by AWS
        {"AttributeName": "unused", "AttributeType": "S"},
        {"AttributeName": "b", "AttributeType": "S"},
    ]
    ddb.update_table(TableName=name, AttributeDefinitions=stale, DeletionProtectionEnabled=True)
    new = {
        "IndexName": "by-b",
        "KeySchema": [{"AttributeName": "b", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "KEYS_ONLY"},
        "ProvisionedThroughput": PT,
    }
    ddb.update_table(
        TableName=name, AttributeDefinitions=stale, GlobalSecondaryIndexUpdates=[{"Create": new}]
    )
    defined = ddb.describe_table(TableName=name)["Table"]["AttributeDefinitions"]
    assert defined == [
        {"AttributeName": "b", "AttributeType": "S"},
        {"AttributeName": "id", "AttributeType": "S"},
    ]


def test_index_updates_name_a_gsi_of_the_table(ddb: Any) -> None:
    lsi = {
        "IndexName": "by-l",
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}, {"AttributeName": "l", "KeyType": "RANGE"}],
        "Projection": {"ProjectionType": "KEYS_ONLY"},
    }
    name = create(ddb, range_key=("r", "S"), more_attrs={"l": "S"}, LocalSecondaryIndexes=[lsi])
    for action, update in (
        ("delete", {"Delete": {"IndexName": "by-l"}}),
        ("update", {"Update": {"IndexName": "by-l"}}),
    ):
        assert refused(ddb, name, GlobalSecondaryIndexUpdates=[update]) == (
            "ValidationException",
            f"Cannot {action} an index that is not a GlobalSecondaryIndex: by-l",
        )
    assert refused(ddb, name, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "nope"}}]) == (
        "ResourceNotFoundException",
        f"Requested resource not found: Index nope for table {name}",
    )


def test_a_deleted_index_takes_its_attribute_definitions(ddb: Any) -> None:
    gsi = {
        "IndexName": "by-g",
        "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "ALL"},
    }
    name = create(ddb, more_attrs={"g": "S"}, GlobalSecondaryIndexes=[gsi])
    ddb.update_table(TableName=name, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "by-g"}}])
    assert ddb.describe_table(TableName=name)["Table"]["AttributeDefinitions"] == [
        {"AttributeName": "id", "AttributeType": "S"}
    ]


def test_a_table_is_not_deleted_while_an_index_is_built_or_deleted(fresh_server: Any) -> None:
    proc = fresh_server("--state-delay", "30000", in_memory=True)
    ddb = make_client(proc.url, "dynamodb")
    name = create(ddb, more_attrs={"g": "S"}, GlobalSecondaryIndexes=[{**NEW_GSI["Create"]}])
    proc.advance_clock(31)
    ddb.update_table(TableName=name, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "by-g"}}])
    busy = (
        "ResourceInUseException",
        "Attempt to change a resource which is still in use: Cannot delete table while indexes are being "
        "created, updated, or deleted.",
    )
    with pytest.raises(ClientError) as exc:
        ddb.delete_table(TableName=name)
    assert error(exc) == busy
    proc.advance_clock(31)
    table = ddb.describe_table(TableName=name)["Table"]
    assert "GlobalSecondaryIndexes" not in table
    assert table["AttributeDefinitions"] == [{"AttributeName": "id", "AttributeType": "S"}]
    ddb.delete_table(TableName=name)


def test_a_twenty_first_index_is_a_quota_through_update_table(ddb: Any) -> None:
    def gsi(i: int) -> dict[str, Any]:
        return {
            "IndexName": f"g{i:02d}",
            "KeySchema": [{"AttributeName": f"a{i}", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
        }

    name = create(
        ddb, more_attrs={f"a{i}": "S" for i in range(20)}, GlobalSecondaryIndexes=[gsi(i) for i in range(20)]
    )
    more = refused(
        ddb,
        name,
        AttributeDefinitions=[{"AttributeName": "a20", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[{"Create": gsi(20)}],
    )
    assert more == (
        "LimitExceededException",
        "Subscriber limit exceeded: Number of global secondary indexes exceeds per-table limit of 20",
    )


def test_billing_switches_name_every_index_throughput(ddb: Any) -> None:
    gsi = {
        "IndexName": "by-a",
        "KeySchema": [{"AttributeName": "a", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "ALL"},
    }
    name = create(ddb, more_attrs={"a": "S"}, GlobalSecondaryIndexes=[gsi])
    faster = {"Update": {"IndexName": "by-a", "ProvisionedThroughput": PT}}
    must = f"{INVALID}ProvisionedThroughput must be specified when BillingMode is PROVISIONED"
    assert refused(ddb, name, BillingMode="PROVISIONED") == ("ValidationException", must)
    assert refused(ddb, name, BillingMode="PROVISIONED", ProvisionedThroughput=PT) == (
        "ValidationException",
        f"{INVALID}ProvisionedThroughput must be specified for index: by-a",
    )
    assert refused(ddb, name, GlobalSecondaryIndexUpdates=[faster]) == (
        "ValidationException",
        f"{INVALID}The only Updates for index: by-a when TableThroughputMode is PAY_PER_REQUEST can be to "
        "OnDemandThroughput, WarmThroughput",
    )
    ddb.update_table(
        TableName=name,
        BillingMode="PROVISIONED",
        ProvisionedThroughput=PT,
        GlobalSecondaryIndexUpdates=[faster],
    )
    table = ddb.describe_table(TableName=name)["Table"]
    assert table["GlobalSecondaryIndexes"][0]["ProvisionedThroughput"]["ReadCapacityUnits"] == 2
    assert refused(ddb, name, BillingMode="PROVISIONED") == ("ValidationException", must)
    new = {
        "IndexName": "by-b",
        "KeySchema": [{"AttributeName": "b", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "ALL"},
    }
    attrs = [{"AttributeName": "b", "AttributeType": "S"}]
    assert refused(ddb, name, AttributeDefinitions=attrs, GlobalSecondaryIndexUpdates=[{"Create": new}]) == (
        "ValidationException",
        f"{INVALID}Both ReadCapacityUnits and WriteCapacityUnits must be specified for index: by-b",
    )
    with_pt = {"Create": {**new, "ProvisionedThroughput": PT}}
    warm = {"ReadUnitsPerSecond": 13000}
    assert refused(
        ddb, name, AttributeDefinitions=attrs, GlobalSecondaryIndexUpdates=[with_pt], WarmThroughput=warm
    ) == (
        "ValidationException",
        f"{INVALID}Create global secondary index cannot be specified when updating WarmThroughput",
    )


def test_definitions_and_projected_attributes_are_kept_sorted(ddb: Any) -> None:
    gsi = {
        "IndexName": "by-m",
        "KeySchema": [{"AttributeName": "m", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["zz", "aa", "mm"]},
    }
    made = ddb.create_table(
        TableName=unique(),
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("z", "m", "a")],
        KeySchema=[{"AttributeName": "z", "KeyType": "HASH"}, {"AttributeName": "a", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[gsi],
    )["TableDescription"]
    for table in (made, ddb.describe_table(TableName=made["TableName"])["Table"]):
        assert [a["AttributeName"] for a in table["AttributeDefinitions"]] == ["a", "m", "z"]
        assert table["GlobalSecondaryIndexes"][0]["Projection"]["NonKeyAttributes"] == ["aa", "mm", "zz"]


def test_encryption_changes_are_rationed(fresh_server: Any) -> None:
    proc = fresh_server(in_memory=True)
    ddb = make_client(proc.url, "dynamodb")
    name = create(ddb)
    changes = [
        {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": "key-1"},
        {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": "key-2"},
        {"Enabled": False},
        {"Enabled": True, "SSEType": "KMS"},
    ]
    for sse in changes:  # four in a window are free
        ddb.update_table(TableName=name, SSESpecification=sse)
    code, message = refused(ddb, name, SSESpecification=changes[0])
    assert code == "LimitExceededException"
    moment = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
    assert re.fullmatch(
        f"Subscriber limit exceeded: Encryption mode changes are limited in the 24h window ending at {moment}. "
        "After the first 4 change, each subsequent change in the same window can be performed at most once every "
        f"21600 seconds. Number of updates today: 4. Last change at {moment}",
        message,
    ), message
    proc.advance_clock(21601)  # then one every six hours
    ddb.update_table(TableName=name, SSESpecification=changes[0])
    assert refused(ddb, name, SSESpecification=changes[1])[0] == "LimitExceededException"
    proc.advance_clock(86400)  # a new window
    ddb.update_table(TableName=name, SSESpecification=changes[1])


def test_encryption_specification_shapes(raw: Any) -> None:
    name = create(raw)
    for sse, message in (
        ({"Enabled": True, "SSEType": "AES256"}, "SSEType AES256 is not supported"),
        ({"Enabled": False, "SSEType": "KMS"}, "SSEType can not be specified if Enabled is false"),
        (
            {"Enabled": False, "KMSMasterKeyId": "k"},
            "KMSMasterKeyId can not be specified if Enabled is false",
        ),
        ({"Enabled": True, "KMSMasterKeyId": "k"}, "SSEType KMS is required if KMSMasterKeyId is specified"),
        ({}, "Table is already encrypted by default"),
    ):
        assert refused(raw, name, SSESpecification=sse) == ("ValidationException", INVALID + message)
    with pytest.raises(ClientError) as exc:
        create(raw, SSESpecification={"Enabled": True, "SSEType": "AES256"})
    assert error(exc) == ("ValidationException", INVALID + "SSEType AES256 is not supported")
    raw.update_table(TableName=name, SSESpecification={"SSEType": "KMS"})  # an SSEType of KMS alone enables
    assert raw.describe_table(TableName=name)["Table"]["SSEDescription"]["SSEType"] == "KMS"


def test_standard_class_on_a_table_never_given_one_is_a_no_op(ddb: Any) -> None:
    name = create(ddb)
    ddb.update_table(TableName=name, TableClass="STANDARD")
    assert "TableClassSummary" not in ddb.describe_table(TableName=name)["Table"]
    ddb.update_table(TableName=name, TableClass="STANDARD_INFREQUENT_ACCESS")
    summary = ddb.describe_table(TableName=name)["Table"]["TableClassSummary"]
    assert summary["TableClass"] == "STANDARD_INFREQUENT_ACCESS"


def test_capacity_changes_wait_for_an_index_being_deleted(fresh_server: Any) -> None:
    proc = fresh_server("--state-delay", "30000", in_memory=True)
    ddb = make_client(proc.url, "dynamodb")
    name = create(ddb, more_attrs={"g": "S"}, GlobalSecondaryIndexes=[NEW_GSI["Create"]])
    proc.advance_clock(31)
    ddb.update_table(TableName=name, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "by-g"}}])
    busy = "Attempt to change a resource which is still in use: "
    assert refused(ddb, name, BillingMode="PROVISIONED", ProvisionedThroughput=PT) == (
        "ResourceInUseException",
        f"{busy}Can't change table IOPS when an index is being deleted. Table: {name} Indexes: [by-g]",
    )
    dying = [{"Update": {"IndexName": "by-g", "ProvisionedThroughput": PT}}]
    assert refused(
        ddb, name, BillingMode="PROVISIONED", ProvisionedThroughput=PT, GlobalSecondaryIndexUpdates=dying
    ) == ("ResourceInUseException", f"{busy}Index is being deleted. Table: {name} Index: by-g")
    assert refused(ddb, name, OnDemandThroughput={"MaxReadRequestUnits": 10}) == (
        "ResourceInUseException",
        f"{busy}OnDemandThroughput cannot be updated while index deletion is in progress for indexes: [by-g]",
    )
    ddb.update_table(TableName=name, DeletionProtectionEnabled=True)  # admitted meanwhile
    proc.advance_clock(31)
    ddb.update_table(TableName=name, OnDemandThroughput={"MaxReadRequestUnits": 10})
