"""SQS fixtures: a boto3 client on the session server, unique queue names, and raw query calls."""

from __future__ import annotations

import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

NS = {"q": "http://queue.amazonaws.com/doc/2012-11-05/"}


@pytest.fixture
def sqs(client: Callable[..., Any]) -> Any:
    return client("sqs")


@pytest.fixture
def loose(client: Callable[..., Any]) -> Any:
    """A client that skips botocore's own parameter checks, to send what AWS must reject."""
    return client("sqs", config=Config(parameter_validation=False, retries={"total_max_attempts": 1}))


@pytest.fixture
def name() -> Callable[[str], str]:
    def make(suffix: str = "") -> str:
        return f"q-{uuid.uuid4().hex[:12]}{suffix}"

    return make


@pytest.fixture
def queue(sqs: Any, name: Callable[[str], str]) -> str:
    return sqs.create_queue(QueueName=name(""))["QueueUrl"]


@pytest.fixture
def fifo(sqs: Any, name: Callable[[str], str]) -> str:
    return sqs.create_queue(QueueName=name(".fifo"), Attributes={"FifoQueue": "true"})["QueueUrl"]


def error_of(call: Callable[..., Any], **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    response = info.value.response
    return {
        "code": response["Error"]["Code"],
        "message": response["Error"].get("Message"),
        "status": response["ResponseMetadata"]["HTTPStatusCode"],
        "type": response["Error"].get("QueryErrorCode"),
        "query_error": response["ResponseMetadata"]["HTTPHeaders"].get("x-amzn-query-error"),
    }


def query(url: str, action: str, **params: str) -> tuple[int, ET.Element]:
    """A raw, unsigned query-protocol request; returns (status, parsed XML root)."""
    body = urllib.parse.urlencode({"Action": action, "Version": "2012-11-05", **params}).encode()
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, ET.fromstring(response.read())
    except urllib.error.HTTPError as error:
        return error.code, ET.fromstring(error.read())


def finished_task(sqs: Any, source_arn: str, timeout: float = 10) -> dict[str, Any]:
    """The source's latest message move task once it has stopped RUNNING (or as it is when
    `timeout` seconds have passed)."""
    deadline = time.monotonic() + timeout
    while True:
        task: dict[str, Any] = sqs.list_message_move_tasks(SourceArn=source_arn)["Results"][0]
        if task["Status"] != "RUNNING" or time.monotonic() > deadline:
            return task
        time.sleep(0.05)
