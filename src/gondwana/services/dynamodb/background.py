"""Work on a table done in passes of a few milliseconds on the event loop, so that no request
waits behind it for long: a new GSI's backfill (backfill.py) and a restore from a backup
(restoring.py). Each keeps where it stands in the table's description, so a restart goes on."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gondwana.services.dynamodb.schema import Table
    from gondwana.services.dynamodb.tables import Tables

log = logging.getLogger("gondwana.dynamodb")

QUANTUM = 0.005  # seconds of work per pass
RETRY = 10.0  # seconds before a pass that failed (a failing disk) is tried again

Pass = Callable[["Table"], bool]  # one pass in the caller's unit of change: True once all is done


def in_passes(tables: Tables, table: Table, run_pass: Pass, what: str) -> None:
    """Passes in the background until `run_pass` is done (or the table gone), from the commit of
    the caller's unit of change on (none if it fails)."""
    runtime = tables.runtime
    account, region, name, tid = table.account, table.region, table.name, table.tid

    def step() -> None:
        current = tables.store.get(account, region, name)
        if current is None or current.tid != tid:
            return
        try:
            with runtime.store.transaction():
                done = run_pass(current)
        except Exception:
            tables.store.clear()  # the description in memory may be ahead of the store's
            log.exception("%s of table %s failed; trying again later", what, name)
            runtime.later(RETRY, step)
            return
        if not done:
            runtime.store.after_commit(next_step)

    def next_step(error: BaseException | None) -> None:
        if error is not None:  # the commit failed: the pass is undone, and so must be its position
            tables.store.clear()
        runtime.later(0 if error is None else RETRY, step)

    runtime.store.after_commit(lambda error: None if error else runtime.later(0, step))
