"""Concurrent FIFO consumers: a group is never held by two consumers at once, and order holds."""

from __future__ import annotations

import threading
from typing import Any

GROUPS = 4
PER_GROUP = 15
CONSUMERS = 5


def test_concurrent_fifo_consumers(client: Any, name: Any) -> None:
    sqs = client("sqs")
    url = sqs.create_queue(
        QueueName=name(".fifo"), Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]
    for i in range(PER_GROUP):
        sqs.send_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": f"g{g}", "MessageBody": f"{g}:{i}", "MessageGroupId": f"g{g}"} for g in range(GROUPS)
            ],
        )

    lock = threading.Lock()
    holders: dict[str, int] = {}  # group -> consumer currently processing it
    delivered: dict[str, list[int]] = {f"g{g}": [] for g in range(GROUPS)}
    violations: list[str] = []
    done = threading.Event()

    def consume(worker: int) -> None:
        local = client("sqs")
        while not done.is_set():
            msgs = local.receive_message(
                QueueUrl=url, MaxNumberOfMessages=3, VisibilityTimeout=30, WaitTimeSeconds=1
            ).get("Messages", [])
            groups = {m["Body"].split(":")[0] for m in msgs}
            with lock:
                for g in groups:
                    if holders.get(g) not in (None, worker):
                        violations.append(f"g{g} held by {holders[g]} and {worker}")
                    holders[g] = worker
                for m in msgs:
                    g, i = m["Body"].split(":")
                    delivered[f"g{g}"].append(int(i))
            # Release before deleting: the server still locks the group until the delete lands, so a
            # redelivery in that gap would show up as a duplicate in `delivered`.
            with lock:
                for g in groups:
                    holders.pop(g, None)
            for m in msgs:
                local.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            with lock:
                if sum(len(v) for v in delivered.values()) >= GROUPS * PER_GROUP:
                    done.set()

    threads = [threading.Thread(target=consume, args=(w,)) for w in range(CONSUMERS)]
    for t in threads:
        t.start()
    done.wait(60)
    done.set()
    for t in threads:
        t.join(10)
    assert violations == []
    assert delivered == {f"g{g}": list(range(PER_GROUP)) for g in range(GROUPS)}
