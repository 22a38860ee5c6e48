"""FIFO deduplication: ids live for five minutes after a message is stored with them; a message
sent again with a live id is accepted but not stored, and its result names the original.

Rows of `sqs_dedup`, keyed by (queue, scope, id): the scope is "" (queue-wide) or the message
group (DeduplicationScope=messageGroup). Every record is written for the same window, and a
new or renewed one takes the next rowid (a renewal replaces the row), so rowid order is expiry
order: the sweep drops the table's expired front, with no expiry index for sends to update.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from gondwana.services.sqs import engine
from gondwana.services.sqs.queues import Queue
from gondwana.storage import Store

WINDOW = 300.0


def plan(
    store: Store,
    queue: Queue,
    group_ids: list[str],
    dedup_ids: list[str],
    results: list[dict[str, Any]],
    now: float,
) -> tuple[Sequence[int], list[tuple[int, int]]]:
    """The indexes of the messages to store, and (index, index of the entry it repeats)
    for those that repeat an earlier entry of this batch. A message whose deduplication id is
    live is accepted but not stored: its result names the original.

    Per-group scope still honours ids recorded queue-wide before the scope changed (AWS does);
    queue scope does not see ids recorded per group."""
    by_group = queue.high_throughput_dedup
    earlier = live(store, queue, group_ids, dedup_ids, now)
    if not earlier and not by_group and len(set(dedup_ids)) == len(dedup_ids):
        return range(len(dedup_ids)), []  # the usual case: all new
    fresh: list[int] = []
    copies: list[tuple[int, int]] = []
    seen: dict[tuple[str, str], int] = {}  # (scope, dedup id) -> index in this batch
    for index, dedup_id in enumerate(dedup_ids):
        key = (group_ids[index] if by_group else "", dedup_id)
        if key in seen:  # a duplicate of an earlier entry of this batch: its result, once stored
            copies.append((index, seen[key]))
        elif key in earlier:  # accepted, but not delivered again: the sender sees the original
            result = results[index]
            result["MessageId"], seq = earlier[key]
            result["SequenceNumber"] = engine.sequence_number(seq)
        else:
            seen[key] = index
            fresh.append(index)
    return fresh, copies


def copy_results(results: list[dict[str, Any]], copies: list[tuple[int, int]]) -> None:
    for index, original in copies:
        results[index]["MessageId"] = results[original]["MessageId"]
        results[index]["SequenceNumber"] = results[original]["SequenceNumber"]


def remember(
    store: Store,
    queue: Queue,
    fresh: Sequence[int],
    seqs: range,
    results: list[dict[str, Any]],
    now: float,
    hopeful: bool = False,
) -> None:
    """Record the deduplication ids of the messages just stored as `seqs` for five minutes, with
    one statement that copies them from the messages' rows (nothing per message to bind).
    `hopeful`: the ids were not looked up, and none may have a record yet (else `Seen`)."""
    numbers = engine.sequence_numbers(seqs)
    if len(fresh) == len(results):  # the usual case: every message is new
        for result, number in zip(results, numbers, strict=True):
            result["SequenceNumber"] = number
    else:
        for index, number in zip(fresh, numbers, strict=True):
            results[index]["SequenceNumber"] = number
    params = (queue.id, now + WINDOW, seqs.start, seqs.stop - 1)
    by_group = queue.high_throughput_dedup
    if not hopeful:
        store.execute(_RECORD[by_group], params)
    elif store.execute(_RECORD_NEW[by_group], params) < len(seqs):
        raise Seen


class Seen(Exception):
    """A deduplication id that was not looked up has a record (live or expired) already."""


def live(
    store: Store, queue: Queue, group_ids: list[str], dedup_ids: list[str], now: float
) -> dict[tuple[str, str], tuple[str, int]]:
    """The live deduplication ids among the messages': (scope, id) -> (message id, seq) of the
    message first sent with it."""
    by_group = queue.high_throughput_dedup
    scopes = sorted({"", *group_ids}) if by_group else [""]
    ids = list(dict.fromkeys(dedup_ids))
    found: dict[tuple[str, str], tuple[str, int, float]] = {}
    for message_id, seq, expires_at, scope, dedup_id in store.query(
        _lookup_sql(len(scopes), len(ids)), [queue.id, now, *scopes, *ids]
    ):
        found[(scope, dedup_id)] = (message_id, seq, expires_at)
    if not found:
        return {}
    out_map: dict[tuple[str, str], tuple[str, int]] = {}
    for group_id, dedup_id in zip(group_ids, dedup_ids, strict=True):
        scope = group_id if by_group else ""
        candidates = [c for c in (found.get(("", dedup_id)), found.get((scope, dedup_id))) if c]
        if candidates:
            message_id, seq, _ = max(candidates, key=lambda c: c[2])
            out_map[(scope, dedup_id)] = (message_id, seq)
    return out_map


@functools.cache
def _lookup_sql(scopes: int, ids: int) -> str:
    return (
        "SELECT message_id, seq, expires_at, scope, dedup_id FROM sqs_dedup WHERE queue_id = ?1 "
        f"AND scope IN ({engine.marks(scopes, 3)}) AND dedup_id IN ({engine.marks(ids, 3 + scopes)}) "
        "AND expires_at > ?2"
    )


def sweep(store: Store, now: float, limit: int) -> bool:
    """Forget expired deduplication ids, at most `limit` of them: those of the table's first
    `limit` rows that come before the first live one (all of them when none is live). A record
    that outlives a later one (the clock went back) only delays the forgetting of those behind it,
    never a look-up (which checks expiry). True when `limit` were forgotten: more may be due."""
    return store.execute(_SWEEP_SQL, (now, limit)) == limit


# (Not a WITH clause for the front: Python's sqlite3 counts no rows changed by a statement that
# does not begin with DELETE.)
_FRONT = "(SELECT rowid AS id, expires_at FROM sqs_dedup ORDER BY rowid LIMIT ?2)"
_SWEEP_SQL = (
    "DELETE FROM sqs_dedup WHERE rowid < COALESCE("
    f"(SELECT MIN(id) FROM {_FRONT} WHERE expires_at > ?1), (SELECT MAX(id) + 1 FROM {_FRONT}))"
)


def _record_sql(verb: str, scope: str, tail: str = "") -> str:
    """Record the ids of the messages ?3..?4 of queue ?1, expiring at ?2, in `scope` (a column of
    the message or a constant)."""
    return (
        f"{verb} INTO sqs_dedup (queue_id, scope, dedup_id, message_id, seq, expires_at) "
        f"SELECT ?1, {scope}, dedup_id, message_id, seq, ?2 FROM sqs_messages "
        f"WHERE seq >= ?3 AND seq <= ?4{tail}"
    )


# By DeduplicationScope=messageGroup (True) or queue: ids that have no record (those that have
# one are left out); or any ids, a record past its window replaced (deleted, and the new one
# takes the next rowid, keeping rowid order the order of expiry).
_RECORD_NEW = {
    by_group: _record_sql("INSERT", "group_id" if by_group else "''", " ON CONFLICT DO NOTHING")
    for by_group in (False, True)
}
_RECORD = {
    by_group: _record_sql("INSERT OR REPLACE", "group_id" if by_group else "''") for by_group in (False, True)
}
