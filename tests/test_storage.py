"""Durability: what the server acknowledged survives a restart and a kill -9."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import make_client
from tests.support.server import ServerProcess

CONFIG = Config(retries={"total_max_attempts": 1})


def echo(session: boto3.Session, proc: ServerProcess, region: str = "us-east-1") -> Any:
    return session.client("echo", endpoint_url=proc.url, region_name=region, config=CONFIG)


def test_data_survives_graceful_restart(
    fresh_server: Callable[..., ServerProcess], echo_session: boto3.Session
) -> None:
    proc = fresh_server("--plugin", "tests.plugins.echo")
    echo(echo_session, proc).put(Key="k", Value="before restart")
    echo(echo_session, proc, "eu-central-1").put(Key="k", Value="elsewhere")
    proc.stop()
    proc.restart()
    assert echo(echo_session, proc).get(Key="k")["Value"] == "before restart"
    assert echo(echo_session, proc, "eu-central-1").get(Key="k")["Value"] == "elsewhere"


@pytest.mark.parametrize("durability", ["normal", "strict"])
def test_acknowledged_writes_survive_kill_9(
    fresh_server: Callable[..., ServerProcess], echo_session: boto3.Session, durability: str
) -> None:
    """Writers hammer the server from several threads; every write acknowledged before the kill
    must be there after the restart."""
    proc = fresh_server("--plugin", "tests.plugins.echo", "--durability", durability)
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def writer(n: int) -> None:
        c = echo(echo_session, proc)
        i = 0
        while not stop.is_set():
            key = f"w{n}-{i}"
            try:
                c.put(Key=key, Value=key)
            except Exception:
                return  # the server died mid-request: that write was never acknowledged
            with lock:
                acknowledged.append(key)
            i += 1

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    while len(acknowledged) < 300:
        threading.Event().wait(0.01)
    proc.kill()
    stop.set()
    for t in threads:
        t.join()
    proc.restart()
    c = echo(echo_session, proc)
    assert c.count_items()["Count"] >= len(acknowledged)
    for key in acknowledged[:: max(1, len(acknowledged) // 50)] + acknowledged[-6:]:
        assert c.get(Key=key)["Value"] == key


def test_failed_request_rolls_back_its_own_writes(server: ServerProcess, echo_session: boto3.Session) -> None:
    c = echo(echo_session, server)
    with pytest.raises(ClientError) as caught:
        c.put(Key="rollback", Value="explode-after-write")
    assert caught.value.response["Error"]["Code"] == "InternalFailure"
    with pytest.raises(ClientError):
        c.get(Key="rollback")


def test_a_failed_commit_is_never_acknowledged(
    fresh_server: Callable[..., ServerProcess], echo_session: boto3.Session
) -> None:
    proc = fresh_server("--plugin", "tests.plugins.echo")
    client = echo(echo_session, proc)
    client.put(Key="kept", Value="before")
    with pytest.raises(ClientError) as failed:
        client.put(Key="doomed", Value="fail-at-commit")  # the plugin fails this group's COMMIT
    assert failed.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert failed.value.response["Error"]["Code"] == "InternalFailure"
    with pytest.raises(ClientError) as missing:
        client.get(Key="doomed")
    assert missing.value.response["Error"]["Code"] == "Echo.ThingNotFound"
    client.put(Key="after", Value="fine")  # the store goes on
    proc.kill()
    proc.restart()
    client = echo(echo_session, proc)
    assert [client.get(Key=k)["Value"] for k in ("kept", "after")] == ["before", "fine"]


def test_in_memory_store_forgets_on_restart(
    fresh_server: Callable[..., ServerProcess], echo_session: boto3.Session
) -> None:
    proc = fresh_server("--plugin", "tests.plugins.echo", in_memory=True)
    echo(echo_session, proc).put(Key="gone", Value="soon")
    proc.stop()
    proc.restart()
    with pytest.raises(ClientError):
        echo(echo_session, proc).get(Key="gone")


def test_schema_versions_are_recorded(fresh_server: Callable[..., ServerProcess], tmp_path: Any) -> None:
    import sqlite3

    proc = fresh_server("--plugin", "tests.plugins.echo", data_dir=tmp_path / "schema")
    proc.stop()
    rows = dict(
        sqlite3.connect(tmp_path / "schema" / "gondwana.db").execute(
            "SELECT component, version FROM _gondwana_schema"
        )
    )
    assert rows["echo"] == 1
    proc.restart()  # migrations already applied: starts cleanly again
    assert proc.call("GET", "/_gondwana/health")["version"] == "0.1.0"


def test_a_one_statement_unit_is_atomic_and_joins_the_group(tmp_path: Any) -> None:
    """store.write runs without a savepoint: a statement that fails must leave none of its rows,
    and the writes around it in the same group still commit (the real SQLite store, on disk)."""
    import asyncio
    import sqlite3

    from gondwana.storage.sqlite import SqliteStore

    async def scenario() -> None:
        store = SqliteStore(tmp_path / "units.db")
        store.register("units", ["CREATE TABLE units_t (k INTEGER PRIMARY KEY)"])
        assert store.write("INSERT INTO units_t (k) VALUES (?)", (1,)) == 1
        with pytest.raises(sqlite3.IntegrityError):  # row 2 goes in, then row 1 collides
            store.write("INSERT INTO units_t (k) VALUES (?), (?)", (2, 1))
        with store.transaction():
            store.write("INSERT INTO units_t (k) VALUES (?)", (3,))  # inside a unit: part of it
        assert store.pending
        await store.flushed()
        assert not store.pending
        store.close()

    asyncio.run(scenario())
    rows = sqlite3.connect(tmp_path / "units.db").execute("SELECT k FROM units_t ORDER BY k").fetchall()
    assert rows == [(1,), (3,)]


def test_deleting_a_large_row_writes_only_the_pages_that_change(tmp_path: Any) -> None:
    """SQLite as Debian builds it overwrites every freed page with zeros (secure_delete): a row of
    megabytes deleted cost megabytes of log written, and the passes reclaiming a deleted Kinesis
    stream held up requests for up to 64 ms. The store zeroes deleted content only in pages it
    writes anyway (FAST), so the freed pages of a 4 MB row cost a few pages of log."""
    from gondwana.storage.sqlite import SqliteStore

    store = SqliteStore(tmp_path / "blobs.db")
    try:
        store.register("blobs", ["CREATE TABLE blobs_t (k INTEGER PRIMARY KEY, v BLOB)"])
        with store.transaction():
            store.execute("INSERT INTO blobs_t (k, v) VALUES (1, zeroblob(4000000))")
        store._commit_now()
        store._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        with store.transaction():
            store.execute("DELETE FROM blobs_t WHERE k = 1")
        store._commit_now()
        assert (tmp_path / "blobs.db-wal").stat().st_size < 200_000
    finally:
        store.close()


def test_another_process_reading_the_live_database_loses_nothing(
    fresh_server: Callable[..., ServerProcess],
) -> None:
    """Once the background checkpoint had synced the files (a WAL past 8 MiB), the server held no
    lock on the database any more (closing any descriptor of a file drops all of a process's POSIX
    locks on it): a plain connection from another process, closed, took itself for the last one,
    checkpointed and deleted the WAL, and what the server acknowledged next was lost to a kill -9."""
    proc = fresh_server()
    sqs = make_client(proc.url, "sqs")
    url = sqs.create_queue(QueueName="live")["QueueUrl"]
    assert proc.data_dir is not None
    wal = next(proc.data_dir.rglob("gondwana.db-wal"))
    header = wal.read_bytes()[12:24]
    for _ in range(50):  # 10 MB: past the background checkpoint's threshold
        sqs.send_message(QueueUrl=url, MessageBody="x" * 200_000)
    deadline = time.monotonic() + 20
    while wal.read_bytes()[12:24] == header:  # a new log: the checkpoint synced, then rewound
        assert time.monotonic() < deadline, "the WAL was never rewound"
        sqs.send_message(QueueUrl=url, MessageBody="tick")
        time.sleep(0.1)
    database = str(wal)[: -len("-wal")]
    reader = (
        f"import sqlite3; sqlite3.connect({database!r}).execute('SELECT COUNT(*) FROM sqs_queues').fetchall()"
    )
    subprocess.run([sys.executable, "-c", reader], check=True)
    assert wal.exists()
    for i in range(5):
        sqs.send_message(QueueUrl=url, MessageBody=f"after-{i}")
    proc.kill()
    proc.restart()
    sqs = make_client(proc.url, "sqs")
    bodies: list[str] = []
    while got := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        bodies += [m["Body"] for m in got if m["Body"].startswith("after-")]
    assert sorted(bodies) == [f"after-{i}" for i in range(5)]
