"""Durability: acknowledged state survives kill -9 and restart."""

from __future__ import annotations

from typing import Any

from tests.conftest import make_client
from tests.sqs.conftest import finished_task


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


def test_move_task_resumes_after_kill(fresh_server: Any) -> None:
    import json

    proc = fresh_server()
    sqs = make_client(proc.url, "sqs")
    dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})
    source = sqs.create_queue(QueueName="src", Attributes={"RedrivePolicy": policy})["QueueUrl"]
    sqs.send_message_batch(QueueUrl=source, Entries=[{"Id": str(i), "MessageBody": str(i)} for i in range(6)])
    sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10, VisibilityTimeout=0)
    assert "Messages" not in sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10)
    sqs.start_message_move_task(SourceArn=dlq_arn, MaxNumberOfMessagesPerSecond=1)
    proc.kill()
    proc.restart()
    sqs = make_client(proc.url, "sqs")
    assert sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"][0]["Status"] == "RUNNING"
    proc.advance_clock(10)
    task = finished_task(sqs, dlq_arn)
    assert (task["Status"], task["ApproximateNumberOfMessagesMoved"]) == ("COMPLETED", 6)
    bodies = [m["Body"] for m in sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10)["Messages"]]
    assert sorted(bodies) == [str(i) for i in range(6)]


def test_fifo_consumers_across_a_kill(fresh_server: Any) -> None:
    """Concurrent consumers, a kill -9 with messages in flight, then the rest: every group is
    acknowledged exactly in order and nothing acknowledged comes back."""
    import threading

    groups, per_group = 3, 12
    proc = fresh_server()
    sqs = make_client(proc.url, "sqs")
    url = sqs.create_queue(
        QueueName="k.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]
    for i in range(per_group):
        sqs.send_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": f"g{g}", "MessageBody": f"{g}:{i}", "MessageGroupId": f"g{g}"} for g in range(groups)
            ],
        )
    acked: dict[str, list[int]] = {str(g): [] for g in range(groups)}
    lock = threading.Lock()

    def consume(limit: int) -> None:
        local = make_client(proc.url, "sqs")
        while True:
            with lock:
                if sum(len(v) for v in acked.values()) >= limit:
                    return
            msgs = local.receive_message(
                QueueUrl=url, MaxNumberOfMessages=2, VisibilityTimeout=60, WaitTimeSeconds=1
            ).get("Messages", [])
            for m in msgs:
                g, i = m["Body"].split(":")
                with lock:  # recorded before the delete lands, while the group is still locked
                    acked[g].append(int(i))
                local.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])

    half = groups * per_group // 2
    threads = [threading.Thread(target=consume, args=(half,)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60)  # left in flight
    proc.kill()
    proc.restart()
    proc.advance_clock(61)
    threads = [threading.Thread(target=consume, args=(groups * per_group,)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert acked == {str(g): list(range(per_group)) for g in range(groups)}
