"""Kinesis (issue 4): PutRecord of 512-byte records on a 4-shard stream, PutRecords of 500, GetRecords
draining every shard from TRIM_HORIZON, and the per-call cost on a long stream against a short one.

The drain is a Lua flow: GetShardIterator (TRIM_HORIZON, shards in rotation), then GetRecords
with each NextShardIterator until a call returns no records, then again from the start. It counts
the records it gets, so units/s is records read per second, from a stream filled with 200,000.
"""

from __future__ import annotations

import time

from harness.requests import SEQ, Call, Clients
from workloads import Workload

DATA = b"x" * 512
SHARDS = 4
# The long stream for the per-call cost check, as the issue asks (2,000 PutRecords of 500: ~20 s).
LONG = 1_000_000


def _stream(clients: Clients, name: str, shards: int = SHARDS) -> str:
    """Create the stream unless it exists, and wait until it is ACTIVE (Gondwana: at once)."""
    kinesis = clients.client("kinesis")
    if name not in kinesis.list_streams()["StreamNames"]:
        kinesis.create_stream(StreamName=name, ShardCount=shards)
    for _ in range(300):
        summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
        if summary["StreamStatus"] == "ACTIVE":
            break
        time.sleep(0.1)
    return name


def _put_record(name: str):
    def build(clients: Clients) -> list[Call]:
        stream = _stream(clients, name)  # partition keys numbered by the load generator: all shards
        return [Call("kinesis", "put_record", {"StreamName": stream, "Data": DATA, "PartitionKey": SEQ})]

    return build


def _put_records(name: str, shards: int = SHARDS):
    def build(clients: Clients) -> list[Call]:
        stream = _stream(clients, name, shards)
        records = [{"Data": DATA, "PartitionKey": f"{SEQ}-{k}"} for k in range(500)]
        return [Call("kinesis", "put_records", {"StreamName": stream, "Records": records})]

    return build


def _drain(clients: Clients) -> list[Call]:
    stream = _stream(clients, "drain")
    iterators = [
        Call(
            "kinesis",
            "get_shard_iterator",
            {"StreamName": stream, "ShardId": f"shardId-{s:012d}", "ShardIteratorType": "TRIM_HORIZON"},
        )
        for s in range(SHARDS)
    ]
    return [*iterators, Call("kinesis", "get_records", {"ShardIterator": "ZiteratorZ"})]


# Chains of GetRecords, one per connection at most: a new chain starts (from TRIM_HORIZON on the
# next shard) whenever no iterator is waiting; a chain ends when a call returns no records.
_DRAIN_LUA = """
local iterators = {}
local shard = 0
units = 0

function request()
  if #iterators > 0 then return substitute(reqs[#reqs], "ZiteratorZ", table.remove(iterators, 1)) end
  shard = shard % {shards} + 1
  return reqs[shard]
end

function response(status, headers, body)
  if status ~= 200 then return end
  local first = body:match('^%s*{%s*"ShardIterator"%s*:%s*"([^"]+)"')
  if first then iterators[#iterators + 1] = first return end
  -- Count records with plain finds (a gsub would copy the whole body, megabytes, per answer) and
  -- look for the next iterator from the end, where the answer puts it.
  local records, at = 0, 1
  while true do
    at = body:find('"SequenceNumber"', at, true)
    if not at then break end
    records, at = records + 1, at + 16
  end
  if records == 0 then return end
  units = units + records
  local i = body:find('"NextShardIterator"', math.max(1, #body - 1024), true)
    or body:find('"NextShardIterator"', 1, true)
  local nxt = i and body:match('^"NextShardIterator"%s*:%s*"([^"]+)"', i)
  if nxt then iterators[#iterators + 1] = nxt end
end
""".replace("{shards}", str(SHARDS))


def _get_at_start(name: str):
    """GetRecords of 100 at the start of shard 0, with one iterator (valid 5 minutes)."""

    def build(clients: Clients) -> list[Call]:
        stream = _stream(clients, name, 1)
        iterator = clients.client("kinesis").get_shard_iterator(
            StreamName=stream, ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        return [Call("kinesis", "get_records", {"ShardIterator": iterator, "Limit": 100})]

    return build


WORKLOADS = [
    Workload(
        "kinesis.PutRecord",
        "PutRecord, 512-byte records, 4 shards (partition key per request)",
        _put_record("put"),
        peers=("moto",),
        unit="record",
        target_pct=20,
    ),
    Workload(
        "kinesis.PutRecords500",
        "PutRecords of 500 records of 512 bytes, 4 shards",
        _put_records("puts"),
        peers=("moto",),
        units_per_request=500,
        unit="record",
        target_units=50_000,
    ),
    Workload(
        "kinesis.GetRecords.drain",
        "GetRecords from TRIM_HORIZON to the tip of each of 4 shards (200,000 records), again and again",
        _drain,
        unit="record",
        target_units=200_000,
        lua=_DRAIN_LUA,
        prefill=_put_records("drain"),
        prefill_requests=400,
    ),
    Workload(
        "kinesis.PutRecord.short",
        "PutRecord on a 1-shard stream holding 5,000 records",
        _put_record("short1"),
        unit="record",
        prefill=_put_records("short1", 1),
        prefill_requests=10,
    ),
    Workload(
        f"kinesis.PutRecord.{LONG // 1000}k",
        f"the same on a 1-shard stream holding {LONG:,} records: the cost must not grow with length",
        _put_record("long1"),
        unit="record",
        prefill=_put_records("long1", 1),
        prefill_requests=LONG // 500,
        baseline="kinesis.PutRecord.short",
    ),
    Workload(
        "kinesis.GetRecords100.short",
        "GetRecords (Limit 100) at the start of a 1-shard stream holding 5,000 records",
        _get_at_start("short1"),
        units_per_request=100,
        unit="record",
        prefill=_put_records("short1", 1),
        prefill_requests=10,
    ),
    Workload(
        f"kinesis.GetRecords100.{LONG // 1000}k",
        f"the same on a 1-shard stream holding {LONG:,} records",
        _get_at_start("long1"),
        units_per_request=100,
        unit="record",
        prefill=_put_records("long1", 1),
        prefill_requests=LONG // 500,
        baseline="kinesis.GetRecords100.short",
    ),
]
