"""Batch operations: limits, ids, per-entry failures, whole-batch size, nothing stored on rejection."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sqs.conftest import error_of


def count(sqs: Any, url: str) -> int:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return sum(
        int(attrs[k])
        for k in (
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        )
    )


def test_send_batch(sqs: Any, queue: str) -> None:
    result = sqs.send_message_batch(
        QueueUrl=queue, Entries=[{"Id": f"m{i}", "MessageBody": f"b{i}"} for i in range(10)]
    )
    assert [e["Id"] for e in result["Successful"]] == [f"m{i}" for i in range(10)]
    assert "Failed" not in result or result["Failed"] == []
    assert count(sqs, queue) == 10


@pytest.mark.parametrize(
    "op", ["send_message_batch", "delete_message_batch", "change_message_visibility_batch"]
)
def test_batch_limits(loose: Any, queue: str, op: str) -> None:
    def entry(i: int, entry_id: str | None = None) -> dict[str, Any]:
        base: dict[str, Any] = {"Id": f"e{i}" if entry_id is None else entry_id}
        if op == "send_message_batch":
            base["MessageBody"] = "x"
        else:
            base["ReceiptHandle"] = "x"
        return base

    call = getattr(loose, op)
    err = error_of(call, QueueUrl=queue, Entries=[entry(i) for i in range(20)])
    assert err["code"] == "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"
    assert err["message"] == "Maximum number of entries per request are 10. You have sent 20."
    for bad in ("", "x" * 81, "invalid:id"):
        err = error_of(call, QueueUrl=queue, Entries=[entry(0, bad)])
        assert err["code"] == "AWS.SimpleQueueService.InvalidBatchEntryId"
        assert err["message"] == (
            "A batch entry id can only contain alphanumeric characters, hyphens and "
            "underscores. It can be at most 80 letters long."
        )
    err = error_of(call, QueueUrl=queue, Entries=[entry(0, "same"), entry(1, "same")])
    assert err["code"] == "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"
    err = error_of(call, QueueUrl=queue, Entries=[])
    assert err["code"] == "AWS.SimpleQueueService.EmptyBatchRequest"


def test_batch_too_long_stores_nothing(sqs: Any, queue: str) -> None:
    entries = [{"Id": "a", "MessageBody": "x" * 1_048_000}, {"Id": "b", "MessageBody": "x" * 577}]
    err = error_of(sqs.send_message_batch, QueueUrl=queue, Entries=entries)
    assert err["code"] == "AWS.SimpleQueueService.BatchRequestTooLong"
    assert (
        err["message"] == "Batch requests cannot be longer than 1048576 bytes. You have sent 1048577 bytes."
    )
    assert count(sqs, queue) == 0


def test_per_entry_failures(sqs: Any, name: Any) -> None:
    url = sqs.create_queue(QueueName=name(), Attributes={"MaximumMessageSize": "1024"})["QueueUrl"]
    result = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "big", "MessageBody": "x" * 1025},
            {"Id": "ok", "MessageBody": "fine"},
            {"Id": "bad", "MessageBody": "\x00"},
        ],
    )
    assert [e["Id"] for e in result["Successful"]] == ["ok"]
    failed = {f["Id"]: f for f in result["Failed"]}
    assert failed["big"] == {
        "Id": "big",
        "SenderFault": True,
        "Code": "InvalidParameterValue",
        "Message": "One or more parameters cannot be validated. Reason: Message must be "
        "shorter than 1024 bytes.",
    }
    assert failed["bad"]["Code"] == "InvalidMessageContents"
    assert count(sqs, url) == 1


def test_delete_and_change_visibility_batches(sqs: Any, queue: str) -> None:
    sqs.send_message_batch(QueueUrl=queue, Entries=[{"Id": str(i), "MessageBody": str(i)} for i in range(3)])
    msgs = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, VisibilityTimeout=300)["Messages"]
    assert len(msgs) == 3
    changed = sqs.change_message_visibility_batch(
        QueueUrl=queue,
        Entries=[
            {"Id": "a", "ReceiptHandle": msgs[0]["ReceiptHandle"], "VisibilityTimeout": 0},
            {"Id": "b", "ReceiptHandle": "garbage", "VisibilityTimeout": 0},
        ],
    )
    assert [e["Id"] for e in changed["Successful"]] == ["a"]
    assert changed["Failed"][0]["Id"] == "b" and changed["Failed"][0]["Code"] == "ReceiptHandleIsInvalid"
    deleted = sqs.delete_message_batch(
        QueueUrl=queue,
        Entries=[{"Id": f"d{i}", "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs[1:])]
        + [{"Id": "bad", "ReceiptHandle": "garbage"}],
    )
    assert sorted(e["Id"] for e in deleted["Successful"]) == ["d0", "d1"]
    assert deleted["Failed"][0]["Code"] == "ReceiptHandleIsInvalid"
    assert count(sqs, queue) == 1


def test_null_batch_entry_is_refused_and_stores_nothing(server: Any, sqs: Any, queue: str) -> None:
    """Found by the wire fuzzer: `Entries: [null]` (JSON protocol) reached the service and
    answered 500; a null entry is a missing one, refused before anything is stored."""
    import http.client
    import json

    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    body = {"QueueUrl": queue, "Entries": [{"Id": "a", "MessageBody": "x"}, None]}
    headers = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonSQS.SendMessageBatch"}
    conn.request("POST", "/", body=json.dumps(body), headers=headers)
    response = conn.getresponse()
    answer = json.loads(response.read())
    conn.close()
    assert response.status == 400
    assert answer["__type"] == "com.amazonaws.sqs#MissingRequiredParameterException"
    assert count(sqs, queue) == 0
