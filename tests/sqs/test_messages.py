"""Messages on standard queues: digests, attributes, limits, delay, visibility, receipt handles, retention."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.sqs.conftest import error_of


def test_digests_match_aws(sqs: Any, queue: str) -> None:
    # Values recorded from AWS for these exact inputs.
    sent = sqs.send_message(
        QueueUrl=queue,
        MessageBody="msg",
        MessageAttributes={"Foo": {"DataType": "String", "StringValue": "Bar"}},
    )
    assert sent["MD5OfMessageBody"] == "6e2baaf3b97dbeef01c0043275f9a0e7"
    assert sent["MD5OfMessageAttributes"] == "ae7155c6026991b6d54b11589678bf9c"
    got = sqs.receive_message(QueueUrl=queue, MessageAttributeNames=["All"])["Messages"][0]
    assert got["MD5OfBody"] == "6e2baaf3b97dbeef01c0043275f9a0e7"
    assert got["MD5OfMessageAttributes"] == "ae7155c6026991b6d54b11589678bf9c"
    assert got["MessageAttributes"] == {"Foo": {"DataType": "String", "StringValue": "Bar"}}


def test_binary_and_number_attributes(sqs: Any, queue: str) -> None:
    value = b"traceparent\x1e00-774062d6c37081a5a0b9b5b88e30627c-2d2482211f6489da-01"
    attributes = {
        "attr1": {"DataType": "Binary", "BinaryValue": value},
        "n": {"DataType": "Number.int", "StringValue": "42"},
        "s": {"DataType": "String.custom", "StringValue": "é"},
    }
    sent = sqs.send_message(QueueUrl=queue, MessageBody="test", MessageAttributes=attributes)
    got = sqs.receive_message(QueueUrl=queue, MessageAttributeNames=["All"])["Messages"][0]
    assert got["MessageAttributes"] == attributes
    assert got["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]


def test_binary_only_digest_matches_aws(sqs: Any, queue: str) -> None:
    value = b"traceparent\x1e00-774062d6c37081a5a0b9b5b88e30627c-2d2482211f6489da-01"
    sent = sqs.send_message(
        QueueUrl=queue,
        MessageBody="test",
        MessageAttributes={"attr1": {"DataType": "Binary", "BinaryValue": value}},
    )
    assert sent["MD5OfMessageAttributes"] == "8cbe4db156db8a94db8b801b7addb984"


def test_attribute_name_filters(sqs: Any, queue: str) -> None:
    attributes = {n: {"DataType": "String", "StringValue": n} for n in ("a.x", "a.y", "b")}
    sqs.send_message(QueueUrl=queue, MessageBody="m", MessageAttributes=attributes)

    def receive(names: list[str]) -> set[str]:
        msg = sqs.receive_message(QueueUrl=queue, MessageAttributeNames=names, VisibilityTimeout=0)[
            "Messages"
        ][0]
        return set(msg.get("MessageAttributes", {}))

    assert receive(["All"]) == {"a.x", "a.y", "b"}
    assert receive([".*"]) == {"a.x", "a.y", "b"}
    assert receive(["a.*"]) == {"a.x", "a.y"}
    assert receive(["b", "zzz"]) == {"b"}
    assert receive([]) == set()


def test_system_attributes(sqs: Any, queue: str) -> None:
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    sqs.send_message(
        QueueUrl=queue,
        MessageBody="m",
        MessageSystemAttributes={"AWSTraceHeader": {"DataType": "String", "StringValue": trace}},
    )
    msg = sqs.receive_message(QueueUrl=queue, AttributeNames=["All"], VisibilityTimeout=0)["Messages"][0]
    attrs = msg["Attributes"]
    assert set(attrs) == {
        "SenderId",
        "SentTimestamp",
        "ApproximateReceiveCount",
        "ApproximateFirstReceiveTimestamp",
        "AWSTraceHeader",
    }
    assert attrs["AWSTraceHeader"] == trace
    assert len(attrs["SentTimestamp"]) == 13  # milliseconds
    first = attrs["ApproximateFirstReceiveTimestamp"]
    again = sqs.receive_message(
        QueueUrl=queue,
        MessageSystemAttributeNames=["ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp"],
    )["Messages"][0]["Attributes"]
    assert again == {"ApproximateReceiveCount": "2", "ApproximateFirstReceiveTimestamp": first}


def test_body_rules(sqs: Any, loose: Any, queue: str) -> None:
    err = error_of(loose.send_message, QueueUrl=queue, MessageBody="")
    assert (err["code"], err["message"]) == (
        "MissingParameter",
        "The request must contain the parameter MessageBody.",
    )
    err = error_of(sqs.send_message, QueueUrl=queue, MessageBody="bad \x01 char")
    assert err["code"] == "InvalidMessageContents"
    assert err["status"] == 400
    ok = "tab\t nl\n cr\r \ud7ff \ue000 \U0001f600"
    sqs.send_message(QueueUrl=queue, MessageBody=ok)
    assert sqs.receive_message(QueueUrl=queue)["Messages"][0]["Body"] == ok


def test_size_limits(sqs: Any, queue: str) -> None:
    sqs.send_message(QueueUrl=queue, MessageBody="x" * 1_048_576)
    err = error_of(sqs.send_message, QueueUrl=queue, MessageBody="x" * 1_048_577)
    assert (
        err["message"]
        == "One or more parameters are invalid. Reason: Message must be shorter than 1048576 bytes."
    )
    sqs.set_queue_attributes(QueueUrl=queue, Attributes={"MaximumMessageSize": "1024"})
    err = error_of(
        sqs.send_message,
        QueueUrl=queue,
        MessageBody="x" * 1020,
        MessageAttributes={"k": {"DataType": "String", "StringValue": "vvvvv"}},
    )
    assert (
        err["message"]
        == "One or more parameters are invalid. Reason: Message must be shorter than 1024 bytes."
    )
    assert (
        sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"])[
            "Attributes"
        ]["ApproximateNumberOfMessages"]
        == "1"
    )


@pytest.mark.parametrize(
    "attributes, fragment",
    [
        (
            {"ErrorDetails": {"DataType": "String", "StringValue": ""}},
            "Message (user) attribute 'ErrorDetails' must contain a non-empty value of type 'String'.",
        ),
        ({"n": {"DataType": "Number", "StringValue": "abc"}}, "Could not cast"),
        ({"t": {"DataType": "Weird", "StringValue": "x"}}, "supported type prefixes"),
        ({"AWS.x": {"DataType": "String", "StringValue": "x"}}, "reserved"),
        (
            {f"a{i}": {"DataType": "String", "StringValue": "x"} for i in range(11)},
            "exceeds the allowed maximum [10]",
        ),
    ],
)
def test_bad_attributes(loose: Any, queue: str, attributes: dict[str, Any], fragment: str) -> None:
    err = error_of(loose.send_message, QueueUrl=queue, MessageBody="x", MessageAttributes=attributes)
    assert err["code"] == "InvalidParameterValue"
    assert fragment in err["message"]


def test_receive_parameter_errors(sqs: Any, loose: Any, queue: str) -> None:
    err = error_of(sqs.receive_message, QueueUrl=queue, MaxNumberOfMessages=11)
    assert (
        err["message"] == "Value 11 for parameter MaxNumberOfMessages is invalid. Reason: Must be between "
        "1 and 10, if provided."
    )
    err = error_of(sqs.receive_message, QueueUrl=queue, WaitTimeSeconds=21)
    assert (
        err["message"]
        == "Value 21 for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided."
    )
    err = error_of(loose.receive_message, QueueUrl=queue, WaitTimeSeconds=-1)
    assert (
        err["message"]
        == "Value -1 for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided."
    )


def test_delay(sqs: Any, server: Any, queue: str, name: Any) -> None:
    sqs.send_message(QueueUrl=queue, MessageBody="later", DelaySeconds=600)
    assert "Messages" not in sqs.receive_message(QueueUrl=queue)
    attrs = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessagesDelayed"] == "1"
    err = error_of(sqs.send_message, QueueUrl=queue, MessageBody="x", DelaySeconds=901)
    assert err["code"] == "InvalidParameterValue"
    delayed = sqs.create_queue(QueueName=name(), Attributes={"DelaySeconds": "700"})["QueueUrl"]
    sqs.send_message(QueueUrl=delayed, MessageBody="queue delay")
    sqs.send_message(QueueUrl=delayed, MessageBody="no delay", DelaySeconds=0)
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=delayed, MaxNumberOfMessages=10)["Messages"]] == [
        "no delay"
    ]


def test_visibility_and_receipt_handles(sqs: Any, queue: str) -> None:
    sqs.send_message(QueueUrl=queue, MessageBody="m")
    first = sqs.receive_message(QueueUrl=queue, VisibilityTimeout=0)["Messages"][0]
    second = sqs.receive_message(QueueUrl=queue, VisibilityTimeout=60)["Messages"][0]
    assert first["ReceiptHandle"] != second["ReceiptHandle"]
    assert first["MessageId"] == second["MessageId"]
    assert "Messages" not in sqs.receive_message(QueueUrl=queue)
    attrs = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessagesNotVisible"] == "1"
    sqs.delete_message(
        QueueUrl=queue, ReceiptHandle=first["ReceiptHandle"]
    )  # outdated: accepted, not deleted
    sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=second["ReceiptHandle"], VisibilityTimeout=0)
    third = sqs.receive_message(QueueUrl=queue)["Messages"][0]
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=third["ReceiptHandle"])
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=third["ReceiptHandle"])  # twice is fine
    assert "Messages" not in sqs.receive_message(QueueUrl=queue, VisibilityTimeout=0)


def test_visibility_expires_with_the_clock(sqs: Any, server: Any, queue: str) -> None:
    sqs.send_message(QueueUrl=queue, MessageBody="m")
    handle = sqs.receive_message(QueueUrl=queue, VisibilityTimeout=100)["Messages"][0]["ReceiptHandle"]
    server.advance_clock(101)
    # After its timeout a standard message's handle still deletes it.
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=handle)
    assert "Messages" not in sqs.receive_message(QueueUrl=queue)


def test_invalid_receipt_handle(sqs: Any, queue: str) -> None:
    err = error_of(sqs.delete_message, QueueUrl=queue, ReceiptHandle="garbage")
    assert err["code"] == "ReceiptHandleIsInvalid"
    assert err["message"] == 'The input receipt handle "garbage" is not a valid receipt handle.'
    err = error_of(
        sqs.change_message_visibility, QueueUrl=queue, ReceiptHandle="garbage", VisibilityTimeout=1
    )
    assert err["code"] == "ReceiptHandleIsInvalid"


def test_change_visibility_limits(sqs: Any, server: Any, queue: str) -> None:
    sqs.send_message(QueueUrl=queue, MessageBody="m")
    handle = sqs.receive_message(QueueUrl=queue, VisibilityTimeout=43_000)["Messages"][0]["ReceiptHandle"]
    server.advance_clock(1000)
    err = error_of(
        sqs.change_message_visibility, QueueUrl=queue, ReceiptHandle=handle, VisibilityTimeout=43_000
    )
    assert err["message"] == (
        "Value 43000 for parameter VisibilityTimeout is invalid. Reason: Total "
        "VisibilityTimeout for the message "
        "is beyond the limit [43200 seconds]"
    )
    sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=handle, VisibilityTimeout=42_000)
    err = error_of(
        sqs.change_message_visibility, QueueUrl=queue, ReceiptHandle=handle, VisibilityTimeout=43_201
    )
    assert err["code"] == "InvalidParameterValue"


def test_retention(sqs: Any, server: Any, name: Any) -> None:
    url = sqs.create_queue(QueueName=name(), Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="old")
    server.advance_clock(61)
    sqs.send_message(QueueUrl=url, MessageBody="new")
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]] == [
        "new"
    ]
    assert (
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"][
            "ApproximateNumberOfMessagesNotVisible"
        ]
        == "1"
    )


def test_a_message_past_retention_is_gone_to_handle_calls(sqs: Any, server: Any, name: Any) -> None:
    """Found by a random model campaign: before the sweep deleted it, a message past its retention
    period still took a visibility change (standard) and refused a delete (FIFO)."""
    url = sqs.create_queue(QueueName=name(), Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="old")
    handle = sqs.receive_message(QueueUrl=url, VisibilityTimeout=600)["Messages"][0]["ReceiptHandle"]
    server.advance_clock(61)
    err = error_of(sqs.change_message_visibility, QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
    assert (err["code"], err["message"]) == (
        "InvalidParameterValue",
        f"Value {handle} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not "
        "available for visibility timeout change.",
    )
    batch = sqs.change_message_visibility_batch(
        QueueUrl=url, Entries=[{"Id": "a", "ReceiptHandle": handle, "VisibilityTimeout": 0}]
    )
    assert [f["Code"] for f in batch["Failed"]] == ["InvalidParameterValue"]

    fifo = sqs.create_queue(
        QueueName=name() + ".fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true", "MessageRetentionPeriod": "60"},
    )["QueueUrl"]
    sqs.send_message(QueueUrl=fifo, MessageBody="old", MessageGroupId="g")
    handle = sqs.receive_message(QueueUrl=fifo, VisibilityTimeout=0)["Messages"][0]["ReceiptHandle"]
    server.advance_clock(61)  # visible again and past retention: gone, so deleting it is fine
    sqs.delete_message(QueueUrl=fifo, ReceiptHandle=handle)
    assert sqs.receive_message(QueueUrl=fifo).get("Messages") is None


def test_receive_up_to_ten(sqs: Any, queue: str) -> None:
    for i in range(15):
        sqs.send_message(QueueUrl=queue, MessageBody=str(i))
    got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    assert len(got) == 10
    rest = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    assert len(rest) == 5
    assert {m["Body"] for m in got + rest} == {str(i) for i in range(15)}


def test_malformed_attributes_are_parameter_errors(loose: Any, queue: str) -> None:
    err = error_of(
        loose.send_message, QueueUrl=queue, MessageBody="x", MessageAttributes={"k": {"StringValue": "v"}}
    )
    assert (err["code"], err["message"]) == (
        "InvalidParameterValue",
        "The message attribute 'k' must contain non-empty message attribute type.",
    )
    err = error_of(
        loose.send_message,
        QueueUrl=queue,
        MessageBody="x",
        MessageSystemAttributes={"Other": {"DataType": "String", "StringValue": "v"}},
    )
    assert (err["code"], err["message"]) == (
        "InvalidParameterValue",
        "Message system attribute name 'Other' is invalid.",
    )


def _visible(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def test_counters_drop_each_message_as_it_expires(sqs: Any, server: Any, name: Any) -> None:
    """The counters' retention sweep runs only once the oldest message may have expired; each
    message still leaves the counters when its own retention ends."""
    url = sqs.create_queue(QueueName=name(), Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="first")
    assert _visible(sqs, url) == 1
    server.advance_clock(30)
    sqs.send_message(QueueUrl=url, MessageBody="second")
    assert _visible(sqs, url) == 2
    server.advance_clock(31)
    assert _visible(sqs, url) == 1
    server.advance_clock(30)
    assert _visible(sqs, url) == 0


def test_a_message_moved_with_its_age_expires_on_time_in_the_dead_letter_queue(
    sqs: Any, server: Any, name: Any
) -> None:
    """A standard dead-letter queue keeps a message's age: one that arrives older than everything
    the queue held still expires by its first send."""
    dlq = sqs.create_queue(QueueName=name(), Attributes={"MessageRetentionPeriod": "120"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 1})
    source = sqs.create_queue(QueueName=name(), Attributes={"RedrivePolicy": policy})["QueueUrl"]
    sqs.send_message(QueueUrl=source, MessageBody="aging")
    server.advance_clock(100)
    sqs.send_message(QueueUrl=dlq, MessageBody="young")
    assert _visible(sqs, dlq) == 1  # the sweep learns that nothing in it is older than "young"
    sqs.receive_message(QueueUrl=source, VisibilityTimeout=0)
    assert sqs.receive_message(QueueUrl=source).get("Messages", []) == []  # moved to the DLQ
    assert _visible(sqs, dlq) == 2
    server.advance_clock(21)  # "aging" is 121 s old, "young" 21 s
    assert _visible(sqs, dlq) == 1
