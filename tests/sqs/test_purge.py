"""PurgeQueue: the queue is empty at once, whatever its depth, because it moves to a new, empty
space; the old space's messages are deleted in the background, across a kill too."""

from __future__ import annotations

import asyncio
import inspect
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from gondwana.protocols.errors import ServiceError
from gondwana.runtime import Runtime
from gondwana.services.sqs import engine
from gondwana.services.sqs.storage import MIGRATIONS
from tests.conftest import make_client
from tests.sqs.conftest import error_of
from tests.sqs.test_retention import fill, message, store_at
from tests.support.inprocess import in_process, request_context

ACCOUNT, REGION = "123456789012", "us-east-1"


def in_space(runtime: Runtime, space: int) -> int:
    return runtime.store.query_one("SELECT COUNT(*) FROM sqs_messages WHERE space = ?", (space,))[0]


def test_a_purge_leaves_the_messages_to_the_background(tmp_path: Path) -> None:
    """The request moves the queue to a new space and deletes nothing itself: right after it, the
    old space's rows are all there, and none is counted or received; passes then delete them."""

    async def scenario(runtime: Runtime, sqs: Any) -> int:
        ctx = request_context(ACCOUNT, REGION)
        queue = sqs.registry.create(ACCOUNT, REGION, "deep", False, {}, {}, runtime.now())
        url = f"http://localhost/{ACCOUNT}/deep"
        old = queue.space
        fill(runtime, old, 20_000)
        queue.depth = None  # written behind the service's back: to be counted

        def visible() -> str:
            return engine.counters(runtime.store, queue, runtime.now(), False)["ApproximateNumberOfMessages"]

        assert visible() == "20000"
        sqs.purge_queue(ctx, {"QueueUrl": url})
        assert queue.space != old and in_space(runtime, old) == 20_000  # nothing deleted in the request
        assert visible() == "0"
        received = sqs.receive_message(ctx, {"QueueUrl": url})  # a coroutine only when it may wait
        assert (await received if inspect.isawaitable(received) else received) == {}
        await runtime.store.flushed()
        for _ in range(500):  # passes of a few milliseconds each, at the loop's next turns
            if not in_space(runtime, old):
                break
            await asyncio.sleep(0.01)
        pending = runtime.store.query_one("SELECT COUNT(*) FROM reclaim_pending")[0]
        return in_space(runtime, old) + pending

    assert in_process(tmp_path, "sqs", scenario) == 0


def test_purge_empties_standard_and_fifo_queues_and_old_handles_act_as_deleted(sqs: Any, name: Any) -> None:
    fifo = sqs.create_queue(QueueName=name(".fifo"), Attributes={"FifoQueue": "true"})["QueueUrl"]
    standard = sqs.create_queue(QueueName=name())["QueueUrl"]
    for url, extra in ((standard, {}), (fifo, {"MessageGroupId": "g"})):
        for i in range(4):
            dedup = {"MessageDeduplicationId": f"d{i}"} if extra else {}
            sqs.send_message(QueueUrl=url, MessageBody=f"old{i}", **extra, **dedup)
        held = sqs.receive_message(QueueUrl=url, VisibilityTimeout=300)["Messages"][0]
        sqs.purge_queue(QueueUrl=url)
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert [attrs[f"ApproximateNumberOf{k}"] for k in ("Messages", "MessagesNotVisible")] == ["0", "0"]
        # The group of the message in flight is not locked by it any more.
        new = {"MessageDeduplicationId": "new"} if extra else {}
        sqs.send_message(QueueUrl=url, MessageBody="new", **extra, **new)
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        assert [m["Body"] for m in got] == ["new"]
        # A purged message's handle acts as a deleted one's: deleting it again is accepted, and
        # its visibility can no longer be changed.
        sqs.delete_message(QueueUrl=url, ReceiptHandle=held["ReceiptHandle"])
        err = error_of(
            sqs.change_message_visibility,
            QueueUrl=url,
            ReceiptHandle=held["ReceiptHandle"],
            VisibilityTimeout=5,
        )
        assert err["status"] == 400
        sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
    # A deduplication id outlives the purge, as it outlives a delete.
    sqs.send_message(QueueUrl=fifo, MessageBody="again", MessageGroupId="g", MessageDeduplicationId="d1")
    assert "Messages" not in sqs.receive_message(QueueUrl=fifo)


def test_purged_messages_not_yet_deleted_are_out_of_reach(tmp_path: Path) -> None:
    """Until the background deletes them, purged messages are still rows: a receive attempt made
    before the purge is not replayed, and a handle no longer reaches its message."""

    async def scenario(runtime: Runtime, sqs: Any) -> int:
        ctx = request_context(ACCOUNT, REGION)
        url = sqs.create_queue(ctx, {"QueueName": "q.fifo", "Attributes": {"FifoQueue": "true"}})["QueueUrl"]
        group = {"QueueUrl": url, "MessageGroupId": "g"}
        sqs.send_message(ctx, {**group, "MessageBody": "old", "MessageDeduplicationId": "a"})
        first = sqs.receive_message(ctx, {"QueueUrl": url, "ReceiveRequestAttemptId": "try"})["Messages"]
        sqs.purge_queue(ctx, {"QueueUrl": url})
        sqs.send_message(ctx, {**group, "MessageBody": "new", "MessageDeduplicationId": "b"})
        # No await since the purge: the reclaimer has not run, the old row is still there.
        assert runtime.store.query_one("SELECT COUNT(*) FROM sqs_messages")[0] == 2
        again = sqs.receive_message(ctx, {"QueueUrl": url, "ReceiveRequestAttemptId": "try"})["Messages"]
        assert [m["Body"] for m in again] == ["new"]
        change = {"QueueUrl": url, "ReceiptHandle": first[0]["ReceiptHandle"], "VisibilityTimeout": 5}
        with pytest.raises(ServiceError):
            sqs.change_message_visibility(ctx, change)
        return len(first)

    assert in_process(tmp_path, "sqs", scenario) == 1


def test_a_purge_survives_a_kill_and_its_rows_are_reclaimed_after_it(fresh_server: Any) -> None:
    proc = fresh_server()
    sqs = make_client(proc.url, "sqs")
    url = sqs.create_queue(QueueName="purged")["QueueUrl"]
    for batch in range(30):
        entries = [{"Id": str(i), "MessageBody": f"m{batch}-{i}"} for i in range(10)]
        sqs.send_message_batch(QueueUrl=url, Entries=entries)
    sqs.purge_queue(QueueUrl=url)
    sqs.send_message(QueueUrl=url, MessageBody="after")
    proc.kill()
    proc.restart()
    sqs = make_client(proc.url, "sqs")
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)["Messages"]
    assert [m["Body"] for m in got] == ["after"]
    assert error_of(sqs.purge_queue, QueueUrl=url)["code"] == "AWS.SimpleQueueService.PurgeQueueInProgress"
    db = sqlite3.connect(proc.data_dir / "gondwana.db")
    try:
        for _ in range(100):
            rows = db.execute("SELECT COUNT(*) FROM sqs_messages").fetchone()[0]
            pending = db.execute("SELECT COUNT(*) FROM reclaim_pending").fetchone()[0]
            if (rows, pending) == (1, 0):
                break
            time.sleep(0.05)
        assert (rows, pending) == (1, 0)
    finally:
        db.close()


def test_a_data_directory_from_before_keys_its_messages_by_space(tmp_path: Path) -> None:
    """The upgrade keeps each queue's messages (its space is its id), follows a pending delete of a
    deleted queue's messages, and draws new spaces past every one in use or still to delete."""
    path = tmp_path / "old.db"
    store = store_at(path, MIGRATIONS[:4])  # as the previous release left it
    with store.transaction():
        store.execute(
            "INSERT INTO sqs_queues (id, account, region, name, fifo, attributes, tags, created, modified) "
            "VALUES (1, 'a', 'r', 'q', 0, '{}', '{}', 0, 0)"
        )
        store.execute("INSERT INTO reclaim_pending (tbl, col, value) VALUES ('sqs_messages', 'queue_id', 7)")
    message(store, 1, sent=0.0, visible=0.0, space="queue_id")
    store.close()

    store = store_at(path)
    try:
        assert store.query("SELECT id, space FROM sqs_queues") == [(1, 1)]
        assert store.query("SELECT seq, space FROM sqs_messages") == [(1, 1)]
        assert store.query("SELECT tbl, col, value FROM reclaim_pending") == [("sqs_messages", "space", 7)]
        with store.transaction():
            assert store.insert("INSERT INTO sqs_spaces DEFAULT VALUES") == 8
    finally:
        store.close()
