"""Kinesis load: PutRecord and PutRecords to a multi-shard stream. Check: every acknowledged record
reads back from TRIM_HORIZON on its shard with its sequence number and data, no record is read
twice or was never sent, and sequence numbers strictly increase per shard."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

from soak.harness import ACK, UNKNOWN, Stats, call

STREAM = "soak-stream"
SHARDS = 4


class KinesisLoad:
    def __init__(self, stats: Stats) -> None:
        self.stats = stats
        self.lock = threading.Lock()
        self.acked: dict[bytes, tuple[str, int]] = {}  # data -> (shard, sequence number)
        self.unknown: set[bytes] = set()
        self.last: dict[tuple[int, str], int] = {}  # (worker, shard) -> last acknowledged sequence
        # shard -> (iterator, last sequence read) at the last check, and when (iterators expire in 5 min)
        self.tails: dict[str, tuple[str, int]] = {}
        self.tails_at = 0.0

    def setup(self, client: Any) -> None:
        client.create_stream(StreamName=STREAM, ShardCount=SHARDS)
        client.get_waiter("stream_exists").wait(StreamName=STREAM, WaiterConfig={"Delay": 0.2})

    def step(self, worker: int, serial: int, client: Any, rng: random.Random) -> None:
        if rng.random() < 0.005:
            self.reshard(client, rng)
        count = 1 if rng.random() < 0.5 else rng.randint(2, 50)
        datas = [
            f"k{worker}.{serial}.{k}.".encode() + rng.randbytes(rng.randint(0, 300)) for k in range(count)
        ]
        keys = [f"pk{rng.randint(0, 999)}" for _ in datas]
        if count == 1:
            outcome, out = call(
                self.stats,
                "kinesis.PutRecord",
                client.put_record,
                StreamName=STREAM,
                Data=datas[0],
                PartitionKey=keys[0],
            )
            results = [out] if outcome == ACK else []
        else:
            records = [{"Data": d, "PartitionKey": k} for d, k in zip(datas, keys, strict=True)]
            outcome, out = call(
                self.stats, "kinesis.PutRecords", client.put_records, StreamName=STREAM, Records=records
            )
            results = out["Records"] if outcome == ACK else []
        with self.lock:
            if outcome == UNKNOWN:
                self.unknown.update(datas)
            for data, result in zip(datas, results, strict=bool(results)):
                if "SequenceNumber" not in result:
                    continue  # this record failed (ErrorCode): not written
                shard, seq = result["ShardId"], int(result["SequenceNumber"])
                self.acked[data] = (shard, seq)
                previous = self.last.get((worker, shard), -1)
                if seq <= previous:
                    self.stats.violation(
                        f"kinesis: {data[:20]!r} got sequence {seq} <= earlier {previous} on {shard}"
                    )
                self.last[worker, shard] = seq

    def reshard(self, client: Any, rng: random.Random) -> None:
        """Split an open shard at its middle, or merge two adjacent open ones (records stay where
        they were written; a refusal while the stream is busy or at its limits is fine)."""
        outcome, out = call(self.stats, "kinesis.ListShards", client.list_shards, StreamName=STREAM)
        if outcome != ACK:
            return
        shards = [s for s in out["Shards"] if "EndingSequenceNumber" not in s["SequenceNumberRange"]]
        ranges = sorted(
            (int(s["HashKeyRange"]["StartingHashKey"]), int(s["HashKeyRange"]["EndingHashKey"]), s["ShardId"])
            for s in shards
        )
        if len(ranges) < 8 and (len(ranges) < 3 or rng.random() < 0.5):
            low, high, shard = rng.choice(ranges)
            call(
                self.stats, "kinesis.SplitShard", client.split_shard,
                StreamName=STREAM, ShardToSplit=shard, NewStartingHashKey=str((low + high + 1) // 2),
            )  # fmt: skip
        else:
            k = rng.randrange(len(ranges) - 1)
            call(
                self.stats, "kinesis.MergeShards", client.merge_shards,
                StreamName=STREAM, ShardToMerge=ranges[k][2], AdjacentShardToMerge=ranges[k + 1][2],
            )  # fmt: skip

    def read_all(self, client: Any) -> dict[str, tuple[list[tuple[int, bytes]], str | None]]:
        """Every shard's records from TRIM_HORIZON, and the iterator to go on from."""
        out = {}
        for shard in client.list_shards(StreamName=STREAM)["Shards"]:
            iterator = client.get_shard_iterator(
                StreamName=STREAM, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            out[shard["ShardId"]] = read_from(client, iterator)
        return out

    def check_tails(
        self, client: Any, shards: dict[str, tuple[list[tuple[int, bytes]], str | None]]
    ) -> list[str]:
        """The iterators kept from the previous check (before a kill) still work after the restart
        and go on exactly after the last record they had read."""
        problems = []
        fresh = time.monotonic() - self.tails_at < 240
        for shard, (iterator, last) in self.tails.items() if fresh else ():
            rows, _ = read_from(client, iterator)
            want = [row for row in shards[shard][0] if row[0] > last]
            if rows != want:
                problems.append(
                    f"kinesis: a kept iterator read {len(rows)} records of {shard}, not {len(want)}"
                )
        self.tails = {
            shard: (iterator, rows[-1][0] if rows else -1)
            for shard, (rows, iterator) in shards.items()
            if iterator
        }
        self.tails_at = time.monotonic()
        return problems

    def check(self, client: Any) -> list[str]:
        problems: list[str] = []
        seen: set[bytes] = set()
        shards = self.read_all(client)
        problems += self.check_tails(client, shards)
        for shard, (rows, _) in shards.items():
            previous = -1
            for seq, data in rows:
                if seq <= previous:
                    problems.append(f"kinesis: {shard} sequence {seq} after {previous}")
                previous = seq
                if data in seen:
                    problems.append(f"kinesis: record {data[:20]!r} read twice")
                seen.add(data)
                if data in self.acked:
                    if self.acked[data] != (shard, seq):
                        acked = self.acked[data]
                        problems.append(f"kinesis: {data[:20]!r} read as {shard}/{seq}, acknowledged {acked}")
                elif data not in self.unknown:
                    problems.append(f"kinesis: record {data[:20]!r} was never sent")
        lost = [d for d in self.acked if d not in seen]
        if lost:
            problems.append(
                f"kinesis: {len(lost)} acknowledged records lost, e.g. {lost[0][:20]!r} {self.acked[lost[0]]}"
            )
        return problems


def read_from(client: Any, iterator: str | None) -> tuple[list[tuple[int, bytes]], str | None]:
    rows: list[tuple[int, bytes]] = []
    while iterator:
        page = client.get_records(ShardIterator=iterator, Limit=10000)
        rows.extend((int(r["SequenceNumber"]), r["Data"]) for r in page["Records"])
        iterator = page.get("NextShardIterator")
        if not page["Records"] and page.get("MillisBehindLatest", 0) == 0:
            break
    return rows, iterator
