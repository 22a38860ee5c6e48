"""The in-flight quota: a standard queue with that many messages received and not deleted answers
a short poll with OverLimit; long polls and FIFO queues just find nothing. The quota is a server
flag here (AWS's is 120,000 and raisable on request), so a test can reach it with a few messages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import make_client
from tests.support.server import ServerProcess

QUOTA = 5


@pytest.fixture
def sqs(fresh_server: Callable[..., ServerProcess]) -> Any:
    proc = fresh_server("--sqs-max-inflight", str(QUOTA), in_memory=True)
    return make_client(proc.url, "sqs", config=Config(retries={"total_max_attempts": 1}))


def _fill(sqs: Any, url: str, count: int, **extra: Any) -> None:
    entries = [{"Id": str(i), "MessageBody": f"m{i}", **extra} for i in range(count)]
    sqs.send_message_batch(QueueUrl=url, Entries=entries)


def test_standard_queue_stops_at_the_quota(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="limited")["QueueUrl"]
    _fill(sqs, url, 8)
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert len(first) == QUOTA  # never more in flight than the quota
    with pytest.raises(ClientError) as over:
        sqs.receive_message(QueueUrl=url)
    error = over.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error["Error"]["Code"] == "OverLimit"
    assert error["Error"]["Message"].startswith("Too many messages have been received without being deleted.")
    # A long poll finds nothing (and waits its time out) instead of failing.
    assert "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)
    # Deleting two makes room for two more.
    for message in first[:2]:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    more = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert len(more) == 2
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (attrs["ApproximateNumberOfMessagesNotVisible"], attrs["ApproximateNumberOfMessages"]) == (
        "5",
        "1",
    )


def test_messages_whose_visibility_ends_leave_the_count(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="expiring")["QueueUrl"]
    _fill(sqs, url, QUOTA)
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert len(received) == QUOTA
    sqs.change_message_visibility(
        QueueUrl=url, ReceiptHandle=received[0]["ReceiptHandle"], VisibilityTimeout=0
    )
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in again] == [received[0]["Body"]]


def test_fifo_queue_at_the_quota_returns_nothing(sqs: Any) -> None:
    url = sqs.create_queue(
        QueueName="limited.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]
    for group in range(QUOTA + 2):
        sqs.send_message(QueueUrl=url, MessageBody=f"g{group}", MessageGroupId=f"g{group}")
    got = [sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] for _ in range(QUOTA)]
    assert got == [f"g{g}" for g in range(QUOTA)]
    assert "Messages" not in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)  # no error
