"""Durability: acknowledged state survives kill -9 and restart."""

from __future__ import annotations

from typing import Any

from tests.conftest import make_client


def test_sends_inflight_and_dedup_survive_kill(fresh_server: Any) -> None:
    proc = fresh_server()
    sqs = make_client(proc.url, "sqs")
    url = sqs.create_queue(QueueName="durable")["QueueUrl"]
    fifo = sqs.create_queue(QueueName="durable.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(5)])
    inflight = sqs.receive_message(QueueUrl=url, VisibilityTimeout=120)["Messages"][0]
    sqs.send_message(QueueUrl=fifo, MessageBody="once", MessageGroupId="g", MessageDeduplicationId="d")
    got = sqs.receive_message(QueueUrl=fifo, ReceiveRequestAttemptId="attempt")["Messages"][0]
    sqs.delete_message(QueueUrl=fifo, ReceiptHandle=got["ReceiptHandle"])
    sqs.send_message(QueueUrl=fifo, MessageBody="f2", MessageGroupId="g", MessageDeduplicationId="d2")
    f2 = sqs.receive_message(QueueUrl=fifo, ReceiveRequestAttemptId="attempt-2")["Messages"][0]

    proc.kill()
    proc.restart()
    sqs = make_client(proc.url, "sqs")

    # Four visible messages; the in-flight one is still hidden until its timeout passes.
    visible = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=300)["Messages"]
    assert sorted(m["Body"] for m in visible) == sorted(
        f"m{i}" for i in range(5) if f"m{i}" != inflight["Body"]
    )
    proc.advance_clock(121)
    back = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in back] == [inflight["Body"]]
    # The receive attempt replays across the restart; the dedup id still suppresses the resend.
    replay = sqs.receive_message(QueueUrl=fifo, ReceiveRequestAttemptId="attempt-2")["Messages"]
    assert [m["ReceiptHandle"] for m in replay] == [f2["ReceiptHandle"]]
    sqs.delete_message(QueueUrl=fifo, ReceiptHandle=f2["ReceiptHandle"])
    sqs.send_message(QueueUrl=fifo, MessageBody="once", MessageGroupId="g", MessageDeduplicationId="d")
    assert "Messages" not in sqs.receive_message(QueueUrl=fifo)
    attrs = sqs.get_queue_attributes(QueueUrl=fifo, AttributeNames=["All"])["Attributes"]
    assert attrs["FifoQueue"] == "true"


def test_deleted_queue_stays_deleted(fresh_server: Any) -> None:
    proc = fresh_server()
    sqs = make_client(proc.url, "sqs")
    url = sqs.create_queue(QueueName="gone", tags={"k": "v"})["QueueUrl"]
    keep = sqs.create_queue(QueueName="kept", tags={"k": "v"})["QueueUrl"]
    sqs.delete_queue(QueueUrl=url)
    proc.kill()
    proc.restart()
    sqs = make_client(proc.url, "sqs")
    assert sqs.list_queues()["QueueUrls"] == [keep]
    assert sqs.list_queue_tags(QueueUrl=keep)["Tags"] == {"k": "v"}
