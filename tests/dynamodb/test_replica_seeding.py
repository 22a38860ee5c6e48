"""A replica added to a table too large to fill within the UpdateTable call is filled in the
background: CREATING in every region's description meanwhile, the source's writes going on all the
while, and once ACTIVE it holds exactly the source's items, counted right, a kill -9 in the middle
included. Changes a third region made that still wait to reach the source reach the new replica too."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.dynamodb.global_helpers import (
    add_replica,
    clients,
    create_table,
    name,
    pair,
    scan,
    set_delay,
    wait_for,
)
from tests.support.server import ServerProcess

ITEMS = 6000  # far more than a pass copies in its few milliseconds


def filled(east: Any) -> str:
    table = name()
    create_table(east, table)
    for start in range(0, ITEMS, 25):
        puts = [
            {"PutRequest": {"Item": {"pk": {"S": f"i{k}"}, "n": {"N": str(k)}}}}
            for k in range(start, start + 25)
        ]
        east.batch_write_item(RequestItems={table: puts})
    return table


def write_meanwhile(east: Any, table: str, round_: int) -> None:
    """Writes all over the key space: items changed, deleted and added."""
    for k in range(round_, ITEMS, 97):
        east.put_item(
            TableName=table, Item={"pk": {"S": f"i{k}"}, "n": {"N": str(-k)}, "round": {"N": str(round_)}}
        )
    for k in range(round_ + 29, ITEMS, 83):
        east.delete_item(TableName=table, Key={"pk": {"S": f"i{k}"}})
    for k in range(10):
        east.put_item(TableName=table, Item={"pk": {"S": f"new{round_}-{k}"}})


def everything(ddb: Any, table: str) -> list[Any]:
    items: list[Any] = []
    request: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    while True:
        page = ddb.scan(**request)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return sorted(items, key=lambda i: i["pk"]["S"])
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def active(ddb: Any, table: str) -> bool:
    return ddb.describe_table(TableName=table)["Table"]["TableStatus"] == "ACTIVE"


def replica_status(ddb: Any, table: str) -> list[tuple[str, str]]:
    return [
        (r["RegionName"], r["ReplicaStatus"])
        for r in ddb.describe_table(TableName=table)["Table"]["Replicas"]
    ]


def check_replica(east: Any, west: Any, table: str) -> None:
    wait_for(lambda: active(west, table), timeout=60)
    assert replica_status(east, table) == [("us-west-2", "ACTIVE")]
    source = everything(east, table)
    wait_for(lambda: everything(west, table) == source)  # the last changes replicate
    assert west.describe_table(TableName=table)["Table"]["ItemCount"] == len(source)


def test_writes_during_the_seeding_end_in_an_exact_replica(
    fresh_server: Callable[..., ServerProcess],
) -> None:
    proc = fresh_server()
    set_delay(proc, 50)
    east, west = clients(proc, "us-east-1", "us-west-2")
    table = filled(east)
    out = add_replica(east, table, "us-west-2")["TableDescription"]
    assert [(r["RegionName"], r["ReplicaStatus"]) for r in out["Replicas"]] == [("us-west-2", "CREATING")]
    assert west.describe_table(TableName=table)["Table"]["TableStatus"] == "CREATING"
    with pytest.raises(ClientError) as exc:
        west.get_item(TableName=table, Key={"pk": {"S": "i1"}})
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"
    for round_ in range(3):
        write_meanwhile(east, table, round_)
    check_replica(east, west, table)


def test_the_seeding_goes_on_after_a_kill(fresh_server: Callable[..., ServerProcess]) -> None:
    proc = fresh_server()
    set_delay(proc, 50)
    east, west = clients(proc, "us-east-1", "us-west-2")
    table = filled(east)
    add_replica(east, table, "us-west-2")
    assert west.describe_table(TableName=table)["Table"]["TableStatus"] == "CREATING"  # still filling
    proc.kill()
    proc.start()
    set_delay(proc, 50)
    east, west = clients(proc, "us-east-1", "us-west-2")
    for round_ in range(2):
        write_meanwhile(east, table, round_)
    check_replica(east, west, table)


def test_changes_a_third_region_queued_for_the_source_reach_the_new_replica(
    fresh_server: Callable[..., ServerProcess],
) -> None:
    proc = fresh_server()
    set_delay(proc, 0)
    set_delay(proc, 600_000, "eu-west-1", "us-east-1")  # the west's changes wait for the east
    east, west, south = clients(proc, "us-east-1", "eu-west-1", "ap-southeast-2")
    table, other = name(), name()
    for t in (table, other):
        create_table(east, t)
        add_replica(east, t, "eu-west-1")
    wait_for(lambda: all(active(west, t) for t in (table, other)))
    for t in (table, other):
        west.put_item(TableName=t, Item={"pk": {"S": f"west-{t}"}})
    east.put_item(TableName=table, Item={"pk": {"S": "east"}})
    add_replica(east, table, "ap-southeast-2")  # seeded from the east, which lacks the west's item
    wait_for(lambda: sorted(i["pk"]["S"] for i in scan(south, table)) == ["east", f"west-{table}"])
    assert scan(east, table) == [{"pk": {"S": "east"}}]  # still waiting for the east
    # The control API's counts, kept in memory, agree with the queue.
    assert pair(proc, "eu-west-1", "us-east-1")["pending"] == 2
    wait_for(lambda: pair(proc, "eu-west-1", "ap-southeast-2")["pending"] == 0)
    assert proc.call("GET", "/_gondwana/health")["services"]["dynamodb"]["replication"]["pending"] == 2


def east_and_west(proc: ServerProcess) -> tuple[str, list[Any]]:
    """A table in the east with a replica in the west, the clients of those and of the south."""
    set_delay(proc, 0)
    east, west, south = clients(proc, "us-east-1", "eu-west-1", "ap-southeast-2")
    table = name()
    create_table(east, table)
    add_replica(east, table, "eu-west-1")
    wait_for(lambda: active(west, table))
    return table, [east, west, south]


def converged_empty(proc: ServerProcess, table: str) -> None:
    """Nothing queued from the west anymore, and no region holds an item."""
    set_delay(proc, 0)
    for target in ("us-east-1", "ap-southeast-2"):
        wait_for(lambda target=target: pair(proc, "eu-west-1", target)["pending"] == 0)
    for ddb in clients(proc, "us-east-1", "eu-west-1", "ap-southeast-2"):
        wait_for(lambda ddb=ddb: everything(ddb, table) == [])


def test_a_delete_the_source_made_still_wins_on_the_new_replica(
    fresh_server: Callable[..., ServerProcess],
) -> None:
    """The west writes an item, the east deletes it later (both held back), then a replica joins from
    the east: the west's queued write, older than the delete, must lose there too."""
    proc = fresh_server()
    table, (east, west, south) = east_and_west(proc)
    east.put_item(TableName=table, Item={"pk": {"S": "k"}, "v": {"S": "first"}})
    wait_for(lambda: scan(west, table))
    set_delay(proc, 600_000)  # nothing moves between regions for now
    west.put_item(TableName=table, Item={"pk": {"S": "k"}, "v": {"S": "west"}})
    east.delete_item(TableName=table, Key={"pk": {"S": "k"}})  # later: this delete wins
    add_replica(east, table, "ap-southeast-2")
    wait_for(lambda: active(south, table))
    converged_empty(proc, table)


def test_the_tombstones_walk_goes_on_after_a_kill(fresh_server: Callable[..., ServerProcess]) -> None:
    """Thousands of deletes to copy (more than the first pass does), a kill in the middle: the
    walk goes on after the restart, and the west's older writes lose on the new replica too."""
    proc = fresh_server()
    table, (east, west, south) = east_and_west(proc)
    set_delay(proc, 600_000)
    for k in range(10):
        west.put_item(TableName=table, Item={"pk": {"S": f"i{k}"}, "by": {"S": "west"}})
    for start in range(0, ITEMS, 25):
        for kind in ("PutRequest", "DeleteRequest"):
            requests = [
                {kind: {"Item" if kind == "PutRequest" else "Key": {"pk": {"S": f"i{k}"}}}}
                for k in range(start, start + 25)
            ]
            east.batch_write_item(RequestItems={table: requests})
    add_replica(east, table, "ap-southeast-2")
    assert south.describe_table(TableName=table)["Table"]["TableStatus"] == "CREATING"  # still copying
    proc.kill()
    proc.start()
    (south,) = clients(proc, "ap-southeast-2")
    wait_for(lambda: active(south, table), timeout=60)
    converged_empty(proc, table)
