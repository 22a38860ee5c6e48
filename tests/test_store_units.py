"""The embedded store's units of change within one group commit: a failing unit undoes only its
own writes, whether it opened the transaction (ROLLBACK) or joined it (SAVEPOINT)."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from pathlib import Path

import pytest

from gondwana.storage.sqlite import CATCH_UP_PASSES, Checkpointer, SqliteStore


class Boom(Exception):
    pass


def _put(store: SqliteStore, key: str, fail: bool = False) -> None:
    try:
        with store.transaction():
            store.execute("INSERT INTO units_rows (k) VALUES (?)", (key,))
            if fail:
                raise Boom(key)
    except Boom:
        pass


def _committed(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return sorted(k for (k,) in conn.execute("SELECT k FROM units_rows"))


@pytest.mark.parametrize(
    ("steps", "kept"),
    [
        ([("a", False), ("b", True), ("c", False)], ["a", "c"]),  # a later unit fails
        ([("a", True), ("b", False), ("c", False)], ["b", "c"]),  # the unit that opened it fails
        ([("a", True), ("b", True), ("c", False)], ["c"]),
        ([("a", False), ("b", False), ("c", True)], ["a", "b"]),
    ],
)
def test_a_failing_unit_undoes_only_its_writes(
    tmp_path: Path, steps: list[tuple[str, bool]], kept: list[str]
) -> None:
    path = tmp_path / "units.db"

    async def scenario() -> list[BaseException | None]:
        store = SqliteStore(path)
        store.register("units", ["CREATE TABLE units_rows (k TEXT PRIMARY KEY)"])
        outcomes: list[BaseException | None] = []
        for key, fail in steps:  # all in one loop iteration: one group commit
            _put(store, key, fail)
            store.after_commit(outcomes.append)
        await store.flushed()
        await asyncio.sleep(0)
        store.close()
        return outcomes

    outcomes = asyncio.run(scenario())
    assert outcomes == [None] * len(steps)  # every waiter is answered, none with an error
    assert _committed(path) == kept


def test_a_failing_nested_unit_keeps_the_enclosing_writes(tmp_path: Path) -> None:
    path = tmp_path / "nested.db"

    async def scenario() -> None:
        store = SqliteStore(path)
        store.register("units", ["CREATE TABLE units_rows (k TEXT PRIMARY KEY)"])
        with store.transaction():
            store.execute("INSERT INTO units_rows (k) VALUES ('outer')")
            _put(store, "inner", fail=True)
            _put(store, "inner-ok")
        with pytest.raises(Boom), store.transaction():
            store.execute("INSERT INTO units_rows (k) VALUES ('doomed')")
            _put(store, "doomed-inner")
            raise Boom("outer fails after its nested unit succeeded")
        await store.flushed()
        store.close()

    asyncio.run(scenario())
    assert _committed(path) == ["inner-ok", "outer"]


def test_a_waiter_of_a_rolled_back_transaction_is_released(tmp_path: Path) -> None:
    """A unit that opened the transaction registers a waiter, then fails: the transaction is gone,
    so the waiter is answered at once instead of waiting for a commit that never comes."""

    async def scenario() -> list[BaseException | None]:
        store = SqliteStore(tmp_path / "waiter.db")
        store.register("units", ["CREATE TABLE units_rows (k TEXT PRIMARY KEY)"])
        seen: list[BaseException | None] = []
        try:
            with store.transaction():
                store.execute("INSERT INTO units_rows (k) VALUES ('x')")
                store.after_commit(seen.append)
                raise Boom("x")
        except Boom:
            pass
        assert not store.pending
        store.close()
        return seen

    assert asyncio.run(scenario()) == [None]


def test_the_wal_stays_bounded_under_a_steady_stream_of_writes(tmp_path: Path) -> None:
    """Writes that never pause must still let the WAL rewind: otherwise it grows by everything
    written and every read slows down with it."""
    path = tmp_path / "steady.db"
    store = SqliteStore(path, checkpoint_at=256 * 1024)
    store.register("units", ["CREATE TABLE units_rows (k TEXT PRIMARY KEY, v BLOB)"])
    wal = Path(f"{path}-wal")
    written, largest, key = 0, 0, 0
    # At least 2 s (the background pass runs every 0.2 s) and at least 16 MiB: on a loaded
    # machine fewer writes fit in 2 s, so it writes for longer (giving the pass more chances).
    started = time.monotonic()
    while written < 16 * 1024 * 1024 or time.monotonic() < started + 2.0:
        with store.transaction():
            for _ in range(20):
                key += 1
                store.execute("INSERT INTO units_rows (k, v) VALUES (?, ?)", (str(key), b"x" * 2000))
        store._commit_now()
        time.sleep(0.001)  # the server's writes come a loop iteration apart
        written += 20 * 2000
        largest = max(largest, wal.stat().st_size)
    store.close()
    # Rewound again and again: never more than a fraction of what went through it (without the
    # rewind, the WAL ends up holding all of it).
    assert largest < written // 4
    assert _committed(path)[:1] == ["1"] and len(_committed(path)) == key


def test_the_background_pass_syncs_the_database_before_asking_for_a_rewind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer's RESTART must sync the database and the WAL before it rewinds; the background
    pass flushes what it copied first (a pass outrun by new writes does not), so that the stall
    left to the writer is short."""
    import gondwana.storage.sqlite as sqlite_module

    synced: list[tuple[int, bool]] = []  # (inode, whether the rewind was already asked for)
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        real_fsync(fd)
        synced.append((os.fstat(fd).st_ino, store._checkpointer.rewind))  # type: ignore[union-attr]

    monkeypatch.setattr(sqlite_module.os, "fsync", fsync)
    path = tmp_path / "synced.db"
    store = SqliteStore(path, checkpoint_at=256 * 1024)
    store.register("units", ["CREATE TABLE units_rows (k TEXT PRIMARY KEY, v BLOB)"])
    deadline, key = time.monotonic() + 5.0, 0
    while time.monotonic() < deadline and not store._checkpointer.rewind:  # type: ignore[union-attr]
        with store.transaction():
            for _ in range(20):
                key += 1
                store.execute("INSERT INTO units_rows (k, v) VALUES (?, ?)", (str(key), b"x" * 2000))
        store._commit_now()
        time.sleep(0.001)
    database, wal = path.stat().st_ino, Path(f"{path}-wal").stat().st_ino
    store.close()
    assert (database, False) in synced and (wal, False) in synced  # before the rewind was asked for


def _catch_up_with(tmp_path: Path, bursts: list[int]) -> tuple[list[int], int]:
    """A background pass's catch-up while a writer appends `bursts[i]` rows of ~2 KB during its
    i-th sync (as the server's writer does while the pass flushes what it copied): the log's
    length at each pass, and the log's length at the end."""
    path = tmp_path / "catch-up.db"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("CREATE TABLE rows (k INTEGER PRIMARY KEY, v BLOB)")

    def write(rows: int) -> None:
        writer.executemany("INSERT INTO rows (v) VALUES (?)", [(b"x" * 2000,)] * rows)

    write(3000)
    checkpointer = Checkpointer(str(path), threshold=1 << 40, interval=3600.0)  # its loop stays idle
    real_sync, real_copy, passes = checkpointer._sync, checkpointer._copy, []
    pending = list(bursts)

    def sync() -> None:
        real_sync()
        if pending:
            write(pending.pop(0))

    def copy() -> tuple[bytes, int]:
        wal, frames = real_copy()
        passes.append(frames)
        return wal, frames

    checkpointer._sync, checkpointer._copy = sync, copy  # type: ignore[method-assign]
    checkpointer._catch_up(*copy())
    log = checkpointer._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1]
    checkpointer.stop()
    writer.close()
    return passes, log


def test_the_background_pass_catches_up_with_the_writer_before_asking_for_a_rewind(
    tmp_path: Path,
) -> None:
    """On a large database a pass and its fsync take long, and the writer appends thousands of
    frames meanwhile; its RESTART would copy and sync them all on the event loop (a ~35 ms stall
    per rewind on a 1,000,000-item table). So the pass copies again what came meanwhile, until a
    pass finds little new, and syncs that before asking for the rewind."""
    passes, log = _catch_up_with(tmp_path, [2000, 1000, 40, 0])
    assert len(passes) == 4  # the first, then two more for the big bursts, one that found little
    assert log == passes[-1]  # the burst written during the last sync was empty: nothing left over


def test_the_catch_up_gives_up_after_a_few_passes(tmp_path: Path) -> None:
    """A writer faster than the passes would keep the background thread copying for ever: after
    CATCH_UP_PASSES further passes the rest is left to the writer's RESTART."""
    passes, _ = _catch_up_with(tmp_path, [1000] * (CATCH_UP_PASSES + 3))
    assert len(passes) == 1 + CATCH_UP_PASSES


def test_before_commit_callbacks_write_once_in_the_group_and_a_failing_one_undoes_it(
    tmp_path: Path,
) -> None:
    """Bookkeeping kept in memory across a group (e.g. counters) is written by a before-commit
    callback inside the group's transaction: committed with the group, or not at all."""
    path = tmp_path / "before.db"

    async def scenario() -> tuple[list[BaseException | None], list[BaseException | None]]:
        store = SqliteStore(path)
        store.register("units", ["CREATE TABLE units_rows (k TEXT PRIMARY KEY)"])
        calls: list[str] = []

        def tally() -> None:
            calls.append("tally")
            store.execute("INSERT INTO units_rows (k) VALUES (?)", (f"tally-{len(calls)}",))

        ok: list[BaseException | None] = []
        for key in ("a", "b"):
            _put(store, key)
            store.after_commit(ok.append)
        store.before_commit(tally)
        await store.flushed()
        assert calls == ["tally"]  # once, just before the commit

        def broken() -> None:
            store.execute("INSERT INTO units_rows (k) VALUES ('half')")
            raise Boom("bookkeeping failed")

        failed: list[BaseException | None] = []
        _put(store, "c")
        store.after_commit(failed.append)
        store.before_commit(broken)
        await asyncio.sleep(0.01)
        assert not store.pending
        _put(store, "d")  # the next group is unaffected
        await store.flushed()
        store.close()
        return ok, failed

    ok, failed = asyncio.run(scenario())
    assert ok == [None, None]
    assert len(failed) == 1 and isinstance(failed[0], Boom)
    assert _committed(path) == ["a", "b", "d", "tally-1"]


def test_write_rows_is_a_unit_that_returns_its_rows(tmp_path: Path) -> None:
    """`write_rows` runs one statement as a unit of its own (opening the group's transaction or
    joining it) and returns what it RETURNING-s; a statement that fails leaves nothing behind."""
    path = tmp_path / "rows.db"

    async def scenario() -> list[list[tuple[str]]]:
        store = SqliteStore(path)
        store.register("units", ["CREATE TABLE units_rows (k TEXT PRIMARY KEY)"])
        got = [store.write_rows("INSERT INTO units_rows (k) VALUES ('a'), ('b') RETURNING k")]
        _put(store, "c")
        with pytest.raises(sqlite3.IntegrityError):
            store.write_rows("INSERT INTO units_rows (k) VALUES ('d'), ('a') RETURNING k")
        got.append(store.write_rows("DELETE FROM units_rows WHERE k = 'b' RETURNING k"))
        await store.flushed()
        store.close()
        return got

    assert asyncio.run(scenario()) == [[("a",), ("b",)], [("b",)]]
    assert _committed(path) == ["a", "c"]


def _put_joined(store: SqliteStore, key: str, fail_after: bool = False, fail_before: bool = False) -> None:
    try:
        with store.transaction(undo_group=True):
            if fail_before:
                raise Boom(key)
            store.execute("INSERT INTO units_rows (k) VALUES (?)", (key,))
            if fail_after:
                raise Boom(key)
    except Boom:
        pass


def test_an_undo_group_unit_joins_without_a_savepoint(tmp_path: Path) -> None:
    """A unit that can fail only before it writes joins the group as it is (no SAVEPOINT); if it
    fails before writing, the group goes on untouched, and nested units still get savepoints."""
    path = tmp_path / "joined.db"
    statements: list[str] = []

    async def scenario() -> list[BaseException | None]:
        store = SqliteStore(path)
        store.register("units", ["CREATE TABLE units_rows (k TEXT PRIMARY KEY)"])
        store._conn.set_trace_callback(statements.append)
        outcomes: list[BaseException | None] = []
        _put(store, "a")  # opens the group
        _put_joined(store, "b")
        _put_joined(store, "c", fail_before=True)  # nothing written: nothing to undo
        with store.transaction(undo_group=True):
            store.execute("INSERT INTO units_rows (k) VALUES ('d')")
            _put(store, "e", fail=True)  # nested: its own savepoint, undone alone
        store.after_commit(outcomes.append)
        await store.flushed()
        _put_joined(store, "f")  # opens the next group: the whole transaction, as ever
        store.after_commit(outcomes.append)  # f's waiter
        _put_joined(store, "g", fail_after=True)  # wrote, then failed: the group is undone
        await asyncio.sleep(0.01)
        assert not store.pending
        _put(store, "h")  # the next group is unaffected
        store.after_commit(outcomes.append)
        await store.flushed()
        store.close()
        return outcomes

    outcomes = asyncio.run(scenario())
    assert outcomes[0] is None and isinstance(outcomes[1], Boom) and outcomes[2] is None
    assert _committed(path) == ["a", "b", "d", "h"]
    savepoints = [s for s in statements if s.startswith(("SAVEPOINT", "RELEASE", "ROLLBACK"))]
    # a's unit opened the group; b and d joined it without one; e's nested unit took u1 (d's unit
    # is outermost); g rolled back the group it joined (f's)
    assert savepoints == ["SAVEPOINT u1", "ROLLBACK TO u1", "RELEASE u1", "ROLLBACK"]


def test_a_joined_unit_whose_failure_ended_the_transaction_fails_the_group(tmp_path: Path) -> None:
    """SQLite may answer a failing statement (a full disk, I/O) by rolling back the whole
    transaction; a joined unit that fails so, even before it wrote, fails the group's waiters."""
    path = tmp_path / "ended.db"

    async def scenario() -> list[BaseException | None]:
        store = SqliteStore(path)
        store.register("units", ["CREATE TABLE units_rows (k TEXT PRIMARY KEY)"])
        outcomes: list[BaseException | None] = []
        _put(store, "a")
        store.after_commit(outcomes.append)
        with pytest.raises(Boom), store.transaction(undo_group=True):
            store._conn.execute("ROLLBACK")  # what SQLite does on its own for some errors
            raise Boom("its statement failed")
        assert not store.pending
        _put(store, "b")
        await store.flushed()
        store.close()
        return outcomes

    outcomes = asyncio.run(scenario())
    assert len(outcomes) == 1 and isinstance(outcomes[0], Boom)
    assert _committed(path) == ["b"]


def _loops() -> list[object]:
    import uvloop  # the server's loop; asyncio's own runs the tools and the tests' helpers

    return [asyncio.new_event_loop, uvloop.new_event_loop]


@pytest.mark.parametrize("new_loop", _loops(), ids=["asyncio", "uvloop"])
def test_requests_a_poll_apart_share_one_commit_and_a_lone_one_waits_one_poll(
    tmp_path: Path, new_loop: object
) -> None:
    path = tmp_path / "gather.db"

    async def scenario() -> tuple[list[str], int]:
        store = SqliteStore(path)
        store.register("units", ["CREATE TABLE units_rows (k TEXT PRIMARY KEY)"])
        answered: list[str] = []

        def put(key: str) -> None:
            _put(store, key)
            store.after_commit(lambda error: answered.append(key))

        put("a")
        await asyncio.sleep(0)  # one turn of the loop: a poll for I/O, then "b" arrives
        # "a" is not committed yet, so "b" joins its transaction (there is one at a time)
        assert answered == [] and store.pending
        put("b")
        await store.flushed()
        put("c")  # alone: no request joins it, so its commit comes after one poll
        polls = 0
        while not answered[2:]:
            await asyncio.sleep(0)
            polls += 1
        store.close()
        return answered, polls

    loop = new_loop()  # type: ignore[operator]
    try:
        answered, polls = loop.run_until_complete(scenario())
    finally:
        loop.close()
    assert answered == ["a", "b", "c"]
    assert polls <= 2
    assert _committed(path) == ["a", "b", "c"]


def test_a_group_that_keeps_growing_commits_after_at_most_gather_polls(tmp_path: Path) -> None:
    from gondwana.storage.sqlite import GATHER_POLLS

    async def scenario() -> int:
        store = SqliteStore(tmp_path / "busy.db")
        store.register("units", ["CREATE TABLE units_rows (k TEXT PRIMARY KEY)"])
        answered: list[str] = []
        turns = 0
        while not answered:  # a new request in every turn of the loop
            _put(store, f"k{turns}")
            store.after_commit(lambda error: answered.append("first group"))
            turns += 1
            await asyncio.sleep(0)
            assert turns <= 2 * GATHER_POLLS, "the group never committed"
        store.close()
        return turns

    turns = asyncio.run(scenario())
    assert 1 < turns <= GATHER_POLLS + 1


def test_undone_counts_the_rollbacks_that_undid_writes(tmp_path: Path) -> None:
    """`store.undone` moves when written changes are undone (a savepoint, the group's first unit,
    a group whose unit failed after writing, a failed commit), and only then: what services keep
    in memory about their rows follows it."""

    async def scenario() -> list[int]:
        store = SqliteStore(tmp_path / "undone.db")
        store.register("units", ["CREATE TABLE units_rows (k TEXT PRIMARY KEY)"])
        seen = [store.undone]
        _put(store, "a", fail=True)  # the group's first unit, after writing
        seen.append(store.undone)
        with pytest.raises(Boom), store.transaction():  # the first unit, before writing
            raise Boom()
        seen.append(store.undone)
        _put(store, "b")
        _put(store, "c", fail=True)  # a savepoint, after writing
        with pytest.raises(Boom), store.transaction():  # a savepoint, before writing
            raise Boom()
        seen.append(store.undone)
        await store.flushed()
        _put(store, "d")
        with pytest.raises(Boom), store.transaction(undo_group=True):  # joined, after writing
            store.execute("INSERT INTO units_rows (k) VALUES ('e')")
            raise Boom()
        seen.append(store.undone)
        seen.append(len(store.query("SELECT k FROM units_rows")))
        store.close()
        return seen

    assert asyncio.run(scenario()) == [0, 1, 1, 2, 3, 1]
