"""A rejected write changes nothing: mutated SendMessageBatch requests (JSON and query) and
mutated DynamoDB item writes either succeed as answered or leave the state exactly as it was."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import make_client
from tests.dynamodb.conftest import create
from tests.fuzz import catalog
from tests.fuzz.catalog import Endpoint
from tests.fuzz.conftest import FUZZ
from tests.fuzz.test_wire import mutate
from tests.fuzz.wire import Answer, LogWatch, check, healthy, one_answer
from tests.support.server import ServerProcess


def own_target(endpoint: Endpoint, operation: str) -> list[str]:
    """A header mutation may drop or garble the target, never make the request another
    operation (a DeleteQueue would take the test's resource with it)."""
    prefix = catalog.model(endpoint).metadata.get("targetPrefix", "AmazonSQS")
    return [f"{prefix}.{operation}"]


def send_mutated(
    data: st.DataObject,
    endpoint: Endpoint,
    server: ServerProcess,
    operation: str,
    params: dict[str, Any],
    observe: Callable[[], Any],
) -> tuple[Answer, Any]:
    """Serialize `params`, mutate the request (its target kept to `operation`), observe the state,
    send it: the answer and the state seen before it."""
    raw = catalog.serialize(endpoint, operation, params)
    mutate(data, endpoint, raw, operation, own_target(endpoint, operation))
    before = observe()
    return one_answer(server, raw.encode(f"127.0.0.1:{server.port}")), before


def _messages(sqs: Any, url: str) -> int:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"]
    found = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return sum(int(found[n]) for n in names)


@pytest.mark.parametrize("protocol", ["json", "query"])
def test_rejected_send_message_batch_stores_nothing(fuzz_server: ServerProcess, protocol: str) -> None:
    sqs = make_client(fuzz_server.url, "sqs")
    url = sqs.create_queue(QueueName=f"fuzz-state-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    endpoint = Endpoint("sqs", protocol)
    watch = LogWatch(fuzz_server)

    @FUZZ
    @given(st.data())
    def run(data: st.DataObject) -> None:
        params = data.draw(catalog.inputs(endpoint, "SendMessageBatch"), label="params")
        params["QueueUrl"] = url
        answer, before = send_mutated(
            data, endpoint, fuzz_server, "SendMessageBatch", params, lambda: _messages(sqs, url)
        )
        body = check(answer, protocol)
        after = _messages(sqs, url)
        if answer.status >= 400:
            assert after == before, answer
        elif protocol == "json" and isinstance(body, dict) and "Successful" in body:
            assert after == before + len(body["Successful"]), answer

    run()
    healthy(fuzz_server)
    watch.check()


WRITES = ["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"]


def _aim(operation: str, params: dict[str, Any], table: str, key: str) -> None:
    """Point a generated write at the test's table and at one of a few keys."""
    if operation == "BatchWriteItem":
        params["RequestItems"] = {
            table: [
                {"PutRequest": {"Item": {**item, "pk": {"S": key}}}} for item in params.get("_items", [{}])
            ]
        }
        params.pop("_items", None)
        return
    params["TableName"] = table
    if "Item" in params or operation == "PutItem":
        params["Item"] = {**params.get("Item", {}), "pk": {"S": key}}
    if operation != "PutItem":
        params["Key"] = {"pk": {"S": key}}


def test_rejected_item_write_changes_nothing(fuzz_server: ServerProcess) -> None:
    ddb = make_client(fuzz_server.url, "dynamodb")
    table = create(ddb, ("pk", "S"), name=f"fuzz-state-{uuid.uuid4().hex[:8]}")
    for key in "ab":
        ddb.put_item(TableName=table, Item={"pk": {"S": key}, "n": {"N": "1"}, "l": {"L": [{"S": "x"}]}})
    endpoint = Endpoint("dynamodb", "json")
    watch = LogWatch(fuzz_server)

    def snapshot() -> list[dict[str, Any]]:
        return sorted(ddb.scan(TableName=table, ConsistentRead=True)["Items"], key=lambda i: i["pk"]["S"])

    @FUZZ
    @given(st.data())
    def run(data: st.DataObject) -> None:
        operation = data.draw(st.sampled_from(WRITES), label="operation")
        params = data.draw(catalog.inputs(endpoint, operation), label="params")
        _aim(operation, params, table, data.draw(st.sampled_from("abc"), label="key"))
        answer, before = send_mutated(data, endpoint, fuzz_server, operation, params, snapshot)
        check(answer, "json")
        if answer.status >= 400:
            assert snapshot() == before, answer

    run()
    healthy(fuzz_server)
    watch.check()


def _records(kinesis: Any, stream: str) -> int:
    total = 0
    for shard in kinesis.list_shards(StreamName=stream)["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        total += len(kinesis.get_records(ShardIterator=iterator, Limit=10000)["Records"])
    return total


@pytest.mark.parametrize("protocol", ["json", "cbor"])
def test_rejected_put_records_stores_nothing(fuzz_server: ServerProcess, protocol: str) -> None:
    kinesis = make_client(fuzz_server.url, "kinesis")
    stream = f"fuzz-state-{uuid.uuid4().hex[:8]}"
    kinesis.create_stream(StreamName=stream, ShardCount=2)
    endpoint = Endpoint("kinesis", protocol)
    watch = LogWatch(fuzz_server)

    @FUZZ
    @given(st.data())
    def run(data: st.DataObject) -> None:
        operation = data.draw(st.sampled_from(["PutRecord", "PutRecords"]), label="operation")
        params = data.draw(catalog.inputs(endpoint, operation), label="params")
        params["StreamName"] = stream
        params.pop("StreamARN", None)
        answer, before = send_mutated(
            data, endpoint, fuzz_server, operation, params, lambda: _records(kinesis, stream)
        )
        body = check(answer, protocol)
        after = _records(kinesis, stream)
        if answer.status >= 400:
            assert after == before, answer
        elif isinstance(body, dict) and "Records" in body and "FailedRecordCount" in body:
            assert after == before + len(body["Records"]) - body["FailedRecordCount"], answer

    run()
    healthy(fuzz_server)
    watch.check()
