"""Shards: hash-key ranges over [0, 2^128 - 1], resharding lineage, and the ShardFilter views.

A shard is OPEN until a split, merge or scaling closes it; it stays readable while CLOSED and
disappears (EXPIRED) once its newest record is older than the retention period (closed for as
long), after which the sweep forgets it (retention.py).
"""

from __future__ import annotations

import bisect
import hashlib
from dataclasses import dataclass
from typing import Any

from gondwana.services.kinesis import errors
from gondwana.services.kinesis.memo import Memo
from gondwana.services.kinesis.records import format_seq, seq_suffix
from gondwana.services.kinesis.streams import Stream
from gondwana.storage import Store

HASH_SPACE = 1 << 128
MAX_HASH = HASH_SPACE - 1
_WIDTH = 39  # digits of 2^128 - 1: fixed-width text keeps SQL ordering numeric
COLUMNS = "stream_id, idx, parent, adjacent, start_hash, end_hash, start_seq, end_seq, created, closed"


def shard_id(index: int) -> str:
    return f"shardId-{index:012d}"


def shard_index(text: str) -> int | None:
    """The index of `shardId-000000000003` (AWS also accepts the bare number)."""
    tail = text.rsplit("-", 1)[-1]
    if not tail.isdigit() or len(tail) > 12 or (text != tail and not text.startswith("shardId-")):
        return None
    return int(tail)


def hash_of(partition_key: str) -> int:
    """MD5 of the partition key read as a 128-bit unsigned integer."""
    return int.from_bytes(hashlib.md5(partition_key.encode("utf-8"), usedforsecurity=False).digest(), "big")


View = tuple[str, float | None, int | None]  # a ShardFilter: kind, timestamp, shard index
EVERY: View = ("FROM_TRIM_HORIZON", None, None)


def uniform_ranges(count: int) -> list[tuple[int, int]]:
    """`count` contiguous ranges that exactly cover the hash space."""
    bounds = [i * HASH_SPACE // count for i in range(count + 1)]
    return [(bounds[i], bounds[i + 1] - 1) for i in range(count)]


@dataclass(slots=True)
class Shard:
    stream_id: int
    idx: int
    parent: int | None
    adjacent: int | None
    start_hash: int
    end_hash: int
    start_seq: int
    end_seq: int | None
    created: float
    closed: float | None

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> Shard:
        values = list(row)
        values[4] = int(values[4])
        values[5] = int(values[5])
        return cls(*values)

    @property
    def id(self) -> str:
        return shard_id(self.idx)

    @property
    def is_open(self) -> bool:
        return self.closed is None

    def expired(self, stream: Stream, now: float) -> bool:
        return self.closed is not None and self.closed + stream.retention * 3600 <= now

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ShardId": self.id}
        if self.parent is not None:
            out["ParentShardId"] = shard_id(self.parent)
        if self.adjacent is not None:
            out["AdjacentParentShardId"] = shard_id(self.adjacent)
        out["HashKeyRange"] = {"StartingHashKey": str(self.start_hash), "EndingHashKey": str(self.end_hash)}
        seq_range = {"StartingSequenceNumber": format_seq(self.stream_id, self.start_seq, self.idx)}
        if self.end_seq is not None:
            seq_range["EndingSequenceNumber"] = format_seq(self.stream_id, self.end_seq, self.idx)
        out["SequenceNumberRange"] = seq_range
        return out

    def child_view(self) -> dict[str, Any]:
        parents = [shard_id(p) for p in (self.parent, self.adjacent) if p is not None]
        return {
            "ShardId": self.id,
            "ParentShards": parents,
            "HashKeyRange": {"StartingHashKey": str(self.start_hash), "EndingHashKey": str(self.end_hash)},
        }


class Shards:
    def __init__(self, store: Store, memo: Memo) -> None:
        self.store = store
        self.memo = memo

    def page(self, stream: Stream, now: float, start: int, limit: int, view: View = EVERY) -> list[Shard]:
        """Up to `limit` shards after index `start` in index order, neither expired nor left out by
        the ShardFilter `view` (kind, timestamp, shard index): a stream resharded often holds
        thousands of closed shards within its retention, and reading them all took 30-50 ms."""
        kind, at, after = view
        if kind == "AT_TRIM_HORIZON":
            at = now - stream.retention * 3600
        if at is not None:
            at = max(at, stream.created)
        rows = self.store.query(
            f"SELECT {COLUMNS} FROM kinesis_shards WHERE stream_id = ?1 AND idx > ?2 "
            f"AND (closed IS NULL OR closed + ?3 > ?4) AND ({_VIEWS[kind]}) ORDER BY idx LIMIT ?7",
            (stream.id, start, stream.retention * 3600, now, at, after, limit),
        )
        return [Shard.from_row(r) for r in rows]

    def open(self, stream_id: int) -> list[Shard]:
        """The open shards in hash-key order (the index on close time finds them)."""
        rows = self.store.query(
            f"SELECT {COLUMNS} FROM kinesis_shards WHERE stream_id = ? AND closed IS NULL "
            "ORDER BY start_hash",
            (stream_id,),
        )
        return [Shard.from_row(r) for r in rows]

    def open_count(self, stream_id: int) -> int:
        row = self.store.query_one(
            "SELECT COUNT(*) FROM kinesis_shards WHERE stream_id = ? AND closed IS NULL", (stream_id,)
        )
        return row[0] if row else 0

    def get(self, stream: Stream, index: int, now: float) -> Shard | None:
        row = self.store.query_one(
            f"SELECT {COLUMNS} FROM kinesis_shards WHERE stream_id = ? AND idx = ?", (stream.id, index)
        )
        shard = None if row is None else Shard.from_row(row)
        return None if shard is None or shard.expired(stream, now) else shard

    def hot_get(self, stream: Stream, index: int, now: float) -> Shard | None:
        """`get` through the memo, for the data plane (which only reads the shard)."""
        key = ("shard", stream.id, index)
        shard = self.memo.get(key)
        if shard is None:
            row = self.store.query_one(
                f"SELECT {COLUMNS} FROM kinesis_shards WHERE stream_id = ? AND idx = ?", (stream.id, index)
            )
            if row is None:
                return None
            shard = self.memo[key] = Shard.from_row(row)
        return None if shard.expired(stream, now) else shard

    def routes(self, stream_id: int) -> Routes:
        """The stream's open shards for routing writes (kept in the memo until shards change)."""
        key = ("routes", stream_id)
        found = self.memo.get(key)
        if found is None:
            rows = self.store.query(
                "SELECT start_hash, idx FROM kinesis_shards WHERE stream_id = ? AND closed IS NULL "
                "ORDER BY start_hash",
                (stream_id,),
            )
            found = self.memo[key] = Routes(stream_id, [int(r[0]) for r in rows], [r[1] for r in rows])
        return found

    def children(self, stream_id: int, index: int) -> list[Shard]:
        # A seek in each index (SQLite reads every shard of the stream for an OR of both, or for
        # an ORDER BY: at most two children are sorted here).
        rows = self.store.query(
            f"SELECT {COLUMNS} FROM kinesis_shards WHERE stream_id = ?1 AND parent = ?2 UNION ALL "
            f"SELECT {COLUMNS} FROM kinesis_shards WHERE stream_id = ?1 AND adjacent = ?2",
            (stream_id, index),
        )
        return sorted((Shard.from_row(r) for r in rows), key=lambda s: s.idx)

    # ---- changes -------------------------------------------------------------------------------

    def add(
        self,
        stream: Stream,
        start: int,
        end: int,
        now: float,
        parent: int | None = None,
        adjacent: int | None = None,
    ) -> Shard:
        shard = Shard(stream.id, stream.next_shard, parent, adjacent, start, end, stream.seq, None, now, None)
        stream.next_shard += 1
        self.memo.drop()
        self.store.execute(
            f"INSERT INTO kinesis_shards ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                stream.id,
                shard.idx,
                parent,
                adjacent,
                f"{start:0{_WIDTH}d}",
                f"{end:0{_WIDTH}d}",
                stream.seq,
                None,
                now,
                None,
            ),
        )
        return shard

    def close(self, stream: Stream, shard: Shard, now: float) -> None:
        shard.closed = now
        shard.end_seq = stream.seq
        self.memo.drop()
        self.store.execute(
            "UPDATE kinesis_shards SET closed = ?, end_seq = ? WHERE stream_id = ? AND idx = ?",
            (now, stream.seq, stream.id, shard.idx),
        )

    def create_uniform(self, stream: Stream, count: int, now: float) -> None:
        for start, end in uniform_ranges(count):
            self.add(stream, start, end, now)

    def split(self, stream: Stream, shard: Shard, new_start: int, now: float) -> None:
        if not (shard.start_hash + 1 < new_start < shard.end_hash):
            raise errors.invalid(
                f"NewStartingHashKey {new_start} used in SplitShard() on shard {shard.id} "
                f"in stream {stream.name} under account {stream.account} is not both greater than "
                "one plus the shard's StartingHashKey "
                f"{shard.start_hash} and less than the shard's EndingHashKey {shard.end_hash}."
            )
        self.close(stream, shard, now)
        self.add(stream, shard.start_hash, new_start - 1, now, parent=shard.idx)
        self.add(stream, new_start, shard.end_hash, now, parent=shard.idx)

    def merge(self, stream: Stream, shard: Shard, adjacent: Shard, now: float) -> None:
        if shard.end_hash + 1 != adjacent.start_hash and adjacent.end_hash + 1 != shard.start_hash:
            raise errors.invalid(
                f"Shards {shard.id} and {adjacent.id} in stream {stream.name} under account {stream.account} "
                "are not an adjacent pair of shards eligible for merging"
            )
        self.close(stream, shard, now)
        self.close(stream, adjacent, now)
        start = min(shard.start_hash, adjacent.start_hash)
        end = max(shard.end_hash, adjacent.end_hash)
        self.add(stream, start, end, now, parent=shard.idx, adjacent=adjacent.idx)

    def rescale(self, stream: Stream, target: int, now: float) -> None:
        """Uniform scaling done as AWS does it, by splits then merges, so every new shard has at most
        a parent and an adjacent parent and a reader that finishes parents first keeps per-key order.
        Old shards are split at each new boundary inside them; the pieces of each new range are then
        merged left to right. Intermediate shards are opened and closed at once (they hold no records)."""
        old = self.open(stream.id)
        ranges = uniform_ranges(target)
        cuts = [start for start, _ in ranges[1:]]
        pieces: list[Shard] = []
        for shard in old:
            current = shard
            for cut in cuts[bisect.bisect_right(cuts, shard.start_hash) :]:
                if cut > shard.end_hash:
                    break
                self.close(stream, current, now)
                pieces.append(self.add(stream, current.start_hash, cut - 1, now, parent=current.idx))
                current = self.add(stream, cut, current.end_hash, now, parent=current.idx)
            pieces.append(current)
        position = 0
        for _, end in ranges:
            merged = pieces[position]
            position += 1
            while merged.end_hash < end:
                piece = pieces[position]
                position += 1
                self.close(stream, merged, now)
                self.close(stream, piece, now)
                merged = self.add(
                    stream, merged.start_hash, piece.end_hash, now, parent=merged.idx, adjacent=piece.idx
                )


class Routes:
    """Open shards in hash-key order: the shard holding hash key h is at position
    `bisect_right(starts, h) - 1` of `shards` (indexes) and `labels` ((the digits ending its
    sequence numbers, its shard id)), so a write derives nothing per call."""

    __slots__ = ("labels", "shards", "starts")

    def __init__(self, stream_id: int, starts: list[int], shards: list[int]) -> None:
        self.starts = starts
        self.shards = shards
        self.labels = [(seq_suffix(stream_id, index), shard_id(index)) for index in shards]

    def position(self, hash_key: int) -> int:
        return bisect.bisect_right(self.starts, hash_key) - 1


# ListShards' ShardFilter: which shards a reader starting at that point needs (`at` is the
# timestamp, never before the stream's creation; AT_TRIM_HORIZON's is the retention's start).
_VIEWS = {  # ?5: the timestamp, ?6: the shard index
    "AFTER_SHARD_ID": "?6 IS NULL OR idx > ?6",
    "AT_LATEST": "closed IS NULL",
    "FROM_TRIM_HORIZON": "1",
    "AT_TRIM_HORIZON": "created <= ?5 AND (closed IS NULL OR closed > ?5)",
    "AT_TIMESTAMP": "created <= ?5 AND (closed IS NULL OR closed > ?5)",
    # the shards open at that time and every shard opened since
    "FROM_TIMESTAMP": "closed IS NULL OR closed > ?5",
}
