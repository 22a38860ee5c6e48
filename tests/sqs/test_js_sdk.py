"""The JavaScript SDK v3 (@aws-sdk/client-sqs), which verifies the MD5 digests and sends queue
operations to the host in the QueueUrl when no endpoint is configured."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from tests.support.node import run_js

SCRIPT = Path(__file__).parent / "sqs_client.mjs"


def test_js_sdk(server: Any) -> None:
    prefix = f"q-{uuid.uuid4().hex[:10]}"
    out = run_js(SCRIPT.read_text(), server.url, PREFIX=prefix, timeout=120)
    assert out["queueUrl"] == f"{server.url}/000000000000/{prefix}-js"
    assert out["batchIds"] == ["e1", "e2"]
    assert out["bodies"] == ["batch 1", "batch 2", "from js ✓"]
    assert out["binary"] == [0, 1, 2, 255]
    assert out["viaUrl"] == "via queue url"
    assert (out["error"], out["errorStatus"]) == ("QueueDoesNotExist", 400)
