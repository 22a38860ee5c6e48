"""The rows of deleted resources, deleted in the background (storage/reclaim.py): a pass at a time,
in rowid tables and tables WITHOUT ROWID, nothing else touched, and what is left after a restart
still deleted; and, through the real server, DeleteQueue, DeleteTable and DeleteStream leave
nothing behind once the passes are done, a kill -9 included."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

from gondwana.storage import reclaim
from gondwana.storage.reclaim import Reclaimer
from gondwana.storage.sqlite import SqliteStore
from tests.conftest import make_client
from tests.support.server import ServerProcess

TABLES = [
    "CREATE TABLE t_rows (id INTEGER PRIMARY KEY, owner INTEGER NOT NULL, body TEXT NOT NULL)",
    "CREATE INDEX t_rows_owner ON t_rows (owner)",
    "CREATE TABLE t_keyed (owner INTEGER NOT NULL, k TEXT NOT NULL, v TEXT, PRIMARY KEY (owner, k)) WITHOUT ROWID",
]


def filled(path: Path) -> SqliteStore:
    store = SqliteStore(path)
    store.register("t", ["; ".join(TABLES)])
    with store.transaction():
        for owner in (1, 2):
            store.executemany("INSERT INTO t_rows (owner, body) VALUES (?, ?)", [(owner, "x" * 50)] * 300)
            store.executemany(
                "INSERT INTO t_keyed (owner, k, v) VALUES (?, ?, 'v')", [(owner, f"k{i}") for i in range(300)]
            )
    store._commit_now()  # no event loop here to commit the group
    return store


def owners(store: SqliteStore, table: str) -> dict[int, int]:
    return dict(store.query(f"SELECT owner, COUNT(*) FROM {table} GROUP BY owner"))


def test_a_pass_reads_a_page_of_the_pending_drops(tmp_path: Path, monkeypatch: Any) -> None:
    """10,000 queues deleted leave 40,000 pending drops: a pass reads the oldest PAGE of them, not
    all (each pass read every one)."""
    monkeypatch.setattr(reclaim, "PAGE", 2)
    store = filled(tmp_path / "r.db")
    try:
        reclaimer = Reclaimer(store, lambda delay, callback: None)
        with store.transaction():
            for owner in range(3, 8):  # nothing to delete: each is done at once
                reclaimer.drop("t_rows", "owner", owner)
        store._commit_now()
        left = []
        while reclaimer.run_pass():
            store._commit_now()
            left.append(store.query_one("SELECT COUNT(*) FROM reclaim_pending")[0])
        assert left == [3, 1, 0]
    finally:
        store.close()


def test_passes_delete_the_dropped_rows_and_nothing_else(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(reclaim, "QUANTUM", 0.0)  # each pass stops after one statement
    store = filled(tmp_path / "r.db")
    try:
        reclaimer = Reclaimer(store, lambda delay, callback: None)
        with store.transaction():
            reclaimer.drop("t_rows", "owner", 1)
            reclaimer.drop("t_keyed", "owner", 1)
        store._commit_now()
        passes = 0
        while reclaimer.run_pass():
            store._commit_now()
            passes += 1
        assert passes > 2  # a pass at a time, not all at once
        assert owners(store, "t_rows") == {2: 300}
        assert owners(store, "t_keyed") == {2: 300}
        assert store.query("SELECT * FROM reclaim_pending") == []
    finally:
        store.close()


def test_statements_grow_while_they_are_quick(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(reclaim, "QUANTUM", 60.0)  # every statement counts as quick
    store = filled(tmp_path / "r.db")
    try:
        reclaimer = Reclaimer(store, lambda delay, callback: None)
        sizes: list[int] = []
        delete = reclaimer._deleter("t_keyed", ("owner",))
        reclaimer._deleters[("t_keyed", ("owner",))] = lambda values, rows: (
            sizes.append(rows) or delete(values, rows)
        )
        with store.transaction():
            reclaimer.drop("t_keyed", "owner", 2)
        assert reclaimer.run_pass()
        store._commit_now()
        assert sizes == [1, 2, 4, 8, 16, 32, 64, 128, 256]  # 511 rows asked for: all 300 gone
        assert owners(store, "t_keyed") == {1: 300}
    finally:
        store.close()


def test_further_columns_narrow_the_rows_dropped(tmp_path: Path) -> None:
    store = filled(tmp_path / "r.db")
    try:
        reclaimer = Reclaimer(store, lambda delay, callback: None)
        with store.transaction():
            reclaimer.drop("t_keyed", "owner", 1, k="k7")
            reclaimer.drop("t_rows", "owner", 2, id=store.query_one("SELECT MAX(id) FROM t_rows")[0])
        store._commit_now()
        while reclaimer.run_pass():
            store._commit_now()
        assert owners(store, "t_keyed") == {1: 299, 2: 300}
        assert store.query("SELECT k FROM t_keyed WHERE owner = 1 AND k = 'k7'") == []
        assert owners(store, "t_rows") == {1: 300, 2: 299}
    finally:
        store.close()


def test_what_a_restart_finds_pending_is_deleted(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    store = filled(path)
    with store.transaction():
        Reclaimer(store, lambda delay, callback: None).drop("t_rows", "owner", 2)
    store.close()

    async def restarted() -> dict[int, int]:
        store = SqliteStore(path)
        try:
            loop = asyncio.get_running_loop()
            reclaimer = Reclaimer(store, lambda delay, callback: loop.call_later(delay, callback))
            reclaimer.resume()
            for _ in range(50):
                await asyncio.sleep(0)
            await store.flushed()
            return owners(store, "t_rows")
        finally:
            store.close()

    assert asyncio.run(restarted()) == {1: 300}


def rows_left(data: Path) -> dict[str, int]:
    db = sqlite3.connect(data / "gondwana.db")
    try:
        tables = (
            "sqs_messages",
            "dynamodb_items",
            "dynamodb_index_entries",
            "kinesis_blocks",
            "dynamodb_backup_items",
            "reclaim_pending",
        )
        return {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables}
    finally:
        db.close()


def test_deleted_resources_leave_no_rows_behind_across_a_kill(tmp_path: Path) -> None:
    data = tmp_path / "data"
    proc = ServerProcess(data).start()
    try:
        sqs, ddb, kinesis = (make_client(proc.url, s) for s in ("sqs", "dynamodb", "kinesis"))
        url = sqs.create_queue(QueueName="gone")["QueueUrl"]
        for _ in range(20):
            sqs.send_message_batch(
                QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": "m"} for i in range(10)]
            )
        ddb.create_table(
            TableName="gone",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "g", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "by-g",
                    "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                }
            ],
        )
        for batch in range(8):
            items = [{"pk": {"S": f"{batch}-{i}"}, "g": {"S": "x"}} for i in range(25)]
            ddb.batch_write_item(RequestItems={"gone": [{"PutRequest": {"Item": item}} for item in items]})
        kinesis.create_stream(StreamName="gone", ShardCount=2)
        for i in range(50):
            kinesis.put_record(StreamName="gone", Data=b"r", PartitionKey=str(i))
        backup = ddb.create_backup(TableName="gone", BackupName="gone")["BackupDetails"]["BackupArn"]
        before = rows_left(data)
        assert before["sqs_messages"] == 200 and before["dynamodb_items"] == 200
        assert before["dynamodb_backup_items"] == 200
        assert before["dynamodb_index_entries"] == 200 and before["kinesis_blocks"] == 50

        sqs.delete_queue(QueueUrl=url)
        ddb.delete_table(TableName="gone")
        ddb.delete_backup(BackupArn=backup)
        kinesis.delete_stream(StreamName="gone")
        proc.kill()  # perhaps before the passes ran: a restart goes on with them
        proc.start()
        deadline = time.monotonic() + 10
        while any(rows_left(data).values()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert rows_left(data) == dict.fromkeys(before, 0)
        # nothing of the old resources shows through new ones of the same names
        proc.advance_clock(61)  # SQS keeps a deleted queue's name for 60 s
        url = sqs.create_queue(QueueName="gone")["QueueUrl"]
        assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []
        ddb.create_table(
            TableName="gone",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        ddb.get_waiter("table_exists").wait(TableName="gone", WaiterConfig={"Delay": 0.05})
        assert ddb.scan(TableName="gone")["Items"] == []
    finally:
        proc.stop()
