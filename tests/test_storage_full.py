"""A store that cannot grow (a full disk; here the server's file-size limit, RLIMIT_FSIZE, set on
the running process): writes are refused with the service's 500, nothing refused is stored or
counted, nothing acknowledged is lost, the server takes writes again once there is room (without a
restart), and a kill -9 after all that loses nothing either."""

from __future__ import annotations

import resource
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import make_client
from tests.sqs.conftest import finished_task
from tests.support.server import ServerProcess

pytestmark = pytest.mark.skipif(not hasattr(resource, "prlimit"), reason="needs prlimit (Linux)")

PAYLOAD = 64 * 1024
ROOM = 2 * 1024 * 1024  # how far past its largest file the store may still write


def limit_files(proc: ServerProcess, size: int) -> None:
    assert proc.proc is not None
    hard = resource.prlimit(proc.proc.pid, resource.RLIMIT_FSIZE)[1]
    resource.prlimit(proc.proc.pid, resource.RLIMIT_FSIZE, (size, hard))


class Writes:
    """One kind of write, with what the server acknowledged and how it refused the rest."""

    def __init__(self, call: Any) -> None:
        self.call = call
        self.acked: list[int] = []
        self.refused: list[int] = []
        self.errors: set[tuple[str, str, int]] = set()

    def attempt(self, n: int) -> None:
        try:
            self.call(n)
        except ClientError as error:
            e, meta = error.response["Error"], error.response["ResponseMetadata"]
            self.errors.add((e["Code"], e["Message"], meta["HTTPStatusCode"]))
            self.refused.append(n)
        else:
            self.acked.append(n)


def body(n: int) -> str:
    return f"{n:06d}" + "x" * PAYLOAD


def test_a_full_store_refuses_writes_whole_and_takes_them_again_when_there_is_room(
    fresh_server: Any, tmp_path: Path
) -> None:
    data = tmp_path / "full"
    proc = fresh_server("--state-delay", "0", data_dir=data)
    sqs, ddb, kinesis = (make_client(proc.url, s) for s in ("sqs", "dynamodb", "kinesis"))
    queue = sqs.create_queue(QueueName="full")["QueueUrl"]
    ddb.create_table(
        TableName="full",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    kinesis.create_stream(StreamName="full", ShardCount=1)

    writes = {
        "sqs": Writes(lambda n: sqs.send_message(QueueUrl=queue, MessageBody=body(n))),
        "dynamodb": Writes(
            lambda n: ddb.put_item(TableName="full", Item={"pk": {"S": str(n)}, "v": {"S": body(n)}})
        ),
        "kinesis": Writes(
            lambda n: kinesis.put_record(StreamName="full", Data=body(n).encode(), PartitionKey="p")
        ),
    }
    limit_files(proc, max(f.stat().st_size for f in data.iterdir()) + ROOM)
    n = 0
    while n < 300 and min(len(w.refused) for w in writes.values()) < 3:
        for w in writes.values():
            n += 1
            w.attempt(n)
    assert all(w.acked and len(w.refused) >= 3 for w in writes.values())
    assert writes["sqs"].errors == {
        (
            "InternalFailure",
            "The request processing has failed because of an unknown error, exception or failure.",
            500,
        )
    }
    assert writes["dynamodb"].errors == {("InternalServerError", "Internal server error", 500)}
    assert {code for code, *_ in writes["kinesis"].errors} == {"InternalFailure"}

    # Refused writes left nothing behind, not even in the counts kept beside the data.
    check(sqs, ddb, kinesis, queue, writes)

    limit_files(proc, resource.RLIM_INFINITY)  # room again: no restart needed
    for w in writes.values():
        n += 1
        w.attempt(n)
        assert w.acked[-1] == n
    check(sqs, ddb, kinesis, queue, writes)
    log = "".join(proc.output)
    assert "commit failed (" in log and "Traceback" not in log  # a line per failed commit

    proc.kill()
    proc.restart()
    sqs, ddb, kinesis = (make_client(proc.url, s) for s in ("sqs", "dynamodb", "kinesis"))
    check(sqs, ddb, kinesis, queue, writes)
    received: list[int] = []
    while batch := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages"):
        received += [int(m["Body"][:6]) for m in batch]
        assert all(m["Body"] == body(int(m["Body"][:6])) for m in batch)
    assert sorted(received) == writes["sqs"].acked


def check(sqs: Any, ddb: Any, kinesis: Any, queue: str, writes: dict[str, Writes]) -> None:
    attrs = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"])
    assert int(attrs["Attributes"]["ApproximateNumberOfMessages"]) == len(writes["sqs"].acked)

    items = writes["dynamodb"]
    assert ddb.describe_table(TableName="full")["Table"]["ItemCount"] == len(items.acked)
    for n in items.acked:
        assert ddb.get_item(TableName="full", Key={"pk": {"S": str(n)}})["Item"]["v"]["S"] == body(n)
    for n in items.refused:
        assert "Item" not in ddb.get_item(TableName="full", Key={"pk": {"S": str(n)}})

    shard = kinesis.list_shards(StreamName="full")["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(StreamName="full", ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    records: list[bytes] = []
    while iterator:
        page = kinesis.get_records(ShardIterator=iterator)
        records += [r["Data"] for r in page["Records"]]
        if not page["Records"] and page.get("MillisBehindLatest", 0) == 0:
            break
        iterator = page.get("NextShardIterator")
    assert records == [body(n).encode() for n in writes["kinesis"].acked]


def fill(proc: ServerProcess, data: Path, sqs: Any, queue: str) -> None:
    """Limit the store's files and send ever smaller messages until even a small one is refused."""
    limit_files(proc, max(f.stat().st_size for f in data.iterdir()) + ROOM)
    for size in (PAYLOAD, 4096, 256, 1):
        for _ in range(1000):
            try:
                sqs.send_message(QueueUrl=queue, MessageBody="y" * size)
            except ClientError:
                break


def refused(call: Any, **params: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call(**params)
    return caught.value.response["Error"]["Code"]


def test_refused_writes_leave_no_deduplication_id_receive_attempt_or_token_behind(
    fresh_server: Any, tmp_path: Path
) -> None:
    data = tmp_path / "full"
    proc = fresh_server("--state-delay", "0", data_dir=data)
    sqs, ddb = make_client(proc.url, "sqs"), make_client(proc.url, "dynamodb")
    filler = sqs.create_queue(QueueName="filler")["QueueUrl"]
    fifo = sqs.create_queue(QueueName="d.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    sqs.send_message(QueueUrl=fifo, MessageBody="first", MessageGroupId="g", MessageDeduplicationId="d0")
    ddb.create_table(
        TableName="tokens",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    second = {
        "QueueUrl": fifo,
        "MessageBody": "second",
        "MessageGroupId": "g",
        "MessageDeduplicationId": "d1",
    }
    attempt = {"QueueUrl": fifo, "ReceiveRequestAttemptId": "a1", "MaxNumberOfMessages": 10}
    put = {
        "TransactItems": [{"Put": {"TableName": "tokens", "Item": {"pk": {"S": "t"}}}}],
        "ClientRequestToken": "k",
    }
    guarded = {
        "TableName": "tokens",
        "Item": {"pk": {"S": "c"}},
        "ConditionExpression": "attribute_not_exists(pk)",
    }

    fill(proc, data, sqs, filler)
    assert refused(sqs.send_message, **second) == "InternalFailure"
    assert refused(sqs.receive_message, **attempt) == "InternalFailure"
    assert refused(ddb.transact_write_items, **put) == "InternalServerError"
    assert refused(ddb.put_item, **guarded) == "InternalServerError"

    limit_files(proc, resource.RLIM_INFINITY)
    # The retries are new: the refused send left no deduplication id, the receive no attempt
    # (it takes both messages now, not a replay of nothing), the transaction no token.
    assert "SequenceNumber" in sqs.send_message(**second)
    assert [m["Body"] for m in sqs.receive_message(**attempt)["Messages"]] == ["first", "second"]
    ddb.transact_write_items(**put)
    assert "Item" in ddb.get_item(TableName="tokens", Key={"pk": {"S": "t"}})
    ddb.put_item(**guarded)


def test_a_message_move_task_goes_on_after_steps_the_full_store_refused(
    fresh_server: Any, tmp_path: Path
) -> None:
    import json
    import time

    data = tmp_path / "full"
    proc = fresh_server("--state-delay", "0", data_dir=data)
    sqs = make_client(proc.url, "sqs")
    dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "1"})
    source = sqs.create_queue(QueueName="source", Attributes={"RedrivePolicy": policy})["QueueUrl"]
    source_arn = sqs.get_queue_attributes(QueueUrl=source, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    for n in range(5):
        sqs.send_message(QueueUrl=dlq, MessageBody=f"m{n}")
    filler = sqs.create_queue(QueueName="filler")["QueueUrl"]
    sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=source_arn, MaxNumberOfMessagesPerSecond=1)

    fill(proc, data, sqs, filler)
    time.sleep(2.5)  # the task's steps meet the full store meanwhile
    limit_files(proc, resource.RLIM_INFINITY)
    task = finished_task(sqs, dlq_arn, timeout=30)
    assert task["Status"] == "COMPLETED"
    assert task["ApproximateNumberOfMessagesMoved"] == 5
    assert "a step failed" in "".join(proc.output)
    attrs = sqs.get_queue_attributes(QueueUrl=source, AttributeNames=["ApproximateNumberOfMessages"])
    assert attrs["Attributes"]["ApproximateNumberOfMessages"] == "5"
