"""The Approximate* counters: the visible messages are the queue's depth (kept by every insert and
delete) less the hidden ones, so a deep queue is counted without reading its visible messages;
right through sends, receives, deletes, moves, purges, expiry, rollbacks and a kill -9."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from gondwana.runtime import Runtime
from gondwana.services.sqs import engine
from tests.conftest import make_client
from tests.sqs.test_retention import fill
from tests.support.inprocess import in_process, request_context

ACCOUNT, REGION = "123456789012", "us-east-1"
NAMES = [
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
]


def counts(sqs: Any, url: str) -> list[int]:
    """(visible, in flight, delayed)."""
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return [int(attributes[name]) for name in NAMES]


def test_a_deep_queue_is_counted_without_reading_its_visible_messages(tmp_path: Path) -> None:
    async def scenario(runtime: Runtime, sqs: Any) -> int:
        ctx = request_context(ACCOUNT, REGION)
        queue = sqs.registry.create(ACCOUNT, REGION, "deep", False, {}, {}, runtime.now())
        fill(runtime, queue.space, 20_000)
        queue.depth = None  # written behind the service's back: counted by the first call
        await runtime.store.flushed()
        url = f"http://localhost/{ACCOUNT}/deep"
        sqs.get_queue_attributes(ctx, {"QueueUrl": url, "AttributeNames": NAMES})
        statements: list[str] = []
        runtime.store._conn.set_trace_callback(statements.append)
        got = sqs.get_queue_attributes(ctx, {"QueueUrl": url, "AttributeNames": NAMES})
        runtime.store._conn.set_trace_callback(None)
        # Neither the visible messages (`visible_at <=`) nor the whole queue (`WHERE space = N`).
        assert not [s for s in statements if "visible_at <=" in s or re.search(r"WHERE space = \d+$", s)]
        assert got["Attributes"]["ApproximateNumberOfMessages"] == "20000"
        # Messages added by a unit that then fails are undone with it, and so is their count.
        rows = [("id", "body", "md5", runtime.now())] * 5
        with pytest.raises(Undone), runtime.store.transaction():
            engine.add_rows(runtime.store, queue, "sender", runtime.now(), rows, engine.PLAIN)
            raise Undone()
        got = sqs.get_queue_attributes(ctx, {"QueueUrl": url, "AttributeNames": NAMES})
        return int(got["Attributes"]["ApproximateNumberOfMessages"])

    assert in_process(tmp_path, "sqs", scenario) == 20_000


class Undone(Exception):
    pass


def test_the_counters_follow_every_way_a_message_comes_and_goes(sqs: Any, name: Any) -> None:
    dead = sqs.create_queue(QueueName=name())["QueueUrl"]
    dead_arn = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dead_arn, "maxReceiveCount": 1})
    url = sqs.create_queue(QueueName=name(), Attributes={"RedrivePolicy": policy})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="one")
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"b{i}"} for i in range(10)])
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=900)
    assert counts(sqs, url) == [11, 0, 1]
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=4, VisibilityTimeout=300)["Messages"]
    assert counts(sqs, url) == [7, 4, 1]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
    sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])  # again: nothing more
    sqs.delete_message_batch(
        QueueUrl=url,
        Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got[1:3])],
    )
    assert counts(sqs, url) == [7, 1, 1]
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=got[3]["ReceiptHandle"], VisibilityTimeout=0)
    assert counts(sqs, url) == [8, 0, 1]
    # The one received before goes to the dead-letter queue; the others are received once.
    assert (
        len(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)["Messages"]) == 7
    )
    assert counts(sqs, url) == [7, 0, 1] and counts(sqs, dead) == [1, 0, 0]
    assert "Messages" not in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)  # all moved
    assert counts(sqs, url) == [0, 0, 1] and counts(sqs, dead) == [8, 0, 0]
    sqs.purge_queue(QueueUrl=dead)
    assert counts(sqs, dead) == [0, 0, 0]
    sqs.send_message(QueueUrl=dead, MessageBody="after the purge")
    assert counts(sqs, dead) == [1, 0, 0]


def test_fifo_counters_through_receives_and_deletes(sqs: Any, name: Any) -> None:
    url = sqs.create_queue(QueueName=name(".fifo"), Attributes={"FifoQueue": "true"})["QueueUrl"]
    entries = [
        {
            "Id": str(i),
            "MessageBody": f"m{i}",
            "MessageGroupId": f"g{i % 3}",
            "MessageDeduplicationId": str(i),
        }
        for i in range(9)
    ]
    sqs.send_message_batch(QueueUrl=url, Entries=entries)
    sqs.send_message_batch(QueueUrl=url, Entries=entries[:2])  # duplicates: nothing stored
    assert counts(sqs, url) == [9, 0, 0]
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=4)["Messages"]
    assert counts(sqs, url) == [5, 4, 0]
    sqs.delete_message_batch(
        QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)]
    )
    assert counts(sqs, url) == [5, 0, 0]


def test_the_counters_are_right_after_a_kill_and_as_messages_expire(fresh_server: Any) -> None:
    proc = fresh_server()
    sqs = make_client(proc.url, "sqs")
    url = sqs.create_queue(QueueName="kept", Attributes={"MessageRetentionPeriod": "600"})["QueueUrl"]
    for k in range(5):
        sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"{k}-{i}"} for i in range(10)]
        )
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=5, VisibilityTimeout=300)["Messages"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
    assert counts(sqs, url) == [45, 4, 0]

    proc.kill()
    proc.restart()
    sqs = make_client(proc.url, "sqs")
    assert counts(sqs, url) == [45, 4, 0]  # counted afresh (the oldest message is not known yet)
    assert counts(sqs, url) == [45, 4, 0]
    proc.advance_clock(300)  # the in-flight ones come back
    sqs.send_message(QueueUrl=url, MessageBody="new")
    assert counts(sqs, url) == [50, 0, 0]
    proc.advance_clock(301)  # all but the new one expire, deleted or not
    sqs.send_message(QueueUrl=url, MessageBody="newer")
    assert counts(sqs, url) == [2, 0, 0]
    assert counts(sqs, url) == [2, 0, 0]
