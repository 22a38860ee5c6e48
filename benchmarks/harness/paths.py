"""Where things are: the repository, the project's Python, and the benchmark's own venv."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import tomllib
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


def build_extensions() -> dict[str, str]:
    """Build the tree's C extensions (its pyproject.toml's ext-modules: the HTTP fast path, the
    WAL-buffering VFS) in place where one is not built yet (another checkout given with --tree;
    `make` builds this one), so that no comparison runs one tree with them and the other without.
    Says, per module, which way the tree runs."""
    with open(tree() / "pyproject.toml", "rb") as file:
        modules = tomllib.load(file)["tool"]["setuptools"].get("ext-modules", [])
    return {module["name"]: _build(module) for module in modules}


def _build(module: dict[str, object]) -> str:
    package, _, name = str(module["name"]).rpartition(".")
    where = tree() / "src" / package.replace(".", "/")
    if any(where.glob(f"{name}*.so")):
        return "built"
    # As the tree's pyproject.toml declares it, but built by hand away from the tree: this venv's
    # setuptools may be older than that file.
    script = (
        "import json, sys; from setuptools import Extension, setup; m = json.loads(sys.argv[2]); "
        "setup(name='ext', script_args=['build_ext', '--build-lib', sys.argv[1], '--build-temp', "
        "'.'], ext_modules=[Extension(m['name'], [sys.argv[3] + '/' + s for s in m['sources']], "
        "libraries=m.get('libraries', []), extra_compile_args=m.get('extra-compile-args', []))])"
    )
    with tempfile.TemporaryDirectory() as scratch:
        argv = [project_python(), "-c", script, str(tree() / "src"), json.dumps(module), str(tree())]
        built = subprocess.run(argv, cwd=scratch, capture_output=True)
    return "built now" if built.returncode == 0 else "not built (no C compiler?): the Python path"
