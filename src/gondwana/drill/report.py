"""The drill's report: numbers, a JSON document and a readable table."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


def percentiles(values: list[float]) -> dict[str, float | int | None]:
    """p50/p99/max (nearest rank) and the sample count; None when there are no samples."""
    if not values:
        return {"p50": None, "p99": None, "max": None, "count": 0}
    ordered = sorted(values)

    def rank(q: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, int(-(-q * len(ordered) // 1)) - 1))]

    return {"p50": rank(0.5), "p99": rank(0.99), "max": ordered[-1], "count": len(ordered)}


@dataclass
class DrillReport:
    table: str
    primary: str
    secondary: str
    rate: float
    outage_mode: str
    replication_delay_ms: int | None
    acked_before_outage: int = 0
    failed_writes: int = 0
    rpo_items: int = 0
    rpo_ms: float = 0.0
    rto_ms: float = 0.0
    detect_ms: float = 0.0
    writes_after_failover: int = 0
    conflicts: int = 0
    converged: bool = False
    convergence_ms: float = 0.0
    items: dict[str, int] = field(default_factory=dict)
    lag_ms: dict[str, Any] = field(default_factory=dict)  # steady state, before the outage
    stranded_lag_ms: dict[str, Any] = field(default_factory=dict)  # writes that arrived after it
    missing_at_failover: list[str] = field(default_factory=list)
    lag_samples: list[tuple[float, float]] = field(default_factory=list)  # (write s since start, lag ms)
    timeline: dict[str, float] = field(default_factory=dict)  # fault/failover/heal, s since start
    fault_at_ms: float = 0.0  # when the fault was injected (epoch ms, the drill's clock)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    def table_text(self) -> str:
        def ms(value: Any) -> str:
            return "-" if value is None else f"{value:,.0f} ms"

        lag = self.lag_ms
        rows = [
            ("global table", f"{self.table} ({self.primary} -> {self.secondary})"),
            ("configured replication delay", ms(self.replication_delay_ms)),
            ("write rate", f"{self.rate:g}/s"),
            ("outage mode", self.outage_mode),
            ("writes acknowledged before outage", f"{self.acked_before_outage:,}"),
            ("RPO (acknowledged, missing at failover)", f"{self.rpo_items:,} items"),
            ("RPO (age of oldest missing write)", ms(self.rpo_ms)),
            ("RTO (fault -> first write in secondary)", ms(self.rto_ms)),
            ("writes after failover", f"{self.writes_after_failover:,}"),
            ("conflicts resolved (last writer wins)", f"{self.conflicts:,}"),
            ("converged", f"{'yes' if self.converged else 'NO'} ({ms(self.convergence_ms)} after heal)"),
            ("items per replica", ", ".join(f"{r}: {n:,}" for r, n in self.items.items())),
            (
                "replication lag p50 / p99 / max",
                f"{ms(lag.get('p50'))} / {ms(lag.get('p99'))} / {ms(lag.get('max'))} "
                f"({lag.get('count', 0)} samples)",
            ),
            ("lag of stranded writes (max)", ms(self.stranded_lag_ms.get("max"))),
        ]
        width = max(len(name) for name, _ in rows)
        line = "-" * (width + 2 + max(len(v) for _, v in rows))
        body = "\n".join(f"{name.ljust(width)}  {value}" for name, value in rows)
        return f"DR drill: DynamoDB global table\n{line}\n{body}\n{line}"
