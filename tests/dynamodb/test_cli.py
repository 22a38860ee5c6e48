"""The AWS CLI against Gondwana's DynamoDB."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

import pytest

from tests.dynamodb.conftest import unique

pytestmark = pytest.mark.skipif(shutil.which("aws") is None, reason="AWS CLI not installed")


def _aws(server: Any, *args: str) -> Any:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_PAGER": "",
    }
    out = subprocess.run(
        ["aws", "--endpoint-url", server.url, "--output", "json", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return out


def _create_table(server: Any, name: str, *extra: str) -> Any:
    """`aws dynamodb create-table` of an on-demand table keyed by the string `id` (and `extra`
    arguments); its result."""
    made = _aws(
        server,
        "dynamodb",
        "create-table",
        "--table-name",
        name,
        "--attribute-definitions",
        "AttributeName=id,AttributeType=S",
        "--key-schema",
        "AttributeName=id,KeyType=HASH",
        "--billing-mode",
        "PAY_PER_REQUEST",
        *extra,
    )
    assert made.returncode == 0, made.stderr
    return made


def test_cli_table_and_items(server: Any) -> None:
    name = unique("cli")
    made = _create_table(server, name)
    assert json.loads(made.stdout)["TableDescription"]["TableName"] == name
    assert _aws(server, "dynamodb", "wait", "table-exists", "--table-name", name).returncode == 0
    put = _aws(
        server, "dynamodb", "put-item", "--table-name", name, "--item", '{"id": {"S": "a"}, "n": {"N": "1"}}'
    )
    assert put.returncode == 0, put.stderr
    upd = _aws(
        server,
        "dynamodb",
        "update-item",
        "--table-name",
        name,
        "--key",
        '{"id": {"S": "a"}}',
        "--update-expression",
        "SET n = n + :o",
        "--expression-attribute-values",
        '{":o": {"N": "2"}}',
        "--return-values",
        "ALL_NEW",
    )
    assert json.loads(upd.stdout)["Attributes"]["n"] == {"N": "3"}
    scan = _aws(server, "dynamodb", "scan", "--table-name", name)
    assert json.loads(scan.stdout)["Count"] == 1
    bad = _aws(server, "dynamodb", "get-item", "--table-name", name, "--key", '{"nope": {"S": "a"}}')
    assert bad.returncode != 0 and "The provided key element does not match the schema" in bad.stderr
    assert _aws(server, "dynamodb", "delete-table", "--table-name", name).returncode == 0


def test_cli_streams(server: Any) -> None:
    name = unique("clis")
    made = _create_table(
        server, name, "--stream-specification", "StreamEnabled=true,StreamViewType=NEW_IMAGE"
    )
    arn = json.loads(made.stdout)["TableDescription"]["LatestStreamArn"]
    assert (
        _aws(server, "dynamodb", "put-item", "--table-name", name, "--item", '{"id": {"S": "a"}}').returncode
        == 0
    )
    listed = json.loads(_aws(server, "dynamodbstreams", "list-streams", "--table-name", name).stdout)
    assert [s["StreamArn"] for s in listed["Streams"]] == [arn]
    shard = json.loads(_aws(server, "dynamodbstreams", "describe-stream", "--stream-arn", arn).stdout)[
        "StreamDescription"
    ]["Shards"][0]["ShardId"]
    it = json.loads(
        _aws(
            server,
            "dynamodbstreams",
            "get-shard-iterator",
            "--stream-arn",
            arn,
            "--shard-id",
            shard,
            "--shard-iterator-type",
            "TRIM_HORIZON",
        ).stdout
    )["ShardIterator"]
    records = json.loads(_aws(server, "dynamodbstreams", "get-records", "--shard-iterator", it).stdout)[
        "Records"
    ]
    assert [r["eventName"] for r in records] == ["INSERT"]
    assert records[0]["dynamodb"]["NewImage"] == {"id": {"S": "a"}}


def test_cli_backup_and_restore(server: Any) -> None:
    name, target = unique("cli"), unique("cli-restored")
    _create_table(server, name)
    put = _aws(server, "dynamodb", "put-item", "--table-name", name, "--item", '{"id": {"S": "a"}}')
    assert put.returncode == 0, put.stderr
    backup = _aws(server, "dynamodb", "create-backup", "--table-name", name, "--backup-name", "cli-b")
    assert backup.returncode == 0, backup.stderr
    arn = json.loads(backup.stdout)["BackupDetails"]["BackupArn"]
    listed = json.loads(_aws(server, "dynamodb", "list-backups", "--table-name", name).stdout)
    assert [b["BackupArn"] for b in listed["BackupSummaries"]] == [arn]
    restored = _aws(
        server, "dynamodb", "restore-table-from-backup", "--target-table-name", target, "--backup-arn", arn
    )
    assert restored.returncode == 0, restored.stderr
    assert _aws(server, "dynamodb", "wait", "table-exists", "--table-name", target).returncode == 0
    assert json.loads(_aws(server, "dynamodb", "scan", "--table-name", target).stdout)["Items"] == [
        {"id": {"S": "a"}}
    ]
    missing = _aws(server, "dynamodb", "describe-backup", "--backup-arn", arn + "-nope")
    assert missing.returncode != 0 and "BackupNotFoundException" in missing.stderr
