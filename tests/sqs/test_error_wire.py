"""Errors on the wire, over both protocols: JSON `__type` + `x-amzn-query-error`, query `<Code>`,
HTTP status and message, as AWS recorded them."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.sqs.conftest import NS, query

NONEXISTENT = "AWS.SimpleQueueService.NonExistentQueue"

# (operation, JSON params, query params, JSON __type suffix, legacy code, status, message)
CASES: list[tuple[str, dict[str, Any], dict[str, str], str, str, int, str]] = [
    (
        "GetQueueUrl",
        {"QueueName": "nope-nope"},
        {"QueueName": "nope-nope"},
        "QueueDoesNotExist",
        NONEXISTENT,
        400,
        "The specified queue does not exist{wsdl}",
    ),
    (
        "CreateQueue",
        {},
        {},
        "MissingRequiredParameterException",
        "MissingParameter",
        400,
        "The request must contain the parameter QueueName.",
    ),
    (
        "SendMessage",
        {"MessageBody": ""},
        {"MessageBody": ""},
        "MissingRequiredParameterException",
        "MissingParameter",
        400,
        "The request must contain the parameter MessageBody.",
    ),
    (
        "ReceiveMessage",
        {"MaxNumberOfMessages": 11},
        {"MaxNumberOfMessages": "11"},
        "InvalidParameterValueException",
        "InvalidParameterValue",
        400,
        "Value 11 for parameter MaxNumberOfMessages is invalid. "
        "Reason: Must be between 1 and 10, if provided.",
    ),
    (
        "SetQueueAttributes",
        {"Attributes": {"FifoQueue": "true"}},
        {"Attribute.1.Name": "FifoQueue", "Attribute.1.Value": "true"},
        "InvalidAttributeName",
        "InvalidAttributeName",
        400,
        "Unknown Attribute FifoQueue.",
    ),
    (
        "SendMessageBatch",
        {"Entries": [{"Id": f"i{i}", "MessageBody": "x"} for i in range(11)]},
        {
            k: v
            for i in range(11)
            for k, v in (
                (f"SendMessageBatchRequestEntry.{i + 1}.Id", f"i{i}"),
                (f"SendMessageBatchRequestEntry.{i + 1}.MessageBody", "x"),
            )
        },
        "TooManyEntriesInBatchRequest",
        "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
        400,
        "Maximum number of entries per request are 10. You have sent 11.",
    ),
    (
        "DeleteMessage",
        {"ReceiptHandle": "bad"},
        {"ReceiptHandle": "bad"},
        "ReceiptHandleIsInvalid",
        "ReceiptHandleIsInvalid",
        404,
        'The input receipt handle "bad" is not a valid receipt handle.',
    ),
]


def json_call(url: str, operation: str, params: dict[str, Any]) -> tuple[int, dict[str, Any], str | None]:
    request = urllib.request.Request(
        url,
        data=json.dumps(params).encode(),
        method="POST",
        headers={"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": f"AmazonSQS.{operation}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read()), None
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), error.headers.get("x-amzn-query-error")


@pytest.mark.parametrize("case", CASES, ids=[c[0] + "-" + c[3] for c in CASES])
def test_error_over_json_and_query(server: Any, queue: str, case: tuple[Any, ...]) -> None:
    operation, json_params, query_params, type_name, code, status, message = case
    needs_queue = operation not in ("GetQueueUrl", "CreateQueue")
    body = {"QueueUrl": queue, **json_params} if needs_queue else json_params
    got_status, payload, header = json_call(server.url, operation, body)
    assert got_status == status
    assert payload["__type"] == f"com.amazonaws.sqs#{type_name}"
    assert payload["message"] == message.format(wsdl=".")
    assert header == f"{code};Sender"

    got_status, root = query(queue if needs_queue else server.url, operation, **query_params)
    assert got_status == status
    assert root.find("q:Error/q:Code", NS).text == code
    assert root.find("q:Error/q:Type", NS).text == "Sender"
    assert root.find("q:Error/q:Message", NS).text == message.format(wsdl=" for this wsdl version.")
    assert root.find("q:RequestId", NS) is not None
