"""The embedded store: one SQLite connection in WAL mode, used from the event-loop thread.

Group commit: the first change opens a transaction and schedules its COMMIT; every request that
wrote (or read) meanwhile is answered from an `after_commit` callback, so one commit (and, in
strict mode, one fsync) serves them all. The commit waits while the group grows: it runs after the
first poll for I/O that brings no request joining the group (or after `GATHER_POLLS` polls), so
requests that arrive a moment apart share it (see `_gather`).
A unit of change that fails rolls back only its own writes: the first unit of a transaction with
ROLLBACK, a later or nested one to its SAVEPOINT. A later unit that asks for it (`undo_group`: it
can fail only before it writes, or by the store's own errors) joins without a savepoint; should it
fail after writing, the whole group is rolled back, as when a commit fails.

Durability: `normal` (synchronous=NORMAL) keeps every acknowledged change across a process crash
or kill -9, as the WAL is written before the response; `strict` (synchronous=FULL) also fsyncs
each commit, so changes survive power loss too. Where the C extension `_walbuffer.c` is built, the
files are opened through its VFS, which writes each commit's WAL frames with one system call
instead of two per page: the same bytes, in the file before COMMIT returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from gondwana.storage.base import Migration, Row, Store, StoreError
from gondwana.storage.lock import lock_directory

try:  # the WAL-buffering VFS (_walbuffer.c); without a compiler, SQLite's default VFS
    from gondwana.storage._walbuffer import register as _register_vfs
except ImportError:
    _register_vfs = None

log = logging.getLogger("gondwana.storage")


def connect(location: str, **options: Any) -> sqlite3.Connection:
    """A connection to the database file at `location` (or ":memory:"), through the WAL-buffering
    VFS when this Python's sqlite3 module uses the SQLite library it is registered with."""
    if _register_vfs is not None and location != ":memory:":
        uri = f"{Path(location).absolute().as_uri()}?vfs={_register_vfs()}"
        try:
            return sqlite3.connect(uri, uri=True, **options)
        except sqlite3.OperationalError as exc:  # another SQLite library behind sqlite3
            log.debug("WAL-buffering VFS unavailable: %s", exc)
    return sqlite3.connect(location, **options)


class SqliteStore(Store):
    def __init__(
        self, path: Path | None, durability: str = "normal", checkpoint_at: int = 8 * 1024 * 1024
    ) -> None:
        self.location = ":memory:" if path is None else str(path)
        self._lock = None if path is None else lock_directory(path.parent)
        try:
            self._conn = self._open(path is not None, durability)
        except sqlite3.DatabaseError as exc:  # not a database, or a damaged one
            self._release()
            raise StoreError(f"cannot open the store {self.location}: {exc}") from None
        self._checkpointer: Checkpointer | None = None
        if path is not None:
            self._checkpointer = Checkpointer(self.location, checkpoint_at)
        self._components: list[str] = []
        self._units: list[int] = []  # per open unit, outermost first: _FIRST, _SAVEPOINT_UNIT or _JOINED
        self._unit = _Unit(self, False)
        self._joining_unit = _Unit(self, True)
        self._joined_at = 0  # total changes when the _JOINED unit began
        self._began_at = 0  # total changes when the group's transaction began
        self._saved_at: list[int] = []  # total changes when each open savepoint began
        self._open = False
        self._callbacks: list[Callable[[BaseException | None], None]] = []
        self._waiting = 0  # requests waiting for the commit when _gather last looked
        self._polls = 0  # polls for I/O since the transaction began
        self._gathering = False  # a _gather is scheduled
        self._before: list[Callable[[], None]] = []
        self._closed = False

    def _open(self, on_disk: bool, durability: str) -> sqlite3.Connection:
        conn = connect(self.location, isolation_level=None, check_same_thread=False, cached_statements=512)
        try:
            if on_disk:
                conn.execute("PRAGMA journal_mode=WAL")
                # Checkpoints (copying the WAL into the database, with an fsync) cost more than half
                # of a commit when they run inline; a background thread does them instead.
                conn.execute("PRAGMA wal_autocheckpoint=0")
            conn.execute(f"PRAGMA synchronous={'FULL' if durability == 'strict' else 'NORMAL'}")
            conn.execute("PRAGMA temp_store=MEMORY")
            conn.execute("PRAGMA cache_size=-65536")  # 64 MiB page cache
            # Debian's SQLite overwrites every freed page with zeros: deleting a row of megabytes
            # (a stream's blocks, a large message) wrote as much log. FAST zeroes deleted content
            # only in pages that are written anyway.
            conn.execute("PRAGMA secure_delete=FAST")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS _gondwana_schema"
                " (component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
            )
        except sqlite3.Error:
            conn.close()
            raise
        return conn

    def _release(self) -> None:
        """Let another server have the data directory."""
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    # ---- schema --------------------------------------------------------------------------------

    def register(self, component: str, migrations: Sequence[Migration]) -> None:
        row = self.query_one("SELECT version FROM _gondwana_schema WHERE component = ?", (component,))
        version = row[0] if row else 0
        for number, step in enumerate(migrations, start=1):
            if number <= version:
                continue
            with self.transaction():
                if callable(step):
                    step(self)
                else:
                    for statement in filter(None, (s.strip() for s in step.split(";"))):
                        self._conn.execute(statement)
                self._conn.execute(
                    "INSERT INTO _gondwana_schema (component, version) VALUES (?, ?) "
                    "ON CONFLICT (component) DO UPDATE SET version = excluded.version",
                    (component, number),
                )
        if component not in self._components:
            self._components.append(component)
        self._commit_now()

    def tables(self, component: str) -> list[str]:
        rows = self._conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE ? ESCAPE '\\'",
            (component.replace("_", "\\_") + "\\_%",),
        ).fetchall()
        return [r[0] for r in rows]

    # ---- changes -------------------------------------------------------------------------------

    def transaction(self, *, undo_group: bool = False) -> AbstractContextManager[None]:
        return self._joining_unit if undo_group else self._unit

    def _begin_unit(self, undo_group: bool) -> None:
        if not self._open:  # the unit is the whole transaction so far: undone by ROLLBACK
            self._begin()
            self._units.append(_FIRST)
        elif undo_group and not self._units:  # joins the group as it is: no savepoint
            self._joined_at = self._conn.total_changes
            self._units.append(_JOINED)
        else:
            self._conn.execute(_SAVEPOINT[len(self._units)])
            self._units.append(_SAVEPOINT_UNIT)
            self._saved_at.append(self._conn.total_changes)

    def _begin(self) -> None:
        """Open the group's transaction; its COMMIT runs at the end of this loop iteration."""
        self._conn.execute("BEGIN IMMEDIATE")
        self._began_at = self._conn.total_changes
        self._open = True
        self._schedule_commit()

    def _end_unit(self, error: BaseException | None) -> None:
        kind = self._units.pop()
        if kind == _SAVEPOINT_UNIT:
            depth = len(self._units)
            saved_at = self._saved_at.pop()
            if error is not None:
                if self._conn.total_changes != saved_at:
                    self.undone += 1
                self._conn.execute(_ROLLBACK_TO[depth])
            self._conn.execute(_RELEASE[depth])
        elif error is None:
            return
        elif kind == _FIRST:
            if self._conn.total_changes != self._began_at:
                self.undone += 1
            self._conn.execute("ROLLBACK")
            self._open = False
            self._before.clear()
            callbacks, self._callbacks = self._callbacks, []
            for callback in callbacks:  # nothing of theirs was written: nothing left to wait for
                callback(None)
        elif self._conn.total_changes != self._joined_at or not self._conn.in_transaction:
            # a joined unit that wrote (or whose failure SQLite answered by rolling back on its
            # own): the group is undone
            log.error("a unit failed after writing; rolling back its group", exc_info=error)
            self._fail_group(error)

    def _fail_group(self, error: BaseException) -> None:
        """Roll the group back; every waiter hears `error` (nothing of the group is committed)."""
        self.undone += 1
        self._before.clear()
        with contextlib.suppress(sqlite3.Error):
            self._conn.execute("ROLLBACK")
        self._open = False
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            try:
                callback(error)
            except Exception:
                log.exception("a commit callback failed")

    def write(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One statement as a unit of its own, with no savepoint: a statement that fails leaves
        nothing behind (SQLite undoes it alone), and the group it joined goes on."""
        if not self._open:
            self._begin()
        return self._conn.execute(sql, params).rowcount

    def write_rows(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """`write` for a statement that returns rows (`... RETURNING`); they are read to the end, so
        the statement is done when this returns."""
        if not self._open:
            self._begin()
        return self._conn.execute(sql, params).fetchall()

    def _schedule_commit(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (start-up, tools): committed by _commit_now at the caller's end
        self._waiting = -1
        self._polls = 0
        if not self._gathering:  # else the chain of an earlier group, committed early, goes on
            self._gathering = True
            loop.call_soon(self._gather)

    def _gather(self) -> None:
        """Commit, unless the last poll for I/O brought requests that joined the group: then look
        again after the next poll (a callback scheduled from a callback runs after it).

        Under load, answering a group at once splits the connections into cohorts that arrive a
        moment apart, each then paying for a commit of its own (with 8 connections: groups of 3
        or 4 instead of 8, and a commit costs about as much as a small request). A request alone
        waits for one poll with no timeout, a few microseconds."""
        waiting = len(self._callbacks)
        if self._open and waiting != self._waiting and self._polls < GATHER_POLLS:
            self._waiting = waiting
            self._polls += 1
            asyncio.get_running_loop().call_soon(self._gather)
        else:
            self._gathering = False
            self._commit()

    def _commit(self) -> None:
        if not self._open:
            return
        if self._units:  # a unit is still open (cannot happen with sync units); try next iteration
            asyncio.get_running_loop().call_soon(self._commit)
            return
        callbacks, self._callbacks = self._callbacks, []
        error: Exception | None = None
        try:
            while self._before:  # a callback may register another
                before, self._before = self._before, []
                for call in before:
                    call()
            self._conn.execute("COMMIT")
        except Exception as exc:  # nothing of the group is committed, and every waiter hears why
            if isinstance(exc, sqlite3.OperationalError):  # a full or failing disk: a line, no trace
                log.error("commit failed (%s); rolling back the group", exc)
            else:
                log.exception("commit failed; rolling back the group")
            self._before.clear()
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")
            self.undone += 1
            error = exc
        finally:
            self._open = False
        if self._checkpointer is not None and self._checkpointer.rewind:
            self._rewind_wal(self._checkpointer)
        for callback in callbacks:
            try:
                callback(error)
            except Exception:
                log.exception("a commit callback failed")

    def _rewind_wal(self, checkpointer: Checkpointer) -> None:
        try:
            self._conn.execute("PRAGMA wal_checkpoint(RESTART)")
        except sqlite3.Error:
            log.debug("WAL rewind skipped", exc_info=True)
        checkpointer.rewind = False

    def _commit_now(self) -> None:
        if self._open and not self._units:
            self._commit()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self._conn.execute(sql, params).rowcount

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._conn.executemany(sql, rows)

    def insert(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self._conn.execute(sql, params).lastrowid or 0

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return self._conn.execute(sql, params).fetchall()

    def query_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        return self._conn.execute(sql, params).fetchone()

    def iterate(self, sql: str, params: Sequence[Any] = ()) -> Iterator[Row]:
        return iter(self._conn.execute(sql, params))

    @property
    def pending(self) -> bool:
        return self._open

    def before_commit(self, callback: Callable[[], None]) -> None:
        if self._open:
            self._before.append(callback)
        else:
            callback()

    def after_commit(self, callback: Callable[[BaseException | None], None]) -> None:
        if self._open:
            self._callbacks.append(callback)
        else:
            callback(None)

    def reset(self) -> None:
        with self.transaction():
            for component in self._components:
                for table in self.tables(component):
                    self._conn.execute(f'DELETE FROM "{table}"')
        self._commit_now()

    def close(self) -> None:
        if self._closed:
            return
        if self._checkpointer is not None:
            self._checkpointer.stop()
        self._commit_now()
        if self._open:
            self._commit()
        with contextlib.suppress(sqlite3.Error):
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._conn.close()
        if self._checkpointer is not None:
            self._checkpointer.release()
        self._release()
        self._closed = True


CATCH_UP_PASSES = 6  # at most this many further checkpoint passes before asking for a rewind
CATCH_UP_FRAMES = 256  # a pass that found no more new frames than this leaves the rest to the writer
GATHER_POLLS = 4  # at most this many polls for I/O between a group's first change and its commit

_SAVEPOINT = [f"SAVEPOINT u{depth}" for depth in range(64)]
_ROLLBACK_TO = [f"ROLLBACK TO u{depth}" for depth in range(64)]
_RELEASE = [f"RELEASE u{depth}" for depth in range(64)]

# How an open unit began: the group's transaction, a savepoint, or joining the group as it was.
_FIRST, _SAVEPOINT_UNIT, _JOINED = 0, 1, 2


class _Unit:
    """`store.transaction()`: one reusable context manager (the nesting is kept by the store),
    cheaper than a generator-based one on every write."""

    __slots__ = ("_store", "_undo_group")

    def __init__(self, store: SqliteStore, undo_group: bool) -> None:
        self._store = store
        self._undo_group = undo_group

    def __enter__(self) -> None:
        self._store._begin_unit(self._undo_group)

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, *_: object) -> None:
        self._store._end_unit(error if kind is not None else None)


class Checkpointer:
    """Moves the WAL into the database from a thread of its own (PASSIVE: never blocks the
    writer), whenever the WAL has grown past `threshold` bytes, so the event loop never pays for
    the bulk of it.

    SQLite rewinds the WAL only when a write begins with every frame copied, which a steady
    stream of writes never allows: the WAL would grow by everything written, and every read would
    pay for searching its index (reads and writes slowing down as the data grows). So once a
    PASSIVE pass is done, `rewind` asks the writer to run RESTART right after its next COMMIT:
    it copies only what was appended since, and the next write starts the WAL afresh from its
    beginning. (RESTART, not TRUNCATE: overwriting the file's blocks in place costs the writer
    about half of appending to a truncated file, in the commits and in the rewind. The file so
    keeps its size, so the log's own frame count, not the file size, says when to rewind.)"""

    def __init__(self, location: str, threshold: int = 8 * 1024 * 1024, interval: float = 0.2) -> None:
        self.location = location
        self.wal = location + "-wal"
        self.threshold = threshold
        self.interval = interval
        self.rewind = False  # set here, cleared by the writer once it has rewound the WAL
        # Descriptors of the database and the WAL, opened once and closed only after the store's
        # connections (`release`): closing any descriptor of a file drops every POSIX lock this
        # process holds on it, SQLite's too. Without the database's SHARED lock, another process
        # that closed a connection of its own took itself for the last one, checkpointed and
        # deleted the WAL the writer was still appending to: what was written next was lost.
        self._fds: dict[str, int] = {}
        self._stop = threading.Event()
        self._conn = connect(location, isolation_level=None, check_same_thread=False)
        self._page = self._conn.execute("PRAGMA page_size").fetchone()[0]
        self._thread = threading.Thread(target=self._run, name="gondwana-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            if self.rewind:
                continue  # the writer has not rewound yet: stay out of its way
            try:
                if os.path.getsize(self.wal) >= self.threshold:
                    generation, frames = self._copy()
                    if frames * self._page >= self.threshold:
                        self._catch_up(generation, frames)
                        self.rewind = True
            except (OSError, sqlite3.Error):
                log.debug("background checkpoint skipped", exc_info=True)

    def _copy(self) -> tuple[bytes, int]:
        """One PASSIVE pass: which log it copied from (the WAL header's checkpoint sequence and
        salt, new each time the log begins anew) and the log's length in frames."""
        frames = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1]
        return os.pread(self._fd(self.wal), 24, 0)[12:], frames

    def _catch_up(self, generation: bytes, frames: int) -> None:
        """Sync, then copy what the writer appended meanwhile, until a pass finds little new.

        The writer's RESTART copies and syncs whatever the last pass left, on the event loop. On a
        large database a pass and its fsync take long enough (pages land all over the file) for
        the writer to append thousands of frames meanwhile: a rewind then stalled every request
        for ~35 ms. Each further pass copies only what came during the one before, so the rest
        shrinks fast, and the writer's share with it."""
        for _ in range(CATCH_UP_PASSES):
            self._sync()
            newer_generation, newer = self._copy()
            # A write that found everything copied began the log anew: all of it is new.
            if (newer - frames if newer_generation == generation else newer) <= CATCH_UP_FRAMES:
                break
            generation, frames = newer_generation, newer
        self._sync()

    def _sync(self) -> None:
        """Flush what the pass copied into the database file (and the WAL so far) to disk here,
        so that the writer's RESTART, which must sync both before it rewinds, finds little left
        to flush (a PASSIVE pass outrun by new writes does not sync the database itself)."""
        for path in (self.location, self.wal):
            os.fsync(self._fd(path))

    def _fd(self, path: str) -> int:
        fd = self._fds.get(path)
        if fd is None:
            fd = self._fds[path] = os.open(path, os.O_RDONLY)
        return fd

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._conn.close()

    def release(self) -> None:
        """Close the descriptors (once the store's connections are closed: see `_fds`)."""
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
