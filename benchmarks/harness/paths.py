"""Where things are: the repository, the project's Python, and the benchmark's own venv."""

from __future__ import annotations

import os
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1]
ROOT = BENCH.parent
RESULTS = BENCH / "results"
PEER_ENV = BENCH / ".env"  # uvicorn, granian, moto: never the project's dependencies
PEER_BIN = PEER_ENV / "bin"


def project_python() -> str:
    """The interpreter that runs Gondwana: $GONDWANA_PYTHON, else the one running the harness
    (run.py re-executes itself under the project's venv when botocore is missing)."""
    return os.environ.get("GONDWANA_PYTHON") or sys.executable


def tree() -> Path:
    """The source tree under test: this one, or $GONDWANA_TREE (`run.py --tree`) to measure
    another checkout (before/after a change) with this harness."""
    return Path(os.environ.get("GONDWANA_TREE") or ROOT).resolve()


def gondwana_env() -> dict[str, str]:
    """The tree's sources first (worktrees share one venv), and its tests for the echo plugin."""
    return {**os.environ, "PYTHONPATH": f"{tree() / 'src'}{os.pathsep}{tree()}"}
