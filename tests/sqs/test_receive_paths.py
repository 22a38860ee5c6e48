"""Standard receives take the front of the queue with one statement and deletes remove a batch
with one statement: what they pass over or mix must still come out as one message after another
would (expired and redriven messages, a zero visibility timeout, handles of several receives)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sqs.test_dead_letters import arn_of


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
