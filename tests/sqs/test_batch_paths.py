"""Batches are stored and deleted a whole batch at a time: the per-entry outcomes must still be
what one entry after another would give (deduplication inside a batch, several groups, stale and
repeated receipt handles, group unlocking)."""

from __future__ import annotations

import hashlib
from typing import Any

from tests.sqs.conftest import error_of
from tests.sqs.test_fifo import bodies, make_fifo


def test_fifo_batch_deduplicates_within_the_batch_and_against_earlier_sends(sqs: Any, name: Any) -> None:
    url = make_fifo(sqs, name)
    earlier = sqs.send_message(
        QueueUrl=url, MessageBody="e", MessageGroupId="g1", MessageDeduplicationId="old"
    )
    entries = [
        {"Id": "a", "MessageBody": "a", "MessageGroupId": "g1", "MessageDeduplicationId": "d1"},
        {"Id": "b", "MessageBody": "b", "MessageGroupId": "g2", "MessageDeduplicationId": "d2"},
        {"Id": "c", "MessageBody": "c", "MessageGroupId": "g2", "MessageDeduplicationId": "d1"},
        {"Id": "d", "MessageBody": "d", "MessageGroupId": "g1", "MessageDeduplicationId": "old"},
        {"Id": "e", "MessageBody": "e2", "MessageGroupId": "g3", "MessageDeduplicationId": "d3"},
    ]
    result = {r["Id"]: r for r in sqs.send_message_batch(QueueUrl=url, Entries=entries)["Successful"]}
    assert list(result) == ["a", "b", "c", "d", "e"]
    assert (result["c"]["MessageId"], result["c"]["SequenceNumber"]) == (
        result["a"]["MessageId"],
        result["a"]["SequenceNumber"],
    )
    assert (result["d"]["MessageId"], result["d"]["SequenceNumber"]) == (
        earlier["MessageId"],
        earlier["SequenceNumber"],
    )
    for entry_id, body in (("a", "a"), ("c", "c")):
        assert result[entry_id]["MD5OfMessageBody"] == hashlib.md5(body.encode()).hexdigest()
    numbers = [int(result[k]["SequenceNumber"]) for k in ("a", "b", "e")]
    assert numbers == sorted(numbers) and len(set(numbers)) == 3
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert sorted(m["Body"] for m in got) == ["a", "b", "e", "e2"]


def test_fifo_batch_with_message_group_scope(sqs: Any, name: Any) -> None:
    url = make_fifo(sqs, name, DeduplicationScope="messageGroup", FifoThroughputLimit="perMessageGroupId")
    entries = [
        {"Id": "a", "MessageBody": "a", "MessageGroupId": "g1", "MessageDeduplicationId": "same"},
        {"Id": "b", "MessageBody": "b", "MessageGroupId": "g2", "MessageDeduplicationId": "same"},
        {"Id": "c", "MessageBody": "c", "MessageGroupId": "g2", "MessageDeduplicationId": "same"},
    ]
    result = {r["Id"]: r for r in sqs.send_message_batch(QueueUrl=url, Entries=entries)["Successful"]}
    assert result["a"]["MessageId"] != result["b"]["MessageId"] == result["c"]["MessageId"]
    assert sorted(bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10))) == ["a", "b"]


def test_fifo_batch_spreads_over_groups_in_order(sqs: Any, name: Any) -> None:
    url = make_fifo(sqs, name, ContentBasedDeduplication="true")
    entries = [{"Id": str(i), "MessageBody": f"m{i}", "MessageGroupId": f"g{i % 3}"} for i in range(9)]
    sqs.send_message_batch(QueueUrl=url, Entries=entries)
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60)["Messages"]
    # One group's run after another, each in the order sent.
    assert [m["Body"] for m in got] == ["m0", "m3", "m6", "m1", "m4", "m7", "m2", "m5", "m8"]


def test_fifo_delete_batch_outcomes_and_unlocking(sqs: Any, server: Any, name: Any) -> None:
    url = make_fifo(sqs, name, ContentBasedDeduplication="true")
    sqs.send_message_batch(
        QueueUrl=url,
        Entries=[{"Id": str(i), "MessageBody": f"m{i}", "MessageGroupId": "g"} for i in range(4)],
    )
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, VisibilityTimeout=5)["Messages"]
    assert bodies({"Messages": first}) == ["m0", "m1"]
    server.advance_clock(6)  # both handles expire; the group is free again
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, VisibilityTimeout=60)["Messages"]
    assert bodies({"Messages": again}) == ["m0", "m1"]
    result = sqs.delete_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "stale", "ReceiptHandle": first[0]["ReceiptHandle"]},
            {"Id": "ok", "ReceiptHandle": again[0]["ReceiptHandle"]},
            {"Id": "twice", "ReceiptHandle": again[0]["ReceiptHandle"]},
            {"Id": "garbage", "ReceiptHandle": "garbage"},
        ],
    )
    assert [e["Id"] for e in result["Successful"]] == ["ok", "twice"]
    failed = {f["Id"]: f for f in result["Failed"]}
    assert failed["stale"]["Code"] == "InvalidParameterValue"
    assert failed["stale"]["Message"] == (
        f"Value {first[0]['ReceiptHandle']} for parameter ReceiptHandle is invalid. "
        "Reason: The receipt handle has expired."
    )
    assert failed["garbage"]["Code"] == "ReceiptHandleIsInvalid"
    # m1 is still in flight, so the group stays locked until it goes too.
    assert bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)) == []
    sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": "x", "ReceiptHandle": again[1]["ReceiptHandle"]}])
    assert bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)) == ["m2", "m3"]


def test_standard_delete_needs_the_latest_handle(sqs: Any, server: Any, queue: str) -> None:
    sqs.send_message_batch(QueueUrl=queue, Entries=[{"Id": str(i), "MessageBody": str(i)} for i in range(2)])
    first = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, VisibilityTimeout=5)["Messages"]
    assert len(first) == 2
    server.advance_clock(6)
    again = sqs.receive_message(
        QueueUrl=queue, MaxNumberOfMessages=10, VisibilityTimeout=5, AttributeNames=["All"]
    )["Messages"]
    assert [m["Attributes"]["ApproximateReceiveCount"] for m in again] == ["2", "2"]
    assert len({m["ReceiptHandle"] for m in first + again}) == 4
    # Outdated handles are accepted but delete nothing; the latest ones delete.
    stale = sqs.delete_message_batch(
        QueueUrl=queue,
        Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(first)],
    )
    assert len(stale["Successful"]) == 2
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=first[0]["ReceiptHandle"])
    server.advance_clock(6)
    third = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    assert [m["Attributes"]["ApproximateReceiveCount"] for m in third] == ["3", "3"]
    assert all(
        m["Attributes"]["ApproximateFirstReceiveTimestamp"]
        == f["Attributes"]["ApproximateFirstReceiveTimestamp"]
        for m, f in zip(
            sorted(third, key=lambda m: m["Body"]), sorted(again, key=lambda m: m["Body"]), strict=True
        )
    )
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=third[0]["ReceiptHandle"])
    sqs.delete_message_batch(
        QueueUrl=queue, Entries=[{"Id": "a", "ReceiptHandle": third[1]["ReceiptHandle"]}]
    )
    server.advance_clock(31)
    assert sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []) == []


def test_entry_ids_are_checked_one_by_one(loose: Any, queue: str) -> None:
    # Checked in one pass when all is well; an id hiding a line break must not pass for two ids.
    for ids in (["a\nb"], ["a", "b\n"], ["ok", "bad!"]):
        err = error_of(
            loose.send_message_batch, QueueUrl=queue, Entries=[{"Id": i, "MessageBody": "x"} for i in ids]
        )
        assert err["code"] == "AWS.SimpleQueueService.InvalidBatchEntryId"
    err = error_of(
        loose.delete_message_batch,
        QueueUrl=queue,
        Entries=[{"Id": i, "ReceiptHandle": "x"} for i in ("a", "a", "bad!")],
    )
    assert (err["code"], err["message"]) == (
        "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
        "Id a repeated.",
    )


def test_mixed_batch_keeps_each_message_whole(sqs: Any, queue: str) -> None:
    # Plain messages, a group id, attributes and a trace header share one stored batch.
    attrs = {
        "n": {"DataType": "Number", "StringValue": "42"},
        "b": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
    }
    trace = {
        "AWSTraceHeader": {"DataType": "String", "StringValue": "Root=1-5759e988-bd862e3fe1be46a994272793"}
    }
    entries = [
        {"Id": "plain", "MessageBody": "p"},
        {"Id": "group", "MessageBody": "g", "MessageGroupId": "grp"},
        {"Id": "attrs", "MessageBody": "a", "MessageAttributes": attrs},
        {"Id": "trace", "MessageBody": "t", "MessageSystemAttributes": trace, "DelaySeconds": 0},
    ]
    sent = {r["Id"]: r for r in sqs.send_message_batch(QueueUrl=queue, Entries=entries)["Successful"]}
    single = sqs.send_message(QueueUrl=queue, MessageBody="a", MessageAttributes=attrs)
    assert sent["attrs"]["MD5OfMessageAttributes"] == single["MD5OfMessageAttributes"]
    assert "MD5OfMessageSystemAttributes" in sent["trace"] and "MD5OfMessageAttributes" not in sent["plain"]
    got = sqs.receive_message(
        QueueUrl=queue, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"]
    )["Messages"]
    by_id = {m["MessageId"]: m for m in got}
    assert len(by_id) == 5
    plain, group, with_attrs, traced = (
        by_id[sent[k]["MessageId"]] for k in ("plain", "group", "attrs", "trace")
    )
    assert (
        plain["Body"] == "p"
        and "MessageAttributes" not in plain
        and "MessageGroupId" not in plain["Attributes"]
    )
    assert group["Attributes"]["MessageGroupId"] == "grp"
    assert with_attrs["MessageAttributes"] == attrs
    assert with_attrs["MD5OfMessageAttributes"] == sent["attrs"]["MD5OfMessageAttributes"]
    assert traced["Attributes"]["AWSTraceHeader"] == trace["AWSTraceHeader"]["StringValue"]
    assert {m["MD5OfBody"] for m in got} == {sent[k]["MD5OfMessageBody"] for k in sent}


def test_fifo_outdated_handle_after_the_delete_counts_as_deleted(sqs: Any, server: Any, name: Any) -> None:
    url = make_fifo(sqs, name, ContentBasedDeduplication="true")
    sqs.send_message(QueueUrl=url, MessageBody="m", MessageGroupId="g")
    old = sqs.receive_message(QueueUrl=url, VisibilityTimeout=5)["Messages"][0]["ReceiptHandle"]
    server.advance_clock(6)
    new = sqs.receive_message(QueueUrl=url, VisibilityTimeout=60)["Messages"][0]["ReceiptHandle"]
    # Entry by entry: the latest handle deletes, then the outdated one finds the message gone.
    result = sqs.delete_message_batch(
        QueueUrl=url, Entries=[{"Id": "new", "ReceiptHandle": new}, {"Id": "old", "ReceiptHandle": old}]
    )
    assert [e["Id"] for e in result["Successful"]] == ["new", "old"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=old)  # gone: deleting again succeeds
    server.advance_clock(61)
    assert bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)) == []
