"""Work that grows with the data, done in passes of a few milliseconds on the event loop (each a
unit of change of its own) so that no request waits behind it for long: the rows of deleted
resources (reclaim.py), expired SQS messages (SQS's retention.py), a new GSI's backfill and a
restore from a backup (DynamoDB's background.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from gondwana.storage.base import Store

log = logging.getLogger("gondwana.storage")

Later = Callable[[float, Callable[[], None]], None]  # Runtime.later


def in_passes(
    store: Store,
    later: Later,
    run_pass: Callable[[], bool],
    what: str,
    retry: float,
    undone: Callable[[], None] | None = None,
) -> None:
    """From the commit of the caller's unit of change on (nothing if it fails), run `run_pass`
    (True while more remains), the next pass at the loop's next turn once the last is committed,
    so that a pass never follows one a full disk undid (that would spin). A pass that fails, or
    whose commit does, is undone by the store: `undone` drops what memory kept ahead of it, and
    the passes go on after `retry` seconds."""

    def step() -> None:
        try:
            more = run_pass()
        except Exception:
            log.exception("%s failed; trying again in %g s", what, retry)
            if undone is not None:
                undone()
            later(retry, step)
            return
        if more:
            store.after_commit(next_step)

    def next_step(error: BaseException | None) -> None:
        if error is not None and undone is not None:
            undone()
        later(0 if error is None else retry, step)

    store.after_commit(lambda error: None if error else later(0, step))
