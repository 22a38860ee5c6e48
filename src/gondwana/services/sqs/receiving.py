"""ReceiveMessage (with long polling), DeleteMessage and ChangeMessageVisibility, single and batch.

A long poll that finds nothing parks a future on the queue and sleeps until woken or its wait
ends. Sends, visibility changes and FIFO deletes wake one waiting poll per message they may have
made receivable, the longest waiting first; the queue's one timer wakes one when the next hidden
message (delayed or in flight) shows; a poll that took a full batch wakes the next (more may be
there); clock jumps wake them all. A closed client connection or a shutdown ends the wait, and a
poll woken then passes its turn on.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Awaitable, Callable
from collections.abc import Set as AbstractSet
from typing import Any

from gondwana.protocols.errors import ServiceError
from gondwana.server.context import RequestContext
from gondwana.services.sqs import engine, errors, handles, messages, picking
from gondwana.services.sqs.common import SqsBase, new_future
from gondwana.services.sqs.deleting import locate_handle
from gondwana.services.sqs.engine import Msg
from gondwana.services.sqs.queues import Queue
from gondwana.services.sqs.sending import check_batch_ids, failure

ATTEMPT_WINDOW = 300.0
# Messages one receive moves to the dead-letter queue at most (~3 ms): after a RedrivePolicy is
# set or lowered, a whole backlog may be due to move, and moving 100,000 in one receive held up
# every request for 1.4 s. A long poll goes on at the loop's next turn; a short one returns.
MOVES_PER_RECEIVE = 100
MAX_VISIBILITY = 43_200
_NO_LIMIT = 1 << 62  # the receive count limit of a queue without a dead-letter queue
_ASKS_NAMES = frozenset({"AttributeNames", "MessageSystemAttributeNames"})
_NO_NAMES: frozenset[str] = frozenset()


_new = tuple.__new__  # a Msg from a full row, without _make's checks


def _ms(seconds: float) -> str:
    return str(int(seconds * 1000))


class ReceiveOps(SqsBase):
    _shutdown: asyncio.Future[Any] | None = None  # see _stopping

    def receive_message(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any] | Awaitable[dict[str, Any]]:
        """The answer at once when messages are there or the call does not wait (no coroutine,
        no task: most receives); a long poll otherwise."""
        queue = self.queue(ctx, params.get("QueueUrl"))
        count = params.get("MaxNumberOfMessages")
        if count is not None and not 1 <= count <= 10:
            raise errors.invalid_value(count, "MaxNumberOfMessages", "Must be between 1 and 10, if provided.")
        wait = params.get("WaitTimeSeconds")
        if wait is not None and not 0 <= wait <= 20:
            raise errors.invalid_value(wait, "WaitTimeSeconds", "Must be >= 0 and <= 20, if provided.")
        visibility = params.get("VisibilityTimeout")
        if visibility is not None and not 0 <= visibility <= MAX_VISIBILITY:
            raise errors.invalid_value(
                visibility, "VisibilityTimeout", f"Must be >= 0 and <= {MAX_VISIBILITY}, if provided."
            )
        attempt = params.get("ReceiveRequestAttemptId") if queue.fifo else None
        if attempt is not None:
            messages.check_id(attempt, "ReceiveRequestAttemptId")
        wait = queue.number("ReceiveMessageWaitTimeSeconds") if wait is None else wait
        names = messages.system_names(params) if _ASKS_NAMES.intersection(params) else _NO_NAMES
        wanted = params.get("MessageAttributeNames")
        count = count or 1
        take = functools.partial(self._take, queue, count, wait, visibility, attempt, names, wanted)
        now = self.now()
        found = take(now)
        if found or not wait or self.registry.by_id.get(queue.id) is not queue:
            return {"Messages": found} if found else {}
        return self._long_poll(ctx, queue, now + wait, count, take)

    async def _long_poll(
        self,
        ctx: RequestContext,
        queue: Queue,
        deadline: float,
        count: int,
        take: Callable[[float], list[Any]],
    ) -> dict[str, Any]:
        """Wait until messages can be taken (sent, delay over, visibility expired) or the wait ends."""
        while True:
            remaining = deadline - self.now()
            woken = None if remaining <= 0 else await self._wait(ctx, queue, remaining)
            if woken is None:
                return {}
            found = take(self.now())
            if woken and len(found) == count:
                self.wake(queue, 1, more=True)  # more may have shown than this poll took
            if found or self.registry.by_id.get(queue.id) is not queue:
                return {"Messages": found} if found else {}

    def _take(
        self,
        queue: Queue,
        count: int,
        wait: int,
        visibility: int | None,
        attempt: str | None,
        names: AbstractSet[str],
        wanted: list[str] | None,
        now: float,
    ) -> list[dict[str, Any]]:
        """One attempt: the messages received now, within the queue's in-flight quota."""
        room = self._room(queue, count)
        if not room:
            queue.moves_left = False  # nothing is received, so nothing moves: a long poll waits
            if not wait and not queue.fifo:  # long polls and FIFO queues just find nothing
                raise errors.over_limit()
            return []
        vt = queue.number("VisibilityTimeout") if visibility is None else visibility
        found = self._receive_once(queue, room, vt, attempt, names, wanted, now)
        queue.inflight_bound += len(found)  # type: ignore[operator]
        if found and queue.waiters:
            self._wake_at(queue, now + vt)  # should they come back, a waiting poll's turn
        return found

    def _room(self, queue: Queue, count: int) -> int:
        """How many of `count` messages may go in flight under the queue's quota (the messages in
        flight are counted only when the bound nears it; 0: the quota is reached)."""
        limit = self.runtime.settings.sqs_max_inflight
        if queue.inflight_bound is None or queue.inflight_bound + count > limit:
            queue.inflight_bound = engine.count_inflight(self.runtime.store, queue, self.now(), limit)
        return max(0, min(count, limit - queue.inflight_bound))

    async def _wait(self, ctx: RequestContext, queue: Queue, remaining: float) -> bool | None:
        """Sleep until woken (a message may be receivable) or the wait ends: None when the caller
        is gone or we shut down, else whether more than one message may have shown (`wake`).
        Messages left to move to the dead-letter queue wake it at the loop's next turn."""
        if queue.moves_left:
            await asyncio.sleep(0)
            disconnected = ctx.request.disconnected
            gone = disconnected is not None and disconnected.done()
            return None if gone or self.runtime.shutting_down.is_set() else False
        upcoming = engine.next_visible(self.runtime.store, queue, self.now())
        if upcoming is not None:
            self._wake_at(queue, upcoming)
        waiter = new_future()
        queue.waiters[waiter] = None
        watched: list[asyncio.Future[Any]] = [waiter, self._stopping()]
        disconnected = ctx.request.disconnected
        if disconnected is not None:
            watched.append(disconnected)
        try:
            await asyncio.wait(watched, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
        finally:
            queue.waiters.pop(waiter, None)
        gone = (disconnected is not None and disconnected.done()) or self.runtime.shutting_down.is_set()
        more = waiter.done() and waiter.result()
        if gone:
            if waiter.done():  # woken for a message it will not take: the next poll's turn
                self.wake(queue, 1, more=more)
            return None
        return more

    def _stopping(self) -> asyncio.Future[Any]:
        """Done once the server shuts down: one for every wait (a task per wait cost ~20 µs)."""
        if self._shutdown is None:
            self._shutdown = asyncio.ensure_future(self.runtime.shutting_down.wait())
        return self._shutdown

    def _wake_at(self, queue: Queue, when: float) -> None:
        """Have the queue's timer wake a waiting poll when a hidden message shows (at `when` by
        the server's clock, which can jump: the timer is kept in the loop's time)."""
        loop = asyncio.get_running_loop()
        due = loop.time() + max(when - self.now(), 0.0) + 0.001
        if queue.timer is not None:
            if queue.timer.when() <= due:
                return
            queue.timer.cancel()
        queue.timer = loop.call_at(due, self._timer_due, queue)

    def _timer_due(self, queue: Queue) -> None:
        queue.timer = None
        if queue.waiters:
            self.wake(queue, 1, more=True)
            upcoming = engine.next_visible(self.runtime.store, queue, self.now())
            if upcoming is not None:
                self._wake_at(queue, upcoming)

    def _receive_once(
        self,
        queue: Queue,
        count: int,
        visibility: int,
        attempt: str | None,
        names: AbstractSet[str],
        wanted: list[str] | None,
        now: float,
    ) -> list[dict[str, Any]]:
        """Receive up to `count` messages at `now`; their entries in the response."""
        store = self.runtime.store
        redrive = self.dead_letter_target(queue)
        expired = now - queue.number("MessageRetentionPeriod")
        moving, queue.moves_left = queue.moves_left, False
        out: list[dict[str, Any]] = []
        taken: list[int] = []
        # The usual case: one statement (a unit of its own) takes the front. While a backlog of
        # messages to move lasts, `pick_standard` takes it instead: the statement would read them
        # all, to pass over them, on every receive.
        if not queue.fifo and not moving:
            limit = redrive[1] if redrive is not None else _NO_LIMIT
            plain = not names and not wanted
            token, rows = picking.receive_standard(
                store, queue, now, count, visibility, expired, limit, plain
            )
            if plain:
                out = handles.plain_results(queue.id, token, rows)
            else:
                out = [self._render(queue, _new(Msg, row), names, wanted) for row in rows]
            if len(out) == count:
                return out
            taken = [row[0] for row in rows]

        moved = 0

        def accept(msg: Msg) -> bool | None:
            nonlocal moved
            if redrive is not None and msg.receive_count >= redrive[1]:
                self.move_to_dead_letter(queue, msg, redrive[0], now)
                moved += 1
                if moved < MOVES_PER_RECEIVE:
                    return False
                queue.moves_left = True  # the next receive (a long poll at once) goes on
                self.wake(queue, 1)
                return None
            return True

        with store.transaction():
            found = None
            if attempt is not None:
                found = self._replay(queue, attempt, now, visibility, expired)
            if found is None:
                if queue.fifo:
                    picked = picking.pick_fifo(store, queue, now, count, accept, expired)
                else:  # the rest, past the messages the statement passed over (to move)
                    picked = picking.pick_standard(
                        store, queue, now, count - len(out), accept, expired, taken
                    )
                if not picked:
                    return out
                if attempt is None and not names and not wanted:  # the usual: bodies and handles only
                    token = picking.hide(store, picked, now, visibility)
                    rows = [(m.seq, m.message_id, m.md5_body, m.body) for m in picked]
                    return out + handles.plain_results(queue.id, token, rows)
                found = picking.mark_received(store, picked, now, visibility)
                if attempt is not None:
                    self._remember_attempt(queue, attempt, found, now)
        return out + [self._render(queue, msg, names, wanted) for msg in found]

    def _remember_attempt(self, queue: Queue, attempt: str, found: list[Msg], now: float) -> None:
        self.runtime.store.execute(
            "INSERT INTO sqs_attempts (queue_id, attempt_id, handles, expires_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (queue_id, attempt_id) DO UPDATE SET handles = excluded.handles, "
            "expires_at = excluded.expires_at",
            (
                queue.id,
                attempt,
                json.dumps([[m.seq, m.token, m.visible_at] for m in found]),
                now + ATTEMPT_WINDOW,
            ),
        )

    def _replay(
        self, queue: Queue, attempt: str, now: float, visibility: int, expired: float
    ) -> list[Msg] | None:
        """The messages an earlier receive with this attempt id returned, with the same receipt
        handles and a fresh visibility timeout, if none was deleted, had its visibility changed or
        was sent at or before `expired` (past the retention period: gone, even if not swept yet)."""
        store = self.runtime.store
        row = store.query_one(
            "SELECT handles, expires_at FROM sqs_attempts WHERE queue_id = ? AND attempt_id = ?",
            (queue.id, attempt),
        )
        if row is None:
            return None
        recorded = json.loads(row[0])
        msgs = [engine.get(store, seq) for seq, _, _ in recorded]
        intact = row[1] > now and all(
            m is not None
            and m.space == queue.space  # not purged since
            and m.token == token
            and m.visible_at == visible_at
            and m.sent_at > expired
            for m, (_, token, visible_at) in zip(msgs, recorded, strict=True)
        )
        if not intact:
            store.execute(
                "DELETE FROM sqs_attempts WHERE queue_id = ? AND attempt_id = ?", (queue.id, attempt)
            )
            return None
        replayed = []
        for msg in msgs:
            assert msg is not None
            engine.set_visible_at(store, queue, msg, now + visibility)
            replayed.append(msg._replace(visible_at=now + visibility))
        store.execute(
            "UPDATE sqs_attempts SET handles = ? WHERE queue_id = ? AND attempt_id = ?",
            (json.dumps([[m.seq, m.token, m.visible_at] for m in replayed]), queue.id, attempt),
        )
        return replayed

    def _render(
        self, queue: Queue, msg: Msg, names: AbstractSet[str], wanted: list[str] | None
    ) -> dict[str, Any]:
        assert msg.token is not None
        out: dict[str, Any] = {
            "MessageId": msg.message_id,
            "ReceiptHandle": handles.receipt_handle(queue.id, msg.seq, msg.token, msg.message_id),
            "MD5OfBody": msg.md5_body,
            "Body": msg.body,
        }
        if names:
            system = engine.system_attributes(msg)
            values = {
                "SenderId": msg.sender_id,
                "SentTimestamp": _ms(msg.sent_at),
                "ApproximateReceiveCount": str(msg.receive_count),
                "ApproximateFirstReceiveTimestamp": _ms(msg.first_receive or msg.sent_at),
            }
            if queue.fifo:
                values["SequenceNumber"] = msg.sequence_number
                values["MessageDeduplicationId"] = msg.dedup_id or ""
            if msg.group_id is not None:
                values["MessageGroupId"] = msg.group_id
            values.update(system)
            out["Attributes"] = {k: v for k, v in values.items() if k in names}
        if wanted and msg.attributes:
            everything = messages.decode_attributes(msg.attributes)
            chosen = messages.select_attributes(everything, wanted)
            if chosen:
                out["MessageAttributes"] = chosen
                out["MD5OfMessageAttributes"] = (
                    msg.md5_attributes
                    if len(chosen) == len(everything)
                    else messages.md5_of_attributes(chosen)
                )
        return out

    def _locate(self, queue: Queue, handle: str) -> tuple[Msg | None, str]:
        seq, token = locate_handle(queue, handle)
        msg = engine.get(self.runtime.store, seq)
        if msg is not None and msg.space != queue.space:
            msg = None
        return msg, token

    # ---- visibility ----------------------------------------------------------------------------

    def change_message_visibility(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        queue = self.queue(ctx, params.get("QueueUrl"))
        store = self.runtime.store
        with store.transaction():
            self._change(queue, params["ReceiptHandle"], params["VisibilityTimeout"], self.now())
        self.wake(queue, 1)

    def change_message_visibility_batch(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        queue = self.queue(ctx, params.get("QueueUrl"))
        entries = check_batch_ids(params.get("Entries"), "ChangeMessageVisibilityBatchRequestEntry")
        result = self._batch(
            entries,
            lambda entry, now: self._change(
                queue, entry.get("ReceiptHandle") or "", entry.get("VisibilityTimeout") or 0, now
            ),
        )
        self.wake(queue, len(result["Successful"]))
        return result

    def _change(self, queue: Queue, handle: str, timeout: int, now: float) -> None:
        if not 0 <= timeout <= MAX_VISIBILITY:
            raise errors.invalid_value(
                timeout, "VisibilityTimeout", f"Must be between 0 and {MAX_VISIBILITY}, if provided."
            )
        msg, token = self._locate(queue, handle)
        if msg is None or msg.token != token or msg.sent_at <= now - queue.number("MessageRetentionPeriod"):
            raise errors.invalid_value(  # (a message past retention is gone, swept or not)
                handle,
                "ReceiptHandle",
                "Message does not exist or is not available for visibility timeout change.",
            )
        if queue.fifo and msg.visible_at <= now:
            raise ServiceError("MessageNotInflight", "The message referred to isn't in flight.")
        if msg.received_at is not None and now + timeout - msg.received_at > MAX_VISIBILITY:
            raise errors.invalid_value(
                timeout,
                "VisibilityTimeout",
                f"Total VisibilityTimeout for the message is beyond the limit [{MAX_VISIBILITY} seconds]",
            )
        engine.set_visible_at(self.runtime.store, queue, msg, now + timeout)

    def _batch(self, entries: list[dict[str, Any]], apply: Any) -> dict[str, Any]:
        store = self.runtime.store
        now = self.now()
        successful: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        with store.transaction():
            for entry in entries:
                try:
                    with store.transaction():
                        apply(entry, now)
                    successful.append({"Id": entry["Id"]})
                except ServiceError as error:
                    failed.append(failure(entry["Id"], error))
        return {"Successful": successful, "Failed": failed}
