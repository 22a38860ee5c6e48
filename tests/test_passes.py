"""storage/passes.py: work in passes, the next once the last is committed; a pass that fails, or
whose commit does, is undone, reported through `undone`, and tried again after the pause."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from gondwana.storage.passes import every, in_passes
from gondwana.storage.sqlite import SqliteStore


def test_passes_follow_commits_and_a_failed_commit_waits(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "p.db")
    store.register("p", ["CREATE TABLE p_rows (n INTEGER)"])
    log: list[str] = []

    def refuse() -> None:
        raise OSError("database or disk is full")

    def run_pass() -> bool:
        with store.transaction():
            store.execute("INSERT INTO p_rows (n) VALUES (?)", (len(log),))
            if len(log) == 1:
                store.before_commit(refuse)  # the second pass's commit fails
            if len(log) == 3:
                log.append("raised")
                raise RuntimeError("the fourth pass fails")
        log.append("pass")
        return len(log) < 6

    async def scenario() -> list[tuple[str, float]]:
        loop = asyncio.get_running_loop()
        timeline: list[tuple[str, float]] = []
        start = loop.time()

        def later(delay: float, callback: object) -> None:
            timeline.append(("later", delay))
            loop.call_later(delay, callback)  # type: ignore[arg-type]

        in_passes(store, later, run_pass, "testing", 0.05, lambda: timeline.append(("undone", 0.0)))
        while len(log) < 6:
            await asyncio.sleep(0.01)
            assert loop.time() - start < 5
        await store.flushed()
        return timeline

    try:
        timeline = asyncio.run(scenario())
        assert log == ["pass", "pass", "pass", "raised", "pass", "pass"]
        assert timeline == [
            ("later", 0),  # the first pass
            ("later", 0),  # the second, once the first is committed
            ("undone", 0.0),  # the second's commit failed: undone,
            ("later", 0.05),  # and the third waits the pause
            ("later", 0),
            ("undone", 0.0),  # the fourth raised
            ("later", 0.05),
            ("later", 0),  # the sixth, after the fifth; the sixth says it is done
        ]
        kept = [n for (n,) in store.query("SELECT n FROM p_rows ORDER BY n")]
        assert kept == [0, 2, 4, 5]  # the second (n=1) and the fourth (n=3) were undone
    finally:
        store.close()


def test_every_waits_its_interval_between_rounds_and_after_a_failure(tmp_path: Path) -> None:
    """`every`: passes while more is due follow each other once committed; after a pass with
    nothing more due, after a failed commit and after a pass that raised, the next waits the
    interval; a retired chain runs no more passes."""
    store = SqliteStore(tmp_path / "p.db")
    store.register("p", ["CREATE TABLE p_rows (n INTEGER)"])
    log: list[str] = []
    outcomes = ["more", "more, commit fails", "done", "raises", "more", "done"]
    retire: list[Any] = [None]

    def refuse() -> None:
        raise OSError("database or disk is full")

    def run_pass() -> bool:
        outcome = outcomes[len(log)] if len(log) < len(outcomes) else "after retiring"
        log.append(outcome)
        if len(log) == len(outcomes):
            retire[0]()  # the last pass retires the chain: the wait it arms leads to no pass
        with store.transaction():
            store.execute("INSERT INTO p_rows (n) VALUES (?)", (len(log),))
            if outcome == "more, commit fails":
                store.before_commit(refuse)
            if outcome == "raises":
                raise RuntimeError("the pass fails")
        return outcome.startswith("more")

    async def scenario() -> list[float]:
        loop = asyncio.get_running_loop()
        waits: list[float] = []

        def later(delay: float, callback: object) -> None:
            waits.append(delay)
            loop.call_later(delay, callback)  # type: ignore[arg-type]

        retire[0] = every(store, later, run_pass, "testing", 0.02, 0.0)
        while len(waits) <= len(outcomes):
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)  # more than the interval: time for a pass, were one to come
        return waits

    try:
        waits = asyncio.run(scenario())
        assert log == outcomes  # and not a pass more once retired
        assert waits == [0.0, 0, 0.02, 0.02, 0.02, 0, 0.02]
        # first; after "more"; after the failed commit; after "done"; after the raise; after
        # "more"; after "done"
        kept = [n for (n,) in store.query("SELECT n FROM p_rows ORDER BY n")]
        assert kept == [1, 3, 5, 6]  # the failed commit (2) and the raise (4) were undone
    finally:
        store.close()
