"""Global tables (2019.11.21): replicas through UpdateTable ReplicaUpdates, their description,
errors, GSIs and TTL kept in step, and the 24-hour rule."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.dynamodb.global_helpers import (
    add_replica,
    clients,
    create_table,
    global_table,
    item,
    name,
    scan,
    set_delay,
    wait_for,
)
from tests.dynamodb.test_cli import _aws
from tests.support.server import ServerProcess


@pytest.fixture(autouse=True)
def fast(server: ServerProcess) -> Any:
    set_delay(server, 0)
    yield
    set_delay(server, 300)


def test_add_replica_backfills_and_describes_in_every_region(server: ServerProcess) -> None:
    table = name()
    east, west = clients(server, "us-east-1", "us-west-2")
    create_table(east, table, Tags=[{"Key": "team", "Value": "a"}])
    east.put_item(TableName=table, Item={"pk": {"S": "old"}, "v": {"N": "1"}})
    out = add_replica(east, table, "us-west-2")["TableDescription"]
    assert out["GlobalTableVersion"] == "2019.11.21"
    assert [r["RegionName"] for r in out["Replicas"]] == ["us-west-2"]  # never itself
    assert out["GlobalTableSettingsReplicationMode"] == "ENABLED_WITH_OVERRIDES"
    assert "MultiRegionConsistency" not in out  # only STRONG is ever shown
    assert out["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    d = west.describe_table(TableName=table)["Table"]
    assert d["TableArn"] == f"arn:aws:dynamodb:us-west-2:000000000000:table/{table}"
    assert d["GlobalTableVersion"] == "2019.11.21"
    assert [(r["RegionName"], r["ReplicaStatus"]) for r in d["Replicas"]] == [("us-east-1", "ACTIVE")]
    assert d["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert d["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert item(west, table, "old") == {"pk": {"S": "old"}, "v": {"N": "1"}}  # backfilled
    assert west.list_tags_of_resource(ResourceArn=d["TableArn"])["Tags"] == []  # tags stay home


def test_writes_replicate_both_ways_and_deletes_too(server: ServerProcess) -> None:
    table, (east, west) = global_table(server, "us-east-1", "us-west-2")
    east.put_item(TableName=table, Item={"pk": {"S": "a"}, "v": {"S": "east"}})
    west.put_item(TableName=table, Item={"pk": {"S": "b"}, "v": {"S": "west"}})
    wait_for(lambda: item(west, table, "a") and item(east, table, "b"))
    east.delete_item(TableName=table, Key={"pk": {"S": "b"}})
    west.update_item(
        TableName=table, Key={"pk": {"S": "a"}}, UpdateExpression="SET v = :v",
        ExpressionAttributeValues={":v": {"S": "updated"}},
    )  # fmt: skip
    wait_for(lambda: item(west, table, "b") is None and item(east, table, "a")["v"] == {"S": "updated"})
    assert scan(east, table) == scan(west, table)


def test_batch_and_transaction_and_partiql_writes_replicate(server: ServerProcess) -> None:
    table, (east, west) = global_table(server, "us-east-1", "eu-west-1")
    east.batch_write_item(
        RequestItems={table: [{"PutRequest": {"Item": {"pk": {"S": f"b{i}"}}}} for i in range(3)]}
    )
    east.transact_write_items(TransactItems=[{"Put": {"TableName": table, "Item": {"pk": {"S": "t"}}}}])
    east.execute_statement(Statement=f"INSERT INTO \"{table}\" VALUE {{'pk': 'q'}}")
    wait_for(lambda: len(scan(west, table)) == 5)


def test_replica_errors(server: ServerProcess) -> None:
    table, (east, west) = global_table(server, "us-east-1", "us-west-2")

    def error(**kwargs: Any) -> dict[str, str]:
        with pytest.raises(ClientError) as err:
            east.update_table(TableName=table, **kwargs)
        return err.value.response["Error"]

    assert error(ReplicaUpdates=[{"Create": {"RegionName": "us-west-2"}}]) == {
        "Code": "ValidationException",
        "Message": f"Failed to create a the new replica of table with name: \u2018{table}\u2019 because one or "
        "more replicas already existed as tables.",
    }
    assert error(ReplicaUpdates=[{"Create": {"RegionName": "us-east-1"}}])["Message"] == (
        "Cannot add or delete the local region through ReplicaUpdates. Use CreateTable, DeleteTable, or "
        "UpdateTable as required."
    )
    assert error(ReplicaUpdates=[{"Delete": {"RegionName": "eu-west-2"}}])["Message"] == (
        "Update global table operation failed because one or more replicas were not part of the global table. "
        "Please retry the request without these replicas: [eu-west-2]."
    )
    assert error(ReplicaUpdates=[{"Create": {"RegionName": "moon-central-1"}}])["Message"].startswith(
        "Region moon-central-1 is not supported. The latest version of global tables are only supported in "
        "the following regions: ["
    )
    two = [{"Create": {"RegionName": "eu-north-1"}}, {"Create": {"RegionName": "eu-west-3"}}]
    assert error(ReplicaUpdates=two)["Message"] == (
        "Update table operation with more than one create or delete replica actions not allowed"
    )
    mixed = [{"Create": {"RegionName": "eu-north-1"}, "Delete": {"RegionName": "us-west-2"}}]
    assert error(ReplicaUpdates=mixed)["Message"] == (
        "Update table operation with more than one type of replica actions not allowed."
    )
    assert error(ReplicaUpdates=two[:1], DeletionProtectionEnabled=True)["Message"] == (
        "One or more parameter values were invalid: Replica modification must be the only operation in the "
        "request"
    )
    # All or nothing: a replica created before a later action fails is not left behind.
    bad = [{"Create": {"RegionName": "eu-north-1"}}, {"Update": {"RegionName": "ap-south-1"}}]
    assert error(ReplicaUpdates=bad)["Code"] == "ValidationException"
    with pytest.raises(ClientError) as err:
        clients(server, "eu-north-1")[0].describe_table(TableName=table)
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert [r["RegionName"] for r in west.describe_table(TableName=table)["Table"]["Replicas"]] == [
        "us-east-1"
    ]
    with pytest.raises(ClientError) as err:
        add_replica(east, name("missing"), "eu-west-1")
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    other = name()
    create_table(east, other, StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    out = add_replica(east, other, "eu-west-1")["TableDescription"]  # an existing stream keeps its view
    assert out["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}
    assert error(ReplicaUpdates=[{"Update": {"RegionName": "us-west-2"}}])["Message"] == (
        "There are no actions specified in the Replica Update Action of the request."
    )
    # An on-demand group has no provisioned capacity to override.
    override = {"RegionName": "us-west-2", "ProvisionedThroughputOverride": {"ReadCapacityUnits": 5}}
    assert error(ReplicaUpdates=[{"Update": override}]) == {
        "Code": "ValidationException",
        "Message": "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is "
        "PAY_PER_REQUEST",
    }
    # A replica's key is changed in its own region (SSESpecification), never through ReplicaUpdates.
    assert error(
        ReplicaUpdates=[{"Update": {"RegionName": "us-west-2", "KMSMasterKeyId": "alias/aws/dynamodb"}}]
    ) == {
        "Code": "ValidationException",
        "Message": "One or more parameter values were invalid: KMSMasterKeyId must be specified for each replica.",
    }
    clash = name()
    create_table(east, clash)
    create_table(west, clash)  # a plain table of that name already in the target region
    with pytest.raises(ClientError) as err:
        add_replica(east, clash, "us-west-2")
    assert "already existed as tables" in err.value.response["Error"]["Message"]


def test_gsi_created_on_one_replica_is_on_all_and_filled_by_replication(server: ServerProcess) -> None:
    table, (east, west) = global_table(server, "us-east-1", "us-west-2")
    east.update_table(
        TableName=table,
        AttributeDefinitions=[{"AttributeName": "g", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[{"Create": {
            "IndexName": "byg", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"},
        }}],
    )  # fmt: skip
    assert [
        g["IndexName"] for g in west.describe_table(TableName=table)["Table"]["GlobalSecondaryIndexes"]
    ] == ["byg"]
    east.put_item(TableName=table, Item={"pk": {"S": "x"}, "g": {"S": "red"}})

    def indexed() -> Any:
        return west.query(
            TableName=table, IndexName="byg", KeyConditionExpression="g = :g",
            ExpressionAttributeValues={":g": {"S": "red"}},
        )["Items"]  # fmt: skip

    assert wait_for(indexed) == [{"pk": {"S": "x"}, "g": {"S": "red"}}]
    west.update_table(TableName=table, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "byg"}}])
    assert "GlobalSecondaryIndexes" not in east.describe_table(TableName=table)["Table"]


def test_lsi_on_the_replica_is_maintained_by_replication(server: ServerProcess) -> None:
    table = name()
    east, west = clients(server, "us-east-1", "us-west-2")
    east.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "l")],
        LocalSecondaryIndexes=[{
            "IndexName": "byl", "Projection": {"ProjectionType": "KEYS_ONLY"},
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "l", "KeyType": "RANGE"}],
        }],
        BillingMode="PAY_PER_REQUEST",
    )  # fmt: skip
    add_replica(east, table, "us-west-2")
    east.put_item(TableName=table, Item={"pk": {"S": "p"}, "sk": {"S": "1"}, "l": {"S": "z"}})

    def local() -> Any:
        return west.query(
            TableName=table, IndexName="byl", KeyConditionExpression="pk = :p AND l = :l",
            ExpressionAttributeValues={":p": {"S": "p"}, ":l": {"S": "z"}},
        )["Items"]  # fmt: skip

    assert wait_for(local) == [{"pk": {"S": "p"}, "sk": {"S": "1"}, "l": {"S": "z"}}]


def test_ttl_setting_applies_to_every_replica(server: ServerProcess) -> None:
    table, (east, west) = global_table(server, "us-east-1", "us-west-2")
    east.update_time_to_live(
        TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"}
    )
    assert west.describe_time_to_live(TableName=table)["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED", "AttributeName": "exp"
    }  # fmt: skip


def test_remove_replica_and_the_24_hour_rule(fresh_server: Callable[..., ServerProcess]) -> None:
    """The hold is 24 h; GONDWANA_DYNAMODB_REPLICA_DELETE_HOLD shortens it (here to an hour), and
    this private server's clock is advanced past it (the session server's clock stays real)."""
    server = fresh_server(GONDWANA_DYNAMODB_REPLICA_DELETE_HOLD="3600")
    table, (east, west, eu) = global_table(server, "us-east-1", "us-west-2", "eu-west-1")
    with pytest.raises(ClientError) as err:
        east.delete_table(TableName=table)  # it seeded the other replicas less than 24 h ago
    assert err.value.response["Error"]["Code"] == "ValidationException"
    assert "24 hours" in err.value.response["Error"]["Message"]
    east.update_table(TableName=table, ReplicaUpdates=[{"Delete": {"RegionName": "eu-west-1"}}])
    with pytest.raises(ClientError) as err:
        eu.describe_table(TableName=table)
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert [r["RegionName"] for r in west.describe_table(TableName=table)["Table"]["Replicas"]] == [
        "us-east-1"
    ]
    west.delete_table(TableName=table)  # west seeded nothing: it may leave at once
    d = east.describe_table(TableName=table)["Table"]
    assert "Replicas" not in d
    east.delete_table(TableName=table)  # the replicas it sourced are gone: nothing holds it
    other, (a, b) = global_table(server, "us-east-2", "us-west-2")
    with pytest.raises(ClientError) as err:
        a.update_table(TableName=other, ReplicaUpdates=[{"Delete": {"RegionName": "us-east-2"}}])
    assert err.value.response["Error"]["Message"].startswith("Cannot add or delete the local region")
    with pytest.raises(ClientError) as err:
        a.delete_table(TableName=other)
    assert "24 hours" in err.value.response["Error"]["Message"]
    server.advance_clock(3601)
    a.delete_table(TableName=other)
    assert "Replicas" not in b.describe_table(TableName=other)["Table"]


def test_replica_status_follows_the_state_delay_and_overrides_show(
    fresh_server: Callable[..., ServerProcess],
) -> None:
    proc = fresh_server("--state-delay", "1500")
    east, west = clients(proc, "us-east-1", "us-west-2")
    table = name()
    create_table(east, table, BillingMode="PROVISIONED", ProvisionedThroughput={
        "ReadCapacityUnits": 5, "WriteCapacityUnits": 5})  # fmt: skip
    with pytest.raises(ClientError) as err:  # the table is still CREATING
        add_replica(east, table, "us-west-2")
    assert err.value.response["Error"]["Code"] == "ResourceInUseException"
    wait_for(lambda: east.describe_table(TableName=table)["Table"]["TableStatus"] == "ACTIVE")
    out = east.update_table(TableName=table, ReplicaUpdates=[{"Create": {
        "RegionName": "us-west-2", "ProvisionedThroughputOverride": {"ReadCapacityUnits": 2}}}])  # fmt: skip
    assert out["TableDescription"]["Replicas"][0]["ReplicaStatus"] == "CREATING"
    assert west.describe_table(TableName=table)["Table"]["TableStatus"] == "CREATING"
    wait_for(
        lambda: east.describe_table(TableName=table)["Table"]["Replicas"][0]["ReplicaStatus"] == "ACTIVE"
    )
    replica = east.describe_table(TableName=table)["Table"]["Replicas"][0]
    assert replica["ProvisionedThroughputOverride"] == {"ReadCapacityUnits": 2}
    wait_for(lambda: west.describe_table(TableName=table)["Table"]["TableStatus"] == "ACTIVE")
    east.update_table(TableName=table, ReplicaUpdates=[{"Update": {
        "RegionName": "us-west-2", "ProvisionedThroughputOverride": {"ReadCapacityUnits": 7}}}])  # fmt: skip
    replica = west.describe_table(TableName=table)["Table"]
    assert replica["Replicas"][0] == {
        "RegionName": "us-east-1", "ReplicaStatus": "ACTIVE", "GlobalTableSettingsReplicationMode": "ENABLED_WITH_OVERRIDES",
        "WarmThroughput": {"ReadUnitsPerSecond": 5, "WriteUnitsPerSecond": 5, "Status": "ACTIVE"},
    }  # fmt: skip
    assert east.describe_table(TableName=table)["Table"]["Replicas"][0]["ProvisionedThroughputOverride"] == {
        "ReadCapacityUnits": 7
    }
    # Removing the replica: DELETING in both regions for the state delay, then gone.
    east.update_table(TableName=table, ReplicaUpdates=[{"Delete": {"RegionName": "us-west-2"}}])
    assert west.describe_table(TableName=table)["Table"]["TableStatus"] == "DELETING"
    assert [(r["RegionName"], r["ReplicaStatus"]) for r in east.describe_table(TableName=table)["Table"][
        "Replicas"]] == [("us-west-2", "DELETING")]  # fmt: skip
    with pytest.raises(ClientError) as err:  # no data plane on a deleting replica
        west.get_item(TableName=table, Key={"pk": {"S": "a"}})
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    east.put_item(TableName=table, Item={"pk": {"S": "after"}})  # the remaining table takes writes
    wait_for(lambda: "Replicas" not in east.describe_table(TableName=table)["Table"])
    with pytest.raises(ClientError) as err:
        west.describe_table(TableName=table)
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"


@pytest.mark.skipif(shutil.which("aws") is None, reason="AWS CLI not installed")
def test_aws_cli_with_region_flags(server: ServerProcess) -> None:
    table = name()
    east = clients(server, "us-east-1")[0]
    create_table(east, table)
    out = _aws(server, "dynamodb", "update-table", "--region", "us-east-1", "--table-name", table,
               "--replica-updates", '[{"Create": {"RegionName": "eu-west-3"}}]')  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["TableDescription"]["GlobalTableVersion"] == "2019.11.21"
    put = _aws(server, "dynamodb", "put-item", "--region", "eu-west-3", "--table-name", table,
               "--item", '{"pk": {"S": "cli"}}')  # fmt: skip
    assert put.returncode == 0, put.stderr
    wait_for(lambda: item(east, table, "cli"))
    described = json.loads(
        _aws(server, "dynamodb", "describe-table", "--region", "eu-west-3", "--table-name", table).stdout
    )
    assert [r["RegionName"] for r in described["Table"]["Replicas"]] == ["us-east-1"]


def test_throughput_changed_in_any_region_applies_to_all(server: ServerProcess) -> None:
    table = name()
    east, west = clients(server, "us-east-1", "us-west-2")
    create_table(east, table, BillingMode="PROVISIONED", ProvisionedThroughput={
        "ReadCapacityUnits": 5, "WriteCapacityUnits": 5})  # fmt: skip
    add_replica(east, table, "us-west-2")
    west.update_table(
        TableName=table, ProvisionedThroughput={"ReadCapacityUnits": 7, "WriteCapacityUnits": 9}
    )
    pt = east.describe_table(TableName=table)["Table"]["ProvisionedThroughput"]
    assert (pt["ReadCapacityUnits"], pt["WriteCapacityUnits"]) == (7, 9)
    east.update_table(TableName=table, BillingMode="PAY_PER_REQUEST")
    assert (
        west.describe_table(TableName=table)["Table"]["BillingModeSummary"]["BillingMode"]
        == "PAY_PER_REQUEST"
    )
