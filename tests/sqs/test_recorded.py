"""Answers recorded from real SQS (shared/aws-recorded/sqs/test_sqs.snapshot.json), over both
protocols where the recording has both."""

from __future__ import annotations

from typing import Any

from tests.sqs.conftest import NS, error_of, query

UNKNOWN_FIFO = "Unknown Attribute FifoQueue."


def test_standard_queue_refuses_fifo_queue_false(sqs: Any, name: Any) -> None:
    # test_create_standard_queue_with_fifo_attribute_raises_error / invalid-attribute-fifo-queue:
    # a standard queue does not know FifoQueue at all, not even set to "false".
    err = error_of(sqs.create_queue, QueueName=name(), Attributes={"FifoQueue": "false"})
    assert (err["code"], err["type"], err["message"], err["status"]) == (
        "InvalidAttributeName",
        "InvalidAttributeName",
        UNKNOWN_FIFO,
        400,
    )


def test_standard_queue_refuses_fifo_queue_false_over_query(server: Any, name: Any) -> None:
    queue_name = name()
    status, root = query(
        server.url,
        "CreateQueue",
        QueueName=queue_name,
        **{"Attribute.1.Name": "FifoQueue", "Attribute.1.Value": "false"},
    )
    assert status == 400
    assert root.find("q:Error/q:Code", NS).text == "InvalidAttributeName"
    assert root.find("q:Error/q:Type", NS).text == "Sender"
    assert root.find("q:Error/q:Message", NS).text == UNKNOWN_FIFO
    status, _ = query(server.url, "GetQueueUrl", QueueName=queue_name)
    assert status == 400  # nothing was created
