"""Blocks by arrival time, for AT_TIMESTAMP positions and retention, without an index on arrival
(an index would be one more B-tree to update on every write, PutRecord's largest cost after its
row). A shard's blocks arrive in counter order, so their arrival times rise with the counter: the
first block that arrived at or after an instant is found by bisecting the counter range, each
step one seek on the primary key.

The clock may step back (a restart after a test advanced it, an NTP correction), so the order is
not guaranteed: a lookup then still returns a block of that shard that arrived at or after the
instant, and trimming deletes only blocks that are past retention (reads never return one anyway).
"""

from __future__ import annotations

from gondwana.storage import Store

_AT_OR_AFTER = (
    "SELECT last_seq, arrival, first_seq FROM kinesis_blocks WHERE stream_id = ? AND shard = ? "
    "AND last_seq >= ? ORDER BY last_seq LIMIT 1"
)
_NEWEST = (
    "SELECT last_seq, arrival, first_seq FROM kinesis_blocks WHERE stream_id = ? AND shard = ? "
    "ORDER BY last_seq DESC LIMIT 1"
)
_LAST = "(SELECT MAX(last_seq) FROM kinesis_blocks WHERE stream_id = ? AND shard = ?)"
_KEEP_COUNTER = f"UPDATE kinesis_streams SET seq = {_LAST} WHERE id = ? AND seq < {_LAST}"


def first_block_at(store: Store, stream_id: int, shard: int, at: float) -> tuple[int, int] | None:
    """(first counter, last counter) of the shard's first block that arrived at or after `at`,
    or None when every block arrived before it."""
    key = (stream_id, shard)
    oldest = store.query_one(_AT_OR_AFTER, (*key, 0))
    if oldest is None:
        return None
    if oldest[1] >= at:
        return oldest[2], oldest[0]
    newest = store.query_one(_NEWEST, key)
    assert newest is not None
    if newest[1] < at:
        return None
    # The answer is the block found from the lowest counter c in (low, high] whose block (the first
    # with last_seq >= c) arrived at or after `at`; the newest block qualifies, the oldest does not.
    low, high = oldest[0] + 1, newest[0]
    while low < high:
        middle = (low + high) // 2
        found = store.query_one(_AT_OR_AFTER, (*key, middle))
        assert found is not None  # the newest block is at or after any middle
        if found[1] >= at:
            high = middle
        else:
            low = found[0] + 1  # every counter up to this block's leads to it or earlier ones
    found = store.query_one(_AT_OR_AFTER, (*key, low))
    assert found is not None
    return found[2], found[0]


def first_at(store: Store, stream_id: int, shard: int, at: float) -> int | None:
    """The counter of the first record that arrived at or after `at` (None: none did)."""
    block = first_block_at(store, stream_id, shard, at)
    return None if block is None else block[0]


def oldest(store: Store, stream_id: int, shard: int) -> float | None:
    """The arrival of the shard's first block (by counter), or None when it has none."""
    row = store.query_one(_AT_OR_AFTER, (stream_id, shard, 0))
    return None if row is None else row[1]


def trim(store: Store, stream_id: int, shard: int, cutoff: float, budget: int | None = None) -> int:
    """Delete the shard's blocks that arrived before `cutoff` (past retention), the oldest first and
    about `budget` bytes of them (None: all; a block counts at least a page), after writing the
    shard's highest counter into the stream row if it is higher there: the stream's counter is read
    back from its blocks (records.COUNTER) and must survive them. Returns the bytes it counted."""
    oldest = store.query_one(_AT_OR_AFTER, (stream_id, shard, 0))
    if oldest is None or oldest[1] >= cutoff:
        return 0  # the common case: nothing expired, two seeks
    store.execute(_KEEP_COUNTER, (stream_id, shard, stream_id, stream_id, shard))
    kept = first_block_at(store, stream_id, shard, cutoff)
    end = _NO_END if kept is None else kept[1]  # the blocks below it arrived before the cutoff
    spent = 0
    if budget is not None:
        for last_seq, size in store.iterate(_OLDEST_FIRST, (stream_id, shard, end)):
            spent += max(size, PAGE)
            if spent >= budget:
                end = last_seq + 1
                break
    store.execute(
        "DELETE FROM kinesis_blocks WHERE stream_id = ? AND shard = ? AND last_seq < ? AND arrival < ?",
        (stream_id, shard, end, cutoff),
    )
    return spent


PAGE = 4096  # what deleting the smallest block costs, in the bytes of a budget
_NO_END = 2**63 - 1
_OLDEST_FIRST = (
    "SELECT last_seq, size FROM kinesis_blocks WHERE stream_id = ? AND shard = ? AND last_seq < ? "
    "ORDER BY last_seq"
)
