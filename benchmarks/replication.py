"""DynamoDB global-table replication under load: sustained item changes per second from one region
to another with the durable store, and the p99 replication delay against the configured delay.

    python benchmarks/replication.py [--quick] [--url URL] [--rate 5000] [--seconds 20] [--delay-ms N]

Without --url it starts its own Gondwana (durable default store) in a temporary directory. Writers
send BatchWriteItem (25 new items of ~100 bytes each) to a table in the source region that has a
replica in the target region, paced to --rate item changes per second (0: as fast as they can).
Every half second the control API (`GET /_gondwana/replication`) gives the pair's `applied` count,
its queue (`pending`) and the server's replication latency (write to apply, p50/p99/max over the
latest 2,000 changes). After the load the queue drains. Reported:

- offered: item changes the source acknowledged per second;
- replicated (sustained): changes applied in the target per second during the load window;
- replicated (end to end): every change, from the first write to the last apply;
- p99 delay and p99 - configured delay (the target: within 50 ms); max queue length;
- baseline: the same writers unpaced on a table with a stream but no replica (the source's own
  ceiling: what the write path costs before replication adds its outbox and the target's apply).

Prints a table and writes JSON to benchmarks/results/<UTC time>-replication.json. A benchmark, not a
test: it asserts nothing. Targets: >= 5,000 changes/s, p99 within 50 ms of the configured delay.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from gondwana.control import Control  # noqa: E402
from gondwana.drill.client import DynamoDB  # noqa: E402

SOURCE, TARGET = "us-east-1", "us-west-2"
BATCH = 25
PAD = "x" * 64


def start_server(data_dir: str) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gondwana",
            "serve",
            "--port",
            "0",
            "--data-dir",
            data_dir,
            "--log-level",
            "warning",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        match = re.search(r"listening on (http://\S+)", line)
        if match:
            threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()  # type: ignore[union-attr]
            return proc, match.group(1)
    raise RuntimeError("the server exited before listening")


def setup(url: str, replica: bool = True) -> str:
    table = f"bench-repl-{uuid.uuid4().hex[:8]}"
    ddb = DynamoDB(url, SOURCE, timeout=30)
    ddb.call(
        "CreateTable",
        {
            "TableName": table,
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            # Replication needs the stream (UpdateTable turns it on): the baseline has it too.
            "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        },
    )
    if not replica:
        return table
    ddb.call("UpdateTable", {"TableName": table, "ReplicaUpdates": [{"Create": {"RegionName": TARGET}}]})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        replicas = ddb.call("DescribeTable", {"TableName": table})["Table"].get("Replicas", [])
        if any(r["RegionName"] == TARGET and r.get("ReplicaStatus") == "ACTIVE" for r in replicas):
            return table
        time.sleep(0.1)
    raise RuntimeError("the replica never became ACTIVE")


def pair(control: Control) -> dict[str, Any]:
    for p in control.call("GET", "replication")["pairs"]:
        if (p["source"], p["target"]) == (SOURCE, TARGET):
            return p
    return {"applied": 0, "pending": 0, "latency_ms": {}, "delay_ms": None}


def writer(url: str, table: str, rate: float, stop: threading.Event, acked: list[int], worker: int) -> None:
    ddb = DynamoDB(url, SOURCE, timeout=60)
    interval = BATCH / rate if rate else 0.0
    tick, n = time.monotonic(), 0
    while not stop.is_set():
        items = [
            {
                "PutRequest": {
                    "Item": {"id": {"S": f"{worker}-{n + i}"}, "pad": {"S": PAD}, "n": {"N": str(n + i)}}
                }
            }
            for i in range(BATCH)
        ]
        n += BATCH
        out = ddb.call("BatchWriteItem", {"RequestItems": {table: items}})
        acked[worker] += BATCH - len(out.get("UnprocessedItems", {}).get(table, []))
        if interval:
            # A late response is made up by the next sends (no wait), so the offered rate stays the
            # target whenever the server keeps up on average; more than a second behind, give up.
            tick += interval
            delay = tick - time.monotonic()
            if delay > 0:
                stop.wait(delay)
            elif delay < -1.0:
                tick = time.monotonic()


def _baseline(url: str, seconds: float, writers: int) -> float:
    """The source's own write rate, unpaced, with a stream and no replica: the ceiling for the rest."""
    table = setup(url, replica=False)
    stop, acked = threading.Event(), [0] * writers
    threads = [
        threading.Thread(target=writer, args=(url, table, 0, stop, acked, i), daemon=True)
        for i in range(writers)
    ]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    return sum(acked) / (time.monotonic() - start)


def run(url: str, rate: float, seconds: float, writers: int, delay_ms: int | None) -> dict[str, Any]:
    control = Control(url)
    if delay_ms is not None:
        control.call("POST", "replication", {"delay_ms": delay_ms})
    baseline = _baseline(url, min(seconds, 5.0), writers)
    table = setup(url)
    configured = control.call("GET", "replication")["delay_ms"]
    stop, acked = threading.Event(), [0] * writers
    threads = [
        threading.Thread(
            target=writer, args=(url, table, rate / writers if rate else 0, stop, acked, i), daemon=True
        )
        for i in range(writers)
    ]
    base = pair(control)["applied"]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    samples, max_pending = [], 0
    warm = start + min(2.0, seconds / 4)  # the sustained rate leaves out the first seconds
    warm_applied = None
    while time.monotonic() - start < seconds:
        time.sleep(0.5)
        p = pair(control)
        now = time.monotonic()
        if warm_applied is None and now >= warm:
            warm_applied, warm_at = p["applied"], now
        max_pending = max(max_pending, p["pending"])
        samples.append(
            {
                "t": round(now - start, 2),
                "applied": p["applied"] - base,
                "pending": p["pending"],
                "acked": sum(acked),
                "p99_ms": p["latency_ms"].get("p99"),
            }
        )
    end_p = pair(control)
    load_end = time.monotonic()
    stop.set()
    for thread in threads:
        thread.join()
    total = sum(acked)
    offered = total / (load_end - start)
    under_load = end_p["latency_ms"]  # the latest 2,000 changes applied while the load ran
    sustained = (end_p["applied"] - (warm_applied or base)) / (
        load_end - (warm_at if warm_applied else start)
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        p = pair(control)
        if p["pending"] == 0 and p["applied"] - base >= total:
            break
        time.sleep(0.05)
    drained = time.monotonic()
    p = pair(control)
    return {
        "table": table,
        "source": SOURCE,
        "target": TARGET,
        "target_rate": rate,
        "writers": writers,
        "seconds": seconds,
        "configured_delay_ms": configured,
        "changes": total,
        "baseline_unreplicated_per_s": round(baseline, 1),
        "applied": p["applied"] - base,
        "offered_per_s": round(offered, 1),
        "replicated_sustained_per_s": round(sustained, 1),
        "replicated_end_to_end_per_s": round((p["applied"] - base) / (drained - start), 1),
        "drain_s": round(drained - load_end, 3),
        "max_pending": max_pending,
        "latency_under_load_ms": under_load,
        "latency_final_ms": p["latency_ms"],
        "p99_over_delay_ms": None
        if under_load.get("p99") is None
        else round(under_load["p99"] - configured, 1),
        "samples": samples,
    }


def table_text(r: dict[str, Any]) -> str:
    lat = r["latency_under_load_ms"]
    rows = [
        (
            "pair",
            f"{r['source']} -> {r['target']} (durable, {r['writers']} writers, BatchWriteItem x{BATCH})",
        ),
        (
            "load",
            f"{r['seconds']:g} s at target {r['target_rate']:,.0f}/s"
            if r["target_rate"]
            else f"{r['seconds']:g} s, unpaced",
        ),
        ("baseline: stream, no replica", f"{r['baseline_unreplicated_per_s']:,.0f} changes/s acknowledged"),
        ("item changes acknowledged", f"{r['changes']:,} ({r['offered_per_s']:,.0f}/s)"),
        ("replicated, sustained", f"{r['replicated_sustained_per_s']:,.0f}/s   (target >= 5,000/s)"),
        (
            "replicated, end to end",
            f"{r['replicated_end_to_end_per_s']:,.0f}/s, queue drained {r['drain_s']} s "
            f"after the load; max queue {r['max_pending']:,}",
        ),
        ("configured delay", f"{r['configured_delay_ms']} ms"),
        ("delay p50 / p99 / max", f"{lat.get('p50')} / {lat.get('p99')} / {lat.get('max')} ms"),
        ("p99 - configured", f"{r['p99_over_delay_ms']} ms   (target <= 50 ms)"),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running server (default: start one with a durable store)")
    parser.add_argument("--rate", type=float, default=5000, help="item changes/s to offer (0: unpaced)")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--delay-ms", type=int, help="set the replication delay (default: the server's)")
    parser.add_argument("--quick", action="store_true", help="5 s of load: for development")
    args = parser.parse_args()
    seconds = 5 if args.quick else args.seconds
    proc = None
    with tempfile.TemporaryDirectory(prefix="gondwana-bench-") as data:
        url = args.url
        if url is None:
            proc, url = start_server(data)
        try:
            result = run(url, args.rate, seconds, args.writers, args.delay_ms)
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(30)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    result.update(time=stamp, quick=args.quick, load_average=os.getloadavg(), cpus=os.cpu_count())
    out = ROOT / "benchmarks" / "results" / f"{stamp}-replication{'-quick' if args.quick else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(table_text(result))
    print(f"\nwritten to {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
