"""The WAL-buffering VFS (storage/_walbuffer.c): a commit's WAL frames go out in one write, and the
database reads exactly as it would without it (reopened, from another connection, after rolled
back spills, across WAL rewinds, after kill -9)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gondwana.storage import sqlite as store_module
from gondwana.storage.sqlite import SqliteStore, connect

walbuffer = pytest.importorskip("gondwana.storage._walbuffer", reason="the C extension is not built")


def _open(path: Path, cache_pages: int = 2000) -> sqlite3.Connection:
    conn = connect(str(path), isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute(f"PRAGMA cache_size={cache_pages}")
    conn.execute("CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY, v BLOB)")
    conn.execute("CREATE INDEX IF NOT EXISTS t_v ON t (v)")
    return conn


def _rows(path: Path) -> list[tuple[int, bytes]]:
    with sqlite3.connect(path) as plain:  # SQLite's own VFS, to read what is on disk
        assert plain.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return plain.execute("SELECT k, v FROM t ORDER BY k").fetchall()


def _value(k: int, size: int = 300) -> bytes:
    return (b"%08d" % k) * (size // 8)


def test_the_store_opens_its_files_through_the_vfs_and_a_commit_is_one_write(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "db.sqlite")
    store.register("wb", ["CREATE TABLE wb_rows (k INTEGER PRIMARY KEY, v BLOB)"])
    before = walbuffer.counts()
    with store.transaction():
        for k in range(40):  # ~12 KB of rows, a few pages: a header and a page write each
            store.execute("INSERT INTO wb_rows VALUES (?, ?)", (k, _value(k)))
    store._commit_now()
    after = walbuffer.counts()
    held = after["held"] - before["held"]
    assert held >= 6  # at least 3 frames, each a header and a page
    assert after["flushed"] - before["flushed"] == 1
    store.close()
    with sqlite3.connect(tmp_path / "db.sqlite") as plain:
        assert plain.execute("SELECT count(*) FROM wb_rows").fetchone() == (40,)


@pytest.mark.parametrize("rows", [10, 600, 5000], ids=["one page", "over 128 KiB", "over 1 MiB"])
def test_commits_of_any_size_read_back_whole(tmp_path: Path, rows: int) -> None:
    """A flush of 128 KiB or more goes out in pieces (the unix VFS writes at most 128 KiB - 1
    bytes per call), and a commit over the 1 MiB buffer flushes as it goes."""
    path = tmp_path / "big.sqlite"
    conn = _open(path)
    expected = []
    for commit in range(3):
        conn.execute("BEGIN IMMEDIATE")
        for i in range(rows):
            k = commit * rows + i
            conn.execute("INSERT INTO t VALUES (?, ?)", (k, _value(k)))
            expected.append((k, _value(k)))
        conn.execute("COMMIT")
    conn.close()
    assert _rows(path) == expected


def test_another_connection_sees_each_commit_as_soon_as_it_returns(tmp_path: Path) -> None:
    """The frames must be in the file before the WAL index publishes them: a reader on its own
    connection (as the background checkpointer is) reads them at once."""
    path = tmp_path / "shared.sqlite"
    writer = _open(path)
    reader = connect(str(path), isolation_level=None)
    for k in range(200):
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("INSERT INTO t VALUES (?, ?)", (k, _value(k, 2000)))
        writer.execute("COMMIT")
        assert reader.execute("SELECT v FROM t WHERE k = ?", (k,)).fetchone() == (_value(k, 2000),)
        if k % 50 == 49:  # and the checkpoint copies what it reads from the WAL
            assert reader.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[0] == 0
    writer.close()
    reader.close()
    assert [k for k, _ in _rows(path)] == list(range(200))


def test_a_rolled_back_transaction_that_spilled_frames_leaves_nothing(tmp_path: Path) -> None:
    """With a tiny page cache a big transaction writes frames to the WAL before its end; rolled
    back, they must not count, and the next transaction overwrites them."""
    path = tmp_path / "spill.sqlite"
    conn = _open(path, cache_pages=10)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO t VALUES (?, ?)", (0, _value(0)))
    conn.execute("COMMIT")
    conn.execute("BEGIN IMMEDIATE")
    for k in range(1, 3000):
        conn.execute("INSERT INTO t VALUES (?, ?)", (k, _value(k)))
    conn.execute("ROLLBACK")
    conn.execute("BEGIN IMMEDIATE")
    for k in range(5000, 5400):  # spills as well, and rewrites frames of earlier pages
        conn.execute("INSERT INTO t VALUES (?, ?)", (k, _value(k)))
        conn.execute("UPDATE t SET v = ? WHERE k = 0", (_value(k),))
    conn.execute("COMMIT")
    conn.close()
    rows = _rows(path)
    assert [k for k, _ in rows] == [0, *range(5000, 5400)]
    assert rows[0][1] == _value(5399)


def test_the_wal_rewinds_and_is_written_again_from_its_start(tmp_path: Path) -> None:
    path = tmp_path / "rewind.sqlite"
    conn = _open(path)
    for k in range(300):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t VALUES (?, ?)", (k, _value(k, 1500)))
        conn.execute("COMMIT")
        if k % 40 == 39:
            conn.execute("PRAGMA wal_checkpoint(RESTART)")
    conn.close()
    assert [k for k, _ in _rows(path)] == list(range(300))


def test_every_commit_acknowledged_before_kill_9_is_there_after(tmp_path: Path) -> None:
    path = tmp_path / "killed.sqlite"
    child = textwrap.dedent(
        f"""
        import sys
        sys.path[:0] = {[str(Path(store_module.__file__).parents[2])]!r}
        from gondwana.storage.sqlite import connect
        conn = connect({str(path)!r}, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY, v BLOB)")
        k = 0
        while True:
            conn.execute("BEGIN IMMEDIATE")
            for _ in range(1 + k % 7):  # groups of different sizes, one over a page
                conn.execute("INSERT INTO t VALUES (?, ?)", (k, bytes(k % 251 for _ in range(900))))
                k += 1
            conn.execute("COMMIT")
            print(k, flush=True)  # every row below k is acknowledged
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    acknowledged = 0
    for line in proc.stdout:
        acknowledged = int(line)
        if acknowledged >= 3000:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with sqlite3.connect(path) as plain:
        assert plain.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        keys = [k for (k,) in plain.execute("SELECT k FROM t ORDER BY k")]
    assert keys[:acknowledged] == list(range(acknowledged))
    assert keys == list(range(len(keys)))  # a whole prefix of the commits, nothing torn


def test_a_rolled_back_spill_is_never_written_over_another_writers_commit(tmp_path: Path) -> None:
    """Frames spilled by a transaction that rolls back belong to no commit: once the connection
    gives up the write lock they are dropped, not written out later at offsets another
    writer has committed to meanwhile."""
    path = tmp_path / "two.sqlite"
    a = connect(str(path), isolation_level=None)
    a.execute("PRAGMA journal_mode=WAL")
    a.execute("PRAGMA wal_autocheckpoint=0")
    a.execute("CREATE TABLE big (k INTEGER PRIMARY KEY, v BLOB)")
    a.execute("CREATE TABLE other (k INTEGER PRIMARY KEY, v BLOB)")
    a.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    a.execute("PRAGMA cache_size=20")
    a.execute("BEGIN")
    for k in range(100):  # spills frames to the WAL, then rolls them back
        a.execute("INSERT INTO big VALUES (?, ?)", (k, os.urandom(3500)))
    a.execute("ROLLBACK")
    b = sqlite3.connect(path, isolation_level=None)  # another writer, SQLite's own VFS
    b.execute("BEGIN IMMEDIATE")
    for k in range(50):
        b.execute("INSERT INTO other VALUES (?, ?)", (k, b"B" * 3000))
    b.execute("COMMIT")
    b.close()
    assert a.execute("SELECT count(*), sum(length(v)) FROM other").fetchone() == (50, 150_000)
    a.close()
    with sqlite3.connect(path) as plain:
        assert plain.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert plain.execute("SELECT count(*) FROM other").fetchone() == (50,)
        assert plain.execute("SELECT count(*) FROM big").fetchone() == (0,)


def test_padding_frames_of_a_full_sync_commit_are_in_the_file_when_published(tmp_path: Path) -> None:
    """In FULL mode without power-safe overwrite SQLite pads a commit to a sector boundary with
    copies of the commit frame, the last one split around a sync: none of it may stay behind."""
    path = tmp_path / "padded.sqlite"
    uri = f"{path.absolute().as_uri()}?vfs={walbuffer.register()}&psow=0"
    writer = sqlite3.connect(uri, uri=True, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA synchronous=FULL")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB)")
    writer.execute("BEGIN")
    for k in range(3000):  # a long WAL of other bytes, then rewound: stale frames to overwrite
        writer.execute("INSERT INTO t VALUES (?, ?)", (k, os.urandom(300)))
    writer.execute("COMMIT")
    writer.execute("DELETE FROM t")
    writer.execute("PRAGMA wal_checkpoint(RESTART)")
    reader = sqlite3.connect(path, isolation_level=None)  # SQLite's own VFS
    for k in range(100):
        writer.execute("INSERT INTO t VALUES (?, ?)", (k, b"x" * 500))
        assert reader.execute("SELECT count(*), sum(length(v)) FROM t").fetchone() == (k + 1, 500 * (k + 1))
        assert reader.execute("PRAGMA quick_check").fetchone() == ("ok",)
    writer.close()
    reader.close()


def test_a_failed_write_out_keeps_the_frames_and_the_commit_that_needs_them_fails(tmp_path: Path) -> None:
    """A write-out that fails (a full disk) drops nothing: the call that needed it reports the
    error, and the commit either writes every frame or fails."""
    path = tmp_path / "full.sqlite"
    conn = _open(path)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO t VALUES (1, ?)", (_value(1),))
    conn.execute("COMMIT")
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO t VALUES (2, ?)", (_value(2),))
    walbuffer.fail_next_flush()
    with pytest.raises(sqlite3.OperationalError, match="full"):
        conn.execute("COMMIT")
    if conn.in_transaction:  # SQLite rolls back by itself on SQLITE_FULL
        conn.execute("ROLLBACK")
    conn.execute("BEGIN IMMEDIATE")  # the store goes on
    conn.execute("INSERT INTO t VALUES (3, ?)", (_value(3),))
    conn.execute("COMMIT")
    conn.close()
    assert [k for k, _ in _rows(path)] == [1, 3]

    path = tmp_path / "spilled.sqlite"  # a write-out for a read, in a transaction that goes on
    conn = connect(str(path), isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("CREATE TABLE big (k INTEGER PRIMARY KEY, v BLOB NOT NULL)")
    conn.execute("INSERT INTO big VALUES (0, zeroblob(100))")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA cache_size=20")
    conn.execute("BEGIN")
    for k in range(1, 201, 2):  # units that succeed, spilling frames (some held in the buffer)
        conn.execute("SAVEPOINT u")
        conn.execute("INSERT INTO big VALUES (?, ?), (?, ?)", (k, os.urandom(3500), k + 1, os.urandom(3500)))
        conn.execute("RELEASE u")
    walbuffer.fail_next_flush()
    conn.execute("SAVEPOINT u")
    try:  # reads a spilled page back: the write-out fails, and so does this unit alone
        conn.execute("UPDATE big SET v = v WHERE k IN (1, 2)")
        conn.execute("RELEASE u")
    except sqlite3.DatabaseError:
        if conn.in_transaction:
            conn.execute("ROLLBACK TO u")
            conn.execute("RELEASE u")
    committed = conn.in_transaction
    if committed:
        conn.execute("COMMIT")  # with every frame of the units that succeeded
    conn.close()
    with sqlite3.connect(path) as plain:
        assert plain.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        found = plain.execute("SELECT count(*), sum(length(v)) FROM big").fetchone()
    assert found == ((201, 700_100) if committed else (1, 100))


def test_without_the_vfs_in_the_sqlite_library_connect_falls_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where Python's sqlite3 uses another SQLite library than the one the extension registered
    with, the VFS name is unknown to it: the default VFS serves."""
    monkeypatch.setattr(store_module, "_register_vfs", lambda: "no-such-vfs")
    conn = connect(str(tmp_path / "plain.sqlite"), isolation_level=None)
    conn.execute("CREATE TABLE t (k)")
    conn.execute("INSERT INTO t VALUES (1)")
    conn.close()
    with sqlite3.connect(tmp_path / "plain.sqlite") as plain:
        assert plain.execute("SELECT k FROM t").fetchall() == [(1,)]
