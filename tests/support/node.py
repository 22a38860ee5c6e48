"""Run a small AWS SDK for JavaScript v3 script (ES module) against the real server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

JS_DIR = Path(__file__).resolve().parents[1] / "js"


def run_js(script: str, endpoint: str, region: str = "us-east-1", timeout: float = 60, **env: str) -> Any:
    """Run `script` with node from tests/js (where the SDK packages are installed) and return the
    JSON value of its last output line. The script reads ENDPOINT and REGION from process.env."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the JavaScript SDK tests need Node.js (CI installs it)")
    if not (JS_DIR / "node_modules").is_dir():
        pytest.skip("tests/js/node_modules is missing: run `npm ci --prefix tests/js` (make test does)")
    result = subprocess.run(
        [node, "--input-type=module", "-"],
        input=script,
        capture_output=True,
        text=True,
        cwd=JS_DIR,
        timeout=timeout,
        env={
            **os.environ,
            "ENDPOINT": endpoint,
            "REGION": region,
            "AWS_ACCESS_KEY_ID": env.pop("AWS_ACCESS_KEY_ID", "test"),
            "AWS_SECRET_ACCESS_KEY": "test",
            **env,
        },
    )
    if result.returncode != 0:
        raise AssertionError(f"node failed ({result.returncode}):\n{result.stderr}\n{result.stdout}")
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    return json.loads(lines[-1]) if lines else None
