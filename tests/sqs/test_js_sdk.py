"""The JavaScript SDK v3 (@aws-sdk/client-sqs), which verifies the MD5 digests and sends queue
operations to the host in the QueueUrl when no endpoint is configured.

The script runs from the shared harness `tests/js` when it has the SQS client, else from this
directory's own `js/` package (installed on first use).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent / "js"
SHARED = Path(__file__).parents[1] / "js"


@pytest.fixture(scope="module")
def node_dir() -> Path:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Node.js is not installed: the JavaScript SDK test needs node and npm (CI installs them)")
    if (SHARED / "node_modules" / "@aws-sdk" / "client-sqs").is_dir():
        return SHARED
    if not (HERE / "node_modules" / "@aws-sdk" / "client-sqs").is_dir():
        done = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=HERE,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
    return HERE


def test_js_sdk(node_dir: Path, server: Any) -> None:
    prefix = f"q-{uuid.uuid4().hex[:10]}"
    done = subprocess.run(
        ["node", "--input-type=module", "-"],
        input=(HERE / "sqs_client.mjs").read_text(),
        cwd=node_dir,
        env={**os.environ, "ENDPOINT": server.url, "PREFIX": prefix},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.splitlines()[-1])
    assert out["queueUrl"] == f"{server.url}/000000000000/{prefix}-js"
    assert out["batchIds"] == ["e1", "e2"]
    assert out["bodies"] == ["batch 1", "batch 2", "from js ✓"]
    assert out["binary"] == [0, 1, 2, 255]
    assert out["viaUrl"] == "via queue url"
    assert (out["error"], out["errorStatus"]) == ("QueueDoesNotExist", 400)
