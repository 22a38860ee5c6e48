"""SQS workloads for the benchmark: send and receive+delete, batches of 1 and 10, standard and
FIFO (10 groups), 256-byte bodies, over N keep-alive connections, plus the queue-depth check.

    python benchmarks/sqs_workloads.py [--url URL] [--moto-url URL] [--messages 1000] [--depth 100000]

Without --url it starts its own Gondwana (durable default store) in a temporary directory. The
"ceiling" is the rate of the cheapest request the server answers (GET /_gondwana/health) over the
same connections: the client and HTTP floor of this machine. Prints one JSON document.
"""

from __future__ import annotations

import argparse
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
BODY = "x" * 256
AUTH = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=0"


class Client:
    """One keep-alive connection speaking AWS JSON 1.0 (the client cost stays small)."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        headers = {
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": f"AmazonSQS.{operation}",
            "Authorization": AUTH,
        }
        self.conn.request("POST", "/", json.dumps(params), headers)
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


def make_queue(client: Client, fifo: bool) -> str:
    name = f"bench-{uuid.uuid4().hex[:8]}" + (".fifo" if fifo else "")
    attributes = {"FifoQueue": "true", "ContentBasedDeduplication": "false"} if fifo else {}
    return client.call("CreateQueue", {"QueueName": name, "Attributes": attributes})["QueueUrl"]


def entry(i: int, fifo: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"MessageBody": BODY}
    if fifo:
        out.update(MessageGroupId=f"g{i % 10}", MessageDeduplicationId=uuid.uuid4().hex)
    return out


def send(url: str, queue: str, fifo: bool, batch: int, messages: int, connections: int) -> float:
    def step(client: Client, i: int) -> int:
        if batch == 1:
            client.call("SendMessage", {"QueueUrl": queue, **entry(i, fifo)})
        else:
            entries = [{"Id": str(k), **entry(i * batch + k, fifo)} for k in range(batch)]
            client.call("SendMessageBatch", {"QueueUrl": queue, "Entries": entries})
        return batch

    return run_parallel(url, connections, messages // batch, step)


def receive_delete(url: str, queue: str, batch: int, messages: int, connections: int) -> float:
    def step(client: Client, i: int) -> int:
        got = client.call("ReceiveMessage", {"QueueUrl": queue, "MaxNumberOfMessages": batch}).get(
            "Messages", []
        )
        if batch == 1:
            for m in got:
                client.call("DeleteMessage", {"QueueUrl": queue, "ReceiptHandle": m["ReceiptHandle"]})
        elif got:
            client.call(
                "DeleteMessageBatch",
                {
                    "QueueUrl": queue,
                    "Entries": [
                        {"Id": str(k), "ReceiptHandle": m["ReceiptHandle"]} for k, m in enumerate(got)
                    ],
                },
            )
        return len(got)

    return run_parallel(url, connections, messages // batch, step)


def workloads(url: str, messages: int, connections: int) -> dict[str, float]:
    setup = Client(url)
    setup.call("ListQueues", {})  # warm up: the service model loads on first use
    out: dict[str, float] = {}
    out["ceiling (health GET/s)"] = run_parallel(url, connections, messages, lambda c, i: (c.health(), 1)[1])
    for fifo in (False, True):
        kind = "fifo" if fifo else "standard"
        for batch in (1, 10):
            queue = make_queue(setup, fifo)
            out[f"{kind} send x{batch} (msg/s)"] = send(url, queue, fifo, batch, messages, connections)
            out[f"{kind} receive+delete x{batch} (msg/s)"] = receive_delete(
                url, queue, batch, messages, connections
            )
    return out


def depth_check(url: str, depth: int, messages: int, connections: int) -> dict[str, float]:
    """Send+receive+delete speed on an empty queue and on one holding `depth` messages."""
    setup = Client(url)
    empty, deep = make_queue(setup, False), make_queue(setup, False)
    send(url, deep, False, 10, depth, connections)

    def cycle(queue: str) -> float:
        def step(client: Client, i: int) -> int:
            client.call("SendMessage", {"QueueUrl": queue, "MessageBody": BODY})
            got = client.call("ReceiveMessage", {"QueueUrl": queue})["Messages"]
            client.call("DeleteMessage", {"QueueUrl": queue, "ReceiptHandle": got[0]["ReceiptHandle"]})
            return 1

        return run_parallel(url, connections, messages, step)

    fast, slow = cycle(empty), cycle(deep)
    return {"empty queue (cycles/s)": fast, f"{depth}-message queue (cycles/s)": slow, "ratio": slow / fast}


def start_server(directory: Path) -> Any:
    sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
    from tests.support.server import ServerProcess

    return ServerProcess(directory / "data").start()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url")
    parser.add_argument("--moto-url", help="a running `moto_server` to compare with")
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--depth", type=int, default=100_000)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = None if args.url else start_server(Path(tmp))
        url = args.url or server.url
        try:
            report: dict[str, Any] = {"gondwana": workloads(url, args.messages, args.connections)}
            if args.moto_url:
                moto = workloads_without_ceiling(args.moto_url, args.messages, args.connections)
                report["moto"] = moto
                report["gondwana / moto"] = {k: report["gondwana"][k] / v for k, v in moto.items() if v}
            if args.depth:
                report["depth"] = depth_check(url, args.depth, args.messages, args.connections)
        finally:
            if server is not None:
                server.stop()
    print(json.dumps(report, indent=2))


def workloads_without_ceiling(url: str, messages: int, connections: int) -> dict[str, float]:
    out = {}
    setup = Client(url)
    for fifo in (False, True):
        kind = "fifo" if fifo else "standard"
        for batch in (1, 10):
            queue = make_queue(setup, fifo)
            out[f"{kind} send x{batch} (msg/s)"] = send(url, queue, fifo, batch, messages, connections)
            out[f"{kind} receive+delete x{batch} (msg/s)"] = receive_delete(
                url, queue, batch, messages, connections
            )
    return out


if __name__ == "__main__":
    main()
