"""Replication survives `kill -9`: queued changes are delivered after restart, none twice."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.conftest import make_client
from tests.dynamodb.global_helpers import add_replica, create_table, name, pair, scan, set_delay, wait_for
from tests.support.server import ServerProcess


def stream_events(proc: ServerProcess, region: str, table: str) -> list[str]:
    """Every stream record's "EVENT:pk" of a table in a region, shard by shard, in order."""
    ddb = make_client(proc.url, "dynamodb", region)
    streams = make_client(proc.url, "dynamodbstreams", region)
    arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    events = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        it = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while it:
            page = streams.get_records(ShardIterator=it, Limit=1000)
            events += [f"{r['eventName']}:{r['dynamodb']['Keys']['pk']['S']}" for r in page["Records"]]
            if not page["Records"]:
                break
            it = page.get("NextShardIterator")
    return events


def held_global_table(fresh_server: Callable[..., ServerProcess]) -> tuple[ServerProcess, Any, str]:
    """A private server whose replication waits (a 10-minute delay) and a table in us-east-1 with a
    replica in eu-west-1: what is written queues until the test releases it."""
    proc = fresh_server("--replication-delay", "600000")
    east = make_client(proc.url, "dynamodb", "us-east-1")
    table = name()
    create_table(east, table)
    add_replica(east, table, "eu-west-1")
    return proc, east, table


def test_kill_9_during_replication_loses_and_duplicates_nothing(
    fresh_server: Callable[..., ServerProcess],
) -> None:
    proc, east, table = held_global_table(fresh_server)
    for i in range(40):
        east.put_item(TableName=table, Item={"pk": {"S": f"k{i:02d}"}, "v": {"N": str(i)}})
    east.delete_item(TableName=table, Key={"pk": {"S": "k00"}})
    set_delay(proc, 0)  # release the queue ...
    proc.kill()  # ... and die while it drains
    proc.restart()
    set_delay(proc, 0)
    west = make_client(proc.url, "dynamodb", "eu-west-1")
    wait_for(lambda: scan(west, table) == scan(east, table) and len(scan(west, table)) == 39)
    assert proc.call("GET", "/_gondwana/replication")["pairs"][0]["pending"] == 0
    events = stream_events(proc, "eu-west-1", table)
    assert sorted(events) == sorted([f"INSERT:k{i:02d}" for i in range(40)] + ["REMOVE:k00"])
    assert events.index("REMOVE:k00") > events.index("INSERT:k00")  # per item order kept


def test_kill_9_while_a_backlog_drains_in_batches_loses_and_duplicates_nothing(
    fresh_server: Callable[..., ServerProcess],
) -> None:
    """A queue of many batches (BatchWriteItem puts, overwrites, deletes) killed mid-drain."""
    proc, east, table = held_global_table(fresh_server)
    keys = [f"k{i:04d}" for i in range(1000)]
    for start in range(0, len(keys), 25):
        east.batch_write_item(
            RequestItems={
                table: [
                    {"PutRequest": {"Item": {"pk": {"S": k}, "v": {"N": "1"}}}}
                    for k in keys[start : start + 25]
                ]
            }
        )
    for k in keys[:10]:
        east.put_item(TableName=table, Item={"pk": {"S": k}, "v": {"N": "2"}})
    for k in keys[10:20]:
        east.delete_item(TableName=table, Key={"pk": {"S": k}})
    assert pair(proc, "us-east-1", "eu-west-1")["pending"] == 1020
    set_delay(proc, 0)
    proc.kill()
    proc.restart()
    set_delay(proc, 0)
    west = make_client(proc.url, "dynamodb", "eu-west-1")
    wait_for(lambda: pair(proc, "us-east-1", "eu-west-1")["pending"] == 0)
    assert scan(west, table) == scan(east, table)
    assert len(scan(west, table)) == 990
    events = stream_events(proc, "eu-west-1", table)
    expected = [f"INSERT:{k}" for k in keys] + [f"MODIFY:{k}" for k in keys[:10]]
    assert sorted(events) == sorted(expected + [f"REMOVE:{k}" for k in keys[10:20]])
    for k in keys[:20]:  # per item order kept
        assert events.index(f"INSERT:{k}") < events.index(f"{'MODIFY' if k in keys[:10] else 'REMOVE'}:{k}")
