"""storage/passes.py: work in passes, the next once the last is committed; a pass that fails, or
whose commit does, is undone, reported through `undone`, and tried again after the pause."""

from __future__ import annotations

import asyncio
from pathlib import Path

from gondwana.storage.passes import in_passes
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
