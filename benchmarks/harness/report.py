"""The readable table, and the JSON record under benchmarks/results/."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

from harness.paths import RESULTS


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next((ln.split(":", 1)[1].strip() for ln in info if ln.startswith("model name")), "")
    except OSError:
        pass
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.splitlines()
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "wrk": wrk[0] if wrk else "",
        "loadavg_before": os.getloadavg(),
    }


def _num(value: float) -> str:
    return f"{value:,.0f}"


def print_report(record: dict[str, Any]) -> None:
    print(f"\nGondwana tree: {record.get('tree')} ({record.get('commit')})")
    ceiling = record.get("ceiling")
    if ceiling:
        runs = " / ".join(_num(r["rps"]) for r in ceiling["runs"])
        print(
            f"\nCeiling (trivial uvloop+httptools server answering {{}}): {_num(ceiling['rps'])} req/s"
            f"  (runs: {runs})"
        )
    rows = record.get("rows", [])
    if rows:
        head = (
            f"{'group':<8} {'workload':<26} {'target':<14} {'req/s':>9} {'units/s':>14} {'% ceil':>7} "
            f"{'goal':>8} {'p50 ms':>7} {'p99 ms':>7} {'failed':>6} {'RSS MiB':>8}  note"
        )
        print("\n" + head + "\n" + "-" * len(head))
        for row in rows:
            print(_row(row))
    startup = record.get("startup")
    if startup:
        print(
            f"\nStart-up to first answer: median {startup['median_ms']} ms over {startup['runs']} runs "
            f"(min {startup['min_ms']}, max {startup['max_ms']}; goal <= 150 ms)"
        )
        if "idle_rss_mib" in startup:
            print(
                f"Idle RSS after start-up and warm-up: {startup['idle_rss_mib']} MiB "
                f"(at start {startup['rss_at_start_mib']} MiB; goal <= 50 MiB)"
            )
    load = record["machine"]
    print(
        f"\nLoad average before {load['loadavg_before']}, after {load.get('loadavg_after')}: "
        "other work on this machine makes every figure noisy."
    )


def _row(row: dict[str, Any]) -> str:
    name = f"{row['group']:<8} {row['workload'][:26]:<26} {row['target'][:14]:<14}"
    if "error" in row:
        return f"{name} {'-':>9}  error: {row['error'].splitlines()[0][:100]}"
    units = ""
    if row.get("unit", "req") != "req":
        units = f"{_num(row['units_per_s'])} {row['unit']}"
    pct = f"{row['pct_ceiling']:.1f}" if row.get("pct_ceiling") is not None else "-"
    goal = ""
    if row["target"] == "gondwana" and row.get("target_pct"):
        goal = f"{row['target_pct']:.0f}%"
    elif row["target"] == "gondwana" and row.get("target_units"):
        goal = f"{row['target_units'] / 1000:,.0f}k/s"
    rss = row.get("rss_mib", {}).get("VmRSS")
    return (
        f"{name} {_num(row['rps']):>9} {units:>14} {pct:>7} {goal:>8} "
        f"{row['latency_ms']['p50']:>7.2f} {row['latency_ms']['p99']:>7.2f} {row['failed']:>6} "
        f"{rss if rss is not None else '':>8}  {row.get('note', '')}"
    )


def write_record(record: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = RESULTS / f"{stamp}{'-quick' if record['settings'].get('quick') else ''}.json"
    text = json.dumps(record, indent=2)
    path.write_text(text)
    (RESULTS / "latest.json").write_text(text)
    return path
