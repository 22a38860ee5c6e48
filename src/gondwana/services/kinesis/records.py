"""Records: sequence numbers, writes and reads.

A sequence number is 56 decimal digits, like AWS's: "49", then the stream's record counter
(36 digits), the shard index (10) and a tag of the stream (8). The counter is persisted with the
stream and only grows, so numbers are unique, strictly increasing within a shard, and still
compare correctly after a restart; the fixed width makes text order equal numeric order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from gondwana.storage import Store

MAX_RECORDS = 10_000
MAX_BYTES = 10 * 1024 * 1024
SEQ_PREFIX = "49"
_LENGTH = 56


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


def append(
    store: Store, stream_id: int, first_counter: int, rows: Sequence[tuple[int, str, bytes]], now: float
) -> None:
    """Store records [(shard, partition key, data)] with counters first_counter, first_counter + 1, ..."""
    arrival = arrival_time(now)
    store.executemany(
        "INSERT INTO kinesis_records (stream_id, shard, seq, arrival, pkey, data) VALUES (?, ?, ?, ?, ?, ?)",
        [
            (stream_id, shard, first_counter + i, arrival, pkey, data)
            for i, (shard, pkey, data) in enumerate(rows)
        ],
    )


def read(
    store: Store, stream_id: int, shard: int, after: int, limit: int, cutoff: float
) -> list[tuple[Any, ...]]:
    """Up to `limit` + 1 records after counter `after` that are still within retention (the extra
    one tells the caller whether it is behind the tip)."""
    return store.query(
        "SELECT seq, arrival, pkey, data FROM kinesis_records WHERE stream_id = ? AND shard = ? AND seq > ? "
        "AND arrival >= ? ORDER BY seq LIMIT ?",
        (stream_id, shard, after, cutoff, limit + 1),
    )


def first_at(store: Store, stream_id: int, shard: int, at: float) -> int | None:
    """The counter of the first record that arrived at or after `at`: two index seeks (the earliest
    such arrival, then the lowest counter among records of that same millisecond)."""
    row = store.query_one(
        "SELECT MIN(seq) FROM kinesis_records WHERE stream_id = ? AND shard = ? AND arrival = "
        "(SELECT MIN(arrival) FROM kinesis_records WHERE stream_id = ? AND shard = ? AND arrival >= ?)",
        (stream_id, shard, stream_id, shard, at),
    )
    return None if row is None else row[0]


def trim(store: Store, stream_id: int, shard: int, cutoff: float) -> int:
    """Delete the records that fell out of retention."""
    return store.execute(
        "DELETE FROM kinesis_records WHERE stream_id = ? AND shard = ? AND arrival < ?",
        (stream_id, shard, cutoff),
    )
