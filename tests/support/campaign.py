"""Hypothesis settings for the model-based (stateful) tests: a small fixed run in CI, a long one
on demand with the same tests.

GONDWANA_FUZZ_EXAMPLES / GONDWANA_FUZZ_STEPS: how many sequences, how many steps each;
GONDWANA_FUZZ_RANDOM=1: a new random seed each run (CI replays a fixed one);
GONDWANA_FUZZ_SHRINK=0: report the first failing sequence as found (shrinking replays it against
the server many times and can take minutes)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, settings


def campaign_settings(examples: int, steps: int = 40) -> settings:
    shrink = os.environ.get("GONDWANA_FUZZ_SHRINK") != "0"
    return settings(
        max_examples=int(os.environ.get("GONDWANA_FUZZ_EXAMPLES", str(examples))),
        stateful_step_count=int(os.environ.get("GONDWANA_FUZZ_STEPS", str(steps))),
        deadline=None,
        derandomize=os.environ.get("GONDWANA_FUZZ_RANDOM") is None,
        report_multiple_bugs=False,
        phases=[p for p in Phase if p is not Phase.shrink or shrink],
        suppress_health_check=list(HealthCheck),
    )
