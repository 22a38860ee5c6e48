"""SendMessageBatch checks a batch of plain messages all at once and falls back to checking entry by
entry when anything is off: the outcome must be the same either way."""

from __future__ import annotations

import hashlib
from typing import Any

from tests.sqs.test_fifo import fifo_entries, make_fifo


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def test_plain_batch_digests_and_order(sqs: Any, queue: str) -> None:
    entries = [{"Id": f"e{i}", "MessageBody": f"body {i}"} for i in range(10)]
    result = sqs.send_message_batch(QueueUrl=queue, Entries=entries)
    assert result.get("Failed", []) == []
    assert [r["Id"] for r in result["Successful"]] == [e["Id"] for e in entries]
    assert [r["MD5OfMessageBody"] for r in result["Successful"]] == [md5(e["MessageBody"]) for e in entries]
    assert len({r["MessageId"] for r in result["Successful"]}) == 10
    got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    assert sorted(m["Body"] for m in got) == sorted(e["MessageBody"] for e in entries)


def test_batch_with_one_bad_or_unusual_body(sqs: Any, queue: str) -> None:
    # A control character fails its entry only; a non-ASCII body is fine (and sized in UTF-8).
    entries = [
        {"Id": "ascii", "MessageBody": "plain"},
        {"Id": "control", "MessageBody": "bad\x01"},
        {"Id": "accent", "MessageBody": "café ☕"},
    ]
    result = sqs.send_message_batch(QueueUrl=queue, Entries=entries)
    assert [r["Id"] for r in result["Successful"]] == ["ascii", "accent"]
    assert result["Successful"][1]["MD5OfMessageBody"] == md5("café ☕")
    assert [(f["Id"], f["Code"]) for f in result["Failed"]] == [("control", "InvalidMessageContents")]
    got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    assert sorted(m["Body"] for m in got) == ["café ☕", "plain"]


def test_fifo_batch_with_one_bad_group_id(sqs: Any, name: Any) -> None:
    url = make_fifo(sqs, name)
    entries = [
        {"Id": str(i), "MessageBody": f"m{i}", "MessageGroupId": "g", "MessageDeduplicationId": f"d{i}"}
        for i in range(3)
    ]
    entries[1]["MessageGroupId"] = "bad group"  # a space is not punctuation
    result = sqs.send_message_batch(QueueUrl=url, Entries=entries)
    assert [r["Id"] for r in result["Successful"]] == ["0", "2"]
    assert [(f["Id"], f["Code"]) for f in result["Failed"]] == [("1", "InvalidParameterValue")]
    numbers = [int(r["SequenceNumber"]) for r in result["Successful"]]
    assert numbers == sorted(numbers)
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in got] == ["m0", "m2"]


def test_fifo_plain_batch_repeated_by_a_single_send(sqs: Any, name: Any) -> None:
    url = make_fifo(sqs, name)
    entries = fifo_entries(4)
    sent = sqs.send_message_batch(QueueUrl=url, Entries=entries)["Successful"]
    again = sqs.send_message(
        QueueUrl=url, MessageBody="other", MessageGroupId="g1", MessageDeduplicationId="d3"
    )
    assert (again["MessageId"], again["SequenceNumber"]) == (sent[3]["MessageId"], sent[3]["SequenceNumber"])
    repeat = sqs.send_message_batch(QueueUrl=url, Entries=entries)["Successful"]
    assert [(r["MessageId"], r["SequenceNumber"]) for r in repeat] == [
        (r["MessageId"], r["SequenceNumber"]) for r in sent
    ]
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in got] == ["m0", "m2", "m1", "m3"]  # group by group, in order


def test_fifo_duplicate_in_a_new_group_leaves_no_trace(sqs: Any, name: Any) -> None:
    # The original is gone (received and deleted) but its deduplication id is live: a repeat in
    # another, empty group is accepted, names the original, and leaves that group as it was.
    url = make_fifo(sqs, name)
    first = sqs.send_message(QueueUrl=url, MessageBody="one", MessageGroupId="a", MessageDeduplicationId="x")
    got = sqs.receive_message(QueueUrl=url)["Messages"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
    entries = [
        {"Id": "dup", "MessageBody": "again", "MessageGroupId": "b", "MessageDeduplicationId": "x"},
        {"Id": "new", "MessageBody": "two", "MessageGroupId": "c", "MessageDeduplicationId": "y"},
    ]
    sent = {r["Id"]: r for r in sqs.send_message_batch(QueueUrl=url, Entries=entries)["Successful"]}
    assert (sent["dup"]["MessageId"], sent["dup"]["SequenceNumber"]) == (
        first["MessageId"],
        first["SequenceNumber"],
    )
    later = sqs.send_message(
        QueueUrl=url, MessageBody="three", MessageGroupId="b", MessageDeduplicationId="z"
    )
    assert int(later["SequenceNumber"]) > int(sent["new"]["SequenceNumber"])
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["MessageGroupId"])
    assert [(m["Body"], m["Attributes"]["MessageGroupId"]) for m in got["Messages"]] == [
        ("two", "c"),
        ("three", "b"),
    ]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"])
    assert attrs["Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "2"
