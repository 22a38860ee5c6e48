"""SQS long polling with many waiting consumers: what a message costs the server when N consumers
wait on one queue (WaitTimeSeconds=20, one message per receive, each on its own keep-alive
connection) and one producer sends messages one at a time.

    python benchmarks/long_polls.py [--consumers 1,10,100] [--messages 2000]

Starts its own Gondwana (durable default store). Reported per N: messages per second from the
first send to the last receive, and the server's CPU time (user + system, from /proc) per
message. A send should wake one waiting poll, not all N: the CPU per message should not grow with
N. Prints a table and writes JSON to benchmarks/results/<UTC time>-long-polls.json. A benchmark,
not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import time

from harness.paths import RESULTS
from harness.servers import Server, gondwana


def request(port: int, target: str, body: dict[str, object]) -> bytes:
    data = json.dumps(body).encode()
    head = (
        f"POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Amz-Target: AmazonSQS.{target}\r\n"
        f"Content-Type: application/x-amz-json-1.0\r\nContent-Length: {len(data)}\r\n\r\n"
    )
    return head.encode() + data


async def call(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes) -> dict[str, object]:
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
    )
    return json.loads(await reader.readexactly(length))


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime + stime, in clock ticks


async def run(port: int, pid: int, consumers: int, messages: int) -> dict[str, float]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    created = await call(reader, writer, request(port, "CreateQueue", {"QueueName": f"polls-{consumers}"}))
    url = created["QueueUrl"]
    received = 0

    async def consumer() -> None:
        nonlocal received
        r, w = await asyncio.open_connection("127.0.0.1", port)
        poll = request(
            port, "ReceiveMessage", {"QueueUrl": url, "WaitTimeSeconds": 20, "VisibilityTimeout": 600}
        )
        while received < messages:
            answer = await call(r, w, poll)  # (read before adding: `+=` would add to a stale count)
            received += len(answer.get("Messages", []))  # type: ignore[arg-type]
        w.close()

    tasks = [asyncio.create_task(consumer()) for _ in range(consumers)]
    await asyncio.sleep(1.0)  # every consumer waiting
    send = request(port, "SendMessage", {"QueueUrl": url, "MessageBody": "x" * 256})
    cpu, started = cpu_seconds(pid), time.perf_counter()
    for _ in range(messages):
        await call(reader, writer, send)
    while received < messages and time.perf_counter() - started < 120:
        await asyncio.sleep(0.005)
    elapsed, used = time.perf_counter() - started, cpu_seconds(pid) - cpu
    for task in tasks:
        task.cancel()
    writer.close()
    return {
        "consumers": consumers,
        "messages_per_s": received / elapsed,
        "cpu_us_per_message": used / received * 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--consumers", default="1,10,100")
    parser.add_argument("--messages", type=int, default=2000)
    args = parser.parse_args()
    rows = []
    for n in map(int, args.consumers.split(",")):
        with Server(gondwana()) as server:
            assert server.proc is not None
            rows.append(asyncio.run(run(server.port, server.proc.pid, n, args.messages)))
    print(f"{'consumers':>10} {'msg/s':>10} {'server CPU µs/msg':>18}")
    for row in rows:
        print(f"{row['consumers']:>10} {row['messages_per_s']:>10,.0f} {row['cpu_us_per_message']:>18,.0f}")
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{stamp}-long-polls.json").write_text(
        json.dumps({"messages": args.messages, "rows": rows}, indent=1)
    )


if __name__ == "__main__":
    main()
