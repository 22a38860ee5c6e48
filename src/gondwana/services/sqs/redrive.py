"""Dead-letter queues (moves on receive, ListDeadLetterSourceQueues) and message move tasks.

A move task is a row in `sqs_tasks` driven by a background task; it paces itself on the runtime
clock (so clock advances speed it up in tests) and is resumed after a restart.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import uuid
from typing import Any

from gondwana.protocols.errors import ServiceError
from gondwana.server.context import RequestContext
from gondwana.services.sqs import engine, errors, queues
from gondwana.services.sqs.common import SqsBase, new_future
from gondwana.services.sqs.engine import Msg
from gondwana.services.sqs.queues import Queue

log = logging.getLogger("gondwana.sqs")

MOVE_BATCH = 100  # messages moved per transaction when the task has no rate limit
# Seconds before a move task tries again a step that failed, doubling while its steps keep
# failing (a disk that stays full): a warning a minute at most, not one a second
RETRY_PAUSE = 1.0
RETRY_PAUSE_MAX = 60.0
MAX_RATE = 500


class RedriveOps(SqsBase):
    _task_wakers: set[asyncio.Future[None]]

    # ---- dead-letter queues --------------------------------------------------------------------

    def dead_letter_target(self, queue: Queue) -> tuple[Queue, int] | None:
        policy = queue.redrive()
        if not policy:
            return None
        parsed = queues.parse_arn(policy["deadLetterTargetArn"])
        target = self.registry.get(parsed[1], parsed[0], parsed[2]) if parsed else None
        return (target, int(policy["maxReceiveCount"])) if target is not None else None

    def move_to_dead_letter(self, queue: Queue, msg: Msg, dlq: Queue, now: float) -> None:
        """Move a message that was received too often; standard DLQs keep its age, FIFO ones reset it."""
        store = self.runtime.store
        engine.remove(store, queue, msg)
        system = engine.system_attributes(msg)
        system["DeadLetterQueueSourceArn"] = queue.arn
        engine.enqueue(
            store,
            dlq,
            message_id=msg.message_id,
            body=msg.body,
            attributes=msg.attributes,
            md5_body=msg.md5_body,
            md5_attributes=msg.md5_attributes,
            system=system,
            sender_id=msg.sender_id,
            sent_at=now if dlq.fifo else msg.sent_at,
            visible_at=now,
            group_id=msg.group_id,
            dedup_id=msg.message_id if dlq.fifo else msg.dedup_id,
            receive_count=msg.receive_count,
            first_receive=msg.first_receive,
        )
        self.wake(dlq, 1)

    def list_dead_letter_source_queues(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        dlq = self.queue(ctx, params.get("QueueUrl"))
        limit = params.get("MaxResults")
        if limit is not None and not 1 <= limit <= 1000:
            raise errors.invalid_value(
                limit, "MaxResults", "MaxResults must be an integer between 1 and 1000."
            )
        sources = self.registry.sources_of(dlq.arn)
        if params.get("NextToken"):
            after = _b64decode(params["NextToken"]) or ""
            sources = [q for q in sources if q.name > after]
        page = sources[: limit or 1000]
        result: dict[str, Any] = {"queueUrls": [self.url(ctx, q) for q in page]}
        if limit is not None and len(sources) > limit:
            result["NextToken"] = base64.b64encode(page[-1].name.encode()).decode()
        return result

    # ---- message move tasks --------------------------------------------------------------------

    def _queue_by_arn(self, arn: str | None) -> Queue | None:
        parsed = queues.parse_arn(arn) if arn else None
        return self.registry.get(parsed[1], parsed[0], parsed[2]) if parsed else None

    def start_message_move_task(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        source_arn = params["SourceArn"]
        source = self._queue_by_arn(source_arn)
        if source is None:
            raise _not_found("The resource that you specified for the SourceArn parameter doesn't exist.")
        if not self.registry.sources_of(source.arn):
            raise errors.invalid_parameter("Source queue must be configured as a Dead Letter Queue.")
        destination_arn = params.get("DestinationArn")
        if destination_arn is not None and self._queue_by_arn(destination_arn) is None:
            raise _not_found(
                "The resource that you specified for the DestinationArn parameter doesn't exist."
            )
        rate = params.get("MaxNumberOfMessagesPerSecond")
        if rate is not None and not 1 <= rate <= MAX_RATE:
            raise errors.invalid_value(
                rate, "MaxNumberOfMessagesPerSecond", f"Must be between 1 and {MAX_RATE}, if provided."
            )
        store = self.runtime.store
        running = store.query_one(
            "SELECT 1 FROM sqs_tasks WHERE account = ? AND region = ? AND source_arn = ? AND "
            "status = 'RUNNING'",
            (source.account, source.region, source_arn),
        )
        if running:
            raise errors.invalid_parameter(
                "There is already a task running. Only one active task is allowed for a source "
                "queue arn at a "
                "given time."
            )
        handle = base64.b64encode(
            json.dumps({"taskId": str(uuid.uuid4()), "sourceArn": source_arn}).encode()
        ).decode()
        now = self.now()
        to_move = engine.depth(store, source)
        with store.transaction():
            store.execute(
                "INSERT INTO sqs_tasks (handle, account, region, source_arn, destination_arn, "
                "rate, status, started, "
                "moved, to_move) VALUES (?, ?, ?, ?, ?, ?, 'RUNNING', ?, 0, ?)",
                (
                    handle,
                    source.account,
                    source.region,
                    source_arn,
                    destination_arn,
                    rate,
                    now,
                    to_move,
                ),
            )
        self.runtime.spawn(self._run_task(handle))
        return {"TaskHandle": handle}

    def list_message_move_tasks(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        source_arn = params["SourceArn"]
        if self._queue_by_arn(source_arn) is None:
            raise _not_found("The resource that you specified for the SourceArn parameter doesn't exist.")
        limit = params.get("MaxResults")
        if limit is not None and not 1 <= limit <= 10:
            raise errors.invalid_value(limit, "MaxResults", "Must be between 1 and 10, if provided.")
        parsed = queues.parse_arn(source_arn)
        assert parsed is not None
        rows = self.runtime.store.query(
            "SELECT handle, status, source_arn, destination_arn, rate, moved, to_move, failure, started "
            "FROM sqs_tasks WHERE account = ? AND region = ? AND source_arn = ? ORDER BY "
            "started DESC LIMIT ?",
            (parsed[1], parsed[0], source_arn, limit or 1),
        )
        results = []
        for handle, status, source, destination, rate, moved, to_move, failure, started in rows:
            entry: dict[str, Any] = {
                "Status": status,
                "SourceArn": source,
                "ApproximateNumberOfMessagesMoved": moved,
                "ApproximateNumberOfMessagesToMove": to_move,
                "StartedTimestamp": int(started * 1000),
            }
            if status == "RUNNING":
                entry["TaskHandle"] = handle
            if destination:
                entry["DestinationArn"] = destination
            if rate:
                entry["MaxNumberOfMessagesPerSecond"] = rate
            if failure:
                entry["FailureReason"] = failure
            results.append(entry)
        return {"Results": results}

    def cancel_message_move_task(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        handle = params["TaskHandle"]
        decoded = _b64decode(handle)
        try:
            task = json.loads(decoded) if decoded else None
        except ValueError:
            task = None
        if not isinstance(task, dict) or "sourceArn" not in task or "taskId" not in task:
            raise errors.invalid_parameter("Value for parameter TaskHandle is invalid.")
        if self._queue_by_arn(task["sourceArn"]) is None:
            raise _not_found("The resource that you specified for the SourceArn parameter doesn't exist.")
        store = self.runtime.store
        row = store.query_one("SELECT status, moved FROM sqs_tasks WHERE handle = ?", (handle,))
        if row is None or row[0] != "RUNNING":
            raise _not_found("Task does not exist.")
        with store.transaction():
            store.execute("UPDATE sqs_tasks SET status = 'CANCELLED' WHERE handle = ?", (handle,))
        return {"ApproximateNumberOfMessagesMoved": row[1]}

    def resume_tasks(self) -> None:
        self._task_wakers = set()
        self.runtime.clock_listeners.append(self._wake_tasks)
        rows = self.runtime.store.query("SELECT handle FROM sqs_tasks WHERE status = 'RUNNING'")
        if rows:
            asyncio.get_running_loop().call_soon(
                lambda: [self.runtime.spawn(self._run_task(r[0])) for r in rows]
            )

    def _wake_tasks(self) -> None:
        for waker in list(self._task_wakers):
            if not waker.done():
                waker.set_result(None)

    async def _run_task(self, handle: str) -> None:
        store = self.runtime.store
        pause = RETRY_PAUSE
        while not self.runtime.shutting_down.is_set():
            row = store.query_one(
                "SELECT status, source_arn, destination_arn, rate, moved, started "
                "FROM sqs_tasks WHERE handle = ?",
                (handle,),
            )
            if row is None or row[0] != "RUNNING":
                return
            _, source_arn, destination_arn, rate, moved, started = row
            now = self.now()
            due = MOVE_BATCH if rate is None else min(MOVE_BATCH, int((now - started + 1) * rate) - moved)
            if due > 0:
                try:
                    with store.transaction():
                        done = self._move_some(handle, source_arn, destination_arn, due, now)
                    await store.flushed()
                except Exception as exc:  # undone whole (a failing disk): go on after a pause
                    log.warning(
                        "message move task %s: a step failed (%r); trying again in %g s", handle, exc, pause
                    )
                    await asyncio.sleep(pause)
                    pause = min(2 * pause, RETRY_PAUSE_MAX)
                    continue
                pause = RETRY_PAUSE
                if done:
                    return
                if rate is None:
                    await asyncio.sleep(0)
                    continue
            waker = new_future()
            self._task_wakers.add(waker)
            try:
                await asyncio.wait([waker], timeout=1.0 / (rate or 1))
            finally:
                self._task_wakers.discard(waker)

    def _move_some(
        self, handle: str, source_arn: str, destination_arn: str | None, due: int, now: float
    ) -> bool:
        """Move up to `due` messages; True when the task has finished (completed or failed)."""
        store = self.runtime.store
        source = self._queue_by_arn(source_arn)
        if source is None:
            store.execute(
                "UPDATE sqs_tasks SET status = 'FAILED', failure = ? WHERE handle = ?",
                ("AWS.SimpleQueueService.NonExistentQueue", handle),
            )
            return True
        rows = store.query(
            "SELECT seq FROM sqs_messages WHERE space = ? AND visible_at <= ? ORDER BY "
            "visible_at, seq LIMIT ?",
            (source.space, now, due),
        )
        moved = 0
        for (seq,) in rows:
            msg = engine.get(store, seq)
            assert msg is not None
            system = engine.system_attributes(msg)
            target = self._queue_by_arn(destination_arn or system.get("DeadLetterQueueSourceArn"))
            if target is None:
                store.execute(
                    "UPDATE sqs_tasks SET status = 'FAILED', failure = ?, moved = moved + ? WHERE handle = ?",
                    ("AWS.SimpleQueueService.NonExistentQueue", moved, handle),
                )
                return True
            engine.remove(store, source, msg)
            system.pop("DeadLetterQueueSourceArn", None)
            engine.enqueue(
                store,
                target,
                message_id=msg.message_id,
                body=msg.body,
                attributes=msg.attributes,
                md5_body=msg.md5_body,
                md5_attributes=msg.md5_attributes,
                system=system or None,
                sender_id=msg.sender_id,
                sent_at=now,
                visible_at=now,
                group_id=msg.group_id,
                dedup_id=msg.message_id if target.fifo else None,
            )
            self.wake(target, 1)
            moved += 1
        store.execute("UPDATE sqs_tasks SET moved = moved + ? WHERE handle = ?", (moved, handle))
        finished = len(rows) < due and (
            store.query_one("SELECT moved >= to_move FROM sqs_tasks WHERE handle = ?", (handle,))[0]
            or not store.query_one("SELECT 1 FROM sqs_messages WHERE space = ? LIMIT 1", (source.space,))
        )
        if finished:
            store.execute("UPDATE sqs_tasks SET status = 'COMPLETED' WHERE handle = ?", (handle,))
        return bool(finished)


def _not_found(message: str) -> ServiceError:
    return ServiceError("ResourceNotFoundException", message)


def _b64decode(text: str) -> str | None:
    try:
        return base64.b64decode(text.encode(), validate=True).decode()
    except (binascii.Error, UnicodeError, ValueError):
        return None
