"""DeleteMessage and DeleteMessageBatch: a standard delete is one statement whatever its handles;
a FIFO one checks each handle is the latest of a message still in flight, then moves its groups'
heads on."""

from __future__ import annotations

import functools
import itertools
from typing import Any

from gondwana.protocols.errors import ServiceError
from gondwana.server.context import RequestContext
from gondwana.services.sqs import engine, errors, handles
from gondwana.services.sqs.common import SqsBase
from gondwana.services.sqs.queues import Queue
from gondwana.services.sqs.sending import check_batch_ids, failure
from gondwana.storage import Store


def locate_handle(queue: Queue, handle: str) -> tuple[int, str]:
    """(message seq, token) of a receipt handle issued for this queue."""
    parsed = handles.parse_handle(handle)
    if parsed is None or parsed[0] != queue.id:
        raise errors.receipt_handle_invalid(handle)
    return parsed[1], parsed[2]


class DeleteOps(SqsBase):
    def delete_message(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        queue = self.queue(ctx, params.get("QueueUrl"))
        handle = params["ReceiptHandle"]
        seq, token = locate_handle(queue, handle)
        store = self.runtime.store
        if not queue.fifo:  # one statement, a unit of its own
            engine.counted(queue, -store.write(_delete_sql(1), (token, queue.space, seq)))
            return
        with store.transaction():
            for error in self._delete_fifo(queue, [handle], [(seq, token)], self.now()).values():
                raise error
        self.wake(queue, 1)  # the delete may have unlocked a message group

    def delete_message_batch(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        queue = self.queue(ctx, params.get("QueueUrl"))
        entries = check_batch_ids(params.get("Entries"), "DeleteMessageBatchRequestEntry")
        receipts = [entry.get("ReceiptHandle") or "" for entry in entries]
        located = handles.parse_handles(queue.id, receipts)
        if located is not None:  # the usual case: every handle is one of ours for this queue
            ids = [entry["Id"] for entry in entries]
            failed: dict[str, ServiceError] = {}
        else:
            ids, located, failed = [], [], {}
            for entry, handle in zip(entries, receipts, strict=True):
                try:
                    located.append(locate_handle(queue, handle))
                except ServiceError as error:
                    failed[entry["Id"]] = error
                else:
                    ids.append(entry["Id"])
            receipts = [
                handle for entry, handle in zip(entries, receipts, strict=True) if entry["Id"] not in failed
            ]
        if located:
            if queue.fifo:
                with self.runtime.store.transaction():
                    refused = self._delete_fifo(queue, receipts, located, self.now())
                for index, error in refused.items():
                    failed[ids[index]] = error
                self.wake(queue, len(located) - len(refused))
            else:
                self._delete_standard(queue, located)
        if not failed:
            return {"Successful": [{"Id": entry_id} for entry_id in ids], "Failed": []}
        return {
            "Successful": [{"Id": e["Id"]} for e in entries if e["Id"] not in failed],
            "Failed": [failure(e["Id"], failed[e["Id"]]) for e in entries if e["Id"] in failed],
        }

    def _delete_standard(self, queue: Queue, located: list[tuple[int, str]]) -> None:
        """Delete the messages whose latest receipt handles these are, with one statement (a unit
        of its own). An outdated handle, or one of a message already gone, deletes nothing, and
        AWS accepts it all the same."""
        store = self.runtime.store
        seqs = [seq for seq, _ in located]
        tokens = {token for _, token in located}
        if len(tokens) == 1:  # one receive's handles share their token
            deleted = store.write(_delete_sql(len(seqs)), [tokens.pop(), queue.space, *seqs])
        elif len(set(seqs)) == len(seqs):  # each message's own token
            params = [queue.space, *itertools.chain.from_iterable(located)]
            deleted = store.write(_delete_each_sql(len(seqs)), params)
        else:  # rare: one message named twice, under different tokens
            by_token: dict[str, list[int]] = {}
            for seq, token in located:
                by_token.setdefault(token, []).append(seq)
            with store.transaction():
                deleted = sum(
                    store.execute(_delete_sql(len(same)), [token, queue.space, *same])
                    for token, same in by_token.items()
                )
        engine.counted(queue, -deleted)

    def _delete_fifo(
        self, queue: Queue, receipts: list[str], located: list[tuple[int, str]], now: float
    ) -> dict[int, ServiceError]:
        """Delete the messages the handles (`receipts`) name; the errors of those that refuse (a FIFO handle
        must be the message's latest, and the message still in flight), by index, as if the
        entries went one after another. A message that is already gone counts as deleted."""
        store = self.runtime.store
        by_token: dict[str, list[int]] = {}
        for seq, token in located:
            by_token.setdefault(token, []).append(seq)
        if len(by_token) == 1 and len(set(by_token[located[0][1]])) == len(located):  # the usual
            return self._delete_received(queue, receipts, located, now)
        # Handles of several receives, or one message named twice: which handle deleted what matters.
        deleted: dict[int, str] = {}  # seq -> the token that deleted it
        groups: set[str] = set()
        for token, seqs in by_token.items():
            rows = store.query(_delete_inflight_sql(len(seqs)), [token, queue.space, now, *seqs])
            for seq, group_id in rows:
                deleted[seq] = token
                groups.add(group_id)
        # A handle that deleted nothing: its message is gone (fine) or refuses (an error).
        present = _present(store, queue, [seq for seq, _ in located if seq not in deleted], now)
        refused: dict[int, ServiceError] = {}
        first: dict[int, int] = {}  # seq -> index of the entry that deleted it
        for index, (seq, token) in enumerate(located):
            if seq in deleted:
                if deleted[seq] == token:
                    first.setdefault(seq, index)
                elif seq not in first:  # an outdated handle, before the entry that deletes
                    refused[index] = errors.receipt_handle_expired(receipts[index])
            elif seq in present:
                refused[index] = errors.receipt_handle_expired(receipts[index])
        if deleted:
            engine.counted(queue, -len(deleted))
            engine.advance_heads(store, queue, groups)
        return refused

    def _delete_received(
        self, queue: Queue, receipts: list[str], located: list[tuple[int, str]], now: float
    ) -> dict[int, ServiceError]:
        """`_delete_fifo` of the usual delete: the handles of one receive (one token), each message
        named once; one statement deletes them, one moves their groups' heads on."""
        store = self.runtime.store
        seqs = [seq for seq, _ in located]
        groups = store.query(_groups_sql(len(seqs)), [queue.space, *seqs])
        removed = store.execute(_delete_received_sql(len(seqs)), [located[0][1], queue.space, now, *seqs])
        if removed:
            engine.counted(queue, -removed)
            engine.advance_heads(store, queue, [group_id for (group_id,) in groups])
        if removed == len(seqs):
            return {}
        present = _present(store, queue, seqs, now)  # those are still there: their handles refuse
        return {
            index: errors.receipt_handle_expired(receipts[index])
            for index, seq in enumerate(seqs)
            if seq in present
        }


def _present(store: Store, queue: Queue, seqs: list[int], now: float) -> set[int]:
    """Those of the messages that exist: not deleted, and within the retention period (one past it
    is gone, swept or not)."""
    if not seqs:
        return set()
    expired = now - queue.number("MessageRetentionPeriod")
    rows = store.query(
        f"SELECT seq FROM sqs_messages WHERE seq IN ({engine.marks(len(seqs), 3)}) AND +space = ?1 "
        "AND sent_at > ?2",
        [queue.space, expired, *seqs],
    )
    return {row[0] for row in rows}


@functools.cache
def _delete_sql(count: int) -> str:
    """Delete of `count` messages under receipt token ?1 (`+space`: look them up by seq, never
    by the queue's index)."""
    return f"DELETE FROM sqs_messages WHERE seq IN ({engine.marks(count, 3)}) AND token = ?1 AND +space = ?2"


@functools.cache
def _delete_each_sql(count: int) -> str:
    """Delete of `count` distinct messages, each under its own receipt token: ?1 the queue, then
    each message's seq and token."""
    seqs = ", ".join(f"?{2 + 2 * k}" for k in range(count))
    tokens = " ".join(f"WHEN ?{2 + 2 * k} THEN ?{3 + 2 * k}" for k in range(count))
    return f"DELETE FROM sqs_messages WHERE seq IN ({seqs}) AND +space = ?1 AND token = CASE seq {tokens} END"


@functools.cache
def _delete_received_sql(count: int) -> str:
    """Delete of `count` FIFO messages under receipt token ?1, while still in flight at ?3."""
    return (
        f"DELETE FROM sqs_messages WHERE seq IN ({engine.marks(count, 4)}) AND token = ?1 "
        "AND +space = ?2 AND visible_at > ?3"
    )


@functools.cache
def _groups_sql(count: int) -> str:
    """The groups of `count` messages (?2...) of space ?1: read before their delete, which then
    needs no RETURNING (SQLite collects returned rows first: 3-4 µs more than this read)."""
    return f"SELECT group_id FROM sqs_messages WHERE seq IN ({engine.marks(count, 2)}) AND +space = ?1"


@functools.cache
def _delete_inflight_sql(count: int) -> str:
    """`_delete_received_sql`, telling which messages (and of which groups) it deleted."""
    return _delete_received_sql(count) + " RETURNING seq, group_id"
