"""The storage contract services program against.

Services write portable SQL (`?` placeholders, TEXT/INTEGER/REAL/BLOB columns, no engine-specific
functions) against their own tables only, which they declare through `register()` as a list of
migrations. Every change happens inside `transaction()`; the store commits changes in groups
and a response is released only after `after_commit` says its changes are on disk. A PostgreSQL
backend implements this same class (translating placeholders and BLOB→BYTEA in DDL) and no
service changes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any

Row = tuple[Any, ...]
Migration = str | Callable[["Store"], None]


class StoreError(Exception):
    """The store cannot be opened: its directory is unusable or held by another server, or its file
    is not a database (or is damaged). The message says which, for the operator."""


class Store:
    location: str
    # How many times changes already written were undone (a unit or a group rolled back after it
    # wrote): what a service keeps in memory about its rows (a queue's depth) is to be read again
    # from them once this moves.
    undone: int = 0

    def register(self, component: str, migrations: Sequence[Migration]) -> None:
        """Create or upgrade `component`'s tables: migration i runs once, when its version is reached."""
        raise NotImplementedError

    def transaction(self, *, undo_group: bool = False) -> AbstractContextManager[None]:
        """An atomic unit of change; nested units are savepoints. Rolled back on exception.

        `undo_group`: a unit that can fail only before it writes (its checks) or by the store's own
        errors (I/O, a full disk), which a backend may then run without a savepoint of its own:
        should it fail after writing, its whole commit group is rolled back, and every waiter hears
        the error, as when a commit fails."""
        raise NotImplementedError

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; returns the number of rows changed."""
        raise NotImplementedError

    def write(self, sql: str, params: Sequence[Any] = ()) -> int:
        """A unit of change of one statement: `execute` inside `transaction()`, which a backend may
        run without a savepoint (a single statement is atomic on its own)."""
        with self.transaction():
            return self.execute(sql, params)

    def write_rows(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """`write` for a statement that returns rows (`... RETURNING`): a unit of one statement; its rows."""
        with self.transaction():
            return self.query(sql, params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        raise NotImplementedError

    def insert(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run an INSERT; returns the new row id."""
        raise NotImplementedError

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        raise NotImplementedError

    def query_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        raise NotImplementedError

    def iterate(self, sql: str, params: Sequence[Any] = ()) -> Iterator[Row]:
        raise NotImplementedError

    @property
    def pending(self) -> bool:
        """True while changes are written but not yet committed."""
        raise NotImplementedError

    async def flushed(self) -> None:
        """Return once everything written so far is committed (at once when nothing is pending);
        raises the commit's error if it fails."""
        if not self.pending:
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def committed(error: BaseException | None) -> None:
            if waiter.done():
                return
            if error is None:
                waiter.set_result(None)
            else:
                waiter.set_exception(error)

        self.after_commit(committed)
        await waiter

    def after_commit(self, callback: Callable[[BaseException | None], None]) -> None:
        """Call `callback(None)` once everything written so far is committed, or with the error if
        that commit fails; at once when nothing is pending."""
        raise NotImplementedError

    def before_commit(self, callback: Callable[[], None]) -> None:
        """Call `callback()` inside the current transaction just before it commits (once per
        registration), so bookkeeping kept in memory across a group of units (counters) is
        written once per commit; a backend without group commit may call it at once."""
        callback()

    def reset(self) -> None:
        """Delete every row of every registered component (the schema stays)."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError
