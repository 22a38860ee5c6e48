"""Model-based test: random sequences of Kinesis writes, reshardings, reads and clock jumps against
the real server, compared with a reference model of one stream.

The model knows every shard (hash range, parents, when it closed) and every record (shard,
sequence number, partition key, data, when it was put). Rules put records (partition keys and
explicit hash keys, single and batch), split, merge and rescale, and move the clock; a reader
reads every shard from TRIM_HORIZON, parents before children, and must see every record still
within retention exactly once, in sequence order per shard and in put order per partition key;
other rules check AT/AFTER_SEQUENCE_NUMBER, AT_TIMESTAMP and LATEST iterators and their expiry
after five minutes. ListShards must show the model's shards, whose open ones partition the key
space. Now and then the server is killed (-9) and restarted: every record, shard and setting
acknowledged must still be there. Durations are multiples of a minute (see
tests/sqs/test_stateful.py for why).

GONDWANA_FUZZ_EXAMPLES sets the number of examples (default 40, up to 40 steps each).
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.conftest import make_client
from tests.support.campaign import campaign_settings

TOP = 2**128 - 1
DAY = 24 * 3600
RETENTION = DAY  # the default retention period
ITERATOR_LIFE = 300
SETTINGS = campaign_settings(examples=40)

KEYS = st.sampled_from(["a", "b", "c", "d", "e", "f"])
POINTS = st.one_of(st.none(), st.sampled_from([0, 1, 2**127 - 1, 2**127, TOP - 1, TOP]), st.integers(0, TOP))
ADVANCES = st.sampled_from([60, 60, 240, 3600, 6 * 3600, RETENTION])


@dataclass
class Rec:
    seq: str
    key: str
    data: bytes
    put_at: int
    shard: str
    arrival: Any = None  # ApproximateArrivalTimestamp, once read
    gone: bool = False  # it outlived the retention period once (raising it later brings nothing back)


@dataclass
class Shard:
    id: str
    lo: int
    hi: int
    parents: tuple[str, ...] = ()
    closed_at: int | None = None
    records: list[Rec] = field(default_factory=list)
    gone: bool = False  # expired once: no longer listed, whatever the retention becomes


class KinesisModel(RuleBasedStateMachine):
    proc: Any = None

    @initialize(count=st.integers(1, 3))
    def setup(self, count: int) -> None:
        self.proc.reset()
        self.kinesis = make_client(self.proc.url, "kinesis")
        self.now = 0
        self.retention = RETENTION
        self.puts = 0
        self.by_key: dict[str, list[Rec]] = {}
        self.scalings: list[int] = []
        self.name = "model"
        self.kinesis.create_stream(StreamName=self.name, ShardCount=count)
        self._wait_active()
        self.shards: dict[str, Shard] = {}
        for listed in self._list():
            r = listed["HashKeyRange"]
            self.shards[listed["ShardId"]] = Shard(
                listed["ShardId"], int(r["StartingHashKey"]), int(r["EndingHashKey"])
            )
        self._check_partition()

    def _wait_active(self) -> None:
        for _ in range(100):
            status = self.kinesis.describe_stream_summary(StreamName=self.name)["StreamDescriptionSummary"]
            if status["StreamStatus"] == "ACTIVE":
                return
        raise AssertionError("the stream stays " + status["StreamStatus"])

    def _list(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        page = self.kinesis.list_shards(StreamName=self.name)
        out += page["Shards"]
        while page.get("NextToken"):
            page = self.kinesis.list_shards(NextToken=page["NextToken"])
            out += page["Shards"]
        return out

    def _open(self) -> list[Shard]:
        return sorted((s for s in self.shards.values() if s.closed_at is None), key=lambda s: s.lo)

    def _check_partition(self) -> None:
        shards = self._open()
        assert shards[0].lo == 0 and shards[-1].hi == TOP
        for left, right in itertools.pairwise(shards):
            assert left.hi + 1 == right.lo, (left, right)

    def _live(self, shard: Shard) -> list[Rec]:
        return [r for r in shard.records if not r.gone]

    # ---- clock ----------------------------------------------------------------------------------

    @rule(seconds=ADVANCES)
    def advance(self, seconds: int) -> None:
        self.proc.advance_clock(seconds)
        self.now += seconds
        self._expire()

    def _expire(self) -> None:
        for shard in self.shards.values():
            if shard.closed_at is not None and shard.closed_at + self.retention <= self.now:
                shard.gone = True
            for rec in shard.records:
                rec.gone = rec.gone or rec.put_at + self.retention <= self.now

    @rule(hours=st.sampled_from([24, 25, 48]))
    def set_retention(self, hours: int) -> None:
        """Raising the retention period does not bring back what already expired."""
        current = self.retention // 3600
        if hours > current:
            self.kinesis.increase_stream_retention_period(StreamName=self.name, RetentionPeriodHours=hours)
        elif hours < current:
            self.kinesis.decrease_stream_retention_period(StreamName=self.name, RetentionPeriodHours=hours)
        else:
            return
        self.retention = hours * 3600
        self._wait_active()
        self._expire()

    # ---- writes ---------------------------------------------------------------------------------

    def _route(self, key: str, point: int | None) -> Shard:
        target = point if point is not None else int(hashlib.md5(key.encode()).hexdigest(), 16)
        (shard,) = [s for s in self._open() if s.lo <= target <= s.hi]
        return shard

    def _stored(self, key: str, data: bytes, point: int | None, answer: dict[str, Any]) -> Rec:
        shard = self._route(key, point)
        assert answer["ShardId"] == shard.id, (answer, shard)
        if shard.records:
            assert int(answer["SequenceNumber"]) > int(shard.records[-1].seq), "sequence numbers increase"
        rec = Rec(answer["SequenceNumber"], key, data, self.now, shard.id)
        shard.records.append(rec)
        if point is None:  # order per partition key holds for the records its hash routes
            self.by_key.setdefault(key, []).append(rec)
        return rec

    @rule(key=KEYS, point=POINTS)
    def put_record(self, key: str, point: int | None) -> None:
        self.puts += 1
        data = f"{key}-{self.puts}".encode()
        extra = {} if point is None else {"ExplicitHashKey": str(point)}
        answer = self.kinesis.put_record(StreamName=self.name, PartitionKey=key, Data=data, **extra)
        self._stored(key, data, point, answer)

    @rule(entries=st.lists(st.tuples(KEYS, POINTS), min_size=1, max_size=6))
    def put_records(self, entries: list[tuple[str, int | None]]) -> None:
        request = []
        for key, point in entries:
            self.puts += 1
            entry: dict[str, Any] = {"PartitionKey": key, "Data": f"{key}-{self.puts}".encode()}
            if point is not None:
                entry["ExplicitHashKey"] = str(point)
            request.append(entry)
        answer = self.kinesis.put_records(StreamName=self.name, Records=request)
        assert answer["FailedRecordCount"] == 0
        assert len(answer["Records"]) == len(request)
        for entry, (key, point), result in zip(request, entries, answer["Records"], strict=True):
            self._stored(key, entry["Data"], point, result)

    # ---- resharding -----------------------------------------------------------------------------

    def _learn(self, expect: dict[tuple[int, int], tuple[str, ...]] | None) -> None:
        """Take the shards ListShards shows that the model does not know yet: with `expect`, exactly
        those (hash range -> parents); without, any whose parents the model knows."""
        new = []
        for listed in self._list():
            known = self.shards.get(listed["ShardId"])
            if known is not None:
                if expect is None and "EndingSequenceNumber" in listed["SequenceNumberRange"]:
                    known.closed_at = self.now if known.closed_at is None else known.closed_at
                continue
            r = listed["HashKeyRange"]
            parents = tuple(
                p for p in (listed.get("ParentShardId"), listed.get("AdjacentParentShardId")) if p
            )
            shard = Shard(listed["ShardId"], int(r["StartingHashKey"]), int(r["EndingHashKey"]), parents)
            if "EndingSequenceNumber" in listed["SequenceNumberRange"]:
                shard.closed_at = self.now  # a short-lived intermediate shard of a rescaling
            new.append(shard)
        if expect is not None:
            assert {(s.lo, s.hi): s.parents for s in new} == expect, (new, expect)
        for shard in new:
            self.shards[shard.id] = shard
        for shard in new:
            assert all(p in self.shards for p in shard.parents), shard
        self._check_partition()

    @rule(data=st.data())
    def split(self, data: st.DataObject) -> None:
        # AWS: the new starting key is greater than one plus the shard's first and less than its last.
        candidates = [s for s in self._open() if s.hi - s.lo >= 3]
        shard = data.draw(st.sampled_from(candidates), label="shard")
        middle = max(shard.lo + 2, (shard.lo + shard.hi) // 2)  # (a shard of 4 keys has no other)
        start = data.draw(
            st.sampled_from([shard.lo + 2, middle, shard.hi - 1]) | st.integers(shard.lo + 2, shard.hi - 1)
        )
        self.kinesis.split_shard(StreamName=self.name, ShardToSplit=shard.id, NewStartingHashKey=str(start))
        shard.closed_at = self.now
        self._wait_active()
        self._learn({(shard.lo, start - 1): (shard.id,), (start, shard.hi): (shard.id,)})

    @precondition(lambda self: len([s for s in self.shards.values() if s.closed_at is None]) > 1)
    @rule(data=st.data())
    def merge(self, data: st.DataObject) -> None:
        shards = self._open()
        index = data.draw(st.integers(0, len(shards) - 2), label="pair")
        left, right = shards[index], shards[index + 1]
        self.kinesis.merge_shards(StreamName=self.name, ShardToMerge=left.id, AdjacentShardToMerge=right.id)
        left.closed_at = right.closed_at = self.now
        self._wait_active()
        self._learn({(left.lo, right.hi): (left.id, right.id)})

    @rule(data=st.data())
    def rescale(self, data: st.DataObject) -> None:
        current = len(self._open())
        low = max(1, (current + 1) // 2)  # (splits can leave more than 16 open: then only down)
        target = data.draw(st.integers(low, max(low, min(2 * current, 8))), label="target")
        if target == current:
            return
        recent = [t for t in self.scalings if t > self.now - DAY]
        try:
            self.kinesis.update_shard_count(
                StreamName=self.name, TargetShardCount=target, ScalingType="UNIFORM_SCALING"
            )
        except ClientError as error:
            assert error.response["Error"]["Code"] == "LimitExceededException", error.response
            assert len([t for t in self.scalings if t >= self.now - DAY]) >= 10
            return
        assert len(recent) < 10, "at most 10 rescalings in a rolling day"
        self.scalings.append(self.now)
        self._wait_active()
        self._learn(None)
        assert len(self._open()) == target

    # ---- reading --------------------------------------------------------------------------------

    def _read_shard(self, shard: Shard, iterator: str, limit: int) -> tuple[list[dict[str, Any]], Any]:
        """Every record from the iterator on: to the end of a closed shard, or until an open one has
        nothing more. The records, and the last response."""
        got: list[dict[str, Any]] = []
        for _ in range(200):
            page = self.kinesis.get_records(ShardIterator=iterator, Limit=limit)
            got += page["Records"]
            if page.get("NextShardIterator") is None:
                assert shard.closed_at is not None, "only a closed shard ends"
                return got, page
            iterator = page["NextShardIterator"]
            if not page["Records"] and shard.closed_at is None and page["MillisBehindLatest"] == 0:
                return got, page
        raise AssertionError("the reader never reached the end")

    def _iterator(self, shard: Shard, kind: str, **extra: Any) -> str:
        return self.kinesis.get_shard_iterator(
            StreamName=self.name, ShardId=shard.id, ShardIteratorType=kind, **extra
        )["ShardIterator"]

    @rule(limit=st.integers(1, 5), data=st.data())
    def read_everything(self, limit: int, data: st.DataObject) -> None:
        """A reader that finishes parents before children sees every live record once, in order."""
        listed = {s["ShardId"] for s in self._list()}
        for shard_id, shard in self.shards.items():
            assert (shard_id in listed) == (not shard.gone), (shard, self.now)
        done: set[str] = set()
        seen: dict[str, list[Rec]] = {}
        pending = [s for s in self.shards.values() if shard_id_listed(s, listed)]
        while pending:
            ready = [s for s in pending if all(p in done or p not in listed for p in s.parents)]
            assert ready, pending
            for shard in ready:
                got, last = self._read_shard(shard, self._iterator(shard, "TRIM_HORIZON"), limit)
                expected = self._live(shard)
                assert [(r["SequenceNumber"], r["PartitionKey"], r["Data"]) for r in got] == [
                    (r.seq, r.key, r.data) for r in expected
                ], (shard.id, got, expected)
                for rec, item in zip(expected, got, strict=True):
                    rec.arrival = item["ApproximateArrivalTimestamp"]
                    if rec in self.by_key.get(rec.key, ()):
                        seen.setdefault(rec.key, []).append(rec)
                if shard.closed_at is not None:
                    children = {c["ShardId"] for c in last.get("ChildShards", [])}
                    assert children == {s.id for s in self.shards.values() if shard.id in s.parents}
                if expected:
                    self._check_timestamp(shard, data.draw(st.sampled_from(expected), label="at"))
                done.add(shard.id)
                pending.remove(shard)
        for key, recs in self.by_key.items():
            live = [r for r in recs if not r.gone and shard_id_listed(self.shards[r.shard], listed)]
            assert seen.get(key, []) == live, ("per partition key order", key)

    def _check_timestamp(self, shard: Shard, rec: Rec) -> None:
        iterator = self._iterator(shard, "AT_TIMESTAMP", Timestamp=rec.arrival)
        page = self.kinesis.get_records(ShardIterator=iterator, Limit=1)
        first = next(r for r in self._live(shard) if r.arrival >= rec.arrival)
        assert [r["SequenceNumber"] for r in page["Records"]] == [first.seq]

    @precondition(lambda self: any(self._live(s) for s in self.shards.values()))
    @rule(data=st.data(), after=st.booleans())
    def read_from_sequence(self, data: st.DataObject, after: bool) -> None:
        shard = data.draw(
            st.sampled_from([s for s in self.shards.values() if self._live(s) and not s.gone]),
            label="shard",
        )
        live = self._live(shard)
        index = data.draw(st.integers(0, len(live) - 1), label="record")
        kind = "AFTER_SEQUENCE_NUMBER" if after else "AT_SEQUENCE_NUMBER"
        iterator = self._iterator(shard, kind, StartingSequenceNumber=live[index].seq)
        got, _ = self._read_shard(shard, iterator, 10)
        assert [r["SequenceNumber"] for r in got] == [r.seq for r in live[index + after :]]

    @rule(key=KEYS)
    def read_latest(self, key: str) -> None:
        shard = self._route(key, None)
        iterator = self._iterator(shard, "LATEST")
        assert self.kinesis.get_records(ShardIterator=iterator)["Records"] == []
        self.puts += 1
        data = f"{key}-{self.puts}".encode()
        rec = self._stored(
            key, data, None, self.kinesis.put_record(StreamName=self.name, PartitionKey=key, Data=data)
        )
        page = self.kinesis.get_records(ShardIterator=iterator)
        assert [r["SequenceNumber"] for r in page["Records"]] == [rec.seq]

    @rule(wait=st.sampled_from([60, 240, 300, 360]))
    def iterator_expiry(self, wait: int) -> None:
        shard = self._open()[0]
        iterator = self._iterator(shard, "TRIM_HORIZON")
        self.advance(wait)
        try:
            self.kinesis.get_records(ShardIterator=iterator, Limit=1)
        except ClientError as error:
            assert error.response["Error"]["Code"] == "ExpiredIteratorException", error.response
            assert wait >= ITERATOR_LIFE
        else:
            assert wait < ITERATOR_LIFE, "an iterator lives five minutes"

    @rule(roll=st.integers(0, 9))
    def crash(self, roll: int) -> None:
        """Now and then: kill -9 and start again. Every record, shard and setting acknowledged is
        still there, and sequence numbers go on increasing (checked as the next puts land)."""
        if roll:
            return
        self.proc.crash()
        self.kinesis = make_client(self.proc.url, "kinesis")
        summary = self.kinesis.describe_stream_summary(StreamName=self.name)["StreamDescriptionSummary"]
        assert summary["RetentionPeriodHours"] * 3600 == self.retention
        assert {s["ShardId"] for s in self._list()} == {i for i, s in self.shards.items() if not s.gone}

    @invariant()
    def open_shards_partition_the_keys(self) -> None:
        if hasattr(self, "shards"):
            self._check_partition()


def shard_id_listed(shard: Shard, listed: set[str]) -> bool:
    return shard.id in listed


@pytest.mark.filterwarnings("ignore")
def test_kinesis_matches_the_model(fresh_server: Any) -> None:
    KinesisModel.proc = fresh_server()
    run_state_machine_as_test(KinesisModel, settings=SETTINGS)
