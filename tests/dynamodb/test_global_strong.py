"""MRSC (MultiRegionConsistency=STRONG): three regions of a set, synchronous replication, write
conflicts, and what such tables refuse."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.dynamodb.global_helpers import clients, create_table, item, name
from tests.support.server import ServerProcess


def strong(ddb: Any, table: str, *regions: str, witness: str | None = None) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if witness:
        extra["GlobalTableWitnessUpdates"] = [{"Create": {"RegionName": witness}}]
    return ddb.update_table(
        TableName=table,
        ReplicaUpdates=[{"Create": {"RegionName": r}} for r in regions],
        MultiRegionConsistency="STRONG",
        **extra,
    )["TableDescription"]


def test_writes_are_visible_everywhere_before_the_response(server: ServerProcess) -> None:
    table = name()
    east, east2, west = clients(server, "us-east-1", "us-east-2", "us-west-2")
    create_table(east, table)
    out = strong(east, table, "us-east-2", "us-west-2")
    assert out["MultiRegionConsistency"] == "STRONG"
    assert sorted(r["RegionName"] for r in out["Replicas"]) == ["us-east-2", "us-west-2"]
    east.put_item(TableName=table, Item={"pk": {"S": "k"}, "v": {"S": "1"}})
    assert item(west, table, "k") == {"pk": {"S": "k"}, "v": {"S": "1"}}  # no waiting: synchronous
    assert item(east2, table, "k") == {"pk": {"S": "k"}, "v": {"S": "1"}}
    west.delete_item(TableName=table, Key={"pk": {"S": "k"}})
    assert item(east, table, "k") is None


def test_racing_writes_from_two_regions_conflict(server: ServerProcess) -> None:
    table = name()
    eu1, eu2 = clients(server, "eu-west-1", "eu-west-2")
    create_table(eu1, table)
    out = strong(eu1, table, "eu-west-2", witness="eu-central-1")
    assert out["GlobalTableWitnesses"] == [{"RegionName": "eu-central-1", "WitnessStatus": "ACTIVE"}]
    server.call("POST", "/_gondwana/replication", {"mrsc_conflict_window_ms": 60_000})
    try:
        eu1.put_item(TableName=table, Item={"pk": {"S": "hot"}, "v": {"S": "a"}})
        with pytest.raises(ClientError) as err:
            eu2.put_item(TableName=table, Item={"pk": {"S": "hot"}, "v": {"S": "b"}})
        assert err.value.response["Error"]["Code"] == "ReplicatedWriteConflictException"
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
        eu1.put_item(TableName=table, Item={"pk": {"S": "hot"}, "v": {"S": "c"}})  # same region: fine
        eu2.put_item(TableName=table, Item={"pk": {"S": "cold"}})  # another item: fine
        assert item(eu2, table, "hot")["v"] == {"S": "c"}  # the refused write left nothing behind
    finally:
        server.call("POST", "/_gondwana/replication", {"mrsc_conflict_window_ms": 0})


def test_transactions_and_ttl_are_refused(server: ServerProcess) -> None:
    table = name()
    (ap1,) = clients(server, "ap-northeast-1")
    create_table(ap1, table)
    strong(ap1, table, "ap-northeast-2", "ap-northeast-3")
    with pytest.raises(ClientError) as err:
        ap1.transact_write_items(TransactItems=[{"Put": {"TableName": table, "Item": {"pk": {"S": "t"}}}}])
    assert err.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as err:
        ap1.execute_transaction(
            TransactStatements=[{"Statement": f"INSERT INTO \"{table}\" VALUE {{'pk': 'p'}}"}]
        )
    assert err.value.response["Error"]["Code"] == "ValidationException"
    assert ap1.scan(TableName=table)["Items"] == []
    with pytest.raises(ClientError) as err:
        ap1.update_time_to_live(
            TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "e"}
        )
    assert err.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as err:
        ap1.update_table(TableName=table, ReplicaUpdates=[{"Create": {"RegionName": "us-east-1"}}])
    assert err.value.response["Error"] == {
        "Code": "ValidationException",
        "Message": "Cannot add replicas to a global table with strong MultiRegionConsistency",
    }
    with pytest.raises(ClientError) as err:
        ap1.delete_table(TableName=table)
    assert err.value.response["Error"]["Message"] == (
        "Deletion of only one table replica is not supported for global tables with MultiRegionConsistency "
        "set to STRONG."
    )


@pytest.mark.parametrize(
    ("regions", "witness"),
    [
        (["us-east-2"], None),  # two regions
        (["us-east-2", "eu-west-1"], None),  # two region sets
        (["us-east-2", "us-west-2"], "us-east-2"),  # four, counting the witness
        (["us-west-1", "us-east-2"], None),  # us-west-1 is in no region set
    ],
)
def test_invalid_region_choices(server: ServerProcess, regions: list[str], witness: str | None) -> None:
    table = name()
    (east,) = clients(server, "us-east-1")
    create_table(east, table)
    with pytest.raises(ClientError) as err:
        strong(east, table, *regions, witness=witness)
    assert err.value.response["Error"]["Code"] == "ValidationException"
    assert "Replicas" not in east.describe_table(TableName=table)["Table"]


def test_consistency_alone_is_no_update(server: ServerProcess) -> None:
    table = name()
    (east,) = clients(server, "us-east-1")
    create_table(east, table)
    with pytest.raises(ClientError) as err:
        east.update_table(TableName=table, MultiRegionConsistency="STRONG")
    assert err.value.response["Error"]["Message"].startswith("At least one of")


def test_table_must_be_empty(server: ServerProcess) -> None:
    table = name()
    (east,) = clients(server, "us-east-1")
    create_table(east, table)
    east.put_item(TableName=table, Item={"pk": {"S": "x"}})
    with pytest.raises(ClientError) as err:
        strong(east, table, "us-east-2", "us-west-2")
    assert err.value.response["Error"]["Code"] == "ValidationException"
    assert "empty" in err.value.response["Error"]["Message"]


def test_group_is_torn_down_in_one_call(server: ServerProcess) -> None:
    table = name()
    east1, east2 = clients(server, "us-east-1", "us-east-2")
    create_table(east1, table)
    strong(east1, table, "us-east-2", witness="us-west-2")
    with pytest.raises(ClientError) as err:  # the witness must go too
        east1.update_table(TableName=table, ReplicaUpdates=[{"Delete": {"RegionName": "us-east-2"}}])
    assert (
        err.value.response["Error"]["Message"]
        == "Update table delete operation does not include all witnesses."
    )
    east1.update_table(
        TableName=table,
        ReplicaUpdates=[{"Delete": {"RegionName": "us-east-2"}}],
        GlobalTableWitnessUpdates=[{"Delete": {"RegionName": "us-west-2"}}],
    )
    d = east1.describe_table(TableName=table)["Table"]
    assert "Replicas" not in d and "MultiRegionConsistency" not in d and "GlobalTableWitnesses" not in d
    with pytest.raises(ClientError) as err:
        east2.describe_table(TableName=table)
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    east1.delete_table(TableName=table)
