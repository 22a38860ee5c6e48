"""Work that grows with the data, done in passes of a few milliseconds on the event loop (each a
unit of change of its own) so that no request waits behind it for long: the rows of deleted
resources (reclaim.py), expired SQS messages (SQS's retention.py), DynamoDB's work on a table
(its background.py) and its backups' copies (snapshots.py); and, `every` some seconds, the
services' sweeps (SQS's deduplication ids, Kinesis retention, DynamoDB's TTL)."""

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
    step = _chain(store, later, run_pass, what, retry, undone, None, lambda: True)
    store.after_commit(lambda error: None if error else later(0, step))


class Passes:
    """`in_passes` over one `run_pass`, a chain at a time: `start` while one runs does nothing (a
    chain ends when a pass reports nothing more)."""

    def __init__(
        self,
        store: Store,
        later: Later,
        run_pass: Callable[[], bool],
        what: str,
        retry: float,
        undone: Callable[[], None] | None = None,
    ) -> None:
        self._chain = (store, later, self._step, what, retry, undone)
        self._run_pass = run_pass
        self.running = False

    def start(self) -> None:
        if not self.running:
            self.running = True
            in_passes(*self._chain)

    def _step(self) -> bool:
        self.running = self._run_pass()
        return self.running


def every(
    store: Store, later: Later, run_pass: Callable[[], bool], what: str, interval: float, first: float
) -> Callable[[], None]:
    """`run_pass` for good, the first after `first` seconds: as `in_passes` while it reports more,
    and `interval` seconds after a pass that reports nothing more is due, or that fails. Returns
    what retires the chain (a reset, or a clock moved on, starts a new one)."""
    alive = [True]
    later(first, _chain(store, later, run_pass, what, interval, None, interval, lambda: alive[0]))

    def retire() -> None:
        alive[0] = False

    return retire


def _chain(
    store: Store,
    later: Later,
    run_pass: Callable[[], bool],
    what: str,
    retry: float,
    undone: Callable[[], None] | None,
    idle: float | None,
    alive: Callable[[], bool],
) -> Callable[[], None]:
    """The step of a chain of passes: `idle` is the wait after a pass with nothing more to do (None:
    the chain ends there)."""

    def step() -> None:
        if not alive():
            return
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
        elif idle is not None:
            store.after_commit(lambda error: later(idle, step))  # (committed or not)

    def next_step(error: BaseException | None) -> None:
        if error is not None and undone is not None:
            undone()
        later(0 if error is None else retry, step)

    return step
