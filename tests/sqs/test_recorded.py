"""Answers recorded from real SQS (shared/aws-recorded/sqs/test_sqs.snapshot.json), over both
protocols where the recording has both."""

from __future__ import annotations

from typing import Any

import pytest

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


ATTRIBUTES = {"Help.Me": "Me", "Hello": "There", "General": "Kenobi"}
# test_receive_message_message_attribute_names_filters: names asked -> names answered (and digest).
FILTERS = [
    (["*"], {"General", "Hello", "Help.Me"}, "4c360f3fdafd970e05fae2f149d997f5"),
    ([".*"], {"General", "Hello", "Help.Me"}, "4c360f3fdafd970e05fae2f149d997f5"),
    (["He.*"], {"Hello", "Help.Me"}, "83fee93c1bcd8b9a5a923ffacdc636c7"),
    (["Hello", "General"], {"General", "Hello"}, "fca026605781cb4126a1e9044df24232"),
    (["Foo", "Hello"], {"Hello"}, "a311262e065454b75da111d535b8dacd"),
]


@pytest.mark.parametrize(("names", "expected", "digest"), FILTERS, ids=[" ".join(f[0]) for f in FILTERS])
def test_message_attribute_name_filters(
    sqs: Any, queue: str, names: list[str], expected: set[str], digest: str
) -> None:
    attributes = {k: {"DataType": "String", "StringValue": v} for k, v in ATTRIBUTES.items()}
    sqs.send_message(QueueUrl=queue, MessageBody="msg", MessageAttributes=attributes)
    message = sqs.receive_message(QueueUrl=queue, MessageAttributeNames=names)["Messages"][0]
    assert set(message["MessageAttributes"]) == expected
    assert message["MD5OfMessageAttributes"] == digest


@pytest.mark.parametrize(("names", "expected", "digest"), FILTERS[:3], ids=["*", ".*", "He.*"])
def test_message_attribute_name_filters_over_query(
    sqs: Any, queue: str, names: list[str], expected: set[str], digest: str
) -> None:
    attributes = {k: {"DataType": "String", "StringValue": v} for k, v in ATTRIBUTES.items()}
    sqs.send_message(QueueUrl=queue, MessageBody="msg", MessageAttributes=attributes)
    asked = {f"MessageAttributeName.{i + 1}": n for i, n in enumerate(names)}
    status, root = query(queue, "ReceiveMessage", **asked)
    assert status == 200
    message = root.find("q:ReceiveMessageResult/q:Message", NS)
    got = {node.find("q:Name", NS).text for node in message.findall("q:MessageAttribute", NS)}
    assert got == expected
    assert message.find("q:MD5OfMessageAttributes", NS).text == digest


def test_tag_untag_queue_over_query(server: Any, queue: str) -> None:
    # test_tag_untag_queue[sqs_query]: old clients send TagQueue's tags as Tag.N.Key / Tag.N.Value.
    def tags() -> dict[str, str]:
        status, root = query(queue, "ListQueueTags")
        assert status == 200
        nodes = root.findall("q:ListQueueTagsResult/q:Tag", NS)
        return {n.find("q:Key", NS).text: n.find("q:Value", NS).text or "" for n in nodes}

    pairs = [("tag1", "value1"), ("tag2", "value2"), ("tag3", "")]
    form: dict[str, str] = {}
    for i, (key, value) in enumerate(pairs, start=1):
        form[f"Tag.{i}.Key"], form[f"Tag.{i}.Value"] = key, value
    status, root = query(queue, "TagQueue", **form)
    assert status == 200, root
    assert tags() == {"tag1": "value1", "tag2": "value2", "tag3": ""}
    status, _ = query(queue, "UntagQueue", **{"TagKey.1": "tag1", "TagKey.2": "tag3"})
    assert status == 200
    assert tags() == {"tag2": "value2"}
    query(queue, "UntagQueue", **{"TagKey.1": "tag2"})
    status, root = query(queue, "ListQueueTags")
    assert status == 200 and root.find("q:ListQueueTagsResult/q:Tag", NS) is None
