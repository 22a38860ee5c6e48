"""Per-pair replication statistics for the control API: counts and write-to-apply latency."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

SAMPLES = 2000


@dataclass(slots=True)
class PairStats:
    applied: int = 0
    conflicts_dropped: int = 0
    last: float | None = None
    recent: deque[float] = field(default_factory=lambda: deque(maxlen=SAMPLES))  # the latest latencies
    max_ms: float = 0.0

    def add(self, ms: float) -> None:
        self.applied += 1
        self.last = ms
        if ms > self.max_ms:
            self.max_ms = ms
        self.recent.append(ms)

    def add_many(self, latencies: list[float]) -> None:
        """Record a delivered batch's latencies (ms) in order: cheaper than `add` one by one."""
        if not latencies:
            return
        self.applied += len(latencies)
        self.last = latencies[-1]
        self.max_ms = max(self.max_ms, max(latencies))
        self.recent.extend(latencies)

    def latency(self) -> dict[str, float | None]:
        # Sorted when asked (a control-API read), not on every applied change.
        s = sorted(self.recent)
        if not s:
            return {"last": None, "p50": None, "p99": None, "max": None}
        pick = lambda q: round(s[min(len(s) - 1, int(q * len(s)))], 3)  # noqa: E731
        return {
            "last": round(self.last or 0.0, 3),
            "p50": pick(0.5),
            "p99": pick(0.99),
            "max": round(self.max_ms, 3),
        }
