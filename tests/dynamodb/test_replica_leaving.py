"""A region leaving a global table voids the changes still queued from or to it, instead of
deleting them in the call (0.2 s per 100,000 queued, every request waiting): delivery takes them as
it reaches them, applies none, and none reaches a replica made in that region again, across a
kill -9 too."""

from __future__ import annotations

import sqlite3
from typing import Any

from tests.dynamodb.global_helpers import add_replica, clients, create_table, name, scan, set_delay, wait_for

EAST, WEST = "us-east-1", "eu-west-1"


def queued(proc: Any, source: str) -> int:
    assert proc.data_dir is not None
    database = next(proc.data_dir.rglob("gondwana.db"))
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        return db.execute("SELECT COUNT(*) FROM dynamodb_repl_outbox WHERE source = ?", (source,)).fetchone()[
            0
        ]


def active(ddb: Any, table: str) -> bool:
    described = ddb.describe_table(TableName=table)["Table"]
    return described["TableStatus"] == "ACTIVE" and all(
        r["ReplicaStatus"] == "ACTIVE" for r in described.get("Replicas", [])
    )


def test_changes_queued_from_a_region_that_left_never_land(fresh_server: Any) -> None:
    proc = fresh_server()
    set_delay(proc, 0)
    set_delay(proc, 600_000, WEST, EAST)  # the west's changes wait: a backlog
    table = name()
    east, west = clients(proc, EAST, WEST)
    create_table(east, table)
    add_replica(east, table, WEST)
    wait_for(lambda: active(east, table))
    for i in range(0, 300, 25):
        puts = [{"PutRequest": {"Item": {"pk": {"S": f"w{i + k}"}}}} for k in range(25)]
        west.batch_write_item(RequestItems={table: puts})
    east.update_table(TableName=table, ReplicaUpdates=[{"Delete": {"RegionName": WEST}}])
    assert queued(proc, WEST) == 300  # left queued by the call
    wait_for(
        lambda: (
            active(east, table)
            and WEST
            not in [
                r["RegionName"] for r in east.describe_table(TableName=table)["Table"].get("Replicas", [])
            ]
        )
    )
    add_replica(east, table, WEST)  # the west again, made from the east
    wait_for(lambda: active(east, table))
    proc.kill()
    proc.restart()
    east, west = clients(proc, EAST, WEST)
    set_delay(proc, 0)  # the old backlog is due now
    wait_for(lambda: queued(proc, WEST) == 0)
    west.put_item(TableName=table, Item={"pk": {"S": "new"}})  # the west's new changes do land
    wait_for(lambda: scan(east, table))
    assert [i["pk"]["S"] for i in scan(east, table)] == ["new"]
    assert [i["pk"]["S"] for i in scan(west, table)] == ["new"]
