"""What every service shares at run time: settings, the store, the clock and background work."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from gondwana.config import Settings
from gondwana.faults import Faults
from gondwana.storage import Store
from gondwana.storage.reclaim import Reclaimer

if TYPE_CHECKING:
    from gondwana.services.base import Service

log = logging.getLogger("gondwana")


class Clock:
    """Wall-clock time with an offset that tests may advance (`POST /_gondwana/clock`)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


class Runtime:
    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self.clock = Clock()
        self.faults = Faults()
        self.services: dict[str, Service] = {}
        self.started = time.time()
        self.shutting_down = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._timers: set[asyncio.TimerHandle] = set()
        # Listeners told when the clock jumps, so timers keyed to it can re-arm.
        self.clock_listeners: list[Callable[[], None]] = []
        # Deletes what deleted resources left behind, in the background.
        self.reclaimer = Reclaimer(store, self.later)

    @property
    def state_delay(self) -> float:
        return self.settings.state_delay

    @property
    def transaction_duration(self) -> float:
        """Seconds a write transaction stays in progress, its items locked (default 0: none)."""
        return self.settings.transaction_duration

    def now(self) -> float:
        return self.clock.now()

    def later(self, delay: float, callback: Callable[[], None]) -> None:
        """Run `callback` on the loop after `delay` seconds (at once, next iteration, when 0)."""
        loop = asyncio.get_running_loop()

        def fire() -> None:
            self._timers.discard(handle)
            try:
                callback()
            except Exception:
                log.exception("background callback failed")

        handle = loop.call_later(max(delay, 0.0), fire) if delay > 0 else loop.call_soon(fire)  # type: ignore[assignment]
        self._timers.add(handle)  # type: ignore[arg-type]

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """A background task that is cancelled on shutdown and whose failure is logged."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)

        def done(t: asyncio.Task[Any]) -> None:
            self._tasks.discard(t)
            if not t.cancelled() and t.exception() is not None:
                log.error("background task failed", exc_info=t.exception())

        task.add_done_callback(done)
        return task

    def cancel_background(self) -> None:
        for handle in list(self._timers):
            handle.cancel()
        self._timers.clear()
        for task in list(self._tasks):
            task.cancel()

    def reset(self) -> None:
        """Wipe all state: every service, account and region. Background work keeps running (a
        sweeper finds nothing to do; a timer for a resource that is gone finds no resource)."""
        self.store.reset()
        self.clock.offset = 0.0
        for service in self.services.values():
            service.reset()
