"""Long polling: a waiting receive returns as soon as a message becomes available."""

from __future__ import annotations

import threading
import time
from typing import Any

from tests.sqs.conftest import error_of


def receive_in_background(sqs: Any, url: str, **kwargs: Any) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}

    def run() -> None:
        started = time.monotonic()
        out["response"] = sqs.receive_message(QueueUrl=url, **kwargs)
        out["elapsed"] = time.monotonic() - started

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def test_wakes_on_send(client: Any, sqs: Any, queue: str) -> None:
    thread, out = receive_in_background(client("sqs"), queue, WaitTimeSeconds=20)
    time.sleep(0.3)
    sqs.send_message(QueueUrl=queue, MessageBody="now")
    thread.join(10)
    assert not thread.is_alive()
    assert out["response"]["Messages"][0]["Body"] == "now"
    assert out["elapsed"] < 10  # woke on the send, not at the end of the 20 s wait


def test_wakes_when_delay_ends(client: Any, sqs: Any, server: Any, queue: str) -> None:
    sqs.send_message(QueueUrl=queue, MessageBody="delayed", DelaySeconds=1)
    thread, out = receive_in_background(client("sqs"), queue, WaitTimeSeconds=20)
    thread.join(15)
    assert not thread.is_alive()
    assert out["response"]["Messages"][0]["Body"] == "delayed"


def test_wakes_when_visibility_expires_by_clock(client: Any, sqs: Any, server: Any, queue: str) -> None:
    sqs.send_message(QueueUrl=queue, MessageBody="retry")
    sqs.receive_message(QueueUrl=queue, VisibilityTimeout=600)
    thread, out = receive_in_background(client("sqs"), queue, WaitTimeSeconds=20)
    time.sleep(0.3)
    server.advance_clock(601)
    thread.join(10)
    assert not thread.is_alive()
    assert out["response"]["Messages"][0]["Body"] == "retry"


def test_queue_default_wait_and_empty_result(sqs: Any, name: Any) -> None:
    url = sqs.create_queue(QueueName=name(), Attributes={"ReceiveMessageWaitTimeSeconds": "1"})["QueueUrl"]
    started = time.monotonic()
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    assert time.monotonic() - started >= 0.9
    assert "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)


def test_many_waiters_each_get_one(client: Any, sqs: Any, queue: str) -> None:
    polls = [receive_in_background(client("sqs"), queue, WaitTimeSeconds=20) for _ in range(3)]
    time.sleep(0.3)
    for i in range(3):
        sqs.send_message(QueueUrl=queue, MessageBody=str(i))
    got = []
    for thread, out in polls:
        thread.join(15)
        got += [m["Body"] for m in out["response"].get("Messages", [])]
    assert sorted(got) == ["0", "1", "2"]


def test_closed_connection_frees_the_waiter(server: Any, sqs: Any, queue: str) -> None:
    import http.client
    import json
    from urllib.parse import urlsplit

    target = urlsplit(server.url)
    conn = http.client.HTTPConnection(target.hostname, target.port, timeout=5)
    conn.request(
        "POST",
        "/",
        body=json.dumps({"QueueUrl": queue, "WaitTimeSeconds": 20}),
        headers={"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonSQS.ReceiveMessage"},
    )
    time.sleep(0.3)
    conn.sock.close()
    time.sleep(0.3)
    # The abandoned poll must not swallow the message.
    sqs.send_message(QueueUrl=queue, MessageBody="kept")
    assert sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=5)["Messages"][0]["Body"] == "kept"
    assert error_of(sqs.receive_message, QueueUrl=queue, WaitTimeSeconds=21)["status"] == 400


def wait_for_polls(polls: list[tuple[threading.Thread, dict[str, Any]]]) -> list[str]:
    got = []
    for thread, out in polls:
        thread.join(15)
        assert not thread.is_alive()
        assert out["elapsed"] < 10  # woken, not at the end of the 20 s wait
        got += [m["Body"] for m in out["response"].get("Messages", [])]
    return sorted(got)


def test_a_message_taken_from_under_waiting_polls_reaches_one_when_it_comes_back(
    client: Any, sqs: Any, queue: str
) -> None:
    """A send wakes one waiting poll per message; the others keep waiting. When the message
    comes back (its visibility timeout ends) one of them must be woken for it."""
    first, second = (
        receive_in_background(client("sqs"), queue, WaitTimeSeconds=20, VisibilityTimeout=1) for _ in range(2)
    )
    time.sleep(0.3)
    sqs.send_message(QueueUrl=queue, MessageBody="again")
    assert wait_for_polls([first, second]) == ["again", "again"]


def test_messages_that_show_at_once_reach_as_many_waiting_polls(client: Any, sqs: Any, queue: str) -> None:
    """The queue's timer wakes one poll when hidden messages show; each poll that takes a full
    batch wakes the next, so three messages coming back together reach three polls."""
    sqs.send_message_batch(QueueUrl=queue, Entries=[{"Id": str(i), "MessageBody": str(i)} for i in range(3)])
    assert (
        len(sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=3, VisibilityTimeout=1)["Messages"]) == 3
    )
    polls = [
        receive_in_background(client("sqs"), queue, WaitTimeSeconds=20, VisibilityTimeout=60)
        for _ in range(3)
    ]
    assert wait_for_polls(polls) == ["0", "1", "2"]


def test_a_delayed_batch_reaches_the_polls_waiting_when_it_was_sent(
    client: Any, sqs: Any, queue: str
) -> None:
    polls = [
        receive_in_background(client("sqs"), queue, WaitTimeSeconds=20, VisibilityTimeout=60)
        for _ in range(3)
    ]
    time.sleep(0.3)
    sqs.send_message_batch(
        QueueUrl=queue, Entries=[{"Id": str(i), "MessageBody": str(i), "DelaySeconds": 1} for i in range(3)]
    )
    assert wait_for_polls(polls) == ["0", "1", "2"]
