"""Parked FIFO groups (`picking.pick_fifo`): now and then (after a short receive, and every
PARK_EVERY receives) a receive reads the locked groups it passes and parks them, so that later
receives seek past them; whatever makes a parked group's head visible again (its visibility
timeout, ChangeMessageVisibility, a delete moving the head on) makes the group available at once,
its messages still in order."""

from __future__ import annotations

import sqlite3
from typing import Any

from gondwana.services.sqs.picking import PARK_EVERY
from tests.support.server import ServerProcess

GROUPS = 40  # well past a page of heads (16): receives park the locked groups they pass


def parked(server: ServerProcess, url: str) -> list[str]:
    """The queue's parked groups, read from the store's file (SQLite's WAL lets a reader in beside
    the server; an answered receive is committed)."""
    assert server.data_dir is not None
    with sqlite3.connect(f"file:{server.data_dir / 'gondwana.db'}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT g.group_id FROM sqs_groups g JOIN sqs_queues q ON q.space = g.space "
            "WHERE q.name = ? AND g.parked > 0 ORDER BY g.group_id",
            (url.rsplit("/", 1)[1],),
        )
        return [group_id for (group_id,) in rows]


def locked_queue(sqs: Any, name: Any) -> tuple[str, dict[str, str]]:
    """A FIFO queue of GROUPS groups of two messages (`gNN-a`, `gNN-b`), each group's first one in
    flight for 600 s: its receipt handle by group."""
    url = sqs.create_queue(
        QueueName=name(".fifo"), Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]
    for start in range(0, GROUPS, 5):
        sqs.send_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": f"{g}{part}", "MessageBody": f"g{g:02}-{part}", "MessageGroupId": f"g{g:02}"}
                for g in range(start, start + 5)
                for part in "ab"
            ],
        )
    handles = {}
    for _ in range(GROUPS):  # one message a receive: each takes the head of the next free group
        (msg,) = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=600)["Messages"]
        assert msg["Body"].endswith("-a")
        handles[msg["Body"][:3]] = msg["ReceiptHandle"]
    assert sorted(handles) == [f"g{g:02}" for g in range(GROUPS)]
    return url, handles


def bodies(sqs: Any, url: str) -> list[str]:
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=600)
    return [m["Body"] for m in got.get("Messages", [])]


def take(sqs: Any, url: str) -> list[str]:
    """Receive and delete: the bodies."""
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    for msg in got:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=msg["ReceiptHandle"])
    return [m["Body"] for m in got]


def test_a_receive_after_a_short_one_parks_the_locked_groups(
    sqs: Any, server: ServerProcess, name: Any
) -> None:
    url, _ = locked_queue(sqs, name)
    assert parked(server, url) == []  # none came back short: they passed the locked ones in SQLite
    assert bodies(sqs, url) == []  # short: the next one reads the locked groups too
    sqs.send_message(QueueUrl=url, MessageBody="late", MessageGroupId="zz")
    assert bodies(sqs, url) == ["late"]
    assert parked(server, url) == [f"g{g:02}" for g in range(GROUPS)]
    assert bodies(sqs, url) == []  # they are passed over in the index now


def test_receives_that_are_never_short_park_them_too(sqs: Any, server: ServerProcess, name: Any) -> None:
    url, _ = locked_queue(sqs, name)
    for start in range(0, PARK_EVERY + 10, 10):
        sqs.send_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(k), "MessageBody": f"h{start + k:03}", "MessageGroupId": f"h{start + k:03}"}
                for k in range(10)
            ],
        )
    for _ in range(PARK_EVERY + 1):
        (msg,) = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=600)["Messages"]
        assert msg["Body"].startswith("h")
    assert {f"g{g:02}" for g in range(GROUPS)} <= set(parked(server, url))


def test_a_parked_group_is_free_once_its_head_is_visible_again(
    sqs: Any, server: ServerProcess, name: Any
) -> None:
    url, handles = locked_queue(sqs, name)
    assert bodies(sqs, url) == bodies(sqs, url) == []  # the second one parks them
    assert len(parked(server, url)) == GROUPS
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handles["g05"], VisibilityTimeout=0)
    assert take(sqs, url) == ["g05-a", "g05-b"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=handles["g31"])  # the head moves on
    assert take(sqs, url) == ["g31-b"]
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handles["g12"], VisibilityTimeout=900)
    assert take(sqs, url) == []  # a later time keeps it hidden
    server.advance_clock(601)  # every other head's timeout passes
    got: list[str] = []
    while batch := take(sqs, url):
        got += batch
    rest = [g for g in range(GROUPS) if g not in (5, 12, 31)]
    assert sorted(got) == [f"g{g:02}-{part}" for g in rest for part in "ab"]
    assert all(got.index(f"g{g:02}-a") < got.index(f"g{g:02}-b") for g in rest)
    server.advance_clock(300)
    assert take(sqs, url) == ["g12-a", "g12-b"]
