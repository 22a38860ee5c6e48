"""The JavaScript SDK v3 (@aws-sdk/client-sqs), which verifies the MD5 digests and sends queue
operations to the host in the QueueUrl when no endpoint is configured."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

JS = Path(__file__).parent / "js"


@pytest.fixture(scope="module")
def node_sdk() -> Path:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Node.js is not installed: the JavaScript SDK test needs node and npm")
    if not (JS / "node_modules" / "@aws-sdk" / "client-sqs").exists():
        done = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=JS,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
    return JS


def test_js_sdk(node_sdk: Path, server: Any) -> None:
    prefix = f"q-{uuid.uuid4().hex[:10]}"
    done = subprocess.run(
        ["node", "sqs_client.mjs", server.url, prefix],
        cwd=node_sdk,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["queueUrl"] == f"{server.url}/000000000000/{prefix}-js"
    assert out["batchIds"] == ["e1", "e2"]
    assert out["bodies"] == ["batch 1", "batch 2", "from js ✓"]
    assert out["binary"] == [0, 1, 2, 255]
    assert out["viaUrl"] == "via queue url"
    assert (out["error"], out["errorStatus"]) == ("QueueDoesNotExist", 400)
