"""MREC replication between regions: the lag, last-writer-wins, partitions and down regions,
streams on the target, TTL deletes, and the control API."""

from __future__ import annotations

import time
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.dynamodb.global_helpers import global_table, item, pair, scan, set_delay, state, wait_for
from tests.support.server import ServerProcess


@pytest.fixture(autouse=True)
def restore(server: ServerProcess) -> Any:
    yield
    server.call("DELETE", "/_gondwana/faults")
    set_delay(server, 300)


def test_visible_after_the_lag_and_not_before(server: ServerProcess) -> None:
    set_delay(server, 2000, "us-east-1", "eu-central-1")
    table, (east, eu) = global_table(server, "us-east-1", "eu-central-1")
    before = pair(server, "us-east-1", "eu-central-1")["applied"]
    east.put_item(TableName=table, Item={"pk": {"S": "k"}, "v": {"S": "1"}})
    assert item(east, table, "k") is not None
    assert item(eu, table, "k") is None  # still on its way
    assert pair(server, "us-east-1", "eu-central-1")["pending"] >= 1
    wait_for(lambda: item(eu, table, "k"))
    p = pair(server, "us-east-1", "eu-central-1")
    assert p["delay_ms"] == 2000 and p["applied"] >= before + 1
    assert p["latency_ms"]["last"] >= 2000  # measured from the source write: never under the delay
    assert state(server)["delay_ms"] == 300
    set_delay(server, 300, "us-east-1", "eu-central-1")


def test_control_api_rejects_bad_bodies(server: ServerProcess) -> None:
    import urllib.error

    for body in ({}, {"delay_ms": -1}, {"delay_ms": "x"}, {"delay_ms": 5, "source": "us-east-1"}):
        with pytest.raises(urllib.error.HTTPError) as err:
            server.call("POST", "/_gondwana/replication", body)
        assert err.value.code == 400
    health = server.call("GET", "/_gondwana/health")
    assert health["services"]["dynamodb"]["replication"]["delay_ms"] == 300


WRITES = st.lists(
    st.tuples(
        st.sampled_from(["us-east-1", "us-west-2", "eu-west-1"]), st.sampled_from("abc"), st.booleans()
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(writes=WRITES)
def test_last_writer_wins_everywhere(server: ServerProcess, writes: list[tuple[str, str, bool]]) -> None:
    """Writers in three regions in a random order, replication held back, then released: every
    replica converges to the last writer's item (or its delete) for each key."""
    set_delay(server, 600_000)
    regions = ["us-east-1", "us-west-2", "eu-west-1"]
    table, ddbs = global_table(server, *regions)
    by_region = dict(zip(regions, ddbs, strict=True))
    expected: dict[str, Any] = {}
    local: set[tuple[str, str]] = set()  # what each region holds while nothing is delivered
    for n, (region, key, delete) in enumerate(writes):
        if delete:
            by_region[region].delete_item(TableName=table, Key={"pk": {"S": key}})
            if (region, key) in local:  # deleting nothing changes nothing, and replicates nothing
                local.discard((region, key))
                expected.pop(key, None)
        else:
            local.add((region, key))
            row = {"pk": {"S": key}, "by": {"S": region}, "n": {"N": str(n)}}
            by_region[region].put_item(TableName=table, Item=row)
            expected[key] = row
    set_delay(server, 0)
    want = sorted(expected.values(), key=lambda i: i["pk"]["S"])
    for ddb in ddbs:
        wait_for(lambda ddb=ddb: scan(ddb, table) == want)


def test_partition_queues_then_heal_converges(server: ServerProcess) -> None:
    set_delay(server, 0)
    table, (east, west) = global_table(server, "us-east-2", "ap-northeast-1")
    server.call(
        "POST", "/_gondwana/faults", {"type": "partition", "regions": ["us-east-2", "ap-northeast-1"]}
    )
    for i in range(5):
        east.put_item(TableName=table, Item={"pk": {"S": f"e{i}"}})
        west.put_item(TableName=table, Item={"pk": {"S": f"w{i}"}})
    wait_for(lambda: pair(server, "us-east-2", "ap-northeast-1")["pending"] >= 5)
    time.sleep(0.3)  # delay 0: anything deliverable would have gone by now
    assert len(scan(east, table)) == 5 and len(scan(west, table)) == 5
    server.call("DELETE", "/_gondwana/faults/partition:ap-northeast-1|us-east-2")
    wait_for(lambda: len(scan(east, table)) == 10 and scan(east, table) == scan(west, table))
    assert pair(server, "us-east-2", "ap-northeast-1")["pending"] == 0


@pytest.mark.parametrize("mode", ["error", "hang", "refuse"])
def test_region_down_then_recovery_delivers_the_survivors_writes(server: ServerProcess, mode: str) -> None:
    set_delay(server, 0)
    table, (primary, secondary) = global_table(server, "eu-west-2", "eu-west-3")
    server.call("POST", "/_gondwana/faults", {"type": "region-down", "region": "eu-west-2", "mode": mode})
    secondary.put_item(TableName=table, Item={"pk": {"S": "failover"}})
    wait_for(lambda: pair(server, "eu-west-3", "eu-west-2")["pending"] >= 1)
    time.sleep(0.2)
    assert pair(server, "eu-west-3", "eu-west-2")["pending"] >= 1  # held while the region is down
    server.call("DELETE", "/_gondwana/faults")
    wait_for(lambda: item(primary, table, "failover"))


def test_target_stream_shows_replicated_changes(server: ServerProcess, client: Any) -> None:
    set_delay(server, 0)
    table, (east, west) = global_table(server, "us-east-1", "us-west-2")
    east.put_item(TableName=table, Item={"pk": {"S": "s"}, "v": {"N": "1"}})
    east.delete_item(TableName=table, Key={"pk": {"S": "s"}})
    streams = client("dynamodbstreams", region="us-west-2")
    arn = west.describe_table(TableName=table)["Table"]["LatestStreamArn"]

    def records() -> list[Any]:
        shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
        out = streams.get_records(ShardIterator=it["ShardIterator"])["Records"]
        return out if len(out) >= 2 else []

    recs = wait_for(records)
    assert [r["eventName"] for r in recs] == ["INSERT", "REMOVE"]
    assert recs[0]["dynamodb"]["NewImage"] == {"pk": {"S": "s"}, "v": {"N": "1"}}
    assert recs[1]["dynamodb"]["OldImage"] == {"pk": {"S": "s"}, "v": {"N": "1"}}
    assert all(r["awsRegion"] == "us-west-2" or r["awsRegion"] == "us-east-1" for r in recs)


def test_ttl_delete_replicates_and_is_not_a_service_delete_on_the_replica(
    server: ServerProcess, client: Any
) -> None:
    set_delay(server, 0)
    table, (east, west) = global_table(server, "ca-central-1", "sa-east-1")
    east.update_time_to_live(
        TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"}
    )
    east.put_item(TableName=table, Item={"pk": {"S": "old"}, "exp": {"N": str(int(time.time()) - 10)}})

    def changes(region: str, ddb: Any) -> list[Any]:
        streams = client("dynamodbstreams", region=region)
        arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
        shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
        recs = streams.get_records(ShardIterator=it["ShardIterator"])["Records"]
        return recs if len(recs) >= 2 else []

    # The sweeper may delete the item before the west could be read holding it: the west's
    # stream, not a read, shows that the item arrived and then the replicated delete.
    east_recs, west_recs = (
        wait_for(lambda: changes("ca-central-1", east)),
        wait_for(lambda: changes("sa-east-1", west)),
    )
    assert [r["eventName"] for r in east_recs] == [r["eventName"] for r in west_recs] == ["INSERT", "REMOVE"]
    assert east_recs[1]["userIdentity"]["PrincipalId"] == "dynamodb.amazonaws.com"
    assert "userIdentity" not in west_recs[1]
    assert item(east, table, "old") is None and item(west, table, "old") is None


def test_concurrent_writes_one_winner_and_the_loser_counted(server: ServerProcess) -> None:
    set_delay(server, 600_000)
    table, (east, west) = global_table(server, "us-east-1", "ap-northeast-2")
    dropped = pair(server, "us-east-1", "ap-northeast-2")["conflicts_dropped"]
    east.put_item(TableName=table, Item={"pk": {"S": "k"}, "v": {"S": "first"}})
    west.put_item(TableName=table, Item={"pk": {"S": "k"}, "v": {"S": "second"}})  # the later writer
    set_delay(server, 0)
    for ddb in (east, west):
        wait_for(lambda ddb=ddb: item(ddb, table, "k") == {"pk": {"S": "k"}, "v": {"S": "second"}})
    wait_for(lambda: pair(server, "us-east-1", "ap-northeast-2")["pending"] == 0)
    assert pair(server, "us-east-1", "ap-northeast-2")["conflicts_dropped"] == dropped + 1
    with pytest.raises(ClientError) as err:  # replication follows the stream: it stays on
        east.update_table(TableName=table, StreamSpecification={"StreamEnabled": False})
    assert err.value.response["Error"] == {
        "Code": "ValidationException",
        "Message": "One or more parameter values were invalid: Disabling Stream is not allowed for a Global Table "
        "replica.",
    }


def _put(pk: str, v: str) -> dict[str, Any]:
    return {"PutRequest": {"Item": {"pk": {"S": pk}, "v": {"S": v}}}}


def _delete(pk: str) -> dict[str, Any]:
    return {"DeleteRequest": {"Key": {"pk": {"S": pk}}}}


def test_batches_replicate_with_last_writer_wins_per_item(server: ServerProcess) -> None:
    """A BatchWriteItem over two global tables (puts and deletes) is delivered as a batch; items the
    target region wrote later keep the target's version, the rest of the batch applies."""
    set_delay(server, 0)
    t1, (east, west) = global_table(server, "us-east-1", "us-west-2")
    t2, _ = global_table(server, "us-east-1", "us-west-2")
    for t in (t1, t2):
        east.batch_write_item(RequestItems={t: [_put(f"k{i}", "old") for i in range(10)]})
        wait_for(lambda t=t: len(scan(west, t)) == 10)
    set_delay(server, 600_000)
    dropped = pair(server, "us-east-1", "us-west-2")["conflicts_dropped"]
    east.batch_write_item(
        RequestItems={
            t1: [_put(f"k{i}", "east") for i in range(5)] + [_delete(f"k{i}") for i in range(5, 8)],
            t2: [_put(f"k{i}", "east") for i in range(3)],
        }
    )
    west.put_item(TableName=t1, Item={"pk": {"S": "k1"}, "v": {"S": "west"}})  # after the batch
    west.delete_item(TableName=t1, Key={"pk": {"S": "k6"}})
    assert pair(server, "us-east-1", "us-west-2")["pending"] >= 11
    set_delay(server, 0)
    want1 = [
        {"pk": {"S": f"k{i}"}, "v": {"S": v}} for i, v in enumerate(["east", "west", "east", "east", "east"])
    ]
    want1 += [{"pk": {"S": f"k{i}"}, "v": {"S": "old"}} for i in (8, 9)]
    want2 = [{"pk": {"S": f"k{i}"}, "v": {"S": "east" if i < 3 else "old"}} for i in range(10)]
    for ddb in (east, west):
        wait_for(lambda ddb=ddb: scan(ddb, t1) == want1 and scan(ddb, t2) == want2)
    # In us-west-2 the batch's k1 put and k6 delete lost to the later local writes.
    assert pair(server, "us-east-1", "us-west-2")["conflicts_dropped"] == dropped + 2
