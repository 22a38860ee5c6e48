"""Records: sequence numbers, writes and reads.

A sequence number is 56 decimal digits, like AWS's: "49", then the stream's record counter
(36 digits), the shard index (10) and a tag of the stream (8). The counter only grows, so numbers
are unique, strictly increasing within a shard, and still compare correctly after a restart; the
fixed width makes text order equal numeric order. A write stores only its block, not the counter:
the counter is the highest of the stream row's `seq` and its blocks' last counters (`COUNTER`),
and trimming writes the counter of the blocks it deletes into the stream row first.

Records are stored in blocks: the records one call wrote to one shard (they share an arrival time)
form one row, keyed by the counter of its last record. A PutRecords of 500 is then a few inserts,
and a GetRecords of 10,000 a short scan of rows that are cut into records in memory, instead of
10,000 rows. A block holds its counters and the offsets of each record in its data as little-endian
64-bit integers, its partition keys as a JSON array, and the records' data concatenated. Counters
that run without a gap (every one-shard write) are left empty (first_seq..last_seq), and so are the
offsets of a block of one record (the whole data), so a PutRecord packs nothing.
"""

from __future__ import annotations

import math
import sys
from array import array
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate
from typing import Any

from gondwana.protocols import json_codec
from gondwana.storage import Store

MAX_RECORDS = 10_000
MAX_BYTES = 10 * 1024 * 1024
SEQ_PREFIX = "49"
_LENGTH = 56
_SWAP = sys.byteorder != "little"


def _tag(stream_id: int) -> int:
    return stream_id % 100_000_000


def seq_suffix(stream_id: int, shard: int) -> str:
    """The shard and stream digits that end every sequence number of a shard."""
    return f"{shard:010d}{_tag(stream_id):08d}"


def format_seq(stream_id: int, counter: int, shard: int) -> str:
    return f"{SEQ_PREFIX}{counter:036d}{seq_suffix(stream_id, shard)}"


def parse_seq(text: str) -> tuple[int, int, int] | None:
    """(counter, shard index, stream tag) of a sequence number this server issued, else None."""
    if len(text) != _LENGTH or not text.startswith(SEQ_PREFIX) or not text.isdigit():
        return None
    return int(text[2:38]), int(text[38:48]), int(text[48:])


def belongs(stream_id: int, tag: int) -> bool:
    return _tag(stream_id) == tag


def arrival_time(now: float) -> float:
    """Arrival times are kept to the millisecond, as returned, so a client passing a record's
    ApproximateArrivalTimestamp back as an AT_TIMESTAMP position finds that very record."""
    return math.floor(now * 1000) / 1000


# ---- the block format ---------------------------------------------------------------------------


def _pack(values: Sequence[int]) -> bytes:
    packed = array("q", values)
    if _SWAP:
        packed.byteswap()
    return packed.tobytes()


def _unpack(blob: bytes) -> array[int]:
    values = array("q")
    values.frombytes(blob)
    if _SWAP:
        values.byteswap()
    return values


def _keys_json(keys: list[str]) -> bytes:
    return json_codec.dumps(keys)  # a lone surrogate as an escape, which loads reads back


class Block:
    """The records of one write to one shard, before they are stored."""

    __slots__ = ("counters", "data", "keys", "size")

    def __init__(self, counters: list[int], keys: list[str], data: list[bytes], size: int) -> None:
        self.counters = counters
        self.keys = keys
        self.data = data
        self.size = size  # bytes of data and UTF-8 partition keys, as GetRecords' 10 MiB cap counts


def group(
    first: int, shards: list[int], keys: list[str], data: list[bytes], sizes: list[int]
) -> dict[int, Block]:
    """One block per shard for records numbered first, first + 1, ... bound for `shards`."""
    n = len(shards)
    if shards.count(shards[0]) == n:
        return {shards[0]: Block(list(range(first, first + n)), keys, data, sum(sizes))}
    order = sorted(range(n), key=shards.__getitem__)  # stable: each shard's records stay in order
    ordered = [shards[i] for i in order]
    blocks = {}
    low = 0
    while low < n:
        shard = ordered[low]
        high = bisect_right(ordered, shard, low)
        picks = order[low:high]
        blocks[shard] = Block(
            [first + i for i in picks],
            [keys[i] for i in picks],
            [data[i] for i in picks],
            sum([sizes[i] for i in picks]),
        )
        low = high
    return blocks


_INSERT = (
    "INSERT INTO kinesis_blocks (stream_id, shard, last_seq, first_seq, arrival, size, seqs, offsets, "
    "pkeys, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _seqs_blob(counters: list[int]) -> bytes:
    return b"" if counters[-1] - counters[0] == len(counters) - 1 else _pack(counters)


def _offsets_blob(data: list[bytes]) -> bytes:
    return b"" if len(data) == 1 else _pack(list(accumulate(map(len, data), initial=0)))


def append(store: Store, stream_id: int, blocks: dict[int, Block], now: float) -> None:
    """Store one block per shard {shard index: block}, all arriving now."""
    arrival = arrival_time(now)
    store.executemany(
        _INSERT,
        [
            (
                stream_id,
                shard,
                block.counters[-1],
                block.counters[0],
                arrival,
                block.size,
                _seqs_blob(block.counters),
                _offsets_blob(block.data),
                _keys_json(block.keys),
                b"".join(block.data),
            )
            for shard, block in blocks.items()
        ],
    )


def append_one(
    store: Store, stream_id: int, shard: int, counter: int, key: str, data: bytes, size: int, now: float
) -> None:
    """Store a block of one record (PutRecord): one insert, nothing to pack, a unit of its own."""
    store.write(
        _INSERT,
        (stream_id, shard, counter, counter, arrival_time(now), size, b"", b"", _keys_json([key]), data),
    )


def read(
    store: Store, stream_id: int, shard: int, after: int, limit: int, cutoff: float
) -> tuple[list[dict[str, Any]], int, float | None]:
    """Records after counter `after` still within retention, up to `limit` and 10 MiB (at least one),
    as GetRecords returns them: (records, the counter of the last one returned or `after`, the
    arrival time of the first record left unread or None)."""
    out: list[dict[str, Any]] = []
    size = 0
    prefix, suffix = SEQ_PREFIX, seq_suffix(stream_id, shard)
    rows = store.iterate(
        "SELECT first_seq, last_seq, arrival, size, seqs, offsets, pkeys, data FROM kinesis_blocks "
        "WHERE stream_id = ? AND shard = ? AND last_seq > ? AND arrival >= ? ORDER BY last_seq",
        (stream_id, shard, after, cutoff),
    )
    for first, last, arrival, block_size, seqs_blob, offsets_blob, keys_json, data in rows:
        if len(out) >= limit:
            return out, after, arrival
        seqs: Sequence[int] = _unpack(seqs_blob) if seqs_blob else range(first, last + 1)
        start = bisect_right(seqs, after) if first <= after else 0  # only the first block
        stop = min(len(seqs), start + limit - len(out))
        offsets: Sequence[int] = _unpack(offsets_blob) if offsets_blob else (0, len(data))
        keys = json_codec.loads(keys_json)
        if start or stop < len(seqs):  # part of the block: data and UTF-8 keys of that part
            block_size = offsets[stop] - offsets[start] + sum(map(len, map(str.encode, keys[start:stop])))
        if size + block_size <= MAX_BYTES:
            size += block_size
        else:  # the cap falls inside this block: count record by record
            stop, size = _within(size, offsets, keys, start, stop, bool(out))
            if stop == start:
                return out, after, arrival
        out.extend(
            [
                {
                    "SequenceNumber": f"{prefix}{seq:036d}{suffix}",
                    "ApproximateArrivalTimestamp": arrival,
                    "Data": data[begin:end],
                    "PartitionKey": key,
                }
                for seq, key, begin, end in zip(
                    seqs[start:stop],
                    keys[start:stop],
                    offsets[start:stop],
                    offsets[start + 1 : stop + 1],
                    strict=True,
                )
            ]
        )
        after = seqs[stop - 1]
        if stop < len(seqs):
            return out, after, arrival
    return out, after, None


def _within(
    size: int, offsets: Sequence[int], keys: list[str], start: int, stop: int, taken: bool
) -> tuple[int, int]:
    """How far records start..stop of a block fit under the 10 MiB cap, given `size` bytes already
    taken (the first record of a response always fits): (end of the fitting records, new size)."""
    for i in range(start, stop):
        grown = size + offsets[i + 1] - offsets[i] + len(keys[i].encode("utf-8"))
        if (taken or i > start) and grown > MAX_BYTES:
            return i, size
        size = grown
    return stop, size


# The stream's counter as its row is read (kinesis_streams aliased t): the highest last counter of
# its shards' blocks, one index seek per shard (the stream row's own `seq` is the floor).
COUNTER = (
    "(SELECT MAX((SELECT MAX(b.last_seq) FROM kinesis_blocks b WHERE b.stream_id = h.stream_id "
    "AND b.shard = h.idx)) FROM kinesis_shards h WHERE h.stream_id = t.id)"
)


def to_blocks(store: Store) -> None:
    """Migration: the records of the earlier one-row-per-record table become one-record blocks."""
    batch: list[tuple[Any, ...]] = []
    for stream_id, shard, seq, arrival, key, data in store.iterate(
        "SELECT stream_id, shard, seq, arrival, pkey, data FROM kinesis_records "
        "ORDER BY stream_id, shard, seq"
    ):
        size = len(data) + len(key.encode("utf-8"))
        batch.append(
            (
                stream_id,
                shard,
                seq,
                seq,
                arrival,
                size,
                _pack([seq]),
                _pack([0, len(data)]),
                _keys_json([key]),
                data,
            )
        )
        if len(batch) >= 1000:
            store.executemany(_INSERT, batch)
            batch = []
    store.executemany(_INSERT, batch)
    store.execute("DROP TABLE kinesis_records")
