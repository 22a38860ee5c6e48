"""PutRecord/PutRecords, the five iterator types, GetRecords limits and errors."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.kinesis.conftest import error_of, unique

ACCOUNT = "000000000000"


def shard_for(shards: list[dict[str, Any]], key: str) -> str:
    value = int.from_bytes(hashlib.md5(key.encode()).digest(), "big")
    for s in shards:
        if int(s["HashKeyRange"]["StartingHashKey"]) <= value <= int(s["HashKeyRange"]["EndingHashKey"]):
            return s["ShardId"]
    raise AssertionError("no shard")


def read_all(
    kinesis: Any, name: str, shard: str, kind: str = "TRIM_HORIZON", **kw: Any
) -> list[dict[str, Any]]:
    it = kinesis.get_shard_iterator(StreamName=name, ShardId=shard, ShardIteratorType=kind, **kw)[
        "ShardIterator"
    ]
    out = kinesis.get_records(ShardIterator=it)
    return out["Records"]


def test_md5_of_partition_key_picks_the_shard(kinesis: Any, new_stream: Any) -> None:
    name = new_stream(4)
    shards = kinesis.list_shards(StreamName=name)["Shards"]
    for i in range(20):
        key = f"key-{i}"
        put = kinesis.put_record(StreamName=name, Data=f"d{i}".encode(), PartitionKey=key)
        assert put["ShardId"] == shard_for(shards, key)
    explicit = kinesis.put_record(
        StreamName=name, Data=b"x", PartitionKey="any", ExplicitHashKey=str(2**128 - 1)
    )
    assert explicit["ShardId"] == "shardId-000000000003"
    explicit = kinesis.put_record(StreamName=name, Data=b"x", PartitionKey="any", ExplicitHashKey="0")
    assert explicit["ShardId"] == "shardId-000000000000"
    with pytest.raises(ClientError) as exc:
        kinesis.put_record(StreamName=name, Data=b"x", PartitionKey="k", ExplicitHashKey=str(2**128))
    assert error_of(exc) == (
        "InvalidArgumentException",
        "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. "
        f"Specified value was {2**128}",
        400,
    )


def test_sequence_numbers_increase_within_a_shard(kinesis: Any, new_stream: Any) -> None:
    name = new_stream(2)
    seqs: dict[str, list[str]] = {}
    for i in range(30):
        put = kinesis.put_record(StreamName=name, Data=b"x", PartitionKey=str(i))
        seqs.setdefault(put["ShardId"], []).append(put["SequenceNumber"])
    everything = [s for v in seqs.values() for s in v]
    assert len(set(everything)) == 30
    for values in seqs.values():
        assert all(len(v) == 56 and v.isdigit() for v in values)
        assert [int(v) for v in values] == sorted(int(v) for v in values)
        assert len(set(values)) == len(values)
    # SequenceNumberForOrdering: a later put on the same key sorts after the one it names.
    first = kinesis.put_record(StreamName=name, Data=b"a", PartitionKey="same")
    second = kinesis.put_record(
        StreamName=name, Data=b"b", PartitionKey="same", SequenceNumberForOrdering=first["SequenceNumber"]
    )
    assert int(second["SequenceNumber"]) > int(first["SequenceNumber"])
    with pytest.raises(ClientError) as exc:
        kinesis.put_record(StreamName=name, Data=b"b", PartitionKey="same", SequenceNumberForOrdering="12345")
    assert error_of(exc)[0] == "InvalidArgumentException"
    assert "ExclusiveMinimumSequenceNumber 12345 used in PutRecord" in error_of(exc)[1]


def test_round_trip_keeps_data_exactly(kinesis: Any, new_stream: Any, server_now: Any) -> None:
    name = new_stream(1)
    payloads = [b"", b"a" * 1000, b"test", "ünicödé 统一码 💣💻🔥".encode(), bytes(range(256))]
    for p in payloads:
        kinesis.put_record(StreamName=name, Data=p, PartitionKey="1")
    records = read_all(kinesis, name, "shardId-000000000000")
    assert [r["Data"] for r in records] == payloads
    assert all(r["PartitionKey"] == "1" for r in records)
    for r in records:
        assert isinstance(r["ApproximateArrivalTimestamp"], dt.datetime)
        assert abs(r["ApproximateArrivalTimestamp"].timestamp() - server_now()) < 60


def test_put_records_keeps_positions(kinesis: Any, new_stream: Any) -> None:
    name = new_stream(3)
    entries = [{"Data": f"r{i}".encode(), "PartitionKey": f"p{i}"} for i in range(50)]
    out = kinesis.put_records(StreamName=name, Records=entries)
    assert out["FailedRecordCount"] == 0
    assert len(out["Records"]) == 50
    shards = kinesis.list_shards(StreamName=name)["Shards"]
    by_seq = {}
    for entry, result in zip(entries, out["Records"], strict=True):
        assert result["ShardId"] == shard_for(shards, entry["PartitionKey"])
        by_seq[result["SequenceNumber"]] = entry["Data"]
    for shard in shards:
        for record in read_all(kinesis, name, shard["ShardId"]):
            assert by_seq[record["SequenceNumber"]] == record["Data"]


def test_put_records_validates_the_whole_batch(kinesis: Any, raw_kinesis: Any, new_stream: Any) -> None:
    name = new_stream(1)
    with pytest.raises(ClientError) as exc:
        raw_kinesis.put_records(StreamName=name, Records=[{"Data": b"x", "PartitionKey": "a"}] * 501)
    assert error_of(exc)[0] == "ValidationException"
    assert "Member must have length less than or equal to 500" in error_of(exc)[1]
    with pytest.raises(ClientError) as exc:
        kinesis.put_records(
            StreamName=name,
            Records=[
                {"Data": b"x", "PartitionKey": "a"},
                {"Data": b"y", "PartitionKey": "b", "ExplicitHashKey": str(2**129)},
            ],
        )
    assert error_of(exc)[0] == "InvalidArgumentException"
    # nothing of the rejected batch was stored
    assert read_all(kinesis, name, "shardId-000000000000") == []


def test_put_records_reports_throttled_entries_without_failing_the_batch(fresh_server: Any) -> None:
    from tests.conftest import make_client

    proc = fresh_server("--kinesis-throttle", in_memory=True)
    kinesis = make_client(proc.url, "kinesis")
    kinesis.create_stream(StreamName="hot", ShardCount=1)
    big = b"x" * (400 * 1024)
    out = kinesis.put_records(
        StreamName="hot", Records=[{"Data": big, "PartitionKey": str(i)} for i in range(4)]
    )
    assert out["FailedRecordCount"] >= 1
    assert "SequenceNumber" in out["Records"][0]
    failed = [r for r in out["Records"] if "ErrorCode" in r]
    assert failed and failed[0]["ErrorCode"] == "ProvisionedThroughputExceededException"
    assert (
        failed[0]["ErrorMessage"]
        == f"Rate exceeded for shard shardId-000000000000 in stream hot under account {ACCOUNT}."
    )
    stored = read_all(kinesis, "hot", "shardId-000000000000")
    assert len(stored) == 4 - out["FailedRecordCount"]


def test_iterator_types(kinesis: Any, new_stream: Any, server: Any) -> None:
    name = new_stream(1)
    shard = "shardId-000000000000"
    puts = [kinesis.put_record(StreamName=name, Data=f"{i}".encode(), PartitionKey="k") for i in range(5)]
    seqs = [p["SequenceNumber"] for p in puts]

    assert [r["Data"] for r in read_all(kinesis, name, shard)] == [b"0", b"1", b"2", b"3", b"4"]
    at = read_all(kinesis, name, shard, "AT_SEQUENCE_NUMBER", StartingSequenceNumber=seqs[2])
    assert [r["SequenceNumber"] for r in at] == seqs[2:]
    after = read_all(kinesis, name, shard, "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=seqs[2])
    assert [r["SequenceNumber"] for r in after] == seqs[3:]

    latest = kinesis.get_shard_iterator(StreamName=name, ShardId=shard, ShardIteratorType="LATEST")[
        "ShardIterator"
    ]
    assert kinesis.get_records(ShardIterator=latest)["Records"] == []
    new = kinesis.put_record(StreamName=name, Data=b"new", PartitionKey="k")
    got = kinesis.get_records(ShardIterator=latest)
    assert [r["SequenceNumber"] for r in got["Records"]] == [new["SequenceNumber"]]
    # the next iterator continues after what was read
    assert kinesis.get_records(ShardIterator=got["NextShardIterator"])["Records"] == []

    everything = read_all(kinesis, name, shard)
    for i in (0, 3, 5):
        stamp = everything[i]["ApproximateArrivalTimestamp"]
        found = read_all(kinesis, name, shard, "AT_TIMESTAMP", Timestamp=stamp)
        assert found[0]["ApproximateArrivalTimestamp"] == stamp
        assert all(r["ApproximateArrivalTimestamp"] >= stamp for r in found)
        assert [r["SequenceNumber"] for r in found] == [
            r["SequenceNumber"] for r in everything if r["ApproximateArrivalTimestamp"] >= stamp
        ]
    with pytest.raises(ClientError) as exc:
        read_all(kinesis, name, shard, "AT_TIMESTAMP", Timestamp=server.now() + 3600)
    assert error_of(exc)[0] == "InvalidArgumentException"


def test_at_timestamp_after_clock_advance(fresh_server: Any) -> None:
    from tests.conftest import make_client

    proc = fresh_server(in_memory=True)
    kinesis = make_client(proc.url, "kinesis")
    kinesis.create_stream(StreamName="t", ShardCount=1)
    kinesis.put_record(StreamName="t", Data=b"old", PartitionKey="k")
    proc.advance_clock(100)
    middle = time.time() + 50
    proc.advance_clock(100)
    kinesis.put_record(StreamName="t", Data=b"new", PartitionKey="k")
    records = read_all(kinesis, "t", "shardId-000000000000", "AT_TIMESTAMP", Timestamp=middle)
    assert [r["Data"] for r in records] == [b"new"]


def test_iterator_argument_errors(kinesis: Any, new_stream: Any) -> None:
    name = new_stream(2)
    seq = kinesis.put_record(StreamName=name, Data=b"x", PartitionKey="k", ExplicitHashKey="0")[
        "SequenceNumber"
    ]
    shard = "shardId-000000000000"

    def fails(**kw: Any) -> tuple[str, str, int]:
        with pytest.raises(ClientError) as exc:
            kinesis.get_shard_iterator(StreamName=name, **kw)
        return error_of(exc)

    code, message, _ = fails(ShardId=shard, ShardIteratorType="AT_SEQUENCE_NUMBER")
    assert code == "InvalidArgumentException"
    assert message.endswith("Request specified AT_SEQUENCE_NUMBER and no StartingSequenceNumber.")
    code, message, _ = fails(ShardId=shard, ShardIteratorType="LATEST", StartingSequenceNumber=seq)
    assert message.endswith("Request specified LATEST and also a StartingSequenceNumber.")
    code, message, _ = fails(
        ShardId="shardId-000000000001", ShardIteratorType="AT_SEQUENCE_NUMBER", StartingSequenceNumber=seq
    )
    assert message == (
        "Invalid StartingSequenceNumber. It encodes shardId-000000000000, while it was used in a call to a shard "
        "with shardId-000000000001"
    )
    code, message, _ = fails(
        ShardId=shard, ShardIteratorType="AT_SEQUENCE_NUMBER", StartingSequenceNumber="1234"
    )
    assert message == (
        f"StartingSequenceNumber 1234 used in GetShardIterator on shard {shard} in stream {name} under account "
        f"{ACCOUNT} is invalid."
    )
    assert fails(ShardId="shardId-000000000009", ShardIteratorType="LATEST") == (
        "ResourceNotFoundException",
        f"Shard shardId-000000000009 in stream {name} under account {ACCOUNT} does not exist",
        400,
    )
    code, message, _ = fails(ShardId=shard, ShardIteratorType="AT_TIMESTAMP")
    assert code == "InvalidArgumentException" and "AT_TIMESTAMP" in message
    with pytest.raises(ClientError) as exc:
        kinesis.get_shard_iterator(StreamName=unique(), ShardId=shard, ShardIteratorType="LATEST")
    assert error_of(exc)[0] == "ResourceNotFoundException"


def test_iterators_are_tamper_evident(kinesis: Any, new_stream: Any) -> None:
    name = new_stream(1)
    it = kinesis.get_shard_iterator(
        StreamName=name, ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON"
    )
    token = it["ShardIterator"]
    raw = bytearray(base64.urlsafe_b64decode(token))
    raw[12] ^= 1  # move the position by one shard/counter bit
    forged = base64.urlsafe_b64encode(bytes(raw)).decode()
    for bad in (forged, "not-an-iterator", token[:-4]):
        with pytest.raises(ClientError) as exc:
            kinesis.get_records(ShardIterator=bad)
        assert error_of(exc) == ("InvalidArgumentException", "Invalid ShardIterator.", 400)


def test_iterator_expires_after_five_minutes(fresh_server: Any) -> None:
    from tests.conftest import make_client

    proc = fresh_server(in_memory=True)
    kinesis = make_client(proc.url, "kinesis")
    kinesis.create_stream(StreamName="e", ShardCount=1)
    it = kinesis.get_shard_iterator(
        StreamName="e", ShardId="shardId-000000000000", ShardIteratorType="LATEST"
    )
    proc.advance_clock(299)
    nxt = kinesis.get_records(ShardIterator=it["ShardIterator"])["NextShardIterator"]
    proc.advance_clock(2)
    with pytest.raises(ClientError) as exc:
        kinesis.get_records(ShardIterator=it["ShardIterator"])
    code, message, status = error_of(exc)
    assert (code, status) == ("ExpiredIteratorException", 400)
    assert message.startswith("Iterator expired. The iterator was created at time ")
    assert message.endswith("which is further in the future than the tolerated delay of 300000 milliseconds.")
    assert kinesis.get_records(ShardIterator=nxt)["Records"] == []  # a fresh iterator from the last call


def test_get_records_limit_and_millis_behind(fresh_server: Any) -> None:
    from tests.conftest import make_client

    proc = fresh_server(in_memory=True)
    kinesis = make_client(proc.url, "kinesis")
    kinesis.create_stream(StreamName="m", ShardCount=1)
    for _ in range(3):
        kinesis.put_records(StreamName="m", Records=[{"Data": b"x", "PartitionKey": "k"}] * 10)
    proc.advance_clock(10)
    it = kinesis.get_shard_iterator(
        StreamName="m", ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON"
    )
    first = kinesis.get_records(ShardIterator=it["ShardIterator"], Limit=25)
    assert len(first["Records"]) == 25
    assert first["MillisBehindLatest"] >= 10_000
    rest = kinesis.get_records(ShardIterator=first["NextShardIterator"], Limit=25)
    assert len(rest["Records"]) == 5
    assert rest["MillisBehindLatest"] == 0


def test_get_records_caps_a_response_at_ten_mebibytes(kinesis: Any, new_stream: Any) -> None:
    name = new_stream(1, MaxRecordSizeInKiB=4096)
    blob = b"z" * (3 * 1024 * 1024)
    for _ in range(2):
        kinesis.put_records(StreamName=name, Records=[{"Data": blob, "PartitionKey": "k"}] * 2)
    it = kinesis.get_shard_iterator(
        StreamName=name, ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON"
    )
    first = kinesis.get_records(ShardIterator=it["ShardIterator"])
    assert len(first["Records"]) == 3
    second = kinesis.get_records(ShardIterator=first["NextShardIterator"])
    assert len(second["Records"]) == 1


def test_record_size_limit(kinesis: Any, raw_kinesis: Any, new_stream: Any) -> None:
    name = new_stream(1)
    kinesis.put_record(StreamName=name, Data=b"x" * (1024 * 1024 - 1), PartitionKey="k")
    with pytest.raises(ClientError) as exc:
        kinesis.put_record(StreamName=name, Data=b"x" * (1024 * 1024), PartitionKey="k")
    assert error_of(exc)[0] == "ValidationException"
    kinesis.update_max_record_size(
        StreamARN=f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/{name}", MaxRecordSizeInKiB=2048
    )
    kinesis.put_record(StreamName=name, Data=b"x" * (1024 * 1024), PartitionKey="k")
    assert (
        kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["MaxRecordSizeInKiB"]
        == 2048
    )
    with pytest.raises(ClientError) as exc:
        raw_kinesis.put_record(StreamName=name, Data=b"x")
    assert error_of(exc) == (
        "ValidationException",
        "1 validation error detected: Value null at 'partitionKey' failed to satisfy constraint: Member must not be null",
        400,
    )


def test_throughput_limits_when_enabled(fresh_server: Any) -> None:
    from tests.conftest import make_client

    proc = fresh_server("--kinesis-throttle", in_memory=True)
    kinesis = make_client(proc.url, "kinesis")
    kinesis.create_stream(StreamName="limited", ShardCount=1)
    shard = "shardId-000000000000"
    # 1 MiB/s per shard in: ten ~1 MiB puts cannot all land in different seconds, so one is refused
    codes = []
    for _ in range(10):
        try:
            kinesis.put_record(StreamName="limited", Data=b"x" * (1024 * 1024 - 1), PartitionKey="k")
        except ClientError as exc:
            err = exc.response["Error"]
            codes.append((err["Code"], err["Message"], exc.response["ResponseMetadata"]["HTTPStatusCode"]))
            break
    assert codes == [
        (
            "ProvisionedThroughputExceededException",
            f"Rate exceeded for shard {shard} in stream limited under account {ACCOUNT}.",
            400,
        )
    ]
    # 5 GetRecords/s per shard out: a hundred quick calls cannot all fit five to a second
    it = kinesis.get_shard_iterator(StreamName="limited", ShardId=shard, ShardIteratorType="LATEST")[
        "ShardIterator"
    ]
    refused = None
    for _ in range(100):
        try:
            it = kinesis.get_records(ShardIterator=it)["NextShardIterator"]
        except ClientError as exc:
            refused = exc.response["Error"]["Code"]
            break
    assert refused == "ProvisionedThroughputExceededException"
    # 5 GetShardIterator/s per shard
    refused = None
    for _ in range(100):
        try:
            kinesis.get_shard_iterator(StreamName="limited", ShardId=shard, ShardIteratorType="LATEST")
        except ClientError as exc:
            refused = exc.response["Error"]["Code"]
            break
    assert refused == "ProvisionedThroughputExceededException"


def test_a_large_read_blocks_the_shard_for_a_while_when_throttling(fresh_server: Any) -> None:
    from tests.conftest import make_client

    proc = fresh_server("--kinesis-throttle", in_memory=True)
    kinesis = make_client(proc.url, "kinesis")
    kinesis.create_stream(StreamName="big", ShardCount=1)
    shard = "shardId-000000000000"
    for _ in range(3):  # three ~1 MiB records, one a second to stay within the 1 MiB/s write limit
        kinesis.put_record(StreamName="big", Data=b"r" * (1024 * 1024 - 1), PartitionKey="k")
        proc.advance_clock(1)
    it = kinesis.get_shard_iterator(StreamName="big", ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    first = kinesis.get_records(ShardIterator=it)  # ~3 MiB: the shard's 2 MiB/s is spent for ~1.5 s
    assert len(first["Records"]) == 3
    with pytest.raises(ClientError) as exc:
        kinesis.get_records(ShardIterator=first["NextShardIterator"])
    assert error_of(exc)[0] == "ProvisionedThroughputExceededException"
    proc.advance_clock(2)
    assert kinesis.get_records(ShardIterator=first["NextShardIterator"])["Records"] == []


def test_get_records_returns_at_most_ten_thousand_records(kinesis: Any, new_stream: Any) -> None:
    name = new_stream(1)
    for _ in range(21):
        kinesis.put_records(StreamName=name, Records=[{"Data": b"", "PartitionKey": "k"}] * 500)
    it = kinesis.get_shard_iterator(
        StreamName=name, ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON"
    )
    first = kinesis.get_records(ShardIterator=it["ShardIterator"])
    assert len(first["Records"]) == 10_000
    assert first["MillisBehindLatest"] >= 0
    rest = kinesis.get_records(ShardIterator=first["NextShardIterator"])
    assert len(rest["Records"]) == 500
    assert int(rest["Records"][0]["SequenceNumber"]) > int(first["Records"][-1]["SequenceNumber"])
