"""The DR drill (article 3) against a real server: its report is checked against what the test sees
with its own boto3 scans of both replicas, and the CLI prints the table and writes JSON and PNG."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

from gondwana.drill import DrillReport, run_drill
from tests.conftest import make_client
from tests.support.server import free_port

ROOT = Path(__file__).resolve().parents[1]
PRIMARY, SECONDARY = "us-east-1", "us-west-2"


def scan(ddb: Any, table: str) -> dict[str, dict[str, Any]]:
    items: dict[str, dict[str, Any]] = {}
    for page in ddb.get_paginator("scan").paginate(TableName=table):
        items.update({item["id"]["S"]: item for item in page["Items"]})
    return items


def by_region(items: dict[str, dict[str, Any]], region: str) -> set[str]:
    return {k for k, v in items.items() if k != "heartbeat" and v["region"]["S"] == region}


def test_drill_report_matches_the_replicas(fresh_server: Any) -> None:
    proc = fresh_server()
    primary, secondary = (
        make_client(proc.url, "dynamodb", PRIMARY),
        make_client(proc.url, "dynamodb", SECONDARY),
    )
    observed: dict[str, Any] = {}
    default_delay = proc.call("GET", "/_gondwana/replication")["delay_ms"]

    def on_failover(report: DrillReport) -> None:
        assert proc.call("GET", "/_gondwana/replication")["delay_ms"] == 500
        # The primary is down: nothing more reaches the secondary from it until the heal.
        assert proc.call("GET", "/_gondwana/health")["faults"], "the primary should be down now"
        observed["secondary"] = scan(secondary, report.table)
        observed["acked"] = report.acked_before_outage

    report = run_drill(
        proc.url,
        PRIMARY,
        SECONDARY,
        rate=40,
        before=2.5,
        after=2,
        delay_ms=500,
        on_failover=on_failover,
        keep_table=True,
    )

    after_primary, after_secondary = scan(primary, report.table), scan(secondary, report.table)
    # Every write the primary acknowledged is in it (a 503 from the outage applies nothing).
    written_in_primary = by_region(after_primary, PRIMARY)
    assert len(written_in_primary) == report.acked_before_outage == observed["acked"] > 0
    # RPO: acknowledged by the primary but absent from the secondary at failover.
    missing = written_in_primary - by_region(observed["secondary"], PRIMARY)
    assert sorted(missing) == report.missing_at_failover
    assert report.rpo_items == len(missing) > 0  # a 500 ms delay always strands the last writes
    times = [float(after_primary[k]["written_at"]["N"]) for k in missing]
    # The oldest stranded write was sent before it was acknowledged, and both before the fault.
    assert 0 < report.rpo_ms <= report.fault_at_ms - min(times) <= report.timeline["fault_s"] * 1000
    # RTO: positive and well within the phase after the outage.
    assert 0 < report.rto_ms < 2000
    assert len(by_region(after_secondary, SECONDARY)) == report.writes_after_failover > 0
    # Convergence: both replicas identical, the stranded writes arrived, the heartbeat is the last write.
    assert report.converged
    assert after_primary == after_secondary
    assert report.items == {PRIMARY: len(after_primary), SECONDARY: len(after_secondary)}
    assert missing <= set(after_secondary)
    last = max(by_region(after_secondary, SECONDARY))
    assert after_secondary["heartbeat"]["seq"] == after_secondary[last]["seq"]
    pairs = proc.call("GET", "/_gondwana/replication")["pairs"]
    assert report.conflicts == sum(p["conflicts_dropped"] for p in pairs) >= 1
    # Replication lag: never visible before the configured delay.
    lag = report.lag_ms
    assert lag["count"] > 0 and lag["p50"] <= lag["p99"] <= lag["max"]
    assert lag["p50"] >= 300  # visible only after the 500 ms delay (less the time the ack took)
    assert proc.call("GET", "/_gondwana/faults")["faults"] == []
    assert proc.call("GET", "/_gondwana/replication")["delay_ms"] == default_delay  # restored


def test_hung_primary_is_noticed_after_the_writer_timeout(fresh_server: Any) -> None:
    proc = fresh_server(in_memory=True)
    secondary = make_client(proc.url, "dynamodb", "eu-west-1")
    observed: dict[str, Any] = {}

    def on_failover(report: DrillReport) -> None:
        observed["secondary"] = scan(secondary, report.table)

    report = run_drill(
        proc.url, "us-east-2", "eu-west-1", rate=20, before=1.5, after=1, outage_mode="hang",
        delay_ms=400, timeout=1.0, on_failover=on_failover,
    )  # fmt: skip
    # Nothing answers from a hung region: the writer only learns of the outage when its request times out.
    assert report.rto_ms >= 1000 and report.detect_ms >= 1000
    arrived = by_region(observed["secondary"], "us-east-2")
    assert set(report.missing_at_failover).isdisjoint(arrived)
    assert report.rpo_items == len(report.missing_at_failover) == report.acked_before_outage - len(arrived)
    assert report.converged and report.writes_after_failover > 0


def test_refused_primary_on_its_own_port(fresh_server: Any) -> None:
    ports = {"us-east-1": free_port(), "us-west-2": free_port()}
    proc = fresh_server("--region-ports", ",".join(f"{r}={p}" for r, p in ports.items()), in_memory=True)
    report = run_drill(proc.url, PRIMARY, SECONDARY, rate=20, before=1.5, after=1, outage_mode="refuse",
                       delay_ms=400, keep_table=True)  # fmt: skip
    assert report.outage_mode == "refuse" and report.converged
    assert report.rpo_items == len(report.missing_at_failover) > 0 and report.rto_ms > 0
    # The primary's own port answers again after the heal and holds every acknowledged write.
    east = make_client(f"http://127.0.0.1:{ports['us-east-1']}", "dynamodb", PRIMARY)
    items = scan(east, report.table)
    assert len(by_region(items, PRIMARY)) == report.acked_before_outage


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
    return subprocess.run(
        [sys.executable, "-m", "gondwana", "drill", "dynamodb-global-table", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_cli_prints_the_table_and_writes_json_and_png(fresh_server: Any, tmp_path: Path) -> None:
    proc = fresh_server(in_memory=True)
    out_json, out_png = tmp_path / "drill.json", tmp_path / "lag.png"
    done = run_cli(
        "--endpoint",
        proc.url,
        "--primary",
        "eu-west-1",
        "--secondary",
        "eu-central-1",
        "--rate",
        "20",
        "--before",
        "1.5",
        "--after",
        "1",
        "--delay-ms",
        "300",
        "--json",
        str(out_json),
        "--plot",
        str(out_png),
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(out_json.read_text())
    assert report["primary"] == "eu-west-1" and report["converged"] is True
    lines = dict(line.split("  ", 1) for line in done.stdout.splitlines() if "  " in line)
    lines = {k.strip(): v.strip() for k, v in lines.items()}
    assert lines["writes acknowledged before outage"] == f"{report['acked_before_outage']:,}"
    assert lines["RPO (acknowledged, missing at failover)"] == f"{report['rpo_items']:,} items"
    assert lines["RTO (fault -> first write in secondary)"] == f"{report['rto_ms']:,.0f} ms"
    assert lines["converged"].startswith("yes")
    assert "replication lag p50 / p99 / max" in lines
    # The drill cleaned up after itself: its table and replica are gone.
    for region in ("eu-west-1", "eu-central-1"):
        assert make_client(proc.url, "dynamodb", region).list_tables()["TableNames"] == []
    png = out_png.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    assert struct.unpack(">II", png[16:24]) == (800, 400)
    assert len(png) > 2000


def test_cli_unhappy_paths(fresh_server: Any) -> None:
    done = run_cli("--endpoint", "http://127.0.0.1:9", "--before", "0", "--after", "0")
    assert done.returncode == 1 and "cannot reach http://127.0.0.1:9" in done.stderr
    proc = fresh_server(in_memory=True)
    done = run_cli("--endpoint", proc.url, "--primary", "us-east-1", "--secondary", "us-east-1")
    assert done.returncode == 1 and "must be different regions" in done.stderr
    done = run_cli("--endpoint", proc.url, "--rate", "0")
    assert done.returncode == 2 and "--rate must be positive" in done.stderr
