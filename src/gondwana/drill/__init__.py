"""Disaster-recovery drills: rehearse a regional outage against a running Gondwana."""

from gondwana.drill.dynamodb_global import run_drill
from gondwana.drill.report import DrillReport

__all__ = ["DrillReport", "run_drill"]
