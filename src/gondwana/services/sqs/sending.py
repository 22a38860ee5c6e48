"""SendMessage and SendMessageBatch: validation (all of it before any write, a plain batch at once),
ordering, delays, and the digests returned to the sender; FIFO deduplication is in `dedup.py`."""

from __future__ import annotations

import hashlib
import itertools
import operator
import re
from collections.abc import Sequence
from dataclasses import dataclass
from hashlib import md5
from typing import Any

from gondwana.protocols.errors import ServiceError
from gondwana.server.context import RequestContext
from gondwana.services.sqs import dedup, engine, errors, messages
from gondwana.services.sqs.common import SqsBase
from gondwana.services.sqs.queues import Queue

MAX_BATCH = 10
MAX_BATCH_BYTES = 1_048_576
ENTRY_ID = re.compile(r"[A-Za-z0-9_-]{1,80}")
_ENTRY_IDS = re.compile(r"[A-Za-z0-9_-]{1,80}(?:\n[A-Za-z0-9_-]{1,80})*")


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
    data: bytes  # the body in UTF-8: sized, digested and (content-based) deduplicated once
    attributes: dict[str, Any] | None
    system: dict[str, Any] | None
    size: int
    delay: int
    group_id: str | None
    dedup_id: str | None
    plain: bool  # none of attributes, system, group_id, dedup_id


def check_batch_ids(entries: list[dict[str, Any]] | None, entry_name: str) -> list[dict[str, Any]]:
    """The checks every batch operation makes before looking at any entry."""
    if not entries:
        raise ServiceError("EmptyBatchRequest", f"There should be at least one {entry_name} in the request.")
    if len(entries) > MAX_BATCH:
        raise ServiceError(
            "TooManyEntriesInBatchRequest",
            f"Maximum number of entries per request are {MAX_BATCH}. You have sent {len(entries)}.",
        )
    ids = [entry.get("Id") or "" for entry in entries]
    joined = "\n".join(ids)
    if len(set(ids)) == len(ids) and joined.count("\n") == len(ids) - 1 and _ENTRY_IDS.fullmatch(joined):
        return entries  # the usual case, checked at C speed; else find the first fault, in order
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
        out = self._prepare(queue, params, False, queue.number("DelaySeconds"))
        self._check_size(out, queue.number("MaximumMessageSize"), "One or more parameters are invalid.")
        (result,) = self._enqueue(ctx, queue, self.now(), [out.body], [out.data], [out])
        self.wake(queue, 1)
        return result

    def send_message_batch(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        queue = self.queue(ctx, params.get("QueueUrl"))
        entries = check_batch_ids(params.get("Entries"), "SendMessageBatchRequestEntry")
        plain = _plain(queue, entries)
        if plain is not None:  # the usual batch: every entry passed every check at C speed
            results = self._enqueue(ctx, queue, self.now(), *plain, ids=list(map(_ID, entries)))
            self.wake(queue, len(results))
            return {"Successful": results, "Failed": []}
        delay, limit = queue.number("DelaySeconds"), queue.number("MaximumMessageSize")
        total = 0
        ids: list[str] = []
        valid: list[Outgoing] = []
        failed: list[dict[str, Any]] = []
        for entry in entries:
            try:
                out = self._prepare(queue, entry, True, delay)
                total += out.size
                self._check_size(out, limit, "One or more parameters cannot be validated.")
            except ServiceError as error:
                if isinstance(error, WholeBatchError):
                    raise
                failed.append(failure(entry["Id"], error))
            else:
                ids.append(entry["Id"])
                valid.append(out)
        if total > MAX_BATCH_BYTES:
            raise ServiceError(
                "BatchRequestTooLong",
                f"Batch requests cannot be longer than {MAX_BATCH_BYTES} bytes. You have sent {total} bytes.",
            )
        successful: list[dict[str, Any]] = []
        if valid:
            successful = self._enqueue(
                ctx, queue, self.now(), [o.body for o in valid], [o.data for o in valid], valid, ids=ids
            )
            self.wake(queue, len(successful))
        return {"Successful": successful, "Failed": failed}

    # ---- shared --------------------------------------------------------------------------------

    def _prepare(self, queue: Queue, params: dict[str, Any], batch: bool, queue_delay: int) -> Outgoing:
        """One message, checked; `queue_delay` is the queue's DelaySeconds (read once per request)."""
        body = params.get("MessageBody")
        data = messages.check_body(body)
        attributes = params.get("MessageAttributes") or None
        size = len(data) + messages.check_attributes(attributes) if attributes else len(data)
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
                dedup_id = hashlib.sha256(data).hexdigest()
            delay = queue_delay
        else:
            if dedup_id is not None:
                raise errors.invalid_value(
                    dedup_id,
                    "MessageDeduplicationId",
                    "The request includes a parameter that is not valid for this queue type.",
                )
            if delay is None:
                delay = queue_delay
        plain = not attributes and not system and group_id is None and dedup_id is None
        return Outgoing(body, data, attributes, system, size, delay, group_id, dedup_id, plain)

    @staticmethod
    def _check_size(out: Outgoing, limit: int, lead: str) -> None:
        if out.size > limit:
            raise errors.invalid_parameter(f"{lead} Reason: Message must be shorter than {limit} bytes.")

    def _enqueue(
        self,
        ctx: RequestContext,
        queue: Queue,
        now: float,
        bodies: list[str],
        datas: list[bytes] | None,
        outs: list[Outgoing] | None,
        group_ids: list[str] | None = None,
        dedup_ids: list[str] | None = None,
        ids: list[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Store the messages, in one unit of the store (and one statement per table); each one's
        result entry (with its batch entry's Id, when `ids` gives them).

        `datas` holds the bodies in UTF-8 (None: ASCII bodies, encoded here); `outs` each message's
        checked parameters, or None for plain messages (body only, the queue's delay; on FIFO
        queues `group_ids` and `dedup_ids` give their ids).
        """
        store = self.runtime.store
        sender = ctx.credential.access_key if ctx.credential and ctx.credential.access_key else ctx.account
        message_ids = engine.new_message_ids(len(bodies))
        md5s = _digests(bodies, datas)
        if ids is None:
            results = [
                {"MessageId": m, "MD5OfMessageBody": h} for m, h in zip(message_ids, md5s, strict=True)
            ]
        else:
            results = [
                {"Id": i, "MessageId": m, "MD5OfMessageBody": h}
                for i, m, h in zip(ids, message_ids, md5s, strict=True)
            ]
        if not queue.fifo:
            if outs is None:
                visible = now + queue.number("DelaySeconds")
                rows = [(m, b, h, visible) for m, b, h in zip(message_ids, bodies, md5s, strict=True)]
                engine.add_rows(store, queue, sender, now, rows, engine.PLAIN)
            else:
                rows, width = self._rows(outs, range(len(bodies)), message_ids, md5s, now, results)
                engine.add_rows(store, queue, sender, now, rows, width)
            return results
        if outs is not None:
            group_ids = [o.group_id or "" for o in outs]
            dedup_ids = [o.dedup_id or "" for o in outs]
        assert group_ids is not None and dedup_ids is not None

        def store_fifo(fresh: Sequence[int], copies: list[tuple[int, int]], hopeful: bool) -> None:
            """Store the `fresh` messages, record their deduplication ids, and fill in the results of
            the others (`copies`: repeats of an earlier entry)."""
            assert group_ids is not None and dedup_ids is not None
            if fresh:
                if outs is not None:
                    rows, width = self._rows(outs, fresh, message_ids, md5s, now, results)
                else:
                    visible, width = now + queue.number("DelaySeconds"), engine.GROUPED
                    if len(fresh) == len(bodies):  # the usual case: every message is new
                        rows = list(
                            zip(message_ids, bodies, md5s, itertools.repeat(visible), group_ids, dedup_ids)
                        )
                    else:
                        rows = [
                            (message_ids[i], bodies[i], md5s[i], visible, group_ids[i], dedup_ids[i])
                            for i in fresh
                        ]
                seqs = engine.enqueue_rows(store, queue, sender, now, rows, width)
                dedup.remember(store, queue, fresh, seqs, results, now, hopeful)
            dedup.copy_results(results, copies)

        if not queue.high_throughput_dedup and len(set(dedup_ids)) == len(dedup_ids):
            # Hope that no id was seen before (the usual case): no look-up, and the ids' records
            # tell otherwise (then nothing of this attempt stays, and the careful way follows).
            try:
                with store.transaction():
                    store_fifo(range(len(bodies)), [], hopeful=True)
                return results
            except dedup.Seen:
                pass
        with store.transaction():
            store_fifo(*dedup.plan(store, queue, group_ids, dedup_ids, results, now), hopeful=False)
        return results

    def _rows(
        self,
        outs: list[Outgoing],
        fresh: Sequence[int],
        message_ids: list[str],
        md5s: list[str],
        now: float,
        results: list[dict[str, Any]],
    ) -> tuple[list[tuple[Any, ...]], int]:
        """The stored rows of checked messages, and the widest row's width (see engine.enqueue_rows)."""
        rows: list[tuple[Any, ...]] = []
        width = engine.PLAIN
        for index in fresh:
            out = outs[index]
            if out.plain:
                rows.append((message_ids[index], out.body, md5s[index], now + out.delay))
            elif not out.attributes and not out.system:
                rows.append(
                    (message_ids[index], out.body, md5s[index], now + out.delay, out.group_id, out.dedup_id)
                )
                width = max(width, engine.GROUPED)
            else:
                rows.append(self._full_row(out, message_ids[index], md5s[index], now, results[index]))
                width = engine.FULL
        if len(rows) > 1 and any(len(row) != width for row in rows):  # pad the narrower rows with NULLs
            rows = [(*row, *(None,) * (width - len(row))) for row in rows]
        return rows, width

    @staticmethod
    def _full_row(
        out: Outgoing, message_id: str, md5_body: str, now: float, result: dict[str, Any]
    ) -> tuple[Any, ...]:
        """The row of a message with attributes, a trace header or FIFO ids (digests go in `result`)."""
        md5_attributes = None
        if out.attributes:
            md5_attributes = result["MD5OfMessageAttributes"] = messages.md5_of_attributes(out.attributes)
        system = None
        if out.system:
            result["MD5OfMessageSystemAttributes"] = messages.md5_of_attributes(out.system)
            system = {"AWSTraceHeader": out.system["AWSTraceHeader"]["StringValue"]}
        return (
            message_id,
            out.body,
            md5_body,
            now + out.delay,
            out.group_id,
            out.dedup_id,
            messages.encode_attributes(out.attributes),
            md5_attributes,
            engine.encode_system(system),
        )


def _digests(bodies: list[str], datas: list[bytes] | None) -> list[str]:
    """Each body's MD5 (of `datas`, their UTF-8; None: ASCII bodies); a body repeated in a batch
    is digested once."""
    if datas is None:
        unique = {b: md5(b.encode(), usedforsecurity=False).hexdigest() for b in dict.fromkeys(bodies)}
        return list(map(unique.__getitem__, bodies))
    digests = {data: md5(data, usedforsecurity=False).hexdigest() for data in dict.fromkeys(datas)}
    return list(map(digests.__getitem__, datas))


_ID = operator.itemgetter("Id")
_BODY = operator.itemgetter("MessageBody")
_GROUP = operator.itemgetter("MessageGroupId")
_DEDUP = operator.itemgetter("MessageDeduplicationId")


def _plain(
    queue: Queue, entries: list[dict[str, Any]]
) -> tuple[list[str], None, None, list[str] | None, list[str] | None] | None:
    """The arguments of `_enqueue` when every entry of a batch is a plain message that passes
    every check at C speed (one call for the whole batch): a body of ASCII characters SQS takes,
    within the size limits, and on FIFO queues valid group and deduplication ids; no attributes,
    delay or anything else. None: take the entry-by-entry path, which words any error."""
    group_ids = dedup_ids = None
    try:
        bodies = list(map(_BODY, entries))
        if queue.fifo:
            group_ids = list(map(_GROUP, entries))
            dedup_ids = list(map(_DEDUP, entries))
    except KeyError:
        return None
    # Every entry has an Id and the members just read, so nothing else when the sizes add up.
    if sum(map(len, entries)) != (4 if queue.fifo else 2) * len(entries) or not all(bodies):
        return None
    joined = "".join(bodies)
    if not joined.isascii() or len(joined) > MAX_BATCH_BYTES:
        return None
    data = joined.encode()
    if len(data.translate(None, messages.ASCII_CONTROLS)) != len(data):
        return None
    if max(map(len, bodies)) > queue.number("MaximumMessageSize"):
        return None
    if group_ids is not None and dedup_ids is not None:
        ids = "\n".join(group_ids + dedup_ids)
        if ids.count("\n") != 2 * len(entries) - 1 or not messages.ID_LIST.fullmatch(ids):
            return None
    return bodies, None, None, group_ids, dedup_ids
