"""Other real clients: the AWS CLI, and boto3 switched onto the query protocol."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

AWS = shutil.which("aws", path=str(Path(sys.executable).parent)) or shutil.which("aws")


def cli(server: Any, *args: str) -> Any:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_PAGER": "",
    }
    done = subprocess.run(
        [AWS, "--endpoint-url", server.url, "--output", "json", "sqs", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    return done


@pytest.mark.skipif(AWS is None, reason="the AWS CLI is not installed")
def test_aws_cli(server: Any, name: Any) -> None:
    queue_name = name(".fifo")
    created = cli(
        server,
        "create-queue",
        "--queue-name",
        queue_name,
        "--attributes",
        "FifoQueue=true,ContentBasedDeduplication=true",
    )
    assert created.returncode == 0, created.stderr
    url = json.loads(created.stdout)["QueueUrl"]
    sent = cli(
        server, "send-message", "--queue-url", url, "--message-body", "from cli", "--message-group-id", "g"
    )
    assert sent.returncode == 0, sent.stderr
    got = json.loads(cli(server, "receive-message", "--queue-url", url, "--attribute-names", "All").stdout)
    assert got["Messages"][0]["Body"] == "from cli"
    assert got["Messages"][0]["Attributes"]["MessageGroupId"] == "g"
    missing = cli(server, "get-queue-url", "--queue-name", "no-such-queue-cli")
    assert missing.returncode != 0
    assert "NonExistentQueue" in missing.stderr


def test_boto3_on_the_query_protocol(client: Any, name: Any) -> None:
    """boto3 with the SQS model as it was before JSON (protocol query, result wrappers, element
    names), the way clients from before 2024 still talk to SQS."""
    import boto3
    import botocore.session

    from gondwana.protocols.model import apply_patches
    from gondwana.services.sqs.query_names import MODEL_PATCHES

    session = botocore.session.get_session()
    loader = session.get_component("data_loader")
    original = loader.load_service_model

    def as_query(service: str, type_name: str, api_version: Any = None) -> Any:
        data = original(service, type_name, api_version)
        if service == "sqs" and type_name == "service-2":
            data = apply_patches(json.loads(json.dumps(data)), MODEL_PATCHES)
            data["metadata"].update(
                protocol="query",
                protocols=["query"],
                xmlNamespace="http://queue.amazonaws.com/doc/2012-11-05/",
            )
            for op_name, op in data["operations"].items():
                if "output" in op:
                    op["output"]["resultWrapper"] = f"{op_name}Result"
        return data

    loader.load_service_model = as_query  # type: ignore[method-assign]
    try:
        query_sqs = boto3.Session(botocore_session=session).client(
            "sqs",
            endpoint_url=client("sqs").meta.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
    finally:
        loader.load_service_model = original  # type: ignore[method-assign]
    assert query_sqs.meta.service_model.protocol == "query"
    url = query_sqs.create_queue(QueueName=name(), Attributes={"DelaySeconds": "0"})["QueueUrl"]
    query_sqs.send_message(
        QueueUrl=url, MessageBody="q", MessageAttributes={"Foo": {"DataType": "String", "StringValue": "Bar"}}
    )
    msgs = query_sqs.receive_message(QueueUrl=url, AttributeNames=["All"], MessageAttributeNames=["All"])[
        "Messages"
    ]
    assert msgs[0]["Body"] == "q" and msgs[0]["Attributes"]["ApproximateReceiveCount"] == "1"
    assert msgs[0]["MessageAttributes"] == {"Foo": {"DataType": "String", "StringValue": "Bar"}}
    assert (
        query_sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]["DelaySeconds"]
        == "0"
    )
    batch = query_sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "1"}, {"Id": "b", "MessageBody": "\x01"}]
    )
    assert [e["Id"] for e in batch["Successful"]] == ["a"]
    assert batch["Failed"][0]["Code"] == "InvalidMessageContents"
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as info:
        query_sqs.get_queue_url(QueueName="no-such-queue-query")
    assert info.value.response["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
