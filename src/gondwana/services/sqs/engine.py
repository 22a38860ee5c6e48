"""The message state machine on top of the store: enqueue, receive, delete, change visibility.

All functions are synchronous and run inside the caller's `store.transaction()`, so a request's
changes commit together (or not at all). Times are the runtime clock's epoch seconds.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import uuid
from collections.abc import Iterable
from typing import Any, NamedTuple

from gondwana.protocols import json_codec
from gondwana.services.sqs import handles
from gondwana.services.sqs.queues import SWEEPING, Queue
from gondwana.services.sqs.storage import MESSAGE_COLUMNS
from gondwana.storage import Store
from gondwana.storage.reclaim import Reclaimer

SEQUENCE_BASE = 18_000_000_000_000_000_000  # FIFO sequence numbers: large, increasing, not consecutive
_SELECT = f"SELECT {MESSAGE_COLUMNS} FROM sqs_messages"


class Msg(NamedTuple):
    seq: int
    space: int
    message_id: str
    body: str
    attributes: str | None
    md5_body: str
    md5_attributes: str | None
    system: str | None
    sender_id: str
    sent_at: float
    visible_at: float
    receive_count: int
    first_receive: float | None
    received_at: float | None
    token: str | None
    group_id: str | None
    dedup_id: str | None

    @property
    def sequence_number(self) -> str:
        return sequence_number(self.seq)


def sequence_number(seq: int) -> str:
    return str(SEQUENCE_BASE + seq * 65_536)


def sequence_numbers(seqs: range) -> list[str]:
    """`sequence_number` of consecutive seqs, at C speed."""
    start, stop = SEQUENCE_BASE + seqs.start * 65_536, SEQUENCE_BASE + seqs.stop * 65_536
    return list(map(str, range(start, stop, 65_536)))


def new_message_ids(count: int) -> list[str]:
    """Unique ids in UUID form: a random version-4 UUID drawn at start-up whose last 48 bits count
    up from a random point (uniqueness is what matters; one uuid4 per message costs microseconds),
    starting over from 0 once they would pass 48 bits."""
    start = _ID_NEXT[0]
    if start + count > 1 << 48:
        start = 0
    _ID_NEXT[0] = start + count
    return list(map(_ID_FORMAT.__mod__, range(start, start + count)))


_ID_FORMAT = str(uuid.uuid4())[:-12] + "%012x"
_ID_NEXT = [int.from_bytes(os.urandom(6))]  # the next id's counter value


# ---- reads --------------------------------------------------------------------------------------


def get(store: Store, seq: int) -> Msg | None:
    row = store.query_one(f"{_SELECT} WHERE seq = ?", (seq,))
    return Msg._make(row) if row else None


def depth(store: Store, queue: Queue) -> int:
    """The messages of the queue's space, expired ones too: kept by every insert and delete
    (`counted`), and counted again only when not known (the first time since start-up) or when
    the store has undone changes since."""
    if queue.depth is None or queue.depth_undone != store.undone:
        row = store.query_one("SELECT COUNT(*) FROM sqs_messages WHERE space = ?", (queue.space,))
        queue.depth, queue.depth_undone = row[0] if row else 0, store.undone
    return queue.depth


def counted(queue: Queue, change: int) -> None:
    """Messages were added to (or, negative, deleted from) the queue's space."""
    if queue.depth is not None:
        queue.depth += change


def counters(store: Store, queue: Queue, now: float, may_have_expired: bool) -> dict[str, str]:
    """The Approximate* counters, of the messages within the retention period (the expired ones
    are gone, deleted or not yet). Only the hidden messages, in flight or delayed, are read (to
    tell which they are); the visible ones are the rest of the queue's depth. Unless some may have
    expired: then every message is read (its send time in the visibility index only), until a
    retention round has deleted them."""
    params = (queue.space, now, now - queue.number("MessageRetentionPeriod"))
    hidden = dict(store.query(_COUNT_HIDDEN, params))
    if may_have_expired:
        row = store.query_one(_COUNT_VISIBLE, params)
        visible = row[0] if row else 0
    else:
        visible = depth(store, queue) - sum(hidden.values())
    return {
        "ApproximateNumberOfMessages": str(visible),
        "ApproximateNumberOfMessagesNotVisible": str(hidden.get(1, 0)),
        "ApproximateNumberOfMessagesDelayed": str(hidden.get(0, 0)),
    }


_COUNT_VISIBLE = "SELECT COUNT(*) FROM sqs_messages WHERE space = ? AND visible_at <= ? AND sent_at > ?"
_COUNT_HIDDEN = (
    "SELECT receive_count > 0, COUNT(*) FROM sqs_messages WHERE space = ? AND visible_at > ? AND sent_at > ? "
    "GROUP BY 1"
)


def count_inflight(store: Store, queue: Queue, now: float, limit: int) -> int:
    """Messages received and still hidden, counted up to `limit` (the index range of hidden
    messages is all it reads)."""
    row = store.query_one(
        "SELECT COUNT(*) FROM (SELECT 1 FROM sqs_messages WHERE space = ? AND visible_at > ? "
        "AND receive_count > 0 LIMIT ?)",
        (queue.space, now, limit),
    )
    return row[0] if row else 0


def next_visible(store: Store, queue: Queue, now: float) -> float | None:
    """When the next hidden message (delayed or in flight) becomes visible: long polls wake then."""
    row = store.query_one(
        "SELECT MIN(visible_at) FROM sqs_messages WHERE space = ? AND visible_at > ?", (queue.space, now)
    )
    return row[0] if row else None


# ---- writes -------------------------------------------------------------------------------------


_INSERT = (
    "INSERT INTO sqs_messages (space, message_id, body, attributes, md5_body, md5_attributes, system, "
    "sender_id, sent_at, visible_at, receive_count, first_receive, group_id, dedup_id) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def enqueue(
    store: Store,
    queue: Queue,
    *,
    message_id: str,
    body: str,
    attributes: str | None,
    md5_body: str,
    md5_attributes: str | None,
    system: dict[str, str] | None,
    sender_id: str,
    sent_at: float,
    visible_at: float,
    group_id: str | None,
    dedup_id: str | None,
    receive_count: int = 0,
    first_receive: float | None = None,
) -> int:
    if queue.oldest_sent is not None:  # a message moved here may keep its age (see retention)
        sweeping = queue.oldest_sent == SWEEPING  # the round may have passed its place: unknown
        queue.oldest_sent = None if sweeping else min(queue.oldest_sent, sent_at)
    row = (
        queue.space,
        message_id,
        body,
        attributes,
        md5_body,
        md5_attributes,
        encode_system(system),
        sender_id,
        sent_at,
        visible_at,
        receive_count,
        first_receive,
        group_id,
        dedup_id,
    )
    seq = store.insert(_INSERT, row)
    counted(queue, 1)
    if queue.fifo:
        _add_heads(store, queue, range(seq, seq + 1))
    return seq


# The columns a new message may fill, beyond the queue, sender and send time it shares with its
# batch; a batch's INSERT names the shortest prefix that holds all its messages' values.
_NEW_COLUMNS = (
    "message_id",
    "body",
    "md5_body",
    "visible_at",
    "group_id",
    "dedup_id",
    "attributes",
    "md5_attributes",
    "system",
)
PLAIN, GROUPED, FULL = 4, 6, 9  # widths: no extras; FIFO (or group) ids; attributes or trace header too


def enqueue_rows(
    store: Store, queue: Queue, sender_id: str, sent_at: float, rows: list[tuple[Any, ...]], width: int
) -> range:
    """Insert messages with one statement; their seqs, in order (one multi-row INSERT takes
    consecutive AUTOINCREMENT values, so the last one tells them all).

    Each row holds the first `width` (PLAIN, GROUPED or FULL) values of `_NEW_COLUMNS` (stored
    forms). The columns a receive sets are filled in already, with values of the same size (a
    token no handle names, `_UNRECEIVED`; the send time), so that the receive overwrites the row in place
    instead of growing it, which would split its page: `receive_count = 0` tells they mean
    nothing yet.
    """
    last = store.insert(
        _insert_sql(len(rows), width),
        [queue.space, sender_id, sent_at, _UNRECEIVED, *itertools.chain.from_iterable(rows)],
    )
    seqs = range(last - len(rows) + 1, last + 1)
    counted(queue, len(rows))
    if queue.fifo:
        _add_heads(store, queue, seqs)
    return seqs


def add_rows(
    store: Store, queue: Queue, sender_id: str, sent_at: float, rows: list[tuple[Any, ...]], width: int
) -> None:
    """`enqueue_rows` for a standard queue: one statement, a unit of its own (no savepoint)."""
    store.write(
        _insert_sql(len(rows), width),
        [queue.space, sender_id, sent_at, _UNRECEIVED, *itertools.chain.from_iterable(rows)],
    )
    counted(queue, len(rows))


# The token of messages never received: drawn once (it is never shown, so it only has to be one no
# receive draws), the same size as a receive's.
_UNRECEIVED = handles.new_token()


@functools.cache
def _insert_sql(count: int, width: int) -> str:
    """INSERT of `count` messages: ?1-?4 are the queue, sender, send time and placeholder token
    they share, then each message's first `width` columns."""
    values = ", ".join(
        "(?1, ?2, ?3, ?4, ?3, ?3, " + ", ".join(f"?{5 + k * width + i}" for i in range(width)) + ")"
        for k in range(count)
    )
    columns = ", ".join(_NEW_COLUMNS[:width])
    return (
        "INSERT INTO sqs_messages (space, sender_id, sent_at, token, first_receive, received_at, "
        f"{columns}) VALUES {values}"
    )


def _add_heads(store: Store, queue: Queue, seqs: range) -> None:
    """Make each new message group's first message among the new messages `seqs` its head (groups
    that exist keep theirs): read in seq order from their rows, the first of each group wins."""
    store.execute(_ADD_HEADS, (queue.space, seqs.start, seqs.stop - 1))


_ADD_HEADS = (
    "INSERT INTO sqs_groups (space, group_id, head) SELECT ?1, group_id, seq FROM sqs_messages "
    "WHERE seq >= ?2 AND seq <= ?3 ORDER BY seq ON CONFLICT DO NOTHING"
)


@functools.cache
def marks(count: int, first: int = 1) -> str:
    """`?first, ?first+1, ...`: `count` numbered parameters, for an IN list."""
    return ", ".join(f"?{first + k}" for k in range(count))


def encode_system(system: dict[str, str] | None) -> str | None:
    # The standard library escapes what orjson would refuse (lone surrogates); this path is rare.
    return json.dumps(system) if system else None


def remove(store: Store, queue: Queue, msg: Msg) -> None:
    """Delete a message; on FIFO queues, move its group's head on."""
    counted(queue, -store.execute("DELETE FROM sqs_messages WHERE seq = ?", (msg.seq,)))
    if queue.fifo:
        assert msg.group_id is not None
        advance_heads(store, queue, [msg.group_id])


def advance_heads(store: Store, queue: Queue, groups: Iterable[str]) -> None:
    """After deleting messages of these groups: each points at its oldest remaining message, and is
    no longer parked (that head may be visible), with two statements whatever their number; the
    groups left empty are forgotten."""
    names = list(set(groups))
    if store.execute(_advance_sql(len(names)), [queue.space, *names]):
        store.execute("DELETE FROM sqs_groups WHERE space = ? AND parked = 0 AND head = 0", (queue.space,))


@functools.cache
def _advance_sql(count: int) -> str:
    """Each of `count` groups (?2...) gets its oldest message as its head, or 0 (no message has it)
    when it has none left."""
    return (
        "UPDATE sqs_groups SET head = COALESCE((SELECT MIN(seq) FROM sqs_messages "
        "WHERE space = ?1 AND group_id = sqs_groups.group_id), 0), parked = 0 "
        f"WHERE space = ?1 AND group_id IN ({marks(count, 2)})"
    )


def drop_space(reclaimer: Reclaimer, space: int) -> None:
    """A space's messages and groups are deleted in the background (spaces are never reused, and
    no queue is in this one any more, so nothing reaches them meanwhile)."""
    for table in ("sqs_messages", "sqs_groups"):
        reclaimer.drop(table, "space", space)


def drop_queue(reclaimer: Reclaimer, queue: Queue) -> None:
    """The queue's rows are deleted in the background (as its space's: its id is never reused)."""
    drop_space(reclaimer, queue.space)
    for table in ("sqs_dedup", "sqs_attempts"):
        reclaimer.drop(table, "queue_id", queue.id)


def set_visible_at(store: Store, queue: Queue, msg: Msg, when: float) -> None:
    store.execute("UPDATE sqs_messages SET visible_at = ? WHERE seq = ?", (when, msg.seq))
    if queue.fifo:  # a group parked until later than this (its head's) new time is not any more
        store.execute(
            "UPDATE sqs_groups SET parked = 0 WHERE space = ? AND group_id = ? AND parked > ?",
            (queue.space, msg.group_id, when),
        )


def system_attributes(msg: Msg) -> dict[str, Any]:
    return json_codec.loads(msg.system) if msg.system else {}
