"""Global tables version 2017.11.29: CreateGlobalTable over existing empty tables with streams,
UpdateGlobalTable, Describe/List, the settings pair, AWS's errors, replication and durability."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import make_client
from tests.dynamodb.conftest import GSI_BY_G, RAW

STREAM = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
EAST, WEST, EU = "us-east-1", "us-west-2", "eu-west-1"


def unique() -> str:
    return f"legacy-{uuid.uuid4().hex[:10]}"


def table(
    ddb: Any,
    name: str,
    *,
    stream: dict[str, Any] | None = STREAM,
    key: str = "pk",
    gsi: bool = False,
    **extra: Any,
) -> None:
    extra.setdefault("ProvisionedThroughput", {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5})
    attrs = [{"AttributeName": key, "AttributeType": "S"}]
    if gsi:
        attrs.append({"AttributeName": "g", "AttributeType": "S"})
        extra["GlobalSecondaryIndexes"] = [
            {**GSI_BY_G, "ProvisionedThroughput": {"ReadCapacityUnits": 3, "WriteCapacityUnits": 3}}
        ]
    if stream:
        extra["StreamSpecification"] = stream
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
        AttributeDefinitions=attrs,
        **extra,
    )


def fail(call: Any, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as exc:
        call(**kwargs)
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


@pytest.fixture
def ddbs(server: Any) -> dict[str, Any]:
    return {r: make_client(server.url, "dynamodb", r, config=RAW) for r in (EAST, WEST, EU)}


def test_create_describe_list_and_replicate(ddbs: dict[str, Any]) -> None:
    name = unique()
    for region in (EAST, EU):
        table(ddbs[region], name)
    out = ddbs[EAST].create_global_table(
        GlobalTableName=name, ReplicationGroup=[{"RegionName": EAST}, {"RegionName": EU}]
    )
    desc = out["GlobalTableDescription"]
    assert desc["GlobalTableName"] == name and desc["GlobalTableStatus"] == "ACTIVE"
    assert desc["GlobalTableArn"] == f"arn:aws:dynamodb::000000000000:global-table/{name}"
    assert desc["ReplicationGroup"] == [{"RegionName": EAST}, {"RegionName": EU}]
    # Described alike from any region, from a region outside the group too.
    for region in (EU, WEST):
        again = ddbs[region].describe_global_table(GlobalTableName=name)["GlobalTableDescription"]
        assert again == desc
    names = {g["GlobalTableName"]: g for g in ddbs[EAST].list_global_tables(RegionName=EU)["GlobalTables"]}
    assert names[name]["ReplicationGroup"] == [{"RegionName": EAST}, {"RegionName": EU}]
    assert name not in {
        g["GlobalTableName"] for g in ddbs[EAST].list_global_tables(RegionName=WEST)["GlobalTables"]
    }
    assert ddbs[EU].describe_table(TableName=name)["Table"]["GlobalTableVersion"] == "2017.11.29"
    # Writes in either region reach the other.
    ddbs[EAST].put_item(TableName=name, Item={"pk": {"S": "a"}, "v": {"N": "1"}})
    ddbs[EU].put_item(TableName=name, Item={"pk": {"S": "b"}, "v": {"N": "2"}})
    assert wait_for(ddbs[EU], name, "a")["v"] == {"N": "1"}
    assert wait_for(ddbs[EAST], name, "b")["v"] == {"N": "2"}


def wait_for(ddb: Any, name: str, key: str) -> dict[str, Any]:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        item = ddb.get_item(TableName=name, Key={"pk": {"S": key}}).get("Item")
        if item:
            return item
        time.sleep(0.05)
    raise AssertionError(f"{key} never replicated")


def test_create_rules_and_errors(ddbs: dict[str, Any]) -> None:
    name = unique()
    table(ddbs[EAST], name)
    group = [{"RegionName": EAST}, {"RegionName": WEST}]
    create = ddbs[EAST].create_global_table
    assert fail(create, GlobalTableName=name, ReplicationGroup=group) == (
        "TableNotFoundException",
        f"Table: {name} not found in region {WEST}",
    )
    table(ddbs[WEST], name, stream={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    code, message = fail(create, GlobalTableName=name, ReplicationGroup=group)
    assert code == "ValidationException" and "NEW_AND_OLD_IMAGES" in message
    ddbs[WEST].delete_table(TableName=name)
    table(ddbs[WEST], name, key="other")
    code, message = fail(create, GlobalTableName=name, ReplicationGroup=group)
    assert code == "ValidationException" and "same key schema" in message
    ddbs[WEST].delete_table(TableName=name)
    table(ddbs[WEST], name, ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 9})
    code, message = fail(create, GlobalTableName=name, ReplicationGroup=group)
    assert code == "ValidationException" and "same write capacity" in message
    ddbs[WEST].delete_table(TableName=name)
    table(ddbs[WEST], name)
    ddbs[WEST].put_item(TableName=name, Item={"pk": {"S": "x"}})
    code, message = fail(create, GlobalTableName=name, ReplicationGroup=group)
    assert code == "ValidationException" and "not empty" in message
    code, _ = fail(
        create, GlobalTableName=name, ReplicationGroup=[{"RegionName": EAST}, {"RegionName": EAST}]
    )
    assert code == "ValidationException"
    # Nothing was half-made by the failures.
    assert fail(ddbs[EAST].describe_global_table, GlobalTableName=name)[0] == "GlobalTableNotFoundException"
    assert "Replicas" not in ddbs[EAST].describe_table(TableName=name)["Table"]
    ddbs[WEST].delete_item(TableName=name, Key={"pk": {"S": "x"}})
    create(GlobalTableName=name, ReplicationGroup=group)
    assert fail(create, GlobalTableName=name, ReplicationGroup=group) == (
        "GlobalTableAlreadyExistsException",
        "Global table with this name already exists",
    )


def test_update_global_table(ddbs: dict[str, Any]) -> None:
    name = unique()
    for region in (EAST, WEST, EU):
        table(ddbs[region], name)
    ddbs[EAST].create_global_table(GlobalTableName=name, ReplicationGroup=[{"RegionName": EAST}])
    update = ddbs[EAST].update_global_table
    out = update(GlobalTableName=name, ReplicaUpdates=[{"Create": {"RegionName": WEST}}])
    assert out["GlobalTableDescription"]["ReplicationGroup"] == [{"RegionName": EAST}, {"RegionName": WEST}]
    assert fail(update, GlobalTableName=name, ReplicaUpdates=[{"Create": {"RegionName": WEST}}]) == (
        "ReplicaAlreadyExistsException",
        f"Replica already exists in region {WEST}",
    )
    assert fail(update, GlobalTableName=name, ReplicaUpdates=[{"Delete": {"RegionName": EU}}]) == (
        "ReplicaNotFoundException",
        f"Replica does not exist in region {EU}",
    )
    update(GlobalTableName=name, ReplicaUpdates=[{"Create": {"RegionName": EU}}])
    ddbs[WEST].put_item(TableName=name, Item={"pk": {"S": "w"}})
    assert wait_for(ddbs[EU], name, "w") and wait_for(ddbs[EAST], name, "w")
    out = update(GlobalTableName=name, ReplicaUpdates=[{"Delete": {"RegionName": EU}}])
    assert [r["RegionName"] for r in out["GlobalTableDescription"]["ReplicationGroup"]] == [EAST, WEST]
    # The removed replica stays as an ordinary table, no longer replicated to.
    left = ddbs[EU].describe_table(TableName=name)["Table"]
    assert "Replicas" not in left and "GlobalTableVersion" not in left and left["TableStatus"] == "ACTIVE"
    ddbs[EAST].put_item(TableName=name, Item={"pk": {"S": "after"}})
    wait_for(ddbs[WEST], name, "after")
    assert "Item" not in ddbs[EU].get_item(TableName=name, Key={"pk": {"S": "after"}}, ConsistentRead=True)
    assert fail(update, GlobalTableName=name, ReplicaUpdates=[]) == (
        "ValidationException",
        "One or more parameter values were invalid",
    )
    # A member dropped with DeleteTable leaves the group.
    ddbs[WEST].delete_table(TableName=name)
    desc = ddbs[EU].describe_global_table(GlobalTableName=name)["GlobalTableDescription"]
    assert desc["ReplicationGroup"] == [{"RegionName": EAST}]
    missing = unique()
    assert fail(
        ddbs[EAST].update_global_table,
        GlobalTableName=missing,
        ReplicaUpdates=[{"Delete": {"RegionName": EU}}],
    ) == (
        "GlobalTableNotFoundException",
        f"Global table not found: Global table with name: '{missing}' does not exist.",
    )


def test_not_found_messages(ddbs: dict[str, Any]) -> None:
    regional = unique()
    table(ddbs[EAST], regional)
    for missing in (regional, unique()):  # a plain regional table is not a global table either
        assert fail(ddbs[EAST].describe_global_table, GlobalTableName=missing) == (
            "GlobalTableNotFoundException",
            f"Global table not found: Global table with name: '{missing}' does not exist.",
        )
        settings = ("GlobalTableNotFoundException", f"Global table with name: '{missing}' does not exist.")
        assert fail(ddbs[EAST].describe_global_table_settings, GlobalTableName=missing) == settings
        assert (
            fail(
                ddbs[EAST].update_global_table_settings,
                GlobalTableName=missing,
                GlobalTableBillingMode="PAY_PER_REQUEST",
            )
            == settings
        )


def test_list_pagination(ddbs: dict[str, Any]) -> None:
    prefix = unique()
    names = [f"{prefix}-{i}" for i in range(3)]
    for name in names:
        table(ddbs[EU], name)
        ddbs[EU].create_global_table(GlobalTableName=name, ReplicationGroup=[{"RegionName": EU}])
    seen, kwargs, pages = [], {"Limit": 1, "RegionName": EU}, 0
    while True:
        page = ddbs[WEST].list_global_tables(**kwargs)
        pages += 1
        assert len(page["GlobalTables"]) <= 1
        seen += [g["GlobalTableName"] for g in page["GlobalTables"]]
        if "LastEvaluatedGlobalTableName" not in page:
            break
        kwargs["ExclusiveStartGlobalTableName"] = page["LastEvaluatedGlobalTableName"]
    assert seen == sorted(seen) and [n for n in seen if n.startswith(prefix)] == names
    page = ddbs[EU].list_global_tables(ExclusiveStartGlobalTableName=names[0], Limit=2, RegionName=EU)
    assert [g["GlobalTableName"] for g in page["GlobalTables"]][:2] == names[1:]


def test_list_with_an_unknown_region(ddbs: dict[str, Any]) -> None:
    # Recorded from AWS: HTTP 500 InternalServerError, not a ValidationException.
    with pytest.raises(ClientError) as exc:
        ddbs[EAST].list_global_tables(RegionName="us-fake-9")
    error = exc.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert (error["Error"]["Code"], error["Error"]["Message"]) == (
        "InternalServerError",
        "Internal server error",
    )
    assert ddbs[EAST].list_global_tables(RegionName="ap-south-2", Limit=1)["GlobalTables"] == []


def test_settings(ddbs: dict[str, Any]) -> None:
    name = unique()
    for region in (EAST, EU):
        table(ddbs[region], name, gsi=True)
    ddbs[EAST].create_global_table(
        GlobalTableName=name, ReplicationGroup=[{"RegionName": EAST}, {"RegionName": EU}]
    )
    settings = ddbs[EU].describe_global_table_settings(GlobalTableName=name)
    assert settings["GlobalTableName"] == name
    first = settings["ReplicaSettings"][0]
    assert first["RegionName"] == EAST and first["ReplicaStatus"] == "ACTIVE"
    assert first["ReplicaBillingModeSummary"]["BillingMode"] == "PROVISIONED"
    assert (first["ReplicaProvisionedReadCapacityUnits"], first["ReplicaProvisionedWriteCapacityUnits"]) == (
        5,
        5,
    )
    assert first["ReplicaGlobalSecondaryIndexSettings"][0]["IndexName"] == "by-g"
    update = ddbs[EAST].update_global_table_settings
    out = update(
        GlobalTableName=name,
        GlobalTableProvisionedWriteCapacityUnits=10,
        GlobalTableGlobalSecondaryIndexSettingsUpdate=[
            {"IndexName": "by-g", "ProvisionedWriteCapacityUnits": 4}
        ],
        ReplicaSettingsUpdate=[
            {
                "RegionName": EU,
                "ReplicaProvisionedReadCapacityUnits": 7,
                "ReplicaGlobalSecondaryIndexSettingsUpdate": [
                    {"IndexName": "by-g", "ProvisionedReadCapacityUnits": 6}
                ],
            }
        ],
        GlobalTableProvisionedWriteCapacityAutoScalingSettingsUpdate={"MinimumUnits": 5, "MaximumUnits": 50},
    )
    by_region = {s["RegionName"]: s for s in out["ReplicaSettings"]}
    assert (
        by_region[EAST]["ReplicaProvisionedWriteCapacityUnits"]
        == by_region[EU]["ReplicaProvisionedWriteCapacityUnits"]
        == 10
    )
    assert (
        by_region[EAST]["ReplicaProvisionedReadCapacityUnits"],
        by_region[EU]["ReplicaProvisionedReadCapacityUnits"],
    ) == (5, 7)
    assert by_region[EU]["ReplicaGlobalSecondaryIndexSettings"][0] == {
        "IndexName": "by-g",
        "IndexStatus": "ACTIVE",
        "ProvisionedReadCapacityUnits": 6,
        "ProvisionedWriteCapacityUnits": 4,
    }
    assert by_region[EU]["ReplicaProvisionedWriteCapacityAutoScalingSettings"]["MaximumUnits"] == 50
    described = ddbs[EU].describe_table(TableName=name)["Table"]["ProvisionedThroughput"]
    assert (described["ReadCapacityUnits"], described["WriteCapacityUnits"]) == (7, 10)
    # Unknown replica or index: AWS's errors, and nothing changed.
    code, _ = fail(
        update,
        GlobalTableName=name,
        GlobalTableProvisionedWriteCapacityUnits=20,
        ReplicaSettingsUpdate=[{"RegionName": WEST, "ReplicaProvisionedReadCapacityUnits": 1}],
    )
    assert code == "ReplicaNotFoundException"
    code, _ = fail(
        update,
        GlobalTableName=name,
        GlobalTableGlobalSecondaryIndexSettingsUpdate=[
            {"IndexName": "nope", "ProvisionedWriteCapacityUnits": 2}
        ],
    )
    assert code == "IndexNotFoundException"
    assert (
        ddbs[EAST].describe_table(TableName=name)["Table"]["ProvisionedThroughput"]["WriteCapacityUnits"]
        == 10
    )
    out = update(GlobalTableName=name, GlobalTableBillingMode="PAY_PER_REQUEST")
    assert {s["ReplicaBillingModeSummary"]["BillingMode"] for s in out["ReplicaSettings"]} == {
        "PAY_PER_REQUEST"
    }
    code, _ = fail(update, GlobalTableName=name, GlobalTableProvisionedWriteCapacityUnits=3)
    assert code == "ValidationException"


def test_survives_kill_and_restart(fresh_server: Any) -> None:
    proc = fresh_server()
    east, eu = (make_client(proc.url, "dynamodb", r) for r in (EAST, EU))
    name = unique()
    table(east, name)
    table(eu, name)
    east.create_global_table(
        GlobalTableName=name, ReplicationGroup=[{"RegionName": EAST}, {"RegionName": EU}]
    )
    proc.kill()
    proc.restart()
    desc = east.describe_global_table(GlobalTableName=name)["GlobalTableDescription"]
    assert desc["ReplicationGroup"] == [{"RegionName": EAST}, {"RegionName": EU}]
    east.put_item(TableName=name, Item={"pk": {"S": "k"}})
    assert wait_for(eu, name, "k")


def test_replicas_without_a_region_are_validation_errors(ddbs: dict[str, Any]) -> None:
    """Found by the wire fuzzer: an empty replication group, or a replica without RegionName
    (optional in the model), raised inside the service (500) instead of a ValidationException."""
    name = unique()
    table(ddbs[EAST], name)
    create = ddbs[EAST].create_global_table
    assert fail(create, GlobalTableName=name, ReplicationGroup=[]) == (
        "ValidationException",
        "One or more parameter values were invalid",
    )
    null = "failed to satisfy constraint: Member must not be null"
    assert fail(create, GlobalTableName=name, ReplicationGroup=[{"RegionName": EAST}, {}]) == (
        "ValidationException",
        f"1 validation error detected: Value null at 'replicationGroup.2.member.regionName' {null}",
    )
    create(GlobalTableName=name, ReplicationGroup=[{"RegionName": EAST}])
    update = ddbs[EAST].update_global_table
    for change in ("Create", "Delete"):
        assert fail(update, GlobalTableName=name, ReplicaUpdates=[{change: {}}]) == (
            "ValidationException",
            "1 validation error detected: Value null at "
            f"'replicaUpdates.1.member.{change.lower()}.regionName' {null}",
        )
    assert ddbs[EAST].describe_global_table(GlobalTableName=name)["GlobalTableDescription"][
        "ReplicationGroup"
    ] == [{"RegionName": EAST}]
