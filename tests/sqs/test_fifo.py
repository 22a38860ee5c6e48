"""FIFO queues: groups, ordering and locking, deduplication, attempt ids, sequence numbers."""

from __future__ import annotations

import json
from typing import Any

from tests.sqs.conftest import error_of


def bodies(response: dict[str, Any]) -> list[str]:
    return [m["Body"] for m in response.get("Messages", [])]


def fifo_entries(count: int) -> list[dict[str, str]]:
    """Batch entries m0.. in two groups (g0, g1), deduplication ids d0.."""
    return [
        {
            "Id": str(i),
            "MessageBody": f"m{i}",
            "MessageGroupId": f"g{i % 2}",
            "MessageDeduplicationId": f"d{i}",
        }
        for i in range(count)
    ]


def make_fifo(sqs: Any, name: Any, **attributes: str) -> str:
    return sqs.create_queue(QueueName=name(".fifo"), Attributes={"FifoQueue": "true", **attributes})[
        "QueueUrl"
    ]


def test_required_parameters(sqs: Any, fifo: str) -> None:
    err = error_of(sqs.send_message, QueueUrl=fifo, MessageBody="x", MessageDeduplicationId="d")
    assert (err["code"], err["type"]) == ("MissingParameter", "MissingRequiredParameterException")
    assert err["message"] == "The request must contain the parameter MessageGroupId."
    err = error_of(sqs.send_message, QueueUrl=fifo, MessageBody="x", MessageGroupId="g")
    assert (err["code"], err["type"]) == ("InvalidParameterValue", "InvalidParameterValueException")
    assert err["message"] == (
        "The queue should either have ContentBasedDeduplication enabled or "
        "MessageDeduplicationId provided explicitly"
    )
    err = error_of(
        sqs.send_message,
        QueueUrl=fifo,
        MessageBody="x",
        MessageGroupId="g",
        MessageDeduplicationId="d",
        DelaySeconds=2,
    )
    assert err["message"] == (
        "Value 2 for parameter DelaySeconds is invalid. Reason: The request include parameter "
        "that is not valid for this queue type."
    )
    for bad in ("", "a" * 129, "group 123"):
        err = error_of(
            sqs.send_message, QueueUrl=fifo, MessageBody="x", MessageGroupId=bad, MessageDeduplicationId="d"
        )
        assert err["message"] == (
            f"Value {bad} for parameter MessageGroupId is invalid. Reason: MessageGroupId can "
            "only include alphanumeric and punctuation characters. 1 to 128 in length."
        )


def test_batch_missing_group_rejects_whole_batch(sqs: Any, fifo: str) -> None:
    err = error_of(
        sqs.send_message_batch,
        QueueUrl=fifo,
        Entries=[
            {"Id": "a", "MessageBody": "a", "MessageGroupId": "g", "MessageDeduplicationId": "a"},
            {"Id": "b", "MessageBody": "b", "MessageDeduplicationId": "b"},
        ],
    )
    assert (err["code"], err["message"]) == (
        "InvalidParameterValue",
        "The request must contain the parameter MessageGroupId.",
    )
    assert "Messages" not in sqs.receive_message(QueueUrl=fifo)


def test_order_and_group_locking(sqs: Any, name: Any) -> None:
    url = make_fifo(sqs, name, ContentBasedDeduplication="true")
    for i in range(4):
        sqs.send_message(QueueUrl=url, MessageBody=f"a{i}", MessageGroupId="A")
        sqs.send_message(QueueUrl=url, MessageBody=f"b{i}", MessageGroupId="B")
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=3, VisibilityTimeout=60)
    assert bodies(first) == ["a0", "a1", "a2"]
    # Group A is locked while a0..a2 are in flight: the next receive serves group B, then A's tail is blocked.
    second = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60)
    assert bodies(second) == ["b0", "b1", "b2", "b3"]
    assert bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)) == []
    sqs.delete_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(first["Messages"])
        ],
    )
    assert bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)) == ["a3"]


def test_partially_visible_group_serves_its_head_in_order(sqs: Any, name: Any) -> None:
    url = make_fifo(sqs, name, ContentBasedDeduplication="true")
    for body in ("foo", "bar", "baz"):
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId="g")
    msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60)["Messages"]
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=msgs[0]["ReceiptHandle"], VisibilityTimeout=0)
    assert bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)) == ["foo"]


def test_deduplication_survives_delete_and_expires(sqs: Any, server: Any, name: Any) -> None:
    url = make_fifo(sqs, name)
    first = sqs.send_message(QueueUrl=url, MessageBody="m", MessageGroupId="g", MessageDeduplicationId="d1")
    again = sqs.send_message(
        QueueUrl=url, MessageBody="other", MessageGroupId="g2", MessageDeduplicationId="d1"
    )
    assert again["MessageId"] == first["MessageId"]
    assert again["SequenceNumber"] == first["SequenceNumber"]
    msg = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert bodies({"Messages": msg}) == ["m"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=msg[0]["ReceiptHandle"])
    sqs.send_message(QueueUrl=url, MessageBody="m", MessageGroupId="g", MessageDeduplicationId="d1")
    assert bodies(sqs.receive_message(QueueUrl=url)) == []
    server.advance_clock(301)
    sqs.send_message(QueueUrl=url, MessageBody="m", MessageGroupId="g", MessageDeduplicationId="d1")
    assert bodies(sqs.receive_message(QueueUrl=url)) == ["m"]


def test_content_based_deduplication(sqs: Any, name: Any) -> None:
    url = make_fifo(sqs, name, ContentBasedDeduplication="true")
    sqs.send_message(
        QueueUrl=url,
        MessageBody="same",
        MessageGroupId="g",
        MessageAttributes={"a": {"DataType": "String", "StringValue": "1"}},
    )
    sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="g")  # attributes do not count
    sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="g", MessageDeduplicationId="explicit")
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    assert len(got) == 2
    import hashlib

    assert got[0]["Attributes"]["MessageDeduplicationId"] == hashlib.sha256(b"same").hexdigest()
    assert got[1]["Attributes"]["MessageDeduplicationId"] == "explicit"


def test_deduplication_scope_message_group(sqs: Any, name: Any) -> None:
    url = make_fifo(sqs, name, DeduplicationScope="messageGroup", FifoThroughputLimit="perMessageGroupId")
    sqs.send_message(QueueUrl=url, MessageBody="Test1", MessageGroupId="g1", MessageDeduplicationId="same")
    sqs.send_message(QueueUrl=url, MessageBody="Test2", MessageGroupId="g2", MessageDeduplicationId="same")
    sqs.send_message(QueueUrl=url, MessageBody="Test3", MessageGroupId="g2", MessageDeduplicationId="same")
    assert bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)) == ["Test1", "Test2"]


def test_sequence_numbers_and_system_attributes(sqs: Any, name: Any) -> None:
    url = make_fifo(sqs, name)
    numbers = [
        int(
            sqs.send_message(
                QueueUrl=url, MessageBody=str(i), MessageGroupId="g", MessageDeduplicationId=str(i)
            )["SequenceNumber"]
        )
        for i in range(3)
    ]
    assert numbers == sorted(numbers) and len(set(numbers)) == 3 and numbers[0] > 2**64 // 2
    msg = sqs.receive_message(QueueUrl=url, AttributeNames=["All"])["Messages"][0]
    attrs = msg["Attributes"]
    assert attrs["SequenceNumber"] == str(numbers[0])
    assert (attrs["MessageGroupId"], attrs["MessageDeduplicationId"]) == ("g", "0")


def test_batch_enqueues_in_order(sqs: Any, name: Any) -> None:
    url = make_fifo(sqs, name, ContentBasedDeduplication="true")
    sqs.send_message_batch(
        QueueUrl=url,
        Entries=[{"Id": str(i), "MessageBody": f"m{i}", "MessageGroupId": "g"} for i in range(10)],
    )
    assert bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)) == [f"m{i}" for i in range(10)]


def test_receive_request_attempt_id(sqs: Any, server: Any, name: Any) -> None:
    url = make_fifo(sqs, name, ContentBasedDeduplication="true")
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{i}", MessageGroupId=f"g{i}")
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, ReceiveRequestAttemptId="try-1")[
        "Messages"
    ]
    replay = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, ReceiveRequestAttemptId="try-1")[
        "Messages"
    ]
    assert [(m["Body"], m["ReceiptHandle"]) for m in replay] == [
        (m["Body"], m["ReceiptHandle"]) for m in first
    ]
    other = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, ReceiveRequestAttemptId="try-2")
    assert bodies(other) == ["m2"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"])
    # A message of the attempt changed: the attempt id no longer replays.
    assert (
        bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, ReceiveRequestAttemptId="try-1"))
        == []
    )


def test_expired_receipt_handle(sqs: Any, server: Any, name: Any) -> None:
    url = make_fifo(sqs, name, ContentBasedDeduplication="true")
    sqs.send_message(QueueUrl=url, MessageBody="foobar", MessageGroupId="g")
    handle = sqs.receive_message(QueueUrl=url, VisibilityTimeout=5)["Messages"][0]["ReceiptHandle"]
    server.advance_clock(6)
    err = error_of(sqs.delete_message, QueueUrl=url, ReceiptHandle=handle)
    assert (
        err["message"]
        == f"Value {handle} for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired."
    )


def test_queue_delay_applies(sqs: Any, server: Any, name: Any) -> None:
    url = make_fifo(sqs, name, ContentBasedDeduplication="true", DelaySeconds="100")
    sent = sqs.send_message(QueueUrl=url, MessageBody="message-1", MessageGroupId="g", DelaySeconds=0)
    assert "SequenceNumber" in sent
    assert bodies(sqs.receive_message(QueueUrl=url)) == []
    server.advance_clock(101)
    assert bodies(sqs.receive_message(QueueUrl=url)) == ["message-1"]


def test_standard_queue_rejects_dedup_id_but_takes_group(sqs: Any, queue: str) -> None:
    err = error_of(sqs.send_message, QueueUrl=queue, MessageBody="x", MessageDeduplicationId="d")
    assert err["code"] == "InvalidParameterValue"
    sqs.send_message(QueueUrl=queue, MessageBody="fair", MessageGroupId="tenant")
    attrs = sqs.receive_message(QueueUrl=queue, AttributeNames=["All"])["Messages"][0]["Attributes"]
    assert attrs["MessageGroupId"] == "tenant"


def test_changing_deduplication_scope(sqs: Any, name: Any) -> None:
    url = make_fifo(sqs, name)
    sqs.send_message(QueueUrl=url, MessageBody="Test1", MessageGroupId="g1", MessageDeduplicationId="d")
    sqs.send_message(QueueUrl=url, MessageBody="Test2", MessageGroupId="g2", MessageDeduplicationId="d")
    assert bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)) == ["Test1"]
    sqs.set_queue_attributes(
        QueueUrl=url,
        Attributes={"DeduplicationScope": "messageGroup", "FifoThroughputLimit": "perMessageGroupId"},
    )
    # Ids recorded queue-wide still count once the scope is per group.
    sqs.send_message(QueueUrl=url, MessageBody="Test3", MessageGroupId="g3", MessageDeduplicationId="d")
    sqs.send_message(QueueUrl=url, MessageBody="Test4", MessageGroupId="g3", MessageDeduplicationId="d2")
    sqs.send_message(QueueUrl=url, MessageBody="Test5", MessageGroupId="g3", MessageDeduplicationId="d2")
    assert bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)) == ["Test1", "Test4"]
    sqs.set_queue_attributes(
        QueueUrl=url, Attributes={"DeduplicationScope": "queue", "FifoThroughputLimit": "perQueue"}
    )
    # Back to queue scope, ids recorded per group no longer count.
    sqs.send_message(QueueUrl=url, MessageBody="Test6", MessageGroupId="g4", MessageDeduplicationId="d2")
    assert bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)) == ["Test6"]


def test_attempt_id_stops_replaying_after_a_visibility_change(sqs: Any, name: Any) -> None:
    url = make_fifo(sqs, name, ContentBasedDeduplication="true")
    sqs.send_message(QueueUrl=url, MessageBody="m", MessageGroupId="g")
    first = sqs.receive_message(QueueUrl=url, ReceiveRequestAttemptId="a", VisibilityTimeout=60)["Messages"][
        0
    ]
    again = sqs.receive_message(QueueUrl=url, ReceiveRequestAttemptId="a", VisibilityTimeout=60)["Messages"][
        0
    ]
    assert again["ReceiptHandle"] == first["ReceiptHandle"]
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"], VisibilityTimeout=0)
    fresh = sqs.receive_message(QueueUrl=url, ReceiveRequestAttemptId="a", VisibilityTimeout=60)["Messages"][
        0
    ]
    assert fresh["ReceiptHandle"] != first["ReceiptHandle"]


def test_attempt_id_does_not_replay_a_message_past_its_retention(sqs: Any, server: Any, name: Any) -> None:
    """Found by a random model campaign: a retry inside the attempt's 5 minutes returned a message
    whose retention period had ended since (the sweep had not yet deleted it)."""
    url = make_fifo(sqs, name, ContentBasedDeduplication="true", MessageRetentionPeriod="60")
    sqs.send_message(QueueUrl=url, MessageBody="old", MessageGroupId="g")
    server.advance_clock(30)
    sqs.send_message(QueueUrl=url, MessageBody="new", MessageGroupId="h")
    first = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, ReceiveRequestAttemptId="a", VisibilityTimeout=0
    )
    assert bodies(first) == ["old", "new"]
    server.advance_clock(31)  # "old" is past retention, "new" is not, the attempt still live
    again = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, ReceiveRequestAttemptId="a", VisibilityTimeout=0
    )
    assert bodies(again) == ["new"]  # received afresh: the attempt no longer replays
    assert again["Messages"][0]["ReceiptHandle"] != first["Messages"][1]["ReceiptHandle"]


def test_fifo_counters_and_visibility_after_expiry(sqs: Any, server: Any, name: Any) -> None:
    url = make_fifo(sqs, name, ContentBasedDeduplication="true")
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{i}", MessageGroupId="g")
    handle = sqs.receive_message(QueueUrl=url, VisibilityTimeout=10)["Messages"][0]["ReceiptHandle"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (attrs["ApproximateNumberOfMessages"], attrs["ApproximateNumberOfMessagesNotVisible"]) == (
        "2",
        "1",
    )
    server.advance_clock(11)
    err = error_of(sqs.change_message_visibility, QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=30)
    assert err["code"] == "AWS.SimpleQueueService.MessageNotInflight"


def test_receive_finds_free_groups_past_many_locked_ones(sqs: Any, name: Any) -> None:
    """A receive reaches the free groups behind 40 locked ones, and takes them in order."""
    url = make_fifo(sqs, name, ContentBasedDeduplication="true")
    for start in range(0, 50, 10):
        entries = [
            {"Id": str(k), "MessageBody": f"m{start + k}", "MessageGroupId": f"g{start + k}"}
            for k in range(10)
        ]
        sqs.send_message_batch(QueueUrl=url, Entries=entries)
    taken: list[str] = []
    for _ in range(4):  # hold the 40 oldest groups in flight
        taken += bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60))
    assert taken == [f"m{i}" for i in range(40)]
    assert bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)) == [
        f"m{i}" for i in range(40, 50)
    ]
    assert bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)) == []


def test_receive_takes_a_group_once_when_its_head_moves_to_the_dead_letter_queue(sqs: Any, name: Any) -> None:
    """A head moved to the dead-letter queue while a receive picks moves its group's head on, here
    past the page of groups being read: the group comes up again on the next page, and must not
    be taken twice."""
    dlq = make_fifo(sqs, name, ContentBasedDeduplication="true")
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 1})
    url = make_fifo(sqs, name, ContentBasedDeduplication="true", RedrivePolicy=policy)
    for group in range(18):  # g0 .. g17, one message each, then g0's second (the newest)
        sqs.send_message(QueueUrl=url, MessageBody=f"g{group}-0", MessageGroupId=f"g{group}")
    sqs.send_message(QueueUrl=url, MessageBody="g0-1", MessageGroupId="g0")
    handles = []
    for _ in range(17):  # receive the heads of g0 .. g16 once, then make them visible again
        handles += [
            m["ReceiptHandle"] for m in sqs.receive_message(QueueUrl=url, VisibilityTimeout=60)["Messages"]
        ]
    for handle in handles:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
    # The first page (16 groups) moves all their heads; g0's head is now its newest message, so
    # g0 is on the second page too, after g16 (moved) and g17.
    assert bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)) == ["g0-1", "g17-0"]
    moved = bodies(sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, VisibilityTimeout=60))
    moved += bodies(sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, VisibilityTimeout=60))
    assert sorted(moved) == sorted(f"g{group}-0" for group in range(17))
