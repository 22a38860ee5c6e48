"""DescribeTableReplicaAutoScaling / UpdateTableReplicaAutoScaling on global tables (2019.11.21):
the settings' shapes, group-wide write and per-replica read dimensions, GSIs, disabling, AWS's
errors, and durability across kill -9.

Texts are AWS's as published live probes recorded them (the ack-api-quirks notes: DDB-TABLE-187,
-189, -190, -232, -237, -238, -240, -241, -242, -253, -254, -255, -289, -317), except where a
comment says the text is ours."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import make_client
from tests.dynamodb.conftest import GSI_BY_G, RAW
from tests.dynamodb.global_helpers import add_replica, clients, create_table, name
from tests.support.server import ServerProcess

EAST, WEST = "us-east-1", "us-west-2"
OFF = {"AutoScalingDisabled": True, "ScalingPolicies": []}
ROLE = (
    "arn:aws:iam::000000000000:role/aws-service-role/dynamodb.application-autoscaling.amazonaws.com/"
    "AWSServiceRoleForApplicationAutoScaling_DynamoDBTable"
)
AAS = (
    r" \(Service: AWSApplicationAutoScaling; Status Code: 400; Error Code: ValidationException; "
    r"Request ID: [0-9a-f-]{36}; Proxy: null\)"
)


def provisioned_global(ddbs: list[Any], *, gsi: bool = True) -> str:
    """A PROVISIONED table (with the GSI by-g) in the first client's region, replicated to the others'."""
    table = name("as")
    attrs = [{"AttributeName": "pk", "AttributeType": "S"}]
    extra: dict[str, Any] = {}
    if gsi:
        attrs.append({"AttributeName": "g", "AttributeType": "S"})
        extra["GlobalSecondaryIndexes"] = [
            {**GSI_BY_G, "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}}
        ]
    ddbs[0].create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=attrs,
        BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
        **extra,
    )
    for other in ddbs[1:]:
        add_replica(ddbs[0], table, other.meta.region_name)
    return table


def full(low: int, high: int, target: float = 70.0, **policy: Any) -> dict[str, Any]:
    """A complete enabling update: Min, Max and a target-tracking policy."""
    config = {"TargetValue": target, **policy.pop("config", {})}
    return {
        "MinimumUnits": low,
        "MaximumUnits": high,
        "ScalingPolicyUpdate": {"TargetTrackingScalingPolicyConfiguration": config, **policy},
    }


def shown(low: int, high: int, policy: str, config: dict[str, Any]) -> dict[str, Any]:
    """How Describe shows an enabled dimension: the service-linked role, no AutoScalingDisabled."""
    return {
        "MinimumUnits": low,
        "MaximumUnits": high,
        "AutoScalingRoleArn": ROLE,
        "ScalingPolicies": [{"PolicyName": policy, "TargetTrackingScalingPolicyConfiguration": config}],
    }


def describe(ddb: Any, table: str) -> dict[str, Any]:
    return ddb.describe_table_replica_auto_scaling(TableName=table)["TableAutoScalingDescription"]


def by_region(description: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["RegionName"]: r for r in description["Replicas"]}


def error(call: Callable[..., Any], **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as exc:
        call(**kwargs)
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


@pytest.fixture
def pair(server: ServerProcess) -> tuple[str, Any, Any]:
    east, west = clients(server, EAST, WEST)
    return provisioned_global([east, west]), east, west


# ---- happy paths ---------------------------------------------------------------------------------------


def test_describe_a_provisioned_global_table(pair: tuple[str, Any, Any]) -> None:
    table, east, west = pair
    out = describe(east, table)
    replica = {
        "GlobalSecondaryIndexes": [
            {
                "IndexName": "by-g",
                "IndexStatus": "ACTIVE",
                "ProvisionedReadCapacityAutoScalingSettings": OFF,
                "ProvisionedWriteCapacityAutoScalingSettings": OFF,
            }
        ],
        "ReplicaProvisionedReadCapacityAutoScalingSettings": OFF,
        "ReplicaProvisionedWriteCapacityAutoScalingSettings": OFF,
        "ReplicaStatus": "ACTIVE",
    }
    assert out == {
        "TableName": table,
        "TableStatus": "ACTIVE",  # every replica listed, the home region too, by name
        "Replicas": [{"RegionName": EAST, **replica}, {"RegionName": WEST, **replica}],
    }
    assert describe(west, table) == out  # the same from either region
    arn = east.describe_table(TableName=table)["Table"]["TableArn"]
    assert describe(east, arn) == out  # TableName may be the table's ARN


def test_update_answers_the_settings_before_it_and_describe_shows_them(pair: tuple[str, Any, Any]) -> None:
    table, east, west = pair
    out = east.update_table_replica_auto_scaling(
        TableName=table, ProvisionedWriteCapacityAutoScalingUpdate=full(1, 10)
    )["TableAutoScalingDescription"]
    assert out["TableName"] == table
    assert [r["ReplicaProvisionedWriteCapacityAutoScalingSettings"] for r in out["Replicas"]] == [OFF, OFF]
    write = shown(1, 10, f"DynamoDBWriteCapacityUtilization:table/{table}", {"TargetValue": 70.0})
    for view in (describe(east, table), describe(west, table)):  # write is set for every replica
        assert [r["ReplicaProvisionedWriteCapacityAutoScalingSettings"] for r in view["Replicas"]] == [
            write,
            write,
        ]
        assert [r["ReplicaProvisionedReadCapacityAutoScalingSettings"] for r in view["Replicas"]] == [
            OFF,
            OFF,
        ]
    # A full update replaces the dimension: a policy name given is kept, cooldowns and DisableScaleIn
    # are shown as given (a negative cooldown too), and the answer still shows the previous settings.
    config = {"TargetValue": 55.0, "ScaleInCooldown": -1, "ScaleOutCooldown": 60, "DisableScaleIn": True}
    custom = full(2, 12, 55.0, PolicyName="my-policy", config=config)
    out = west.update_table_replica_auto_scaling(
        TableName=table, ProvisionedWriteCapacityAutoScalingUpdate=custom
    )["TableAutoScalingDescription"]
    assert out["Replicas"][0]["ReplicaProvisionedWriteCapacityAutoScalingSettings"] == write
    after = describe(east, table)["Replicas"]
    assert after[1]["ReplicaProvisionedWriteCapacityAutoScalingSettings"] == shown(2, 12, "my-policy", config)


def test_read_settings_are_per_replica(pair: tuple[str, Any, Any]) -> None:
    table, east, _west = pair
    east.update_table_replica_auto_scaling(
        TableName=table,
        ReplicaUpdates=[{"RegionName": WEST, "ReplicaProvisionedReadCapacityAutoScalingUpdate": full(3, 30)}],
    )
    read = shown(3, 30, f"DynamoDBReadCapacityUtilization:table/{table}", {"TargetValue": 70.0})
    replicas = by_region(describe(east, table))
    assert replicas[WEST]["ReplicaProvisionedReadCapacityAutoScalingSettings"] == read
    assert replicas[EAST]["ReplicaProvisionedReadCapacityAutoScalingSettings"] == OFF
    assert replicas[WEST]["ReplicaProvisionedWriteCapacityAutoScalingSettings"] == OFF
    # Both replicas in one call, each its own settings; Min == Max and a target of 19.9 are accepted.
    east.update_table_replica_auto_scaling(
        TableName=table,
        ReplicaUpdates=[
            {"RegionName": EAST, "ReplicaProvisionedReadCapacityAutoScalingUpdate": full(5, 5, 19.9)},
            {"RegionName": WEST, "ReplicaProvisionedReadCapacityAutoScalingUpdate": full(4, 40, 90.0)},
        ],
    )
    replicas = by_region(describe(east, table))
    assert replicas[EAST]["ReplicaProvisionedReadCapacityAutoScalingSettings"] == shown(
        5, 5, f"DynamoDBReadCapacityUtilization:table/{table}", {"TargetValue": 19.9}
    )
    assert replicas[WEST]["ReplicaProvisionedReadCapacityAutoScalingSettings"]["MaximumUnits"] == 40


def test_gsi_settings_write_for_every_replica_and_read_per_replica(pair: tuple[str, Any, Any]) -> None:
    table, east, west = pair
    west.update_table_replica_auto_scaling(
        TableName=table,
        GlobalSecondaryIndexUpdates=[
            {"IndexName": "by-g", "ProvisionedWriteCapacityAutoScalingUpdate": full(1, 12)}
        ],
        ReplicaUpdates=[
            {
                "RegionName": EAST,
                "ReplicaGlobalSecondaryIndexUpdates": [
                    {"IndexName": "by-g", "ProvisionedReadCapacityAutoScalingUpdate": full(2, 20, 60.0)}
                ],
            }
        ],
    )
    index = f"table/{table}/index/by-g"
    write = shown(1, 12, f"DynamoDBWriteCapacityUtilization:{index}", {"TargetValue": 70.0})
    read = shown(2, 20, f"DynamoDBReadCapacityUtilization:{index}", {"TargetValue": 60.0})
    replicas = by_region(describe(east, table))
    assert replicas[EAST]["GlobalSecondaryIndexes"] == [
        {
            "IndexName": "by-g",
            "IndexStatus": "ACTIVE",
            "ProvisionedReadCapacityAutoScalingSettings": read,
            "ProvisionedWriteCapacityAutoScalingSettings": write,
        }
    ]
    assert replicas[WEST]["GlobalSecondaryIndexes"][0]["ProvisionedReadCapacityAutoScalingSettings"] == OFF
    assert replicas[WEST]["GlobalSecondaryIndexes"][0]["ProvisionedWriteCapacityAutoScalingSettings"] == write
    for replica in replicas.values():  # the table's own dimensions are untouched
        assert replica["ReplicaProvisionedWriteCapacityAutoScalingSettings"] == OFF


def test_disabling(pair: tuple[str, Any, Any]) -> None:
    table, east, _west = pair
    east.update_table_replica_auto_scaling(
        TableName=table,
        ProvisionedWriteCapacityAutoScalingUpdate=full(1, 10),
        ReplicaUpdates=[{"RegionName": EAST, "ReplicaProvisionedReadCapacityAutoScalingUpdate": full(2, 20)}],
    )
    before = describe(east, table)
    out = east.update_table_replica_auto_scaling(
        TableName=table, ProvisionedWriteCapacityAutoScalingUpdate={"AutoScalingDisabled": True}
    )
    assert out["TableAutoScalingDescription"] == before  # the answer still shows write enabled
    replicas = by_region(describe(east, table))
    assert [r["ReplicaProvisionedWriteCapacityAutoScalingSettings"] for r in replicas.values()] == [OFF, OFF]
    assert replicas[EAST]["ReplicaProvisionedReadCapacityAutoScalingSettings"]["MinimumUnits"] == 2
    # Disabling twice, or a dimension never enabled, is accepted and changes nothing.
    for _ in range(2):
        east.update_table_replica_auto_scaling(
            TableName=table,
            ProvisionedWriteCapacityAutoScalingUpdate={"AutoScalingDisabled": True},
            ReplicaUpdates=[
                {
                    "RegionName": WEST,
                    "ReplicaProvisionedReadCapacityAutoScalingUpdate": {"AutoScalingDisabled": True},
                }
            ],
        )
    assert by_region(describe(east, table)) == replicas
    # Re-enabling needs every parameter again; the policy gets the generated name.
    assert error(
        east.update_table_replica_auto_scaling,
        TableName=table,
        ProvisionedWriteCapacityAutoScalingUpdate={"AutoScalingDisabled": False},
    ) == (
        "ValidationException",
        f"Failed to update settings for global table with name: \u2018{table}\u2019: Parameters 'MaximumUnits', 'ScalingPolicyUpdate', 'MinimumUnits' are required unless auto scaling is being disabled.",
    )
    east.update_table_replica_auto_scaling(
        TableName=table,
        ProvisionedWriteCapacityAutoScalingUpdate={"AutoScalingDisabled": False, **full(1, 5)},
    )
    write = describe(east, table)["Replicas"][0]["ReplicaProvisionedWriteCapacityAutoScalingSettings"]
    assert write == shown(1, 5, f"DynamoDBWriteCapacityUtilization:table/{table}", {"TargetValue": 70.0})


def test_on_demand_global_table(server: ServerProcess) -> None:
    table = name("as")
    east, west = clients(server, EAST, WEST)
    create_table(east, table)
    add_replica(east, table, WEST)
    replicas = describe(west, table)["Replicas"]
    assert [r["RegionName"] for r in replicas] == [EAST, WEST]
    for replica in replicas:
        assert replica["GlobalSecondaryIndexes"] == []
        assert replica["ReplicaProvisionedReadCapacityAutoScalingSettings"] == OFF
        assert replica["ReplicaProvisionedWriteCapacityAutoScalingSettings"] == OFF
    refused = f"Failed to update global table with name \u2018{table}\u2018. Replicas 'US-EAST-1', 'US-WEST-2' BillingMode is PayPerRequest. You must convert table's BillingMode to PROVISIONED to set parameters: "
    update = east.update_table_replica_auto_scaling
    assert error(update, TableName=table, ProvisionedWriteCapacityAutoScalingUpdate=full(1, 10)) == (
        "ValidationException",
        refused + "'GlobalTableProvisionedWriteCapacityAutoScalingSettingsUpdate'.",
    )
    read = [{"RegionName": WEST, "ReplicaProvisionedReadCapacityAutoScalingUpdate": full(1, 10)}]
    assert error(update, TableName=table, ReplicaUpdates=read) == (
        "ValidationException",
        refused + "'ReplicaProvisionedReadCapacityAutoScalingSettingsUpdate'.",
    )
    update(TableName=table, ProvisionedWriteCapacityAutoScalingUpdate={"AutoScalingDisabled": True})


def test_switching_to_on_demand_keeps_the_settings_shown_disabled(pair: tuple[str, Any, Any]) -> None:
    table, east, _west = pair
    east.update_table_replica_auto_scaling(
        TableName=table, ProvisionedWriteCapacityAutoScalingUpdate=full(1, 10)
    )
    east.update_table(TableName=table, BillingMode="PAY_PER_REQUEST")
    write = describe(east, table)["Replicas"][0]["ReplicaProvisionedWriteCapacityAutoScalingSettings"]
    assert write == {
        **shown(1, 10, f"DynamoDBWriteCapacityUtilization:table/{table}", {"TargetValue": 70.0}),
        "AutoScalingDisabled": True,
    }


# ---- errors --------------------------------------------------------------------------------------------


def test_only_global_tables_of_2019_have_settings(
    server: ServerProcess, make_table: Callable[..., str]
) -> None:
    east = make_client(server.url, "dynamodb", EAST)
    for table in ("as-nope-missing", make_table()):  # missing, or a regional table
        missing = ("ResourceNotFoundException", f"Global table with name: '{table}' does not exist.")
        assert error(east.describe_table_replica_auto_scaling, TableName=table) == missing
        assert (
            error(
                east.update_table_replica_auto_scaling,
                TableName=table,
                ProvisionedWriteCapacityAutoScalingUpdate=full(1, 10),
            )
            == missing
        )
    # A legacy (2017.11.29) global table is not one this API knows (our choice: AWS documents the
    # operation for version 2019.11.21 only).
    legacy = name("as")
    east.create_table(
        TableName=legacy,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    east.create_global_table(GlobalTableName=legacy, ReplicationGroup=[{"RegionName": EAST}])
    assert error(east.describe_table_replica_auto_scaling, TableName=legacy) == (
        "ResourceNotFoundException",
        f"Global table with name: '{legacy}' does not exist.",
    )


def test_update_validation(pair: tuple[str, Any, Any]) -> None:
    table, east, _west = pair
    failed = f"Failed to update settings for global table with name: \u2018{table}\u2019"
    required = failed + ": Parameters {} are required unless auto scaling is being disabled."
    blank = f"Failed to update settings for global table with name \u2018{table}\u2019: Parameters {{}} must be left blank when disabling auto scaling."

    def fails(**kwargs: Any) -> tuple[str, str]:
        return error(east.update_table_replica_auto_scaling, TableName=table, **kwargs)

    def write(settings: dict[str, Any]) -> tuple[str, str]:
        return fails(ProvisionedWriteCapacityAutoScalingUpdate=settings)

    def read(region: str, settings: dict[str, Any]) -> dict[str, Any]:
        return {"RegionName": region, "ReplicaProvisionedReadCapacityAutoScalingUpdate": settings}

    invalid = "ValidationException"
    assert fails() == (invalid, f"{failed} because at least one update parameter must be specified.")
    assert fails(ReplicaUpdates=[{"RegionName": WEST}]) == (
        invalid,
        f"{failed} because at least one update parameter must be specified for region: \u2018{WEST}\u2019.",
    )
    assert fails(ReplicaUpdates=[read(WEST, full(1, 2)), read(EAST, full(1, 2)), read(WEST, full(1, 3))]) == (
        invalid,
        f"{failed} because the regions: \u2018[{WEST}]\u2019 were specified more than once.",
    )
    policy = full(1, 2)["ScalingPolicyUpdate"]
    assert write({"MinimumUnits": 1, "MaximumUnits": 10}) == (
        invalid,
        required.format("'ScalingPolicyUpdate'"),
    )
    assert write({"ScalingPolicyUpdate": policy}) == (
        invalid,
        required.format("'MaximumUnits', 'MinimumUnits'"),
    )
    assert write({"MinimumUnits": 1, "ScalingPolicyUpdate": policy}) == (
        invalid,
        required.format("'MaximumUnits'"),
    )
    assert write({"MaximumUnits": 1, "ScalingPolicyUpdate": policy}) == (
        invalid,
        required.format("'MinimumUnits'"),
    )
    every = required.format("'MaximumUnits', 'ScalingPolicyUpdate', 'MinimumUnits'")
    assert write({}) == (invalid, every)
    assert write({"AutoScalingRoleArn": ROLE}) == (invalid, every)
    assert write({"AutoScalingDisabled": True, "MinimumUnits": 1, "MaximumUnits": 10}) == (
        invalid,
        blank.format("'MaximumUnits', 'MinimumUnits'"),
    )
    assert write({"AutoScalingDisabled": True, "ScalingPolicyUpdate": policy}) == (
        invalid,
        blank.format("'ScalingPolicyUpdate'"),
    )
    # Application Auto Scaling's own refusals come through verbatim, its request id included.
    code, message = write(full(10, 5))
    assert code == invalid
    assert re.fullmatch("Maximum capacity cannot be less than minimum capacity" + AAS, message)
    code, message = fails(ReplicaUpdates=[read(EAST, full(1, 10, 90.1))])
    assert re.fullmatch(
        re.escape(
            "For predefined metric type DynamoDBReadCapacityUtilization, target value must be between '10.0' and '90.0', but was '90.1'."
        )
        + AAS,
        message,
    )
    code, message = write(full(1, 10, 100))
    assert re.fullmatch(
        re.escape(
            "For predefined metric type DynamoDBWriteCapacityUtilization, target value must be between '10.0' and '90.0', but was '100.0'."
        )
        + AAS,
        message,
    )
    for target, text in ((0, "0.0"), (2e108, "2.0E108")):
        code, message = write(full(1, 10, target))
        assert re.fullmatch(
            re.escape(
                f"For target tracking scaling, target value must be between '8.51592E-109' and '1.174271E108', but was '{text}'."
            )
            + AAS,
            message,
        )
    # Names that are not there: the code is AWS's, the texts ours.
    assert fails(ReplicaUpdates=[read("eu-west-1", full(1, 10))]) == (
        "ResourceNotFoundException",
        "Requested resource not found: Replica: eu-west-1 not found",
    )
    no_index = ("ResourceNotFoundException", "Requested resource not found: Index: nope not found")
    assert (
        fails(
            GlobalSecondaryIndexUpdates=[
                {"IndexName": "nope", "ProvisionedWriteCapacityAutoScalingUpdate": full(1, 10)}
            ]
        )
        == no_index
    )
    gsi_read = {"IndexName": "nope", "ProvisionedReadCapacityAutoScalingUpdate": full(1, 10)}
    assert (
        fails(ReplicaUpdates=[{"RegionName": EAST, "ReplicaGlobalSecondaryIndexUpdates": [gsi_read]}])
        == no_index
    )
    # An index entry with nothing to set (our text, after AWS's for a region).
    assert fails(GlobalSecondaryIndexUpdates=[{"IndexName": "by-g"}]) == (
        invalid,
        f"{failed} because at least one update parameter must be specified for index: \u2018by-g\u2019.",
    )
    # One refused part refuses the whole request: nothing was applied, by this call or any above.
    code, _ = fails(
        ProvisionedWriteCapacityAutoScalingUpdate=full(1, 10), ReplicaUpdates=[read(EAST, full(5, 1))]
    )
    assert code == invalid
    for replica in describe(east, table)["Replicas"]:
        assert replica["ReplicaProvisionedWriteCapacityAutoScalingSettings"] == OFF
        assert replica["ReplicaProvisionedReadCapacityAutoScalingSettings"] == OFF
        assert replica["GlobalSecondaryIndexes"][0]["ProvisionedWriteCapacityAutoScalingSettings"] == OFF


def test_an_index_entry_without_a_name(server: ServerProcess, pair: tuple[str, Any, Any]) -> None:
    table, _east, _west = pair
    raw = make_client(server.url, "dynamodb", EAST, config=RAW)
    assert error(
        raw.update_table_replica_auto_scaling,
        TableName=table,
        GlobalSecondaryIndexUpdates=[{"ProvisionedWriteCapacityAutoScalingUpdate": full(1, 10)}],
    ) == (
        "ValidationException",
        "1 validation error detected: Value null at 'globalSecondaryIndexUpdates.1.member.indexName' failed to satisfy constraint: Member must not be null",
    )


# ---- durability ----------------------------------------------------------------------------------------


def test_settings_survive_kill_9(fresh_server: Callable[..., ServerProcess]) -> None:
    proc = fresh_server()
    east, west = (make_client(proc.url, "dynamodb", r) for r in (EAST, WEST))
    table = provisioned_global([east, west])
    east.update_table_replica_auto_scaling(
        TableName=table,
        ProvisionedWriteCapacityAutoScalingUpdate=full(1, 10, PolicyName="w"),
        GlobalSecondaryIndexUpdates=[
            {"IndexName": "by-g", "ProvisionedWriteCapacityAutoScalingUpdate": full(2, 8)}
        ],
        ReplicaUpdates=[
            {
                "RegionName": WEST,
                "ReplicaProvisionedReadCapacityAutoScalingUpdate": full(3, 30, 40.0),
                "ReplicaGlobalSecondaryIndexUpdates": [
                    {"IndexName": "by-g", "ProvisionedReadCapacityAutoScalingUpdate": full(4, 40)}
                ],
            }
        ],
    )
    west.update_table_replica_auto_scaling(  # and a disable, acknowledged just before the kill
        TableName=table,
        ReplicaUpdates=[
            {
                "RegionName": WEST,
                "ReplicaProvisionedReadCapacityAutoScalingUpdate": {"AutoScalingDisabled": True},
            }
        ],
    )
    before = describe(east, table)
    assert by_region(before)[WEST]["ReplicaProvisionedReadCapacityAutoScalingSettings"] == OFF
    assert (
        by_region(before)[WEST]["GlobalSecondaryIndexes"][0]["ProvisionedReadCapacityAutoScalingSettings"]
        != OFF
    )
    proc.kill()
    proc.restart()
    east, west = (make_client(proc.url, "dynamodb", r) for r in (EAST, WEST))
    assert describe(east, table) == before
    assert describe(west, table) == before
