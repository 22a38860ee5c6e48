"""SQS load on a standard queue (with a dead-letter queue) and a FIFO queue: sends (single and
batched), receives, deletes (some messages are abandoned to come back after the visibility timeout,
and after two receives move to the dead-letter queue); FIFO sends use explicit
deduplication ids, retry unknown outcomes with the same ids and sometimes send a duplicate on
purpose. Checks are in sqs_ledger."""

from __future__ import annotations

import json
import random
import time
from collections import deque
from typing import Any

from soak.harness import ACK, UNKNOWN, Stats, call
from soak.sqs_ledger import Ledger, Msg

STANDARD, FIFO, DLQ = "soak-standard", "soak-fifo.fifo", "soak-standard-dlq"
MAX_RECEIVES = 2  # then a standard message moves to the dead-letter queue
GROUPS_PER_WORKER = 3
DEDUP_SAFE = 200  # seconds: late duplicates stay well inside the 5-minute deduplication interval


class SqsLoad:
    def __init__(self, stats: Stats, visibility: int) -> None:
        self.stats, self.visibility = stats, visibility
        self.ledgers = {
            STANDARD: Ledger(stats, STANDARD, False, visibility),
            FIFO: Ledger(stats, FIFO, True, visibility),
        }
        self.ledgers[DLQ] = self.ledgers[STANDARD]  # messages move there: one ledger for both
        self.urls: dict[str, str] = {}
        self.recent: dict[int, deque[tuple[float, list[Msg]]]] = {}  # per worker: acknowledged FIFO sends

    def setup(self, client: Any) -> None:
        attributes = {"VisibilityTimeout": str(self.visibility)}
        self.urls[DLQ] = client.create_queue(QueueName=DLQ, Attributes=attributes)["QueueUrl"]
        arn = client.get_queue_attributes(QueueUrl=self.urls[DLQ], AttributeNames=["QueueArn"])["Attributes"]
        redrive = json.dumps({"deadLetterTargetArn": arn["QueueArn"], "maxReceiveCount": str(MAX_RECEIVES)})
        self.urls[STANDARD] = client.create_queue(
            QueueName=STANDARD, Attributes={**attributes, "RedrivePolicy": redrive}
        )["QueueUrl"]
        self.urls[FIFO] = client.create_queue(QueueName=FIFO, Attributes={**attributes, "FifoQueue": "true"})[
            "QueueUrl"
        ]

    def step(self, worker: int, serial: int, client: Any, rng: random.Random) -> None:
        kind = rng.random()
        if kind < 0.25:
            self.send_standard(worker, serial, client, rng)
        elif kind < 0.5:
            self.send_fifo(worker, client, rng)
        else:
            queue = STANDARD if kind < 0.7 else DLQ if kind < 0.75 else FIFO
            wait = rng.choice((0, 0, 0, 1))
            self.receive(client, queue, abandon=rng.random() < 0.15, wait=wait, rng=rng)

    def _send(self, client: Any, queue: str, msgs: list[Msg], rng: random.Random) -> str:
        ledger, url = self.ledgers[queue], self.urls[queue]
        extra = (
            (lambda m: {"MessageGroupId": m.group, "MessageDeduplicationId": m.mid})
            if m_fifo(queue)
            else (lambda m: {"DelaySeconds": rng.choice((0, 0, 0, 1, 2))})  # delayed ones count too
        )
        if len(msgs) == 1:
            outcome, out = call(
                self.stats,
                f"sqs.SendMessage{'.fifo' * m_fifo(queue)}",
                client.send_message,
                QueueUrl=url,
                MessageBody=msgs[0].body(rng),
                **extra(msgs[0]),
            )
            ledger.sent(msgs, outcome, {"0": out} if outcome == ACK else {})
            return outcome
        entries = [{"Id": str(k), "MessageBody": m.body(rng), **extra(m)} for k, m in enumerate(msgs)]
        outcome, out = call(
            self.stats,
            f"sqs.SendMessageBatch{'.fifo' * m_fifo(queue)}",
            client.send_message_batch,
            QueueUrl=url,
            Entries=entries,
        )
        ledger.sent(msgs, outcome, {e["Id"]: e for e in out.get("Successful", [])} if outcome == ACK else {})
        return outcome

    def send_standard(self, worker: int, serial: int, client: Any, rng: random.Random) -> None:
        count = 1 if rng.random() < 0.5 else rng.randint(2, 10)
        msgs = self.ledgers[STANDARD].new(f"s{worker}.{serial}", None, count)
        self._send(client, STANDARD, msgs, rng)

    def send_fifo(self, worker: int, client: Any, rng: random.Random) -> None:
        group = f"g{worker}.{rng.randint(0, GROUPS_PER_WORKER - 1)}"
        count = 1 if rng.random() < 0.5 else rng.randint(2, 10)
        msgs = self.ledgers[FIFO].new(group, group, count)
        for _ in range(3):  # an unknown outcome is retried with the same deduplication ids
            if self._send(client, FIFO, msgs, rng) != UNKNOWN:
                break
        if rng.random() < 0.05:  # a duplicate on purpose: accepted, never delivered
            self._send(client, FIFO, msgs, rng)
        recent = self.recent.setdefault(worker, deque(maxlen=200))
        if all(m.sent == ACK for m in msgs):
            recent.append((time.monotonic(), msgs))
        old = [msgs for at, msgs in recent if time.monotonic() - at < DEDUP_SAFE]
        if old and rng.random() < 0.05:  # a late duplicate, often from before a restart
            self._send(client, FIFO, rng.choice(old), rng)

    def receive(
        self, client: Any, queue: str, abandon: bool = False, wait: int = 0, rng: random.Random | None = None
    ) -> int:
        ledger, url = self.ledgers[queue], self.urls[queue]
        started = time.monotonic()
        outcome, out = call(
            self.stats,
            f"sqs.ReceiveMessage{'.fifo' * m_fifo(queue)}{'.dlq' * (queue == DLQ)}",
            client.receive_message,
            QueueUrl=url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=wait,
            AttributeNames=["All"],
        )
        if outcome != ACK:
            return 0
        messages = out.get("Messages", [])
        if queue == DLQ and messages:
            self.stats.count("sqs.(messages dead-lettered)", ACK, len(messages))
        received = ledger.received(messages, started)
        if abandon and received and rng and rng.random() < 0.5:  # back at once rather than later
            entries = [
                {"Id": str(k), "ReceiptHandle": h, "VisibilityTimeout": 0}
                for k, (_, h) in enumerate(received)
            ]
            call(
                self.stats, "sqs.ChangeMessageVisibilityBatch", client.change_message_visibility_batch,
                QueueUrl=url, Entries=entries,
            )  # fmt: skip
        if abandon or not received:
            return len(messages)
        ledger.deleting(received)
        started = time.monotonic()
        if len(received) == 1:
            outcome, _ = call(
                self.stats,
                "sqs.DeleteMessage",
                client.delete_message,
                QueueUrl=url,
                ReceiptHandle=received[0][1],
            )
            ledger.deleted(received, started, {"0"} if outcome == ACK else set(), outcome)
        else:
            entries = [{"Id": str(k), "ReceiptHandle": handle} for k, (_, handle) in enumerate(received)]
            outcome, out = call(
                self.stats,
                "sqs.DeleteMessageBatch",
                client.delete_message_batch,
                QueueUrl=url,
                Entries=entries,
            )
            done = {e["Id"] for e in out.get("Successful", [])} if outcome == ACK else set()
            ledger.deleted(received, started, done, outcome)
        return len(messages)

    def counts(self, client: Any, queue: str) -> int:
        attributes = client.get_queue_attributes(QueueUrl=self.urls[queue], AttributeNames=["All"])[
            "Attributes"
        ]
        return sum(
            int(attributes[name])
            for name in (
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            )
        )

    def check(self, client: Any) -> list[str]:
        standard = self.counts(client, STANDARD) + self.counts(client, DLQ)
        fifo = self.counts(client, FIFO)
        return self.ledgers[STANDARD].check_count(standard) + self.ledgers[FIFO].check_count(fifo)

    def drain(self, client: Any, deadline: float) -> list[str]:
        """Receive and delete until both queues are empty (abandoned and in-flight messages come back
        after the visibility timeout), then check that every acknowledged message was delivered."""
        for queue in (STANDARD, DLQ, FIFO):
            while time.monotonic() < deadline and self.counts(client, queue) > 0:
                if not self.receive(client, queue, wait=1):
                    time.sleep(0.5)
        return [p for queue in (STANDARD, FIFO) for p in self.ledgers[queue].check_delivered()]


def m_fifo(queue: str) -> bool:
    return queue.endswith(".fifo")
