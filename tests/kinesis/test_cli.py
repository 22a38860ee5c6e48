"""The AWS CLI against Kinesis: create, put, read back, describe, delete."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.kinesis.conftest import unique

AWS = Path(sys.executable).with_name("aws")


def aws(server: Any, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_PAGER": "",
    }
    env.pop("AWS_PROFILE", None)
    result = subprocess.run(
        [str(AWS), "--endpoint-url", server.url, "--output", "json", "kinesis", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


pytestmark = pytest.mark.skipif(not AWS.exists(), reason="the AWS CLI is not installed in this environment")


def test_cli_round_trip(server: Any) -> None:
    name = unique("cli")
    aws(server, "create-stream", "--stream-name", name, "--shard-count", "2")
    aws(server, "wait", "stream-exists", "--stream-name", name)
    # AWS CLI v1 sends a blob argument's text as the bytes (base64-encoding them on the wire)
    payload = "hello from the cli"
    put = json.loads(
        aws(server, "put-record", "--stream-name", name, "--partition-key", "k", "--data", payload).stdout
    )
    assert put["ShardId"].startswith("shardId-") and len(put["SequenceNumber"]) == 56
    iterator = json.loads(
        aws(
            server,
            "get-shard-iterator",
            "--stream-name",
            name,
            "--shard-id",
            put["ShardId"],
            "--shard-iterator-type",
            "AT_SEQUENCE_NUMBER",
            "--starting-sequence-number",
            put["SequenceNumber"],
        ).stdout
    )["ShardIterator"]
    records = json.loads(aws(server, "get-records", "--shard-iterator", iterator).stdout)["Records"]
    assert len(records) == 1 and records[0]["SequenceNumber"] == put["SequenceNumber"]
    assert base64.b64decode(records[0]["Data"]) == payload.encode()
    shards = json.loads(aws(server, "list-shards", "--stream-name", name).stdout)["Shards"]
    assert [s["ShardId"] for s in shards] == ["shardId-000000000000", "shardId-000000000001"]
    summary = json.loads(aws(server, "describe-stream-summary", "--stream-name", name).stdout)
    assert summary["StreamDescriptionSummary"]["OpenShardCount"] == 2
    aws(server, "delete-stream", "--stream-name", name)
    missing = aws(server, "describe-stream", "--stream-name", name, check=False)
    assert missing.returncode != 0
    assert "ResourceNotFoundException" in missing.stderr and f"Stream {name} under account" in missing.stderr
