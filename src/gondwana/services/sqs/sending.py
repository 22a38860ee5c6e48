"""SendMessage and SendMessageBatch: validation (all of it before any write), FIFO deduplication
and ordering, delays, and the digests returned to the sender."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from gondwana.protocols.errors import ServiceError
from gondwana.server.context import RequestContext
from gondwana.services.sqs import engine, errors, messages
from gondwana.services.sqs.common import SqsBase
from gondwana.services.sqs.queues import Queue

DEDUP_WINDOW = 300.0
MAX_BATCH = 10
MAX_BATCH_BYTES = 1_048_576
ENTRY_ID = re.compile(r"[A-Za-z0-9_-]{1,80}")


_NO_GROUP = "The request must contain the parameter MessageGroupId."
_NO_DEDUP = (
    "The queue should either have ContentBasedDeduplication enabled or "
    "MessageDeduplicationId provided explicitly"
)


class WholeBatchError(ServiceError):
    """An entry error for which AWS rejects the whole batch (FIFO group or deduplication missing)."""

    def __init__(self, error: ServiceError) -> None:
        super().__init__(
            error.code,
            error.message,
            status=error.status,
            query_code=error.query_code,
            type_name=error.type_name,
        )


@dataclass(slots=True)
class Outgoing:
    """One validated message, ready to enqueue."""

    body: str
    attributes: dict[str, Any] | None
    system: dict[str, Any] | None
    size: int
    delay: int
    group_id: str | None
    dedup_id: str | None


def check_batch_ids(entries: list[dict[str, Any]] | None, entry_name: str) -> list[dict[str, Any]]:
    """The checks every batch operation makes before looking at any entry."""
    if not entries:
        raise ServiceError("EmptyBatchRequest", f"There should be at least one {entry_name} in the request.")
    if len(entries) > MAX_BATCH:
        raise ServiceError(
            "TooManyEntriesInBatchRequest",
            f"Maximum number of entries per request are {MAX_BATCH}. You have sent {len(entries)}.",
        )
    seen: set[str] = set()
    for entry in entries:
        entry_id = entry.get("Id") or ""
        if not ENTRY_ID.fullmatch(entry_id):
            raise ServiceError(
                "InvalidBatchEntryId",
                "A batch entry id can only contain alphanumeric characters, hyphens and underscores. "
                "It can be at most 80 letters long.",
            )
        if entry_id in seen:
            raise ServiceError("BatchEntryIdsNotDistinct", f"Id {entry_id} repeated.")
        seen.add(entry_id)
    return entries


def failure(entry_id: str, error: ServiceError) -> dict[str, Any]:
    return {
        "Id": entry_id,
        "SenderFault": error.sender_fault is not False,
        "Code": error.query_code or error.code,
        "Message": error.message or "",
    }


class SendOps(SqsBase):
    def send_message(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        queue = self.queue(ctx, params.get("QueueUrl"))
        out = self._prepare(queue, params, batch=False)
        self._check_size(queue, out, "One or more parameters are invalid.")
        store = self.runtime.store
        with store.transaction():
            result = self._enqueue(ctx, queue, out, self.now())
        self.wake(queue)
        return result

    def send_message_batch(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        queue = self.queue(ctx, params.get("QueueUrl"))
        entries = check_batch_ids(params.get("Entries"), "SendMessageBatchRequestEntry")
        total = 0
        prepared: list[tuple[str, Outgoing | ServiceError]] = []
        for entry in entries:
            try:
                out = self._prepare(queue, entry, batch=True)
                total += out.size
                self._check_size(queue, out, "One or more parameters cannot be validated.")
                prepared.append((entry["Id"], out))
            except ServiceError as error:
                if isinstance(error, WholeBatchError):
                    raise
                prepared.append((entry["Id"], error))
        if total > MAX_BATCH_BYTES:
            raise ServiceError(
                "BatchRequestTooLong",
                f"Batch requests cannot be longer than {MAX_BATCH_BYTES} bytes. You have sent {total} bytes.",
            )
        successful: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        store = self.runtime.store
        now = self.now()
        with store.transaction():
            for entry_id, item in prepared:
                if isinstance(item, ServiceError):
                    failed.append(failure(entry_id, item))
                else:
                    successful.append({"Id": entry_id, **self._enqueue(ctx, queue, item, now)})
        if successful:
            self.wake(queue)
        return {"Successful": successful, "Failed": failed}

    # ---- shared --------------------------------------------------------------------------------

    def _prepare(self, queue: Queue, params: dict[str, Any], batch: bool) -> Outgoing:
        body = messages.check_body(params.get("MessageBody"))
        attributes = params.get("MessageAttributes") or None
        size = len(body.encode("utf-8", "surrogatepass")) + messages.check_attributes(attributes)
        system = params.get("MessageSystemAttributes") or None
        if system:
            trace = system.get("AWSTraceHeader") or {}
            if trace.get("DataType") != "String" or not trace.get("StringValue"):
                raise errors.invalid_parameter(
                    "Message (system) attribute 'AWSTraceHeader' must contain a non-empty value of "
                    "type 'String'."
                )
        delay = params.get("DelaySeconds")
        if delay is not None and not 0 <= delay <= 900:
            raise errors.invalid_value(delay, "DelaySeconds", "DelaySeconds must be >= 0 and <= 900.")
        group_id = params.get("MessageGroupId")
        dedup_id = params.get("MessageDeduplicationId")
        if group_id is not None:
            messages.check_id(group_id, "MessageGroupId")
        if dedup_id is not None:
            messages.check_id(dedup_id, "MessageDeduplicationId")
        if queue.fifo:
            if delay:
                raise errors.invalid_value(
                    delay,
                    "DelaySeconds",
                    "The request include parameter that is not valid for this queue type.",
                )
            if group_id is None:
                if batch:
                    raise WholeBatchError(errors.invalid_parameter(_NO_GROUP))
                raise errors.missing_parameter("MessageGroupId")
            if dedup_id is None:
                if not queue.flag("ContentBasedDeduplication"):
                    error = errors.invalid_parameter(_NO_DEDUP)
                    raise WholeBatchError(error) if batch else error
                dedup_id = hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()
            delay = queue.number("DelaySeconds")
        else:
            if dedup_id is not None:
                raise errors.invalid_value(
                    dedup_id,
                    "MessageDeduplicationId",
                    "The request includes a parameter that is not valid for this queue type.",
                )
            if delay is None:
                delay = queue.number("DelaySeconds")
        return Outgoing(body, attributes, system, size, delay, group_id, dedup_id)

    @staticmethod
    def _check_size(queue: Queue, out: Outgoing, lead: str) -> None:
        limit = queue.number("MaximumMessageSize")
        if out.size > limit:
            raise errors.invalid_parameter(f"{lead} Reason: Message must be shorter than {limit} bytes.")

    def _enqueue(self, ctx: RequestContext, queue: Queue, out: Outgoing, now: float) -> dict[str, Any]:
        store = self.runtime.store
        md5_body = messages.md5_hex(out.body.encode("utf-8", "surrogatepass"))
        md5_attributes = messages.md5_of_attributes(out.attributes)
        result: dict[str, Any] = {"MD5OfMessageBody": md5_body}
        if md5_attributes:
            result["MD5OfMessageAttributes"] = md5_attributes
        if out.system:
            result["MD5OfMessageSystemAttributes"] = messages.md5_of_attributes(out.system)
        if queue.fifo:
            # Per-group scope still honours ids recorded queue-wide before the scope changed (AWS
            # does); queue scope does not see ids recorded per group.
            scope = out.group_id if queue.high_throughput_dedup else ""
            row = store.query_one(
                "SELECT message_id, seq, expires_at FROM sqs_dedup WHERE queue_id = ? AND scope IN ('', ?) "
                "AND dedup_id = ? AND expires_at > ? ORDER BY expires_at DESC LIMIT 1",
                (queue.id, scope, out.dedup_id, now),
            )
            if row is not None:
                # Accepted, but not delivered again: the sender sees the original message.
                return {**result, "MessageId": row[0], "SequenceNumber": engine.sequence_number(row[1])}
        message_id = engine.new_message_id()
        system = {"AWSTraceHeader": out.system["AWSTraceHeader"]["StringValue"]} if out.system else None
        sender = ctx.credential.access_key if ctx.credential and ctx.credential.access_key else ctx.account
        seq = engine.enqueue(
            store,
            queue,
            message_id=message_id,
            body=out.body,
            attributes=messages.encode_attributes(out.attributes),
            md5_body=md5_body,
            md5_attributes=md5_attributes,
            system=system,
            sender_id=sender,
            sent_at=now,
            visible_at=now + out.delay,
            group_id=out.group_id,
            dedup_id=out.dedup_id,
        )
        result["MessageId"] = message_id
        if queue.fifo:
            store.execute(
                "INSERT INTO sqs_dedup (queue_id, scope, dedup_id, message_id, seq, expires_at) "
                "VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (queue_id, scope, dedup_id) DO UPDATE SET message_id = excluded.message_id, "
                "seq = excluded.seq, expires_at = excluded.expires_at",
                (queue.id, scope, out.dedup_id, message_id, seq, now + DEDUP_WINDOW),
            )
            result["SequenceNumber"] = engine.sequence_number(seq)
        return result
