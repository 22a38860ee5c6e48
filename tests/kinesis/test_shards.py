"""ListShards and its filters, SplitShard/MergeShards/UpdateShardCount lineage, closed shards."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import make_client
from tests.kinesis.conftest import error_of

ACCOUNT = "000000000000"
HALF = 2**127


def ids(shards: list[dict[str, Any]]) -> list[str]:
    return [s["ShardId"] for s in shards]


def sid(i: int) -> str:
    return f"shardId-{i:012d}"


def test_list_shards_pagination(kinesis: Any, new_stream: Any) -> None:
    name = new_stream(7)
    page = kinesis.list_shards(StreamName=name, MaxResults=3)
    got = ids(page["Shards"])
    while "NextToken" in page:
        page = kinesis.list_shards(NextToken=page["NextToken"], MaxResults=3)
        got += ids(page["Shards"])
    assert got == [sid(i) for i in range(7)]
    assert ids(kinesis.list_shards(StreamName=name, ExclusiveStartShardId=sid(4))["Shards"]) == [
        sid(5),
        sid(6),
    ]
    with pytest.raises(ClientError) as exc:
        kinesis.list_shards(StreamName=name, NextToken=page.get("NextToken", "x"))
    assert error_of(exc) == (
        "InvalidArgumentException",
        "NextToken and StreamName cannot be provided together.",
        400,
    )
    with pytest.raises(ClientError) as exc:
        kinesis.list_shards()
    assert error_of(exc) == (
        "InvalidArgumentException",
        "Either NextToken or StreamName should be provided.",
        400,
    )
    with pytest.raises(ClientError) as exc:
        kinesis.list_shards(NextToken="garbage")
    assert error_of(exc)[0] == "InvalidArgumentException"


def test_list_shards_next_token_expires(fresh_server: Any) -> None:
    proc = fresh_server(in_memory=True)
    kinesis = make_client(proc.url, "kinesis")
    kinesis.create_stream(StreamName="p", ShardCount=3)
    token = kinesis.list_shards(StreamName="p", MaxResults=1)["NextToken"]
    proc.advance_clock(301)
    with pytest.raises(ClientError) as exc:
        kinesis.list_shards(NextToken=token)
    assert error_of(exc)[0] == "ExpiredNextTokenException"


def test_split_and_merge_lineage(kinesis: Any, new_stream: Any) -> None:
    name = new_stream(2)
    before = kinesis.list_shards(StreamName=name)["Shards"]
    start0 = int(before[0]["HashKeyRange"]["StartingHashKey"])
    end0 = int(before[0]["HashKeyRange"]["EndingHashKey"])
    middle = (start0 + end0) // 2
    kinesis.split_shard(StreamName=name, ShardToSplit=sid(0), NewStartingHashKey=str(middle))
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.05, "MaxAttempts": 20})
    shards = {s["ShardId"]: s for s in kinesis.list_shards(StreamName=name)["Shards"]}
    assert list(shards) == [sid(0), sid(1), sid(2), sid(3)]
    assert "EndingSequenceNumber" in shards[sid(0)]["SequenceNumberRange"]  # parent CLOSED
    assert shards[sid(2)]["ParentShardId"] == sid(0) and shards[sid(3)]["ParentShardId"] == sid(0)
    assert shards[sid(2)]["HashKeyRange"] == {
        "StartingHashKey": str(start0),
        "EndingHashKey": str(middle - 1),
    }
    assert shards[sid(3)]["HashKeyRange"] == {"StartingHashKey": str(middle), "EndingHashKey": str(end0)}

    # the children and shard 1 still partition the space
    open_shards = kinesis.list_shards(StreamName=name, ShardFilter={"Type": "AT_LATEST"})["Shards"]
    assert ids(open_shards) == [sid(1), sid(2), sid(3)]
    ranges = sorted(
        (int(s["HashKeyRange"]["StartingHashKey"]), int(s["HashKeyRange"]["EndingHashKey"]))
        for s in open_shards
    )
    assert ranges[0][0] == 0 and ranges[-1][1] == 2**128 - 1
    assert all(a[1] + 1 == b[0] for a, b in itertools.pairwise(ranges))

    kinesis.merge_shards(StreamName=name, ShardToMerge=sid(3), AdjacentShardToMerge=sid(1))
    merged = kinesis.list_shards(StreamName=name)["Shards"][-1]
    assert merged["ShardId"] == sid(4)
    assert (merged["ParentShardId"], merged["AdjacentParentShardId"]) == (sid(3), sid(1))
    assert merged["HashKeyRange"] == {"StartingHashKey": str(middle), "EndingHashKey": str(2**128 - 1)}

    with pytest.raises(ClientError) as exc:
        kinesis.split_shard(StreamName=name, ShardToSplit=sid(0), NewStartingHashKey=str(middle))
    assert error_of(exc)[0] == "InvalidArgumentException"
    assert "has already been merged or split" in error_of(exc)[1]
    with pytest.raises(ClientError) as exc:
        kinesis.merge_shards(StreamName=name, ShardToMerge=sid(2), AdjacentShardToMerge=sid(2))
    assert error_of(exc)[0] == "InvalidArgumentException"
    with pytest.raises(ClientError) as exc:
        kinesis.split_shard(StreamName=name, ShardToSplit=sid(4), NewStartingHashKey=str(middle))
    assert error_of(exc)[0] == "InvalidArgumentException"
    assert "is not both greater than one plus the shard's StartingHashKey" in error_of(exc)[1]
    with pytest.raises(ClientError) as exc:
        kinesis.split_shard(StreamName=name, ShardToSplit=sid(99), NewStartingHashKey=str(middle))
    assert error_of(exc) == (
        "ResourceNotFoundException",
        f"Could not find shard {sid(99)} in stream {name} under account {ACCOUNT}.",
        400,
    )


def test_non_adjacent_merge_is_rejected(kinesis: Any, new_stream: Any) -> None:
    name = new_stream(3)
    with pytest.raises(ClientError) as exc:
        kinesis.merge_shards(StreamName=name, ShardToMerge=sid(0), AdjacentShardToMerge=sid(2))
    assert error_of(exc) == (
        "InvalidArgumentException",
        f"Shards {sid(0)} and {sid(2)} in stream {name} under account {ACCOUNT} are not an adjacent pair of shards "
        "eligible for merging",
        400,
    )


def test_closed_shard_ends_with_null_iterator_and_child_shards(kinesis: Any, new_stream: Any) -> None:
    name = new_stream(1)
    before = [
        kinesis.put_record(StreamName=name, Data=f"a{i}".encode(), PartitionKey=f"k{i}") for i in range(10)
    ]
    kinesis.split_shard(StreamName=name, ShardToSplit=sid(0), NewStartingHashKey=str(HALF))
    after = [
        kinesis.put_record(StreamName=name, Data=f"b{i}".encode(), PartitionKey=f"k{i}") for i in range(10)
    ]
    assert all(p["ShardId"] == sid(0) for p in before)
    assert all(p["ShardId"] in (sid(1), sid(2)) for p in after)

    it = kinesis.get_shard_iterator(StreamName=name, ShardId=sid(0), ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    out = kinesis.get_records(ShardIterator=it, Limit=4)
    parent: list[dict[str, Any]] = list(out["Records"])
    while out.get("NextShardIterator"):
        out = kinesis.get_records(ShardIterator=out["NextShardIterator"], Limit=4)
        parent += out["Records"]
    assert out.get("NextShardIterator") is None
    assert [r["Data"] for r in parent] == [f"a{i}".encode() for i in range(10)]
    assert {c["ShardId"] for c in out["ChildShards"]} == {sid(1), sid(2)}
    assert all(c["ParentShards"] == [sid(0)] for c in out["ChildShards"])

    # a reader finishing the parent before the children sees every key in order
    for key in range(10):
        child = after[key]["ShardId"]
        it = kinesis.get_shard_iterator(StreamName=name, ShardId=child, ShardIteratorType="TRIM_HORIZON")
        records = kinesis.get_records(ShardIterator=it["ShardIterator"])["Records"]
        mine = [r["Data"] for r in parent + records if r["PartitionKey"] == f"k{key}"]
        assert mine == [f"a{key}".encode(), f"b{key}".encode()]

    latest = kinesis.get_shard_iterator(StreamName=name, ShardId=sid(0), ShardIteratorType="LATEST")
    done = kinesis.get_records(ShardIterator=latest["ShardIterator"])
    assert done["Records"] == [] and done.get("NextShardIterator") is None


def test_update_shard_count_uniform_scaling(kinesis: Any, new_stream: Any) -> None:
    name = new_stream(2)
    out = kinesis.update_shard_count(StreamName=name, TargetShardCount=4, ScalingType="UNIFORM_SCALING")
    assert (out["CurrentShardCount"], out["TargetShardCount"], out["StreamName"]) == (2, 4, name)
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.05, "MaxAttempts": 20})
    open_shards = kinesis.list_shards(StreamName=name, ShardFilter={"Type": "AT_LATEST"})["Shards"]
    assert len(open_shards) == 4
    for shard in open_shards:
        assert shard["ParentShardId"] in (sid(0), sid(1))
    bounds = [
        (int(s["HashKeyRange"]["StartingHashKey"]), int(s["HashKeyRange"]["EndingHashKey"]))
        for s in open_shards
    ]
    assert bounds[0][0] == 0 and bounds[-1][1] == 2**128 - 1
    assert all(a[1] + 1 == b[0] for a, b in itertools.pairwise(bounds))
    summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    assert summary["OpenShardCount"] == 4

    with pytest.raises(ClientError) as exc:
        kinesis.update_shard_count(StreamName=name, TargetShardCount=9, ScalingType="UNIFORM_SCALING")
    assert error_of(exc)[0] == "LimitExceededException"
    assert "cannot scale up over double" in error_of(exc)[1]
    with pytest.raises(ClientError) as exc:
        kinesis.update_shard_count(StreamName=name, TargetShardCount=1, ScalingType="UNIFORM_SCALING")
    assert "cannot scale down below half" in error_of(exc)[1]
    kinesis.update_shard_count(StreamName=name, TargetShardCount=3, ScalingType="UNIFORM_SCALING")
    merged = kinesis.list_shards(StreamName=name, ShardFilter={"Type": "AT_LATEST"})["Shards"]
    assert len(merged) == 3 and any("AdjacentParentShardId" in s for s in merged)


def test_update_shard_count_ten_per_rolling_day(fresh_server: Any) -> None:
    proc = fresh_server(in_memory=True)
    kinesis = make_client(proc.url, "kinesis")
    kinesis.create_stream(StreamName="u", ShardCount=1)
    for i in range(10):
        kinesis.update_shard_count(
            StreamName="u", TargetShardCount=2 if i % 2 == 0 else 1, ScalingType="UNIFORM_SCALING"
        )
    with pytest.raises(ClientError) as exc:
        kinesis.update_shard_count(StreamName="u", TargetShardCount=2, ScalingType="UNIFORM_SCALING")
    assert error_of(exc)[0] == "LimitExceededException"
    assert "rolling 24 hour period" in error_of(exc)[1]
    proc.advance_clock(86401)
    kinesis.update_shard_count(StreamName="u", TargetShardCount=2, ScalingType="UNIFORM_SCALING")


def test_resharding_on_demand_stream_is_rejected(kinesis: Any, new_stream: Any) -> None:
    name = new_stream(None)
    with pytest.raises(ClientError) as exc:
        kinesis.split_shard(StreamName=name, ShardToSplit=sid(0), NewStartingHashKey="12345")
    assert error_of(exc)[0] == "ValidationException"


def test_shard_filters(fresh_server: Any) -> None:
    proc = fresh_server(in_memory=True)
    kinesis = make_client(proc.url, "kinesis")
    kinesis.create_stream(StreamName="f", ShardCount=2)
    created = kinesis.describe_stream_summary(StreamName="f")["StreamDescriptionSummary"][
        "StreamCreationTimestamp"
    ]
    proc.advance_clock(3600)
    kinesis.split_shard(StreamName="f", ShardToSplit=sid(0), NewStartingHashKey=str(2**126))  # -> 2, 3
    proc.advance_clock(3600)
    kinesis.merge_shards(StreamName="f", ShardToMerge=sid(2), AdjacentShardToMerge=sid(3))  # -> 4

    def listed(**shard_filter: Any) -> list[str]:
        return ids(kinesis.list_shards(StreamName="f", ShardFilter=shard_filter)["Shards"])

    assert listed(Type="FROM_TRIM_HORIZON") == [sid(i) for i in range(5)]
    assert listed(Type="AT_TRIM_HORIZON") == [sid(0), sid(1)]
    assert listed(Type="AT_LATEST") == [sid(1), sid(4)]
    assert listed(Type="AFTER_SHARD_ID", ShardId=sid(2)) == [sid(3), sid(4)]
    import datetime as dt

    during_split = created + dt.timedelta(seconds=5400)
    assert listed(Type="AT_TIMESTAMP", Timestamp=created) == [sid(0), sid(1)]
    assert listed(Type="AT_TIMESTAMP", Timestamp=during_split) == [sid(1), sid(2), sid(3)]
    assert listed(Type="FROM_TIMESTAMP", Timestamp=during_split) == [sid(1), sid(2), sid(3), sid(4)]
    with pytest.raises(ClientError) as exc:
        kinesis.list_shards(StreamName="f", ShardFilter={"Type": "AT_TIMESTAMP"})
    assert error_of(exc)[0] == "InvalidArgumentException"
    with pytest.raises(ClientError) as exc:
        kinesis.list_shards(StreamName="f", ShardFilter={"Type": "AFTER_SHARD_ID"})
    assert error_of(exc)[0] == "InvalidArgumentException"

    # after the retention period the closed shards expire and are never listed again
    proc.advance_clock(25 * 3600)
    assert listed(Type="FROM_TRIM_HORIZON") == [sid(1), sid(4)]
    assert ids(kinesis.describe_stream(StreamName="f")["StreamDescription"]["Shards"]) == [sid(1), sid(4)]
    with pytest.raises(ClientError) as exc:
        kinesis.get_shard_iterator(StreamName="f", ShardId=sid(0), ShardIteratorType="TRIM_HORIZON")
    assert error_of(exc)[0] == "ResourceNotFoundException"


def test_describe_stream_pages_shards(kinesis: Any, new_stream: Any) -> None:
    name = new_stream(5)
    first = kinesis.describe_stream(StreamName=name, Limit=2)["StreamDescription"]
    assert ids(first["Shards"]) == [sid(0), sid(1)] and first["HasMoreShards"] is True
    rest = kinesis.describe_stream(StreamName=name, ExclusiveStartShardId=sid(1))["StreamDescription"]
    assert ids(rest["Shards"]) == [sid(2), sid(3), sid(4)] and rest["HasMoreShards"] is False


def read_in_lineage_order(kinesis: Any, name: str) -> list[dict[str, Any]]:
    """Read every shard, each only after all of its parents, one at a time and eagerly: a child is
    read as soon as its parents are done (so a lineage that forgets a parent shows up as disorder)."""
    shards = {s["ShardId"]: s for s in kinesis.list_shards(StreamName=name)["Shards"]}
    done: set[str] = set()
    out: list[dict[str, Any]] = []

    def parents(shard: dict[str, Any]) -> list[str]:
        return [p for p in (shard.get("ParentShardId"), shard.get("AdjacentParentShardId")) if p in shards]

    while len(done) < len(shards):
        ready = [i for i, s in shards.items() if i not in done and all(p in done for p in parents(s))]
        assert ready, "lineage has a cycle"
        shard_id = min(ready, key=lambda i: (not parents(shards[i]), i))
        it = kinesis.get_shard_iterator(StreamName=name, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON")
        out += kinesis.get_records(ShardIterator=it["ShardIterator"])["Records"]
        done.add(shard_id)
    return out


@pytest.mark.parametrize(("start", "target"), [(3, 5), (5, 3), (4, 7), (6, 4)])
def test_uniform_scaling_keeps_per_key_order_through_lineage(
    kinesis: Any, new_stream: Any, start: int, target: int
) -> None:
    name = new_stream(start)
    keys = [f"key-{i}" for i in range(40)]
    for round_ in range(2):
        kinesis.put_records(
            StreamName=name, Records=[{"Data": f"{k}:{round_}".encode(), "PartitionKey": k} for k in keys]
        )
    kinesis.update_shard_count(StreamName=name, TargetShardCount=target, ScalingType="UNIFORM_SCALING")
    for round_ in range(2, 4):
        kinesis.put_records(
            StreamName=name, Records=[{"Data": f"{k}:{round_}".encode(), "PartitionKey": k} for k in keys]
        )

    open_shards = kinesis.list_shards(StreamName=name, ShardFilter={"Type": "AT_LATEST"})["Shards"]
    bounds = sorted(
        (int(s["HashKeyRange"]["StartingHashKey"]), int(s["HashKeyRange"]["EndingHashKey"]))
        for s in open_shards
    )
    assert bounds == [(i * 2**128 // target, (i + 1) * 2**128 // target - 1) for i in range(target)]

    seen: dict[str, list[int]] = {}
    for record in read_in_lineage_order(kinesis, name):
        key, round_ = record["Data"].decode().split(":")
        seen.setdefault(key, []).append(int(round_))
    assert seen == {k: [0, 1, 2, 3] for k in keys}
