"""Dead-letter queues, redrive policies, ListDeadLetterSourceQueues and message move tasks."""

from __future__ import annotations

import json
import time
from typing import Any

from gondwana.services.sqs.receiving import MOVES_PER_RECEIVE
from tests.conftest import make_client
from tests.sqs.conftest import error_of, finished_task


def arn_of(sqs: Any, url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def with_dlq(sqs: Any, name: Any, max_receives: int = 1, suffix: str = "", **extra: str) -> tuple[str, str]:
    attrs = {"FifoQueue": "true", **extra} if suffix else dict(extra)
    dlq = sqs.create_queue(QueueName=name(suffix), Attributes=attrs)["QueueUrl"]
    policy = json.dumps({"deadLetterTargetArn": arn_of(sqs, dlq), "maxReceiveCount": max_receives})
    source = sqs.create_queue(QueueName=name(suffix), Attributes={**attrs, "RedrivePolicy": policy})[
        "QueueUrl"
    ]
    return source, dlq


def test_messages_move_after_max_receives(sqs: Any, name: Any) -> None:
    source, dlq = with_dlq(sqs, name)
    sqs.send_message(
        QueueUrl=source,
        MessageBody="message-1",
        MessageAttributes={"MyAttribute": {"DataType": "String", "StringValue": "foobar"}},
    )
    first = sqs.receive_message(QueueUrl=source, VisibilityTimeout=0, AttributeNames=["All"])["Messages"][0]
    assert first["Attributes"]["ApproximateReceiveCount"] == "1"
    assert "Messages" not in sqs.receive_message(QueueUrl=source)
    moved = sqs.receive_message(QueueUrl=dlq, AttributeNames=["All"], MessageAttributeNames=["All"])[
        "Messages"
    ][0]
    assert moved["MessageId"] == first["MessageId"]
    assert moved["Attributes"]["ApproximateReceiveCount"] == "2"
    assert moved["Attributes"]["DeadLetterQueueSourceArn"] == arn_of(sqs, source)
    assert (
        moved["Attributes"]["SentTimestamp"] == first["Attributes"]["SentTimestamp"]
    )  # standard keeps its age
    assert moved["MD5OfMessageAttributes"] == "adb59cd4678ea5a855436b949cd07ab6"


def test_fifo_dead_letter_queue(sqs: Any, name: Any) -> None:
    source, dlq = with_dlq(sqs, name, suffix=".fifo", ContentBasedDeduplication="true")
    sqs.send_message(QueueUrl=source, MessageBody="f", MessageGroupId="g")
    first = sqs.receive_message(QueueUrl=source, VisibilityTimeout=0)["Messages"][0]
    assert "Messages" not in sqs.receive_message(QueueUrl=source)
    moved = sqs.receive_message(QueueUrl=dlq, AttributeNames=["All"])["Messages"][0]
    assert moved["Attributes"]["MessageDeduplicationId"] == first["MessageId"]
    assert moved["Attributes"]["MessageGroupId"] == "g"


def test_redrive_policy_rules(sqs: Any, name: Any, queue: str, fifo: str) -> None:
    err = error_of(
        sqs.set_queue_attributes,
        QueueUrl=queue,
        Attributes={
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": arn_of(sqs, fifo), "maxReceiveCount": 1})
        },
    )
    assert err["code"] == "InvalidParameterValue"
    assert err["message"].endswith("Dead-letter queue must be same type of queue as the source.")
    err = error_of(
        sqs.set_queue_attributes,
        QueueUrl=queue,
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": "not-an-arn", "maxReceiveCount": 1})},
    )
    assert err["message"].endswith("Invalid value for deadLetterTargetArn.")
    err = error_of(
        sqs.set_queue_attributes,
        QueueUrl=queue,
        Attributes={
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": "arn:aws:sqs:us-east-1:000000000000:nope", "maxReceiveCount": 1}
            )
        },
    )
    assert err["message"].endswith("Dead-letter target does not exist.")
    source, _ = with_dlq(sqs, name)
    sqs.set_queue_attributes(QueueUrl=source, Attributes={"RedrivePolicy": ""})
    assert "Attributes" not in sqs.get_queue_attributes(QueueUrl=source, AttributeNames=["RedrivePolicy"])
    sqs.set_queue_attributes(
        QueueUrl=queue, Attributes={"RedriveAllowPolicy": json.dumps({"redrivePermission": "denyAll"})}
    )
    err = error_of(
        sqs.set_queue_attributes,
        QueueUrl=queue,
        Attributes={"RedriveAllowPolicy": json.dumps({"redrivePermission": "maybe"})},
    )
    assert err["code"] == "InvalidParameterValue"


def test_list_dead_letter_source_queues(sqs: Any, name: Any) -> None:
    source, dlq = with_dlq(sqs, name)
    assert sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"] == [source]
    assert sqs.list_dead_letter_source_queues(QueueUrl=source)["queueUrls"] == []


def test_dead_letter_sources_follow_policy_changes_deletes_and_a_restart(fresh_server: Any) -> None:
    """The registry files each queue under the dead-letter queue its policy names (so a listing
    reads no queue's policy): changing, removing and deleting re-file it, and a restart too."""
    proc = fresh_server()
    sqs = make_client(proc.url, "sqs")
    first, second = (sqs.create_queue(QueueName=n)["QueueUrl"] for n in ("dlq-1", "dlq-2"))

    def policy(dlq: str) -> dict[str, str]:
        return {"RedrivePolicy": json.dumps({"deadLetterTargetArn": arn_of(sqs, dlq), "maxReceiveCount": 2})}

    a = sqs.create_queue(QueueName="a", Attributes=policy(first))["QueueUrl"]
    b = sqs.create_queue(QueueName="b", Attributes=policy(first))["QueueUrl"]

    def sources() -> tuple[list[str], list[str]]:
        return tuple(sqs.list_dead_letter_source_queues(QueueUrl=q)["queueUrls"] for q in (first, second))

    assert sources() == ([a, b], [])
    sqs.set_queue_attributes(QueueUrl=a, Attributes=policy(second))
    assert sources() == ([b], [a])
    sqs.set_queue_attributes(QueueUrl=b, Attributes={"RedrivePolicy": ""})
    assert sources() == ([], [a])
    error = error_of(sqs.start_message_move_task, SourceArn=arn_of(sqs, first))
    assert error["message"] == "Source queue must be configured as a Dead Letter Queue."
    sqs.set_queue_attributes(QueueUrl=b, Attributes=policy(second))
    proc.kill()
    proc.restart()
    sqs = make_client(proc.url, "sqs")
    assert sources() == ([], [a, b])
    sqs.delete_queue(QueueUrl=a)
    assert sources() == ([], [b])


def test_move_task_back_to_source(sqs: Any, name: Any) -> None:
    source, dlq = with_dlq(sqs, name)
    for i in range(2):
        sqs.send_message(QueueUrl=source, MessageBody=str(i))
    sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10, VisibilityTimeout=0)
    assert "Messages" not in sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10, VisibilityTimeout=0)
    dlq_arn = arn_of(sqs, dlq)
    handle = sqs.start_message_move_task(SourceArn=dlq_arn)["TaskHandle"]
    task = finished_task(sqs, dlq_arn)
    assert task["Status"] == "COMPLETED"
    assert task["ApproximateNumberOfMessagesMoved"] == 2
    assert task["ApproximateNumberOfMessagesToMove"] == 2
    assert "TaskHandle" not in task
    got = sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10)["Messages"]
    assert sorted(m["Body"] for m in got) == ["0", "1"]
    err = error_of(sqs.cancel_message_move_task, TaskHandle=handle)
    assert (err["code"], err["status"]) == ("ResourceNotFoundException", 404)


def test_move_task_rate_and_cancel(sqs: Any, server: Any, name: Any) -> None:
    source, dlq = with_dlq(sqs, name)
    destination = sqs.create_queue(QueueName=name())["QueueUrl"]
    sqs.send_message_batch(
        QueueUrl=source, Entries=[{"Id": str(i), "MessageBody": str(i)} for i in range(10)]
    )
    sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10, VisibilityTimeout=0)
    assert "Messages" not in sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10)
    dlq_arn = arn_of(sqs, dlq)
    handle = sqs.start_message_move_task(
        SourceArn=dlq_arn, DestinationArn=arn_of(sqs, destination), MaxNumberOfMessagesPerSecond=1
    )["TaskHandle"]
    err = error_of(sqs.start_message_move_task, SourceArn=dlq_arn)
    assert err["message"] == (
        "There is already a task running. Only one active task is allowed for a source queue "
        "arn at a given time."
    )
    running = sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"][0]
    assert running["Status"] == "RUNNING" and running["TaskHandle"] == handle
    assert running["MaxNumberOfMessagesPerSecond"] == 1
    assert running["ApproximateNumberOfMessagesMoved"] < 10
    server.advance_clock(3)
    time.sleep(0.3)
    moved = sqs.cancel_message_move_task(TaskHandle=handle)["ApproximateNumberOfMessagesMoved"]
    assert 1 <= moved < 10
    after = sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"][0]
    assert after["Status"] == "CANCELLED" and "TaskHandle" not in after


def test_move_task_errors(sqs: Any, queue: str) -> None:
    err = error_of(sqs.start_message_move_task, SourceArn=arn_of(sqs, queue))
    assert (err["code"], err["message"]) == (
        "InvalidParameterValue",
        "Source queue must be configured as a Dead Letter Queue.",
    )
    err = error_of(sqs.start_message_move_task, SourceArn="arn:aws:sqs:us-east-1:000000000000:nope")
    assert err["message"] == "The resource that you specified for the SourceArn parameter doesn't exist."
    assert err["status"] == 404
    err = error_of(sqs.cancel_message_move_task, TaskHandle="not-a-handle")
    assert err["message"] == "Value for parameter TaskHandle is invalid."


def test_redrive_allow_policy_is_enforced(sqs: Any, name: Any) -> None:
    dlq = sqs.create_queue(QueueName=name())["QueueUrl"]
    dlq_arn = arn_of(sqs, dlq)
    allowed_name = name()
    allowed_arn = dlq_arn.rsplit(":", 1)[0] + ":" + allowed_name
    sqs.set_queue_attributes(
        QueueUrl=dlq,
        Attributes={
            "RedriveAllowPolicy": json.dumps(
                {"redrivePermission": "byQueue", "sourceQueueArns": [allowed_arn]}
            )
        },
    )
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})
    sqs.create_queue(QueueName=allowed_name, Attributes={"RedrivePolicy": policy})
    err = error_of(sqs.create_queue, QueueName=name(), Attributes={"RedrivePolicy": policy})
    assert err["code"] == "InvalidParameterValue"
    assert "does not allow this queue to use it as a dead-letter queue" in err["message"]
    sqs.set_queue_attributes(
        QueueUrl=dlq, Attributes={"RedriveAllowPolicy": json.dumps({"redrivePermission": "denyAll"})}
    )
    assert error_of(sqs.create_queue, QueueName=name(), Attributes={"RedrivePolicy": policy})["status"] == 400


def test_long_poll_wakes_when_a_fifo_group_unlocks(client: Any, sqs: Any, name: Any) -> None:
    import threading

    url = sqs.create_queue(
        QueueName=name(".fifo"), Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]
    for body in ("first", "second"):
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId="g")
    head = sqs.receive_message(QueueUrl=url, VisibilityTimeout=300)["Messages"][0]
    out: dict[str, Any] = {}
    poll = threading.Thread(
        target=lambda: out.update(client("sqs").receive_message(QueueUrl=url, WaitTimeSeconds=20))
    )
    poll.start()
    time.sleep(0.3)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=head["ReceiptHandle"])
    poll.join(10)
    assert not poll.is_alive()
    assert out["Messages"][0]["Body"] == "second"


def test_list_dead_letter_sources_paginates(sqs: Any, name: Any) -> None:
    dlq = sqs.create_queue(QueueName=name())["QueueUrl"]
    policy = json.dumps({"deadLetterTargetArn": arn_of(sqs, dlq), "maxReceiveCount": 2})
    prefix = name()
    sources = [
        sqs.create_queue(QueueName=f"{prefix}-{i}", Attributes={"RedrivePolicy": policy})["QueueUrl"]
        for i in range(3)
    ]
    first = sqs.list_dead_letter_source_queues(QueueUrl=dlq, MaxResults=2)
    assert first["queueUrls"] == sources[:2]
    rest = sqs.list_dead_letter_source_queues(QueueUrl=dlq, MaxResults=2, NextToken=first["NextToken"])
    assert rest["queueUrls"] == sources[2:] and "NextToken" not in rest


def test_move_task_fails_when_its_destination_goes(sqs: Any, server: Any, name: Any) -> None:
    source, dlq = with_dlq(sqs, name)
    destination = sqs.create_queue(QueueName=name())["QueueUrl"]
    sqs.send_message_batch(QueueUrl=source, Entries=[{"Id": str(i), "MessageBody": str(i)} for i in range(5)])
    sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10, VisibilityTimeout=0)
    assert "Messages" not in sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10)
    dlq_arn = arn_of(sqs, dlq)
    sqs.start_message_move_task(
        SourceArn=dlq_arn, DestinationArn=arn_of(sqs, destination), MaxNumberOfMessagesPerSecond=1
    )
    sqs.delete_queue(QueueUrl=destination)
    server.advance_clock(3)
    task = finished_task(sqs, dlq_arn)
    assert (task["Status"], task["FailureReason"]) == ("FAILED", "AWS.SimpleQueueService.NonExistentQueue")


def test_a_move_task_whose_steps_keep_failing_waits_longer_each_time(tmp_path: Any, monkeypatch: Any) -> None:
    """A disk that stays full: the pause before the next try doubles up to a minute (a warning a
    minute, not one a second), and a step that succeeds brings it back to a second."""
    import asyncio

    from gondwana.services.sqs import redrive
    from tests.support.inprocess import in_process

    outcomes = [OSError("disk full")] * 8 + [False, OSError("disk full"), True]  # True: finished
    pauses: list[float] = []
    real_sleep = asyncio.sleep

    def step(*args: Any) -> bool:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def recorded(delay: float) -> None:
        pauses.append(delay)
        await real_sleep(0)

    async def scenario(runtime: Any, sqs: Any) -> int:
        with runtime.store.transaction():
            runtime.store.execute(
                "INSERT INTO sqs_tasks (handle, account, region, source_arn, destination_arn, rate, "
                "status, started, moved, to_move) VALUES ('h', 'a', 'r', 's', NULL, NULL, 'RUNNING', 0, 0, 1)"
            )
        monkeypatch.setattr(sqs, "_move_some", step)
        monkeypatch.setattr(redrive.asyncio, "sleep", recorded)
        await asyncio.wait_for(sqs._run_task("h"), 5)
        return len(outcomes)

    assert in_process(tmp_path, "sqs", scenario) == 0
    assert pauses == [1, 2, 4, 8, 16, 32, 60, 60, 0, 1]  # (0: the next step of a task with no rate)


def test_a_backlog_to_move_goes_a_chunk_per_receive_and_a_long_poll_goes_through_it(
    sqs: Any, name: Any
) -> None:
    """Messages received before a RedrivePolicy lowered their limit: one receive moves at most
    MOVES_PER_RECEIVE of them (100,000 in one receive held up every request for 1.4 s), and a
    long poll moves on, at the loop's next turns, until it finds a message to deliver."""
    total = MOVES_PER_RECEIVE * 2 + 50
    dlq = sqs.create_queue(QueueName=name())["QueueUrl"]
    source = sqs.create_queue(QueueName=name())["QueueUrl"]
    for start in range(0, total, 10):
        entries = [{"Id": str(i), "MessageBody": f"m{start + i}"} for i in range(10)]
        sqs.send_message_batch(QueueUrl=source, Entries=entries)
    seen: set[str] = set()
    while len(seen) < total:  # each received once (and visible again at once)
        got = sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10, VisibilityTimeout=0)["Messages"]
        seen.update(m["MessageId"] for m in got)
    policy = json.dumps({"deadLetterTargetArn": arn_of(sqs, dlq), "maxReceiveCount": 1})
    sqs.set_queue_attributes(QueueUrl=source, Attributes={"RedrivePolicy": policy})

    def depth(url: str) -> int:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        return int(attributes["Attributes"]["ApproximateNumberOfMessages"])

    assert "Messages" not in sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10)
    assert (depth(dlq), depth(source)) == (MOVES_PER_RECEIVE, total - MOVES_PER_RECEIVE)
    assert "Messages" not in sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10)
    assert depth(dlq) == 2 * MOVES_PER_RECEIVE
    sqs.send_message(QueueUrl=source, MessageBody="fresh")
    got = sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10, WaitTimeSeconds=10)["Messages"]
    assert [m["Body"] for m in got] == ["fresh"]
    assert (depth(dlq), depth(source)) == (total, 0)
