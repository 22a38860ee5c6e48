"""Kinesis workloads for the benchmark: PutRecord (512-byte records, 4-shard stream, N keep-alive
connections), PutRecords of 500, GetRecords draining every shard from TRIM_HORIZON, and the
per-call cost on a short stream against one holding `--length` records.

    python benchmarks/kinesis_workloads.py [--url URL] [--moto-url URL] [--records 20000] [--length 1000000]

Without --url it starts its own Gondwana (durable default store) in a temporary directory. The
"ceiling" is the rate of the cheapest request the server answers (GET /_gondwana/health) over the
same connections: the client and HTTP floor of this machine. Prints one JSON document.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
DATA = base64.b64encode(b"x" * 512).decode()
AUTH = (
    "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/kinesis/aws4_request, "
    "SignedHeaders=host, Signature=0"
)
SHARDS = 4


class Client:
    """One keep-alive connection speaking AWS JSON 1.1 (the client cost stays small)."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)

    def call(self, operation: str, params: dict[str, Any] | bytes) -> dict[str, Any]:
        headers = {
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": f"Kinesis_20131202.{operation}",
            "Authorization": AUTH,
        }
        body = params if isinstance(params, bytes) else json.dumps(params)
        self.conn.request("POST", "/", body, headers)
        response = self.conn.getresponse()
        data = response.read()
        if response.status != 200:
            raise RuntimeError(f"{operation}: {response.status} {data[:200]!r}")
        return json.loads(data) if data else {}

    def health(self) -> None:
        self.conn.request("GET", "/_gondwana/health")
        self.conn.getresponse().read()


def run_parallel(url: str, connections: int, total: int, step: Any) -> float:
    """Run `step(client, i)` until `total` units are done across `connections`; units per second."""
    counter = iter(range(total))
    lock = threading.Lock()
    done = [0]

    def worker() -> None:
        client = Client(url)
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            units = step(client, i)
            with lock:
                done[0] += units

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return done[0] / (time.perf_counter() - started)


def make_stream(client: Client, shards: int = SHARDS) -> str:
    name = f"bench-{uuid.uuid4().hex[:8]}"
    client.call("CreateStream", {"StreamName": name, "ShardCount": shards})
    for _ in range(600):  # Gondwana settles at once; moto and slower servers take a moment
        if (
            client.call("DescribeStreamSummary", {"StreamName": name})["StreamDescriptionSummary"][
                "StreamStatus"
            ]
            == "ACTIVE"
        ):
            break
        time.sleep(0.1)
    return name


def batch_body(stream: str, i: int, size: int = 500) -> bytes:
    records = [{"Data": DATA, "PartitionKey": f"{i}-{k}"} for k in range(size)]
    return json.dumps({"StreamName": stream, "Records": records}).encode()


def put_record(url: str, stream: str, records: int, connections: int) -> float:
    def step(client: Client, i: int) -> int:
        client.call("PutRecord", {"StreamName": stream, "Data": DATA, "PartitionKey": str(i)})
        return 1

    return run_parallel(url, connections, records, step)


def put_records(url: str, stream: str, records: int, connections: int) -> float:
    bodies = [batch_body(stream, i) for i in range(max(1, records // 500))]
    return run_parallel(url, connections, len(bodies), lambda c, i: (c.call("PutRecords", bodies[i]), 500)[1])


def drain(url: str, stream: str) -> float:
    """GetRecords from TRIM_HORIZON to the tip of every shard, one connection per shard."""

    def step(client: Client, shard: int) -> int:
        iterator = client.call(
            "GetShardIterator",
            {"StreamName": stream, "ShardId": f"shardId-{shard:012d}", "ShardIteratorType": "TRIM_HORIZON"},
        )["ShardIterator"]
        got = 0
        while True:
            out = client.call("GetRecords", {"ShardIterator": iterator})
            got += len(out["Records"])
            if not out["Records"] or not out.get("MillisBehindLatest"):
                return got
            iterator = out["NextShardIterator"]

    return run_parallel(url, SHARDS, SHARDS, step)


def workloads(url: str, records: int, connections: int, ceiling: bool = True) -> dict[str, float]:
    setup = Client(url)
    setup.call("ListStreams", {})  # warm up: the service model loads on first use
    out: dict[str, float] = {}
    if ceiling:
        out["ceiling (health GET/s)"] = run_parallel(
            url, connections, records, lambda c, i: (c.health(), 1)[1]
        )
    stream = make_stream(setup)
    out["PutRecord (records/s)"] = put_record(url, stream, records, connections)
    if ceiling:
        out["PutRecord / ceiling"] = out["PutRecord (records/s)"] / out["ceiling (health GET/s)"]
    batched = make_stream(setup)
    out["PutRecords x500 (records/s)"] = put_records(url, batched, records * 5, max(1, connections // 2))
    out["GetRecords drain (records/s)"] = drain(url, batched)
    return out


def length_check(url: str, length: int, calls: int) -> dict[str, float]:
    """PutRecord and GetRecords (Limit 100, at the stream's start) on a short and a long stream."""
    setup = Client(url)
    short, long = make_stream(setup, 1), make_stream(setup, 1)
    put_records(url, long, length, 4)
    put_records(url, short, 500, 1)

    def rates(stream: str) -> tuple[float, float]:
        puts = put_record(url, stream, calls, 1)
        iterator = setup.call(
            "GetShardIterator",
            {"StreamName": stream, "ShardId": "shardId-000000000000", "ShardIteratorType": "TRIM_HORIZON"},
        )["ShardIterator"]
        started = time.perf_counter()
        for _ in range(calls // 10):
            setup.call("GetRecords", {"ShardIterator": iterator, "Limit": 100})
        return puts, (calls // 10) / (time.perf_counter() - started)

    (short_put, short_get), (long_put, long_get) = rates(short), rates(long)
    return {
        "PutRecord, short stream (calls/s)": short_put,
        f"PutRecord, {length}-record stream (calls/s)": long_put,
        "GetRecords, short stream (calls/s)": short_get,
        f"GetRecords, {length}-record stream (calls/s)": long_get,
        "PutRecord ratio long/short": long_put / short_put,
        "GetRecords ratio long/short": long_get / short_get,
    }


def start_server(directory: Path) -> Any:
    sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
    from tests.support.server import ServerProcess

    return ServerProcess(directory / "data").start()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url")
    parser.add_argument("--moto-url", help="a running `moto_server` to compare with")
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--length", type=int, default=1_000_000, help="0 skips the stream-length check")
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = None if args.url else start_server(Path(tmp))
        url = args.url or server.url
        try:
            report: dict[str, Any] = {"gondwana": workloads(url, args.records, args.connections)}
            if args.moto_url:
                moto = workloads(args.moto_url, args.records, args.connections, ceiling=False)
                report["moto"] = moto
                report["gondwana / moto"] = {k: report["gondwana"][k] / v for k, v in moto.items() if v}
            if args.length:
                report["stream length"] = length_check(url, args.length, 1000)
        finally:
            if server is not None:
                server.stop()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
