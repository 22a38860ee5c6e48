"""Fault injection: regions that go down, partitions between regions, lag, throttling.

Faults live in memory (they describe the present, not data) and are keyed so that setting one
twice replaces it: `region-down:us-east-1`, `partition:eu-west-1|us-east-1`,
`lag:us-east-1>eu-west-1`, `throttle:us-east-1`. The chain consults them on every request;
replication consults `reachable()` and `extra_lag()`. Every change is logged and shown by the
health endpoint.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

log = logging.getLogger("gondwana.faults")

MODES = ("error", "hang", "refuse")


class FaultError(ValueError):
    """A fault description that makes no sense (the control API answers 400)."""


@dataclass(slots=True)
class Fault:
    id: str
    type: str
    regions: list[str]
    mode: str | None = None
    ms: int | None = None
    fraction: float | None = None
    since: float = field(default_factory=time.time)


def _region(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise FaultError("a region name is required")
    return value


class Faults:
    def __init__(self) -> None:
        self._faults: dict[str, Fault] = {}
        self._down: dict[str, str] = {}  # region -> mode
        self._throttle: dict[str, float] = {}
        self._partitions: set[frozenset[str]] = set()
        self._lag: dict[tuple[str, str], float] = {}
        self.active = False  # any region down or throttled: the chain checks only then
        self._healed = asyncio.Event()
        self.listeners: list[Callable[[], None]] = []  # told after every change

    # ---- changes -------------------------------------------------------------------------------

    def add(self, spec: dict[str, Any]) -> Fault:
        kind = spec.get("type")
        if kind == "region-down":
            region = _region(spec.get("region"))
            mode = spec.get("mode", "error")
            if mode not in MODES:
                raise FaultError(f"mode must be one of {', '.join(MODES)}")
            fault = Fault(f"region-down:{region}", kind, [region], mode=mode)
        elif kind == "partition":
            a, b = sorted(_region(r) for r in (spec.get("regions") or [None, None])[:2])
            if a == b:
                raise FaultError("a partition needs two different regions")
            fault = Fault(f"partition:{a}|{b}", kind, [a, b])
        elif kind == "lag":
            source, target = _region(spec.get("from")), _region(spec.get("to"))
            ms = spec.get("ms")
            if not isinstance(ms, int | float) or ms < 0:
                raise FaultError("lag needs ms >= 0")
            fault = Fault(f"lag:{source}>{target}", kind, [source, target], ms=int(ms))
        elif kind == "throttle":
            region = _region(spec.get("region"))
            fraction = spec.get("fraction")
            if not isinstance(fraction, int | float) or not 0 <= fraction <= 1:
                raise FaultError("throttle needs a fraction between 0 and 1")
            fault = Fault(f"throttle:{region}", kind, [region], fraction=float(fraction))
        else:
            raise FaultError("type must be region-down, partition, lag or throttle")
        self._faults[fault.id] = fault
        log.warning("fault injected: %s", _describe(fault))
        self._rebuild()
        return fault

    def remove(self, fault_id: str) -> bool:
        fault = self._faults.pop(fault_id, None)
        if fault is not None:
            log.warning("fault cleared: %s", _describe(fault))
            self._rebuild()
        return fault is not None

    def clear(self) -> None:
        if self._faults:
            self._faults.clear()
            log.warning("all faults cleared: a healthy world")
            self._rebuild()

    def _rebuild(self) -> None:
        faults = self._faults.values()
        self._down = {f.regions[0]: f.mode or "error" for f in faults if f.type == "region-down"}
        self._throttle = {f.regions[0]: f.fraction or 0.0 for f in faults if f.type == "throttle"}
        self._partitions = {frozenset(f.regions) for f in faults if f.type == "partition"}
        self._lag = {(f.regions[0], f.regions[1]): (f.ms or 0) / 1000 for f in faults if f.type == "lag"}
        self.active = bool(self._down or self._throttle)
        # Wake everything waiting for a heal (hung requests re-check their region).
        self._healed.set()
        self._healed = asyncio.Event()
        for listener in list(self.listeners):
            try:
                listener()
            except Exception:
                log.exception("fault listener failed")

    # ---- queries -------------------------------------------------------------------------------

    def snapshot(self) -> list[dict[str, Any]]:
        return [asdict(f) for f in self._faults.values()]

    def down_mode(self, region: str) -> str | None:
        return self._down.get(region) if self._down else None

    def throttled(self, region: str) -> bool:
        fraction = self._throttle.get(region) if self._throttle else None
        return fraction is not None and random.random() < fraction

    def reachable(self, a: str, b: str) -> bool:
        """Can region a talk to region b (for replication)?"""
        if a in self._down or b in self._down:
            return False
        return frozenset((a, b)) not in self._partitions

    def extra_lag(self, source: str, target: str) -> float:
        """Injected replication lag in seconds from source to target."""
        return self._lag.get((source, target), 0.0)

    async def changed(self) -> None:
        """Wait for the next change of faults."""
        await self._healed.wait()


def _describe(fault: Fault) -> str:
    if fault.type == "region-down":
        return f"region {fault.regions[0]} down ({fault.mode})"
    if fault.type == "partition":
        return f"partition between {fault.regions[0]} and {fault.regions[1]}"
    if fault.type == "lag":
        return f"replication lag {fault.regions[0]} -> {fault.regions[1]} +{fault.ms} ms"
    return f"throttling {fault.fraction:.0%} of requests in {fault.regions[0]}"
