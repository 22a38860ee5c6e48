"""The message state machine on top of the store: enqueue, receive, delete, change visibility.

All functions are synchronous and run inside the caller's `store.transaction()`, so a request's
changes commit together (or not at all). Times are the runtime clock's epoch seconds.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import uuid
from collections.abc import Callable
from typing import Any, NamedTuple

from gondwana.services.sqs.queues import Queue
from gondwana.services.sqs.storage import MESSAGE_COLUMNS
from gondwana.storage import Store

SEQUENCE_BASE = 18_000_000_000_000_000_000  # FIFO sequence numbers: large, increasing, not consecutive
_SELECT = f"SELECT {MESSAGE_COLUMNS} FROM sqs_messages"


class Msg(NamedTuple):
    seq: int
    queue_id: int
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


def new_message_id() -> str:
    return str(uuid.uuid4())


# ---- receipt handles ----------------------------------------------------------------------------


def receipt_handle(msg: Msg, token: str) -> str:
    raw = f"{msg.queue_id}:{msg.seq}:{token}:{msg.message_id}".encode()
    return base64.b64encode(raw).decode()


def parse_handle(handle: str) -> tuple[int, int, str] | None:
    """(queue id, message seq, token) of a receipt handle we issued, or None."""
    try:
        parts = base64.b64decode(handle.encode(), validate=True).decode().split(":")
        if len(parts) != 4:
            return None
        return int(parts[0]), int(parts[1]), parts[2]
    except (ValueError, binascii.Error, UnicodeError):
        return None


# ---- reads --------------------------------------------------------------------------------------


def get(store: Store, seq: int) -> Msg | None:
    row = store.query_one(f"{_SELECT} WHERE seq = ?", (seq,))
    return Msg._make(row) if row else None


def counters(store: Store, queue: Queue, now: float) -> dict[str, str]:
    row = store.query_one(
        "SELECT SUM(visible_at <= ?), SUM(visible_at > ? AND receive_count > 0), "
        "SUM(visible_at > ? AND receive_count = 0) FROM sqs_messages WHERE queue_id = ?",
        (now, now, now, queue.id),
    )
    visible, inflight, delayed = (int(v or 0) for v in (row or (0, 0, 0)))
    return {
        "ApproximateNumberOfMessages": str(visible),
        "ApproximateNumberOfMessagesNotVisible": str(inflight),
        "ApproximateNumberOfMessagesDelayed": str(delayed),
    }


def next_visible(store: Store, queue: Queue, now: float) -> float | None:
    """When the next hidden message (delayed or in flight) becomes visible: long polls wake then."""
    row = store.query_one(
        "SELECT MIN(visible_at) FROM sqs_messages WHERE queue_id = ? AND visible_at > ?", (queue.id, now)
    )
    return row[0] if row else None


# ---- writes -------------------------------------------------------------------------------------


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
    seq = store.insert(
        "INSERT INTO sqs_messages (queue_id, message_id, body, attributes, md5_body, md5_attributes, system, "
        "sender_id, sent_at, visible_at, receive_count, first_receive, group_id, dedup_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            queue.id,
            message_id,
            body,
            attributes,
            md5_body,
            md5_attributes,
            json.dumps(system) if system else None,
            sender_id,
            sent_at,
            visible_at,
            receive_count,
            first_receive,
            group_id,
            dedup_id,
        ),
    )
    if queue.fifo:
        store.execute(
            "INSERT INTO sqs_groups (queue_id, group_id, head) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (queue.id, group_id, seq),
        )
    return seq


def remove(store: Store, queue: Queue, msg: Msg) -> None:
    store.execute("DELETE FROM sqs_messages WHERE seq = ?", (msg.seq,))
    if queue.fifo:
        row = store.query_one(
            "SELECT head FROM sqs_groups WHERE queue_id = ? AND group_id = ?", (queue.id, msg.group_id)
        )
        if row and row[0] == msg.seq:
            _reset_head(store, queue.id, msg.group_id)


def _reset_head(store: Store, queue_id: int, group_id: str | None) -> None:
    nxt = store.query_one(
        "SELECT seq FROM sqs_messages WHERE queue_id = ? AND group_id = ? ORDER BY seq LIMIT 1",
        (queue_id, group_id),
    )
    if nxt:
        store.execute(
            "UPDATE sqs_groups SET head = ? WHERE queue_id = ? AND group_id = ?", (nxt[0], queue_id, group_id)
        )
    else:
        store.execute("DELETE FROM sqs_groups WHERE queue_id = ? AND group_id = ?", (queue_id, group_id))


def purge(store: Store, queue: Queue) -> None:
    store.execute("DELETE FROM sqs_messages WHERE queue_id = ?", (queue.id,))
    store.execute("DELETE FROM sqs_groups WHERE queue_id = ?", (queue.id,))


def drop_queue(store: Store, queue: Queue) -> None:
    purge(store, queue)
    store.execute("DELETE FROM sqs_dedup WHERE queue_id = ?", (queue.id,))
    store.execute("DELETE FROM sqs_attempts WHERE queue_id = ?", (queue.id,))


def expire(store: Store, queue: Queue, now: float) -> None:
    """Drop messages past the retention period (a sweep for counters; receives drop them lazily)."""
    cutoff = now - queue.number("MessageRetentionPeriod")
    if (
        store.execute("DELETE FROM sqs_messages WHERE queue_id = ? AND sent_at <= ?", (queue.id, cutoff))
        and queue.fifo
    ):
        for (group_id,) in store.query("SELECT group_id FROM sqs_groups WHERE queue_id = ?", (queue.id,)):
            _reset_head(store, queue.id, group_id)


def mark_received(store: Store, msg: Msg, now: float, visibility: int) -> Msg:
    token = secrets.token_hex(8)
    first = msg.first_receive if msg.first_receive is not None else now
    store.execute(
        "UPDATE sqs_messages SET token = ?, receive_count = receive_count + 1, first_receive = ?, "
        "received_at = ?, visible_at = ? WHERE seq = ?",
        (token, first, now, now + visibility, msg.seq),
    )
    return msg._replace(
        token=token,
        receive_count=msg.receive_count + 1,
        first_receive=first,
        received_at=now,
        visible_at=now + visibility,
    )


def set_visible_at(store: Store, msg: Msg, when: float) -> None:
    store.execute("UPDATE sqs_messages SET visible_at = ? WHERE seq = ?", (when, msg.seq))


# ---- choosing messages to receive ----------------------------------------------------------------

# A candidate filter decides per message: True to deliver, False to skip it (it was expired or
# moved to a dead-letter queue by the filter itself).
Accept = Callable[[Msg], bool]


def _excluding(picked: list[Msg]) -> tuple[str, tuple[int, ...]]:
    if not picked:
        return "", ()
    return f" AND seq NOT IN ({','.join('?' * len(picked))})", tuple(m.seq for m in picked)


def pick_standard(store: Store, queue: Queue, now: float, count: int, accept: Accept) -> list[Msg]:
    picked: list[Msg] = []
    while len(picked) < count:
        clause, seqs = _excluding(picked)
        rows = store.query(
            f"{_SELECT} WHERE queue_id = ? AND visible_at <= ?{clause} ORDER BY visible_at, seq LIMIT ?",
            (queue.id, now, *seqs, count - len(picked)),
        )
        dropped = False
        for row in rows:
            msg = Msg._make(row)
            if accept(msg):
                picked.append(msg)
            else:
                dropped = True
        if not dropped:  # the page was short (queue drained) or fully used
            break
    return picked


def pick_fifo(store: Store, queue: Queue, now: float, count: int, accept: Accept) -> list[Msg]:
    """As many messages of the first available group as possible, then the next group, in order.

    A group is available when its oldest message is visible; its run stops at the first message
    that is not (in flight or delayed), which keeps the group's order and locks it while busy.
    """
    picked: list[Msg] = []
    heads = store.query(
        "SELECT g.group_id FROM sqs_groups g JOIN sqs_messages m ON m.seq = g.head "
        "WHERE g.queue_id = ? AND m.visible_at <= ? ORDER BY g.head",
        (queue.id, now),
    )
    for (group_id,) in heads:
        if len(picked) >= count:
            break
        last = 0
        while len(picked) < count:
            rows = store.query(
                f"{_SELECT} WHERE queue_id = ? AND group_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                (queue.id, group_id, last, count - len(picked)),
            )
            blocked = False
            for row in rows:
                msg = Msg._make(row)
                last = msg.seq
                if msg.visible_at > now:
                    blocked = True
                    break
                if accept(msg):
                    picked.append(msg)
            if blocked or not rows:
                break
    return picked


def system_attributes(msg: Msg) -> dict[str, Any]:
    return json.loads(msg.system) if msg.system else {}
