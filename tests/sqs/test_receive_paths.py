"""Standard receives take the front of the queue with one statement and deletes remove a batch
with one statement: what they pass over or mix must still come out as one message after another
would (expired and redriven messages, a zero visibility timeout, handles of several receives)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sqs.conftest import finished_task
from tests.sqs.test_dead_letters import arn_of, with_dlq


def _count(sqs: Any, url: str, attribute: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[attribute])["Attributes"][attribute]


@pytest.mark.parametrize("all_attributes", [False, True])
def test_batch_receive_drops_expired_and_redrives_what_it_passes_over(
    sqs: Any, server: Any, name: Any, all_attributes: bool
) -> None:
    dlq = sqs.create_queue(QueueName=name("-dlq"))["QueueUrl"]
    policy = f'{{"deadLetterTargetArn":"{arn_of(sqs, dlq)}","maxReceiveCount":"1"}}'
    source = sqs.create_queue(
        QueueName=name(), Attributes={"MessageRetentionPeriod": "60", "RedrivePolicy": policy}
    )["QueueUrl"]
    for body in ("a", "b"):
        sqs.send_message(QueueUrl=source, MessageBody=body)
    server.advance_clock(30)
    for body in ("c", "d"):
        sqs.send_message(QueueUrl=source, MessageBody=body)
    first = sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10, VisibilityTimeout=0)["Messages"]
    assert sorted(m["Body"] for m in first) == ["a", "b", "c", "d"]
    server.advance_clock(31)  # a and b are past retention; c and d were received their maximum
    for body in ("e", "f"):
        sqs.send_message(QueueUrl=source, MessageBody=body)
    extra = {"AttributeNames": ["All"]} if all_attributes else {}
    got = sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10, VisibilityTimeout=0, **extra)[
        "Messages"
    ]
    assert sorted(m["Body"] for m in got) == ["e", "f"]  # each once, though still visible
    if all_attributes:
        assert {m["Attributes"]["ApproximateReceiveCount"] for m in got} == {"1"}
    moved = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10)["Messages"]
    assert sorted(m["Body"] for m in moved) == ["c", "d"]
    assert _count(sqs, source, "ApproximateNumberOfMessages") == "2"
    # Received their maximum in turn: the next receive moves them on, passing nothing back.
    assert "Messages" not in sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10)
    moved = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10)["Messages"]
    assert sorted(m["Body"] for m in moved) == ["e", "f"]
    assert _count(sqs, source, "ApproximateNumberOfMessages") == "0"


def test_delete_batch_of_handles_from_several_receives(sqs: Any, server: Any, queue: str) -> None:
    sqs.send_message_batch(QueueUrl=queue, Entries=[{"Id": b, "MessageBody": b} for b in "mn"])
    old = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, VisibilityTimeout=5)["Messages"]
    server.advance_clock(6)
    new = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, VisibilityTimeout=60)["Messages"]
    sqs.send_message_batch(QueueUrl=queue, Entries=[{"Id": b, "MessageBody": b} for b in "pqr"])
    later = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, VisibilityTimeout=60)["Messages"]
    by_body = {m["Body"]: m["ReceiptHandle"] for m in new + later}
    outdated = {m["Body"]: m["ReceiptHandle"] for m in old}
    entries = [
        ("0", outdated["m"]),  # outdated: accepted, deletes nothing
        ("1", by_body["n"]),
        ("2", by_body["p"]),
        ("3", outdated["n"]),  # the same message again, under its old token
        ("4", by_body["q"]),
    ]
    result = sqs.delete_message_batch(
        QueueUrl=queue, Entries=[{"Id": i, "ReceiptHandle": h} for i, h in entries]
    )
    assert sorted(e["Id"] for e in result["Successful"]) == ["0", "1", "2", "3", "4"]
    assert result["Failed"] == []
    # Distinct messages under their own tokens, one of them outdated; and one bad handle.
    result = sqs.delete_message_batch(
        QueueUrl=queue,
        Entries=[
            {"Id": "a", "ReceiptHandle": outdated["m"]},
            {"Id": "b", "ReceiptHandle": by_body["r"]},
            {"Id": "c", "ReceiptHandle": "not-a-handle"},
        ],
    )
    assert [e["Id"] for e in result["Successful"]] == ["a", "b"]
    assert [(e["Id"], e["Code"]) for e in result["Failed"]] == [("c", "ReceiptHandleIsInvalid")]
    server.advance_clock(61)
    left = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in left] == ["m"]


def _first_receive(sqs: Any, url: str, **extra: Any) -> tuple[int, int, str]:
    """(SentTimestamp, ApproximateFirstReceiveTimestamp, ApproximateReceiveCount) of the next message."""
    msg = sqs.receive_message(QueueUrl=url, AttributeNames=["All"], VisibilityTimeout=0, **extra)["Messages"][
        0
    ]
    attrs = msg["Attributes"]
    return (
        int(attrs["SentTimestamp"]),
        int(attrs["ApproximateFirstReceiveTimestamp"]),
        attrs["ApproximateReceiveCount"],
    )


@pytest.mark.parametrize("fifo", [False, True])
def test_first_receive_timestamp_is_the_first_receive(sqs: Any, server: Any, name: Any, fifo: bool) -> None:
    """Messages are stored with the receive-time columns filled in ahead (same-size rows): the
    first receive must still set ApproximateFirstReceiveTimestamp, and later ones keep it."""
    attributes = {"FifoQueue": "true", "ContentBasedDeduplication": "true"} if fifo else {}
    url = sqs.create_queue(QueueName=name(".fifo" if fifo else ""), Attributes=attributes)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="m", **({"MessageGroupId": "g"} if fifo else {}))
    server.advance_clock(100)
    sent, first, count = _first_receive(sqs, url)
    assert count == "1"
    assert first - sent >= 100_000  # the receive's time, not the send's
    server.advance_clock(100)
    sent_again, first_again, count = _first_receive(sqs, url)
    assert (sent_again, first_again, count) == (sent, first, "2")


def test_first_receive_of_a_message_moved_back(sqs: Any, server: Any, name: Any) -> None:
    """A message a move task puts back is stored like a new one (receive count 0): its next
    receive is its first."""
    source, dlq = with_dlq(sqs, name)
    sqs.send_message(QueueUrl=source, MessageBody="m")
    sqs.receive_message(QueueUrl=source, VisibilityTimeout=0)
    assert "Messages" not in sqs.receive_message(QueueUrl=source)  # moved to the dead-letter queue
    dlq_arn = arn_of(sqs, dlq)
    sqs.start_message_move_task(SourceArn=dlq_arn)
    assert finished_task(sqs, dlq_arn)["Status"] == "COMPLETED"
    server.advance_clock(100)
    sent, first, count = _first_receive(sqs, source)
    assert count == "1"
    assert first - sent >= 100_000
