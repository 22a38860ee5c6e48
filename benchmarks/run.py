"""Gondwana's benchmark: one entry point that sets itself up, measures, prints, and records.

    python benchmarks/run.py [--quick] [--only core,stacks,startup,...] [--workload SUBSTRING]

Groups: every module in benchmarks/workloads/ (core, later sqs, kinesis, dynamodb), plus
`stacks` (HTTP stack comparison) and `startup` (start-up time and idle memory). Every load run
is preceded and followed by the ceiling: the same load against a trivial server answering {}.
Results: a table on stdout and JSON in benchmarks/results/ (git-ignored). See README.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent


def _reexec_in_project_venv() -> None:
    """The harness signs requests with botocore: run under the project's venv if this is not it."""
    try:
        import botocore  # noqa: F401
    except ImportError as missing:
        for candidate in (ROOT / ".venv/bin/python", Path(os.environ.get("GONDWANA_PYTHON", ""))):
            if candidate.is_file() and str(candidate) != sys.executable:
                os.execv(str(candidate), [str(candidate), __file__, *sys.argv[1:]])
        raise SystemExit(
            "run this with the project's Python (botocore is missing): .venv/bin/python benchmarks/run.py"
        ) from missing


def main() -> int:
    _reexec_in_project_venv()
    sys.path[:0] = [str(BENCH), str(ROOT)]
    import http_stacks
    from harness.env import ensure_peers, ensure_wrk
    from harness.measure import Settings, measure, run_workload
    from harness.paths import build_extensions, tree
    from harness.report import machine, print_report, write_record
    from harness.servers import PEERS, ceiling, gondwana
    from harness.startup import measure_startup
    from workloads import Workload, discover
    from workloads.core import echo_calls

    groups = discover()
    choices = [*groups, "stacks", "startup"]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="3 s per workload, 5 start-up runs (for development)"
    )
    parser.add_argument("--only", default=",".join(choices), help=f"comma-separated groups from {choices}")
    parser.add_argument(
        "--workload", default="", help="only workloads whose name contains this (ending in $: is this)"
    )
    parser.add_argument("--seconds", type=float, help="measured seconds per workload")
    parser.add_argument("--repeats", type=int, help="measured loads per workload (the best counts)")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument(
        "--tree", help="benchmark the gondwana sources of another checkout (default: this one)"
    )
    parser.add_argument("--no-peers", action="store_true", help="skip moto and the other peers")
    args = parser.parse_args()
    if args.tree:
        os.environ["GONDWANA_TREE"] = str(Path(args.tree).resolve())
    only = [g.strip() for g in args.only.split(",") if g.strip()]
    if unknown := set(only) - set(choices):
        parser.error(f"unknown group(s) {sorted(unknown)}; choose from {choices}")

    settings = Settings.quick() if args.quick else Settings()
    if args.repeats:
        settings = replace(settings, repeats=args.repeats)
    settings = replace(
        settings, connections=args.connections, **({"seconds": args.seconds} if args.seconds else {})
    )
    wanted = args.workload
    workloads: list[Workload] = [
        w
        for g in only
        if g in groups
        for w in groups[g]
        if (w.name == wanted[:-1] if wanted.endswith("$") else wanted in w.name)
    ]
    load_needed = bool(workloads) or "stacks" in only
    record: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "settings": {**settings.__dict__, "quick": args.quick, "only": only},
        "tree": str(tree()),
        "commit": _commit(tree()),
        "machine": {},
        "rows": [],
    }

    if load_needed:
        ensure_wrk()
    # As an installed package would be: byte-compiled once (PYTHONDONTWRITEBYTECODE, set on some
    # machines, would otherwise make every server start compile the whole package again).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree() / "src")], check=True)
    record["extensions"] = build_extensions()
    print("C extensions: " + ", ".join(f"{name} {how}" for name, how in record["extensions"].items()))
    record["machine"] = machine()
    requirements = set() if args.no_peers else {n for w in workloads for p in w.peers for n in PEERS[p].needs}
    if "stacks" in only:
        requirements |= http_stacks.needs()
    installed = ensure_peers(requirements) if requirements else set()

    ceiling_runs: list[dict[str, Any]] = []
    if load_needed:
        print("ceiling ...", flush=True)
        ceiling_runs.append(measure(ceiling(), echo_calls, settings))
    rows: list[dict[str, Any]] = record["rows"]
    for workload in workloads:
        targets = [("gondwana", gondwana(*workload.server_args))]
        if not args.no_peers:
            targets += [(p, PEERS[p]) for p in workload.peers]
        rows.extend(run_workload(workload, targets, settings, installed))
    if "stacks" in only:
        print("stacks ...", flush=True)
        rows.extend(http_stacks.run_stacks(settings, installed))
    if load_needed:
        print("ceiling ...", flush=True)
        ceiling_runs.append(measure(ceiling(), echo_calls, settings))
        # The best of every ceiling measurement (first, last, and the stacks' own), as every
        # figure is a best of its runs: others' work on the machine only ever slows a run down.
        ceiling_runs += [
            r for r in rows if r["group"] == "stacks" and r["target"] == "ceiling" and "rps" in r
        ]
        ceiling_rps = max(r["rps"] for r in ceiling_runs)
        record["ceiling"] = {"rps": ceiling_rps, "runs": ceiling_runs}
        _relate(rows, ceiling_rps)
    if "startup" in only:
        print("start-up ...", flush=True)
        record["startup"] = measure_startup(settings.startup_runs)

    record["machine"]["loadavg_after"] = os.getloadavg()
    print_report(record)
    path = write_record(record)
    print(f"\nrecorded in {path.relative_to(ROOT)}")
    return 1 if any("error" in r for r in rows) else 0


def _commit(path: Path) -> str:
    """The tree's git commit, with "+changes" when its working tree differs from it."""
    import subprocess

    head = subprocess.run(
        ["git", "-C", str(path), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    if head.returncode != 0:
        return "unknown"
    dirty = subprocess.run(
        ["git", "-C", str(path), "status", "--porcelain", "--", "src"], capture_output=True, text=True
    )
    return head.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


def _relate(rows: list[dict[str, Any]], ceiling_rps: float) -> None:
    """% of the ceiling for every row, and Gondwana's ratio to each peer on the same workload."""
    measured = {(r["workload"], r["target"]): r for r in rows if "rps" in r}
    for row in rows:
        if "rps" not in row:
            continue
        row["pct_ceiling"] = round(100 * row["rps"] / ceiling_rps, 1)
        notes = []
        mine = measured.get((row["workload"], "gondwana"))
        if row["group"] != "stacks" and row["target"] != "gondwana" and mine is not None:
            # in units/s, so a Lua flow compares what it moved, not how many requests it took
            row["gondwana_ratio"] = (
                round(mine["units_per_s"] / row["units_per_s"], 2) if row["units_per_s"] else None
            )
            notes.append(f"gondwana is {row['gondwana_ratio']}x this")
        base = measured.get((row.get("baseline"), row["target"]))
        # In units/s: a batch of 10 against single messages compares messages.
        if base is not None and base["units_per_s"]:
            row["pct_baseline"] = round(100 * row["units_per_s"] / base["units_per_s"], 1)
            notes.append(f"{row['pct_baseline']}% of {row['baseline']}")
        if "prefill" in row:
            notes.append(f"after {row['prefill']['requests']:,} prefill requests")
        row["note"] = "; ".join(notes)


if __name__ == "__main__":
    sys.exit(main())
