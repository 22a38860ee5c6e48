"""Work on a table done in passes of a few milliseconds on the event loop, so that no request
waits behind it for long: a new GSI's backfill (backfill.py), a restore (restoring.py), a new
replica's seeding (replication/seeding.py) and the items' expiry after a TTL change
(expiry_index.py). Each keeps where it stands in the table's description, so a restart goes on.
(A backup's copy, snapshots.py, goes on after its table is gone: it runs its passes itself.)"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from gondwana.storage.passes import in_passes

if TYPE_CHECKING:
    from gondwana.services.dynamodb.schema import Table
    from gondwana.services.dynamodb.tables import Tables

QUANTUM = 0.005  # seconds of work per pass
RETRY = 10.0  # seconds before a pass that failed (a failing disk) is tried again

Pass = Callable[["Table"], bool]  # one pass in the caller's unit of change: True once all is done


def on_table(tables: Tables, table: Table, run_pass: Pass, what: str) -> None:
    """`run_pass` over `table` in background passes until it is done (or the table gone), from the
    commit of the caller's unit of change on. A pass undone drops the cached descriptions, whose
    position ran ahead of the store's."""
    runtime = tables.runtime
    account, region, name, tid = table.account, table.region, table.name, table.tid

    def step() -> bool:
        current = tables.store.get(account, region, name)
        if current is None or current.tid != tid:
            return False
        with runtime.store.transaction():
            return not run_pass(current)

    in_passes(runtime.store, runtime.later, step, f"{what} table {name}", RETRY, tables.store.clear)
