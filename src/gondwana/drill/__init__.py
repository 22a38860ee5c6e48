"""Disaster-recovery drills: rehearse a regional outage against a running Gondwana.

`run_drill` and `DrillReport` are imported on first use, so that `gondwana serve` (whose command
line also lists the drill's arguments) does not load the drill's HTTP client at start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gondwana.drill.dynamodb_global import run_drill
    from gondwana.drill.report import DrillReport

__all__ = ["DrillReport", "run_drill"]


def __getattr__(name: str) -> Any:
    if name == "run_drill":
        from gondwana.drill.dynamodb_global import run_drill

        return run_drill
    if name == "DrillReport":
        from gondwana.drill.report import DrillReport

        return DrillReport
    raise AttributeError(name)
