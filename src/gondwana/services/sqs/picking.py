"""Receiving from the store: which messages a receive takes (standard: the front of the queue;
FIFO: the runs of the first available groups) and how it hides them under a new receipt token."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Sequence

from gondwana.services.sqs import handles
from gondwana.services.sqs.engine import Msg, marks
from gondwana.services.sqs.queues import Queue
from gondwana.services.sqs.storage import MESSAGE_COLUMNS
from gondwana.storage import Store
from gondwana.storage.base import Row

_SELECT = f"SELECT {MESSAGE_COLUMNS} FROM sqs_messages"
_new = tuple.__new__  # builds a Msg from a full tuple, without _make's checks

# A message's first receive is now: until then its `first_receive` is NULL or a placeholder.
_FIRST_RECEIVE = "CASE WHEN receive_count = 0 THEN ?2 ELSE COALESCE(first_receive, ?2) END"


def receive_standard(
    store: Store,
    queue: Queue,
    now: float,
    count: int,
    visibility: int,
    expired: float,
    max_receives: int,
    plain: bool,
) -> tuple[str, list[Row]]:
    """Receive up to `count` visible messages of a standard queue with one statement (a unit of its
    own): the first ones in `(visible_at, seq)` order that are within retention (sent after
    `expired`) and received fewer than `max_receives` times, hidden for `visibility` seconds under
    a new token. Messages it passes over to move are left for `pick_standard`.

    The token, and the rows as received: `Msg` fields, or when `plain` (seq, message_id,
    md5_body, body) only."""
    token = handles.new_token()
    params = (queue.space, now, expired, max_receives, count, token, now + visibility)
    return token, store.write_rows(_RECEIVE[count == 1, plain], params)


def _standard_receive_sql(one: bool, plain: bool) -> str:
    # One message: `seq = (subquery)` spares SQLite the temporary list of `seq IN (subquery)`
    # (~2 of the ~8.5 µs the statement costs).
    return (
        "UPDATE sqs_messages SET token = ?6, receive_count = receive_count + 1, "
        f"first_receive = {_FIRST_RECEIVE}, received_at = ?2, visible_at = ?7 "
        f"WHERE seq {'=' if one else 'IN'} (SELECT seq FROM sqs_messages WHERE space = ?1 "
        "AND visible_at <= ?2 AND sent_at > ?3 AND receive_count < ?4 ORDER BY visible_at, seq LIMIT ?5) "
        f"RETURNING {'seq, message_id, md5_body, body' if plain else MESSAGE_COLUMNS}"
    )


_RECEIVE = {key: _standard_receive_sql(*key) for key in itertools.product((False, True), repeat=2)}


def hide(store: Store, msgs: list[Msg], now: float, visibility: int) -> str:
    """Hide the messages for `visibility` seconds under a new receipt token, with one statement;
    the token."""
    token = handles.new_token()
    store.execute(_receive_sql(len(msgs)), [token, now, now + visibility, *(m.seq for m in msgs)])
    return token


def mark_received(store: Store, msgs: list[Msg], now: float, visibility: int) -> list[Msg]:
    """Hide the messages (see `hide`); the messages as received."""
    token = hide(store, msgs, now, visibility)
    until = now + visibility
    # What the UPDATE wrote: visible_at, receive_count, first_receive, received_at and token.
    return [
        _new(Msg, (*m[:10], until, m[11] + 1, m[12] if m[11] and m[12] else now, now, token, m[15], m[16]))
        for m in msgs
    ]


@functools.cache
def _receive_sql(count: int) -> str:
    return (
        "UPDATE sqs_messages SET token = ?1, receive_count = receive_count + 1, "
        f"first_receive = {_FIRST_RECEIVE}, received_at = ?2, visible_at = ?3 "
        f"WHERE seq IN ({marks(count, 4)})"
    )


# ---- choosing messages to receive ----------------------------------------------------------------

# A candidate filter decides per message: True to deliver, False to skip it (moved to a
# dead-letter queue by the filter itself), None to skip it and stop picking (the receive has
# moved as many as it may).
Accept = Callable[[Msg], bool | None]


def _excluding(seqs: list[int]) -> str:
    return f" AND seq NOT IN ({','.join('?' * len(seqs))})" if seqs else ""


def pick_standard(
    store: Store,
    queue: Queue,
    now: float,
    count: int,
    accept: Accept,
    expired: float,
    taken: Sequence[int] = (),
) -> list[Msg]:
    """Up to `count` visible messages that `accept` takes, beyond the seqs already `taken`. Those
    sent at or before `expired` are passed over in the index (which carries send times) and left
    to the retention rounds: dropped here one by one, 100,000 of them that expired together held
    up a receive, and every other request, for 0.55 s."""
    picked: list[Msg] = []
    while len(picked) < count:
        seqs = [*taken, *(m.seq for m in picked)]
        clause = _excluding(seqs)
        rows = store.query(
            f"{_SELECT} WHERE space = ? AND visible_at <= ? AND sent_at > ?{clause} ORDER BY visible_at, seq "
            "LIMIT ?",
            (queue.space, now, expired, *seqs, count - len(picked)),
        )
        dropped = False
        for row in rows:
            msg = _new(Msg, row)
            verdict = accept(msg)
            if verdict:
                picked.append(msg)
            elif verdict is None:
                return picked
            else:
                dropped = True
        if not dropped:  # the page was short (queue drained) or fully used
            break
    return picked


def pick_fifo(
    store: Store, queue: Queue, now: float, count: int, accept: Accept, expired: float
) -> list[Msg]:
    """As many messages of the first available group as possible, then the next group, in order.

    A group is available when its oldest message is visible; its run stops at the first message
    that is not (in flight or delayed), which keeps the group's order and locks it while busy.
    Messages sent at or before `expired` are passed over and left to the retention rounds
    (dropped here one by one, 100,000 that expired together held up a receive for 1.5 s).

    Groups are read a page at a time in the order of their heads, the parked ones whose time has
    come after the others, so a receive reads the groups it takes from and the locked ones before
    them, not every group of the queue. The locked ones are passed inside SQLite, but each receive
    would pass them again (with 20,000 groups in flight, 6-8 ms a receive): so every
    `PARK_EVERY`th receive, and the one after a receive that came back short (all may be
    locked), reads them too and parks them, if it passed a page of them or more.
    """
    picked: list[Msg] = []
    locked: list[str] | None = None
    queue.receives_to_park -= 1
    if queue.receives_to_park < 0:
        queue.receives_to_park, locked = PARK_EVERY, []
    _pick_groups(store, queue, now, count, accept, expired, picked, locked)
    if len(picked) < count:
        queue.receives_to_park = 0
    if locked is not None and len(locked) >= _HEAD_PAGE:  # fewer cost less to pass than to park
        store.executemany(_PARK, [(queue.space, group_id) for group_id in locked])
    return picked


PARK_EVERY = 64


def _pick_groups(
    store: Store,
    queue: Queue,
    now: float,
    count: int,
    accept: Accept,
    expired: float,
    picked: list[Msg],
    locked: list[str] | None,
) -> None:
    """`pick_fifo`'s walk: add the messages it takes to `picked`; and the locked groups it passes
    to `locked`, if given (else they are passed over in SQLite)."""
    # A free group gives one message at least (unless `accept` moves it): a page of `count` does.
    sql, page = (_FREE_HEADS, min(count, _HEAD_PAGE)) if locked is None else (_HEADS, _HEAD_PAGE)
    seen: set[str] = set()  # `accept` may move a group's head on: never take a group twice
    after: tuple[float, int] = (-1.0, 0)  # the (parked, head) of the last group read
    while len(picked) < count:
        heads = store.query(sql, (queue.space, now, *after, page))
        for group_id, parked, head, visible_at in heads:
            after = (parked, head)
            if len(picked) >= count:
                return
            if visible_at > now:  # (only `_HEADS` reads those)
                if locked is not None:
                    locked.append(group_id)
            elif group_id not in seen:
                seen.add(group_id)
                if not _take_run(store, queue, group_id, now, expired, count, accept, picked):
                    return
        if len(heads) < page:
            return


# Groups whose parking time has come, in the order of (parked, head): the unparked ones (0) by
# their oldest message, then the others by the time they were parked until. `_FREE_HEADS` reads
# only those whose head is visible (0 for its time: it is).
_HEADS = (
    "SELECT g.group_id, g.parked, g.head, m.visible_at FROM sqs_groups g "
    "JOIN sqs_messages m ON m.seq = g.head WHERE g.space = ?1 AND g.parked <= ?2 "
    "AND (g.parked, g.head) > (?3, ?4) ORDER BY g.parked, g.head LIMIT ?5"
)
_FREE_HEADS = _HEADS.replace("m.visible_at FROM", "0 FROM").replace(
    "ORDER BY", "AND m.visible_at <= ?2 ORDER BY"
)
_HEAD_PAGE = 16

# Park a group until its head becomes visible. Whatever moves a head on or makes it visible sooner
# unparks its group (`engine.advance_heads`, `engine.set_visible_at`), so `parked` never passes
# the head's `visible_at`.
_PARK = (
    "UPDATE sqs_groups SET parked = (SELECT visible_at FROM sqs_messages WHERE seq = sqs_groups.head) "
    "WHERE space = ? AND group_id = ?"
)


def _take_run(
    store: Store,
    queue: Queue,
    group_id: str,
    now: float,
    expired: float,
    count: int,
    accept: Accept,
    picked: list[Msg],
) -> bool:
    """Add to `picked` the group's visible messages from its head on, in order, up to `count`;
    False if `accept` said to stop."""
    last = 0
    while len(picked) < count:
        rows = store.query(
            f"{_SELECT} WHERE space = ? AND group_id = ? AND seq > ? AND sent_at > ? ORDER BY seq LIMIT ?",
            (queue.space, group_id, last, expired, count - len(picked)),
        )
        for row in rows:
            msg = _new(Msg, row)
            last = msg.seq
            if msg.visible_at > now:
                return True
            verdict = accept(msg)
            if verdict:
                picked.append(msg)
            elif verdict is None:
                return False
        if not rows:
            return True
    return True
