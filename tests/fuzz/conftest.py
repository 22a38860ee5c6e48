"""A server of the fuzzer's own (its log is checked after every example), with the resources the
generated requests name: queues, a table, a stream."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from tests.conftest import make_client
from tests.fuzz import catalog
from tests.support.server import ServerProcess, serving

# GONDWANA_FUZZ_EXAMPLES=5000 runs a long, random campaign with the same tests; unset, each test
# runs a small fixed (derandomized) set of examples, the same on every CI run.
EXAMPLES = int(os.environ.get("GONDWANA_FUZZ_EXAMPLES", "0"))
settings.register_profile(
    "fuzz",
    max_examples=EXAMPLES or 50,
    derandomize=not EXAMPLES,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)
FUZZ = settings.get_profile("fuzz")


def seed(proc: ServerProcess) -> None:
    sqs = make_client(proc.url, "sqs")
    sqs.create_queue(QueueName=catalog.QUEUE)
    sqs.create_queue(QueueName=catalog.FIFO, Attributes={"FifoQueue": "true"})
    sqs.send_message(QueueUrl=f"{proc.url}/{catalog.ACCOUNT}/{catalog.QUEUE}", MessageBody="hello")
    ddb = make_client(proc.url, "dynamodb")
    ddb.create_table(
        TableName=catalog.TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    ddb.put_item(TableName=catalog.TABLE, Item={"pk": {"S": "a"}, "n": {"N": "1"}})
    kinesis = make_client(proc.url, "kinesis")
    kinesis.create_stream(StreamName=catalog.STREAM, ShardCount=2)
    kinesis.put_record(StreamName=catalog.STREAM, Data=b"x", PartitionKey="a")


@pytest.fixture(scope="package")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    for proc in serving(tmp_path_factory.mktemp("fuzz")):
        seed(proc)
        yield proc
