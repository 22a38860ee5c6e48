"""What was sent to, received from and deleted from one SQS queue, and the checks: a message whose
delete was acknowledged is never received again; one message (FIFO: one deduplication id) is
delivered under one MessageId only; a FIFO group is delivered in send order (a message comes only
once every earlier one of its group was deleted or comes in the same batch); the queue holds
between the acknowledged and the possible messages; every acknowledged message is delivered."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from soak.harness import ACK, REJECTED, UNKNOWN, Stats

_RANK = {None: 0, REJECTED: 1, UNKNOWN: 2, ACK: 3}


@dataclass(eq=False)
class Msg:
    mid: str
    group: str | None
    index: int
    sent: str | None = None
    message_ids: set[str] = field(default_factory=set)
    first_received: float | None = None
    skipped: bool = False  # a FIFO message with an unknown send overtaken by a later one: never to come
    handle: str = ""  # the latest receipt handle and when its receive started
    handle_at: float = 0.0
    delete_issued: bool = False
    deleted: str | None = None  # "definite" (acknowledged with the latest handle in time) or "maybe"
    deleted_at: float = 0.0
    seqno: int | None = None  # FIFO: the SequenceNumber its first send was acknowledged with
    receives: int = 0  # acknowledged receives

    def body(self, rng: random.Random) -> str:
        return f"{self.mid}|{'x' * rng.randint(0, 500)}"


class Ledger:
    def __init__(self, stats: Stats, queue: str, fifo: bool, visibility: float) -> None:
        self.stats, self.queue, self.fifo, self.visibility = stats, queue, fifo, visibility
        self.lock = threading.Lock()
        self.msgs: dict[str, Msg] = {}
        self.groups: dict[str, list[Msg]] = {}
        self.cursor: dict[str, int] = {}  # per group: messages before it are delivered and deleted
        self.group_seq: dict[str, int] = {}  # per group: the last SequenceNumber a first send got

    def new(self, prefix: str, group: str | None, count: int) -> list[Msg]:
        with self.lock:
            members = self.groups.setdefault(group, []) if group else []
            out = []
            for k in range(count):
                index = len(members)
                msg = Msg(f"{prefix}.{index if group else k}", group, index)
                if group:
                    members.append(msg)
                self.msgs[msg.mid] = msg
                out.append(msg)
            return out

    def sent(self, msgs: list[Msg], outcome: str, results: dict[str, dict[str, Any]]) -> None:
        """`results`: the acknowledged entries by their batch id ("0" for SendMessage)."""
        with self.lock:
            first = all(msg.sent is None for msg in msgs)  # not a retry nor a duplicate
            for k, msg in enumerate(msgs):
                entry = results.get(str(k))
                result = outcome if outcome != ACK else (ACK if entry else REJECTED)
                if _RANK[result] > _RANK[msg.sent]:
                    msg.sent = result
                if entry and first and msg.group is not None:
                    self._sequence(msg, int(entry["SequenceNumber"]))

    def _sequence(self, msg: Msg, number: int) -> None:
        """A FIFO group's sequence numbers grow, across restarts too."""
        assert msg.group is not None
        if number <= self.group_seq.get(msg.group, -1):
            self._violation(f"{msg.mid} got SequenceNumber {number}, not above {self.group_seq[msg.group]}")
        self.group_seq[msg.group] = msg.seqno = number

    def received(self, messages: list[dict[str, Any]], started: float) -> list[tuple[Msg, str]]:
        out: list[tuple[Msg, str]] = []
        with self.lock:
            batch: set[str] = set()
            for message in messages:
                mid = message["Body"].split("|", 1)[0]
                msg = self.msgs.get(mid)
                if msg is None:
                    self._violation(f"received {mid!r}, never sent")
                    continue
                if msg.deleted == "definite" and started > msg.deleted_at:
                    self._violation(f"{mid} received again after its delete was acknowledged")
                if msg.message_ids and message["MessageId"] not in msg.message_ids:
                    self._violation(f"{mid} delivered under a second MessageId {message['MessageId']}")
                if msg.skipped:
                    self._violation(f"{mid} (unknown send) delivered after a later message of its group")
                if msg.first_received is None:
                    msg.first_received = started
                    if msg.group is not None:
                        self._in_order(msg, batch)
                attributes = message.get("Attributes", {})
                count = int(attributes.get("ApproximateReceiveCount", 0))
                if count <= msg.receives:
                    self._violation(
                        f"{mid} has ApproximateReceiveCount {count} at its receive {msg.receives + 1}"
                    )
                msg.receives += 1
                number = attributes.get("SequenceNumber")
                if msg.seqno is not None and number != str(msg.seqno):
                    self._violation(f"{mid} received with SequenceNumber {number}, sent with {msg.seqno}")
                msg.message_ids.add(message["MessageId"])
                msg.handle, msg.handle_at = message["ReceiptHandle"], started
                batch.add(mid)
                out.append((msg, message["ReceiptHandle"]))
        return out

    def _in_order(self, msg: Msg, batch: set[str]) -> None:
        """A FIFO message's first delivery: every earlier message of its group must be gone (its
        delete issued) or in this same batch; an earlier one with an unknown send must never come."""
        assert msg.group is not None
        members, start = self.groups[msg.group], self.cursor.get(msg.group, 0)
        for earlier in members[start : msg.index]:
            if earlier.sent in (None, REJECTED) or earlier.skipped or earlier.delete_issued:
                continue
            if earlier.first_received is None:
                if earlier.sent == ACK:
                    self._violation(f"{msg.mid} delivered before the earlier acknowledged {earlier.mid}")
                else:
                    earlier.skipped = True
            elif earlier.mid not in batch:
                self._violation(f"{msg.mid} delivered while the earlier {earlier.mid} was not deleted")
        while (
            start < len(members)
            and start < msg.index
            and (
                members[start].sent in (None, REJECTED)
                or members[start].skipped
                or members[start].delete_issued
            )
        ):
            start += 1
        self.cursor[msg.group] = start

    def deleting(self, received: list[tuple[Msg, str]]) -> None:
        with self.lock:
            for msg, _ in received:
                msg.delete_issued = True

    def deleted(self, received: list[tuple[Msg, str]], started: float, done: set[str], outcome: str) -> None:
        now = time.monotonic()
        with self.lock:
            for k, (msg, handle) in enumerate(received):
                if outcome == UNKNOWN:
                    msg.deleted = msg.deleted or "maybe"
                elif str(k) in done:
                    fresh = handle == msg.handle and started < msg.handle_at + self.visibility - 1
                    if fresh and msg.deleted != "definite":
                        msg.deleted, msg.deleted_at = "definite", now
                    msg.deleted = msg.deleted or "maybe"
                elif msg.deleted is None:
                    msg.delete_issued = False  # refused: the message is still there

    def check_count(self, count: int) -> list[str]:
        with self.lock:
            # acknowledged, or seen by an acknowledged receive (an unknown send that did happen)
            low = sum(
                1
                for m in self.msgs.values()
                if (m.sent == ACK or m.first_received is not None) and m.deleted is None
            )
            high = sum(
                1
                for m in self.msgs.values()
                if m.sent in (ACK, UNKNOWN) and m.deleted != "definite" and not m.skipped
            )
        if low <= count <= high:
            return []
        return [f"sqs {self.queue}: holds {count} messages, expected between {low} and {high}"]

    def check_delivered(self) -> list[str]:
        with self.lock:
            lost = [m.mid for m in self.msgs.values() if m.sent == ACK and m.first_received is None]
        if not lost:
            return []
        return [f"sqs {self.queue}: {len(lost)} acknowledged messages never delivered, e.g. {lost[:3]}"]

    def _violation(self, text: str) -> None:
        self.stats.violation(f"sqs {self.queue}: {text}")
