"""Model-based test of a global table: random writes in several regions while replication is held
back (by its delay, or by partitions between every pair of regions), then released; every replica
must converge to last-writer-wins, the writes' order being their order here, and each replica's
stream must show every change made there (local or replicated) once, in each item's order.

While held, each region's replica is its own: the model keeps one view per region (what the last
convergence left, plus that region's own writes), and conditions, updates, transactions and batch
writes are judged against it. Some phases let replication flow instead (with a random lag per pair)
while a single region writes: its view stays exact, and the others must converge to it. Rules also read a region (it must hold exactly its view), add a
fourth region as a replica (seeded from one of the others, with changes still queued everywhere),
remove it again (its writes still queued are void, as they never left), take a region down (a
write there fails and changes nothing), and kill the server (-9): everything acknowledged, queued
changes included, must still converge.

GONDWANA_FUZZ_EXAMPLES sets the number of examples (default 10, up to 40 steps each).
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.conftest import make_client
from tests.dynamodb.global_helpers import clients, pair, set_delay
from tests.support.campaign import campaign_settings

SETTINGS = campaign_settings(examples=10, steps=40)
TABLE = "gmodel"
FIRST = ["us-east-1", "eu-west-1", "ap-southeast-2"]
SPARE = "us-west-2"  # joins the group and leaves it again
HELD = 600_000  # the server's default replication delay here: nothing moves until released

KEYS = st.sampled_from(["a", "b", "c", "d"])
GROUPS = st.sampled_from([None, "g1", "g2"])
CONDITIONS = st.sampled_from([None, "attribute_exists(pk)", "attribute_not_exists(pk)"])
UPDATES = st.sampled_from(["count", "set_g", "remove_g"])
FAILED = "ConditionalCheckFailedException"

Item = dict[str, Any]  # plain values: {"pk": "a", "n": 3, "w": "eu-west-1", "g": "g1"}


def to_wire(item: Item) -> dict[str, Any]:
    return {k: {"N": str(v)} if isinstance(v, int) else {"S": v} for k, v in item.items()}


def from_wire(item: dict[str, Any]) -> Item:
    return {k: int(v["N"]) if "N" in v else v["S"] for k, v in item.items()}


def holds(condition: str | None, item: Item | None) -> bool:
    if condition is None:
        return True
    return (item is not None) == (condition == "attribute_exists(pk)")


def conditioned(condition: str | None) -> dict[str, Any]:
    return {"ConditionExpression": condition} if condition else {}


class GlobalModel(RuleBasedStateMachine):
    proc: Any = None

    @initialize()
    def setup(self) -> None:
        self.proc.reset()
        self.proc.call("DELETE", "/_gondwana/faults")
        set_delay(self.proc, 0)
        self.ddb = dict(zip([*FIRST, SPARE], clients(self.proc, *FIRST, SPARE), strict=True))
        self.ddb[FIRST[0]].create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "g", "AttributeType": "S"},
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "by-g",
                    "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        self.members = [FIRST[0]]
        for region in FIRST[1:]:
            self._join(region, FIRST[0])
        self.mode = "delay"  # how replication is held back: "delay", "partition", or "flowing"
        self.writer = FIRST[0]  # while flowing: the one region that writes (and is read)
        self.lags: dict[tuple[str, str], int] = {}  # while flowing: each pair's lag (ms)
        set_delay(self.proc, HELD)
        self.synced: dict[str, Item] = {}  # what every replica held at the last convergence
        self.views = {region: {} for region in self.members}  # each replica, while held
        self.writes: list[tuple[str, str, Item | None]] = []  # (region, key, new) since then
        self.counter = 0

    # ---- the model ------------------------------------------------------------------------------

    def _changed(self, region: str, key: str, new: Item | None) -> None:
        """A write in `region` took effect: its replica changes, and the write is on its way."""
        view = self.views[region]
        if new is None and key not in view:
            return  # deleting nothing changes nothing and replicates nothing
        self.writes.append((region, key, new))
        if new is None:
            del view[key]
        else:
            view[key] = new

    def _expected(self) -> dict[str, Item]:
        """Last writer wins: the synced state with every write since applied in order."""
        out = dict(self.synced)
        for _, key, new in self.writes:
            if new is None:
                out.pop(key, None)
            else:
                out[key] = new
        return out

    def _scan(self, region: str) -> dict[str, Item]:
        items = self.ddb[region].scan(TableName=TABLE, ConsistentRead=True)["Items"]
        return {i["pk"]["S"]: from_wire(i) for i in items}

    def _refused(self, error: ClientError, *codes: str) -> None:
        assert error.response["Error"]["Code"] in codes, error.response

    def _attempt(
        self, call: Any, condition: str | None, old: Item | None, refusal: str, **request: Any
    ) -> dict[str, Any] | None:
        """Make a conditional call; None when refused (with `refusal`), as the model must agree."""
        try:
            out = call(**request, **conditioned(condition))
        except ClientError as error:
            self._refused(error, refusal)
            assert not holds(condition, old)
            return None
        assert holds(condition, old)
        return out

    # ---- writes ---------------------------------------------------------------------------------

    @rule(data=st.data(), key=KEYS, group=GROUPS, condition=CONDITIONS)
    def put(self, data: st.DataObject, key: str, group: str | None, condition: str | None) -> None:
        region = data.draw(st.sampled_from(self._writers()), label="region")
        self.counter += 1
        item: Item = {"pk": key, "n": self.counter, "w": region, **({"g": group} if group else {})}
        old = self.views[region].get(key)
        put = self.ddb[region].put_item
        if self._attempt(put, condition, old, FAILED, TableName=TABLE, Item=to_wire(item)) is not None:
            self._changed(region, key, item)

    @rule(data=st.data(), key=KEYS, kind=UPDATES, group=GROUPS, condition=CONDITIONS)
    def update(
        self, data: st.DataObject, key: str, kind: str, group: str | None, condition: str | None
    ) -> None:
        region = data.draw(st.sampled_from(self._writers()), label="region")
        old = self.views[region].get(key)
        values: dict[str, Any] = {":w": {"S": region}}
        if kind == "count":
            expression = "SET n = if_not_exists(n, :zero) + :one, w = :w"
            values.update({":zero": {"N": "0"}, ":one": {"N": "1"}})
        elif kind == "set_g" and group:
            expression = "SET g = :g, w = :w"
            values[":g"] = {"S": group}
        else:
            expression = "SET w = :w REMOVE g"
        out = self._attempt(
            self.ddb[region].update_item,
            condition,
            old,
            FAILED,
            TableName=TABLE,
            Key={"pk": {"S": key}},
            UpdateExpression=expression,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
        )
        if out is None:
            return
        new = dict(old or {"pk": key}, w=region)
        if kind == "count":
            new["n"] = new.get("n", 0) + 1
        elif kind == "set_g" and group:
            new["g"] = group
        else:
            new.pop("g", None)
        assert from_wire(out["Attributes"]) == new
        self._changed(region, key, new)

    @rule(data=st.data(), key=KEYS, condition=CONDITIONS)
    def delete(self, data: st.DataObject, key: str, condition: str | None) -> None:
        region = data.draw(st.sampled_from(self._writers()), label="region")
        old = self.views[region].get(key)
        delete = self.ddb[region].delete_item
        out = self._attempt(
            delete, condition, old, FAILED, TableName=TABLE, Key={"pk": {"S": key}}, ReturnValues="ALL_OLD"
        )
        if out is None:
            return
        assert (from_wire(out["Attributes"]) if "Attributes" in out else None) == old
        self._changed(region, key, None)

    @rule(data=st.data(), keys=st.lists(KEYS, min_size=2, max_size=2, unique=True), condition=CONDITIONS)
    def transact(self, data: st.DataObject, keys: list[str], condition: str | None) -> None:
        """A put of one item (on a condition) and the delete of another: both or neither."""
        region = data.draw(st.sampled_from(self._writers()), label="region")
        put_key, delete_key = keys
        self.counter += 1
        item: Item = {"pk": put_key, "n": self.counter, "w": region}
        old = self.views[region].get(put_key)
        try:
            self.ddb[region].transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": TABLE, "Item": to_wire(item), **conditioned(condition)}},
                    {"Delete": {"TableName": TABLE, "Key": {"pk": {"S": delete_key}}}},
                ]
            )
        except ClientError as error:
            self._refused(error, "TransactionCanceledException")
            assert not holds(condition, old)
            return
        assert holds(condition, old)
        self._changed(region, put_key, item)
        self._changed(region, delete_key, None)

    @rule(data=st.data(), puts=st.sets(KEYS, max_size=3), deletes=st.sets(KEYS, max_size=3))
    def batch(self, data: st.DataObject, puts: set[str], deletes: set[str]) -> None:
        region = data.draw(st.sampled_from(self._writers()), label="region")
        deletes -= puts
        if not puts and not deletes:
            return
        items = {}
        for key in sorted(puts):
            self.counter += 1
            items[key] = {"pk": key, "n": self.counter, "w": region}
        requests = [{"PutRequest": {"Item": to_wire(item)}} for item in items.values()]
        requests += [{"DeleteRequest": {"Key": {"pk": {"S": key}}}} for key in sorted(deletes)]
        out = self.ddb[region].batch_write_item(RequestItems={TABLE: requests})
        assert not out["UnprocessedItems"]
        for key, item in items.items():
            self._changed(region, key, item)
        for key in sorted(deletes):
            self._changed(region, key, None)

    # ---- reads and the group --------------------------------------------------------------------

    @rule(data=st.data())
    def read(self, data: st.DataObject) -> None:
        """A replica holds exactly its view: nothing reached it while held (while flowing, nothing
        reaches the writer)."""
        region = data.draw(st.sampled_from(self._writers()), label="region")
        assert self._scan(region) == self.views[region]

    @rule(data=st.data())
    def converge(self, data: st.DataObject) -> None:
        """Release replication: every replica ends with the last writer's item for each key (its
        index and count too). Then hold it again, by the delay or by partitions."""
        self.proc.call("DELETE", "/_gondwana/faults")
        set_delay(self.proc, 0)
        expected = self._expected()
        deadline = time.monotonic() + 30
        for region in self.members:
            while (got := self._scan(region)) != expected:
                assert time.monotonic() < deadline, (region, got, expected, self.writes)
                time.sleep(0.05)
        for source in self.members:
            for target in self.members:
                if source != target:
                    assert pair(self.proc, source, target)["pending"] == 0
        for region in self.members:
            table = self.ddb[region].describe_table(TableName=TABLE)["Table"]
            assert table["ItemCount"] == len(expected), region
            for group in ("g1", "g2"):
                found = self.ddb[region].query(
                    TableName=TABLE,
                    IndexName="by-g",
                    KeyConditionExpression="g = :g",
                    ExpressionAttributeValues={":g": {"S": group}},
                )["Items"]
                assert sorted(i["pk"]["S"] for i in found) == sorted(
                    k for k, item in expected.items() if item.get("g") == group
                ), (region, group)
        for region in self.members:
            self._stream_replays_to(region, expected)
        self.synced, self.writes = expected, []
        self.views = {region: dict(expected) for region in self.members}
        self.mode = data.draw(st.sampled_from(["delay", "partition", "flowing"]), label="mode")
        if self.mode == "flowing":  # one writer (never the region that leaves), live replication
            self.writer = data.draw(st.sampled_from(FIRST), label="writer")
            ms = st.sampled_from([0, 0, 5, 30])
            self.lags = {(a, b): data.draw(ms) for a in [*FIRST, SPARE] for b in [*FIRST, SPARE] if a != b}
        self._hold()

    def _writers(self) -> list[str]:
        """The regions whose replica the model knows exactly, where rules may write."""
        return [self.writer] if self.mode == "flowing" else self.members

    def _stream_replays_to(self, region: str, expected: dict[str, Item]) -> None:
        """The replica's stream shows each change made there (local or replicated) once, in each
        item's order: every record starts from the last one's image, and the last ends at the item."""
        streams = make_client(self.proc.url, "dynamodbstreams", region)
        arn = self.ddb[region].describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
        shards = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
        images: dict[str, Item | None] = {}
        for shard in shards:  # parents are listed before their children
            iterator = streams.get_shard_iterator(
                StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            while iterator:
                page = streams.get_records(ShardIterator=iterator)
                for record in page["Records"]:
                    change = record["dynamodb"]
                    key = change["Keys"]["pk"]["S"]
                    old = from_wire(change["OldImage"]) if "OldImage" in change else None
                    new = from_wire(change["NewImage"]) if "NewImage" in change else None
                    assert old == images.get(key) and old != new, (region, record, images.get(key))
                    assert record["eventName"] == (
                        "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
                    )
                    images[key] = new
                if not page["Records"] and "EndingSequenceNumber" not in shard["SequenceNumberRange"]:
                    break  # the open shard, read to its end
                iterator = page.get("NextShardIterator")
        assert {k: v for k, v in images.items() if v is not None} == expected, region

    def _hold(self) -> None:
        """Hold replication back as the mode says (or, flowing, let it go with each pair's lag)."""
        if self.mode == "delay":
            set_delay(self.proc, HELD)
            return
        if self.mode == "partition":
            for i, a in enumerate([*FIRST, SPARE]):
                for b in [*FIRST, SPARE][i + 1 :]:
                    self.proc.call("POST", "/_gondwana/faults", {"type": "partition", "regions": [a, b]})
        for (a, b), ms in self.lags.items() if self.mode == "flowing" else ():
            if ms:
                self.proc.call("POST", "/_gondwana/faults", {"type": "lag", "from": a, "to": b, "ms": ms})
        set_delay(self.proc, 0)

    def _join(self, region: str, via: str) -> None:
        self.ddb[via].update_table(TableName=TABLE, ReplicaUpdates=[{"Create": {"RegionName": region}}])
        deadline = time.monotonic() + 30
        while True:
            replicas = self.ddb[via].describe_table(TableName=TABLE)["Table"].get("Replicas", [])
            if any(r["RegionName"] == region and r["ReplicaStatus"] == "ACTIVE" for r in replicas):
                break
            assert time.monotonic() < deadline
            time.sleep(0.02)
        self.members.append(region)

    @precondition(lambda self: SPARE not in self.members)
    @rule(data=st.data())
    def add_replica(self, data: st.DataObject) -> None:
        """The fourth region joins, seeded from one member, with changes queued everywhere."""
        via = data.draw(st.sampled_from(self.members), label="via")
        self._join(SPARE, via)
        self.views[SPARE] = dict(self.views[via])

    @precondition(lambda self: SPARE in self.members)
    @rule(data=st.data())
    def remove_replica(self, data: st.DataObject) -> None:
        """The fourth region leaves: its writes still queued never reach the others."""
        via = data.draw(st.sampled_from([r for r in self.members if r != SPARE]), label="via")
        self.ddb[via].update_table(TableName=TABLE, ReplicaUpdates=[{"Delete": {"RegionName": SPARE}}])
        deadline = time.monotonic() + 30
        while True:
            try:
                self.ddb[SPARE].describe_table(TableName=TABLE)
            except ClientError as error:
                self._refused(error, "ResourceNotFoundException")
                break
            assert time.monotonic() < deadline
            time.sleep(0.02)
        self.members.remove(SPARE)
        del self.views[SPARE]
        self.writes = [w for w in self.writes if w[0] != SPARE]

    @rule(data=st.data(), key=KEYS)
    def region_down(self, data: st.DataObject, key: str) -> None:
        """A region that is down refuses a write, which changes nothing there or anywhere."""
        region = data.draw(st.sampled_from(self.members), label="region")
        self.proc.call("POST", "/_gondwana/faults", {"type": "region-down", "region": region})
        try:
            with pytest.raises(ClientError) as error:
                self.ddb[region].delete_item(TableName=TABLE, Key={"pk": {"S": key}})
            self._refused(error.value, "ServiceUnavailable", "ServiceUnavailableException")
        finally:
            self.proc.call("DELETE", f"/_gondwana/faults/region-down:{region}")

    @rule(roll=st.integers(0, 9))
    def crash(self, roll: int) -> None:
        """Now and then: kill -9 and start again (replication held back by the default delay)."""
        if roll:
            return
        self.proc.crash()
        self._hold()
        for region in self._writers():
            assert self._scan(region) == self.views[region]


@pytest.mark.filterwarnings("ignore")
def test_global_table_converges_to_last_writer_wins(fresh_server: Any) -> None:
    GlobalModel.proc = fresh_server("--replication-delay", str(HELD))
    run_state_machine_as_test(GlobalModel, settings=SETTINGS)
