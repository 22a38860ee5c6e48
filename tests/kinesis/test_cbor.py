"""Kinesis over CBOR (`application/x-amz-cbor-1.1`), as the AWS SDK for Java sends it: blobs as byte
strings, timestamps as tag 1 with epoch milliseconds."""

from __future__ import annotations

import datetime as dt
import http.client
from typing import Any
from urllib.parse import urlparse

import cbor2

from tests.kinesis.conftest import unique

ACCOUNT = "000000000000"


def call(server: Any, operation: str, body: dict[str, Any]) -> tuple[int, dict[str, Any], str]:
    url = urlparse(server.url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        conn.request(
            "POST",
            "/",
            cbor2.dumps(body),
            {
                "Content-Type": "application/x-amz-cbor-1.1",
                "X-Amz-Target": f"Kinesis_20131202.{operation}",
                "Authorization": "AWS4-HMAC-SHA256 Credential=test/20261127/us-east-1/kinesis/aws4_request, "
                "SignedHeaders=host, Signature=0",
            },
        )
        response = conn.getresponse()
        data = response.read()
        return (
            response.status,
            cbor2.loads(data, semantic_decoders={1: lambda v, _: ("epoch", v)}),
            (response.getheader("Content-Type") or ""),
        )
    finally:
        conn.close()


def at_timestamp(server: Any, stream: str, when: Any) -> Any:
    """GetShardIterator AT_TIMESTAMP on the stream's first shard, `when` as CBOR carries it."""
    params = {"StreamName": stream, "ShardId": "shardId-000000000000", "ShardIteratorType": "AT_TIMESTAMP"}
    return call(server, "GetShardIterator", {**params, "Timestamp": when})


def test_cbor_put_and_get_records(server: Any, kinesis: Any, server_now: Any) -> None:
    name = unique("cbor")
    status, _, content_type = call(server, "CreateStream", {"StreamName": name, "ShardCount": 1})
    assert (status, content_type) == (200, "application/x-amz-cbor-1.1")
    payloads = [b"", b"\x00\xff\x10binary", "ünicödé 💣".encode()]
    for p in payloads:
        status, out, _ = call(server, "PutRecord", {"StreamName": name, "Data": p, "PartitionKey": "k"})
        assert status == 200 and out["ShardId"] == "shardId-000000000000" and len(out["SequenceNumber"]) == 56
    status, out, _ = call(
        server, "PutRecords", {"StreamName": name, "Records": [{"Data": b"batch", "PartitionKey": "p"}]}
    )
    assert status == 200 and out["FailedRecordCount"] == 0

    before = int(server_now() * 1000) - 60_000
    status, out, _ = at_timestamp(server, name, cbor2.CBORTag(1, before))
    assert status == 200
    status, out, _ = call(server, "GetRecords", {"ShardIterator": out["ShardIterator"]})
    assert status == 200
    assert [r["Data"] for r in out["Records"]] == [*payloads, b"batch"]
    kind, millis = out["Records"][0]["ApproximateArrivalTimestamp"]
    assert kind == "epoch" and isinstance(millis, int)
    assert abs(millis - server_now() * 1000) < 60_000  # milliseconds, as the Java SDK reads them
    # the same records over JSON agree on the arrival instant
    it = kinesis.get_shard_iterator(
        StreamName=name, ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON"
    )
    first = kinesis.get_records(ShardIterator=it["ShardIterator"])["Records"][0]
    assert first["ApproximateArrivalTimestamp"] == dt.datetime.fromtimestamp(millis / 1000, dt.UTC)


def test_cbor_errors(server: Any) -> None:
    status, out, content_type = call(server, "DescribeStream", {"StreamName": "wrong-stream-name"})
    assert (status, content_type) == (400, "application/x-amz-cbor-1.1")
    assert out == {
        "__type": "ResourceNotFoundException",
        "message": f"Stream wrong-stream-name under account {ACCOUNT} not found.",
    }
    status, out, _ = call(server, "CreateStream", {"StreamName": "x" * 129, "ShardCount": 1})
    assert status == 400 and out["__type"] == "ValidationException"
    status, out, _ = call(server, "GetRecords", {"ShardIterator": "bogus"})
    assert (status, out) == (400, {"__type": "InvalidArgumentException", "message": "Invalid ShardIterator."})


def test_cbor_subscribe_to_shard_streams_cbor_events(server: Any, kinesis: Any, server_now: Any) -> None:
    """The Java SDK subscribes over CBOR: every event-stream payload is CBOR, timestamps in milliseconds."""
    from botocore.eventstream import EventStreamBuffer

    name = unique("cbor-sub")
    kinesis.create_stream(StreamName=name, ShardCount=1)
    arn = f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/{name}"
    consumer = kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="java")["Consumer"]["ConsumerARN"]
    puts = [kinesis.put_record(StreamName=name, Data=f"r{i}".encode(), PartitionKey="k") for i in range(3)]
    url = urlparse(server.url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        body = {
            "ConsumerARN": consumer,
            "ShardId": "shardId-000000000000",
            "StartingPosition": {
                "Type": "AT_TIMESTAMP",
                "Timestamp": cbor2.CBORTag(1, int(server_now() * 1000) - 60_000),
            },
        }
        conn.request(
            "POST",
            "/",
            cbor2.dumps(body),
            {
                "Content-Type": "application/x-amz-cbor-1.1",
                "X-Amz-Target": "Kinesis_20131202.SubscribeToShard",
            },
        )
        response = conn.getresponse()
        assert response.status == 200
        assert response.getheader("Content-Type") == "application/vnd.amazon.eventstream"
        buffer = EventStreamBuffer()
        messages: list[Any] = []
        while len(messages) < 2:
            buffer.add_data(response.read1(65536))
            messages += list(buffer)
    finally:
        conn.close()
    initial, event = messages[:2]
    assert initial.headers[":event-type"] == "initial-response"
    assert cbor2.loads(initial.payload) == {}
    assert event.headers[":event-type"] == "SubscribeToShardEvent"
    assert event.headers[":content-type"] == "application/x-amz-cbor-1.1"
    decoded = cbor2.loads(event.payload, semantic_decoders={1: lambda v, _: ("epoch", v)})
    assert [r["Data"] for r in decoded["Records"]] == [b"r0", b"r1", b"r2"]
    assert [r["SequenceNumber"] for r in decoded["Records"]] == [p["SequenceNumber"] for p in puts]
    kind, millis = decoded["Records"][0]["ApproximateArrivalTimestamp"]
    assert kind == "epoch" and abs(millis - server_now() * 1000) < 60_000
    assert decoded["ContinuationSequenceNumber"] == puts[-1]["SequenceNumber"]


def test_at_timestamp_that_is_no_instant_is_a_serialization_exception(server: Any, kinesis: Any) -> None:
    """Found by fuzzing: a NaN or infinite Timestamp (tag 1 or bare) answered 500 InternalFailure."""
    name = unique("cbor-nan")
    kinesis.create_stream(StreamName=name, ShardCount=1)
    for when in (cbor2.CBORTag(1, float("nan")), cbor2.CBORTag(1, float("inf")), float("nan")):
        status, out, _ = at_timestamp(server, name, when)
        assert status == 400
        assert out["__type"] == "SerializationException"


def test_put_records_with_a_null_partition_key_and_an_explicit_hash_key(server: Any, kinesis: Any) -> None:
    """Found by the wire fuzzer: a null PartitionKey (optional in the model) beside an
    ExplicitHashKey answered 500 (None.encode); a null key is an absent one."""
    name = unique("null-key")
    kinesis.create_stream(StreamName=name, ShardCount=1)
    records = [{"Data": b"x", "PartitionKey": None, "ExplicitHashKey": "0"}]
    status, out, _ = call(server, "PutRecords", {"StreamName": name, "Records": records})
    assert status == 200 and out["FailedRecordCount"] == 0
    it = kinesis.get_shard_iterator(
        StreamName=name, ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    assert [r["Data"] for r in kinesis.get_records(ShardIterator=it)["Records"]] == [b"x"]
