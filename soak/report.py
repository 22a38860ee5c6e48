"""The soak's summary, and the data directory's bounds (the WAL is checkpointed, files do not pile up)."""

from __future__ import annotations

import contextlib
import sqlite3
from collections import Counter
from pathlib import Path

from soak.harness import ACK, REJECTED, UNKNOWN, Stats

MAX_WAL = 64 * 1024 * 1024  # the store checkpoints past 8 MiB
MAX_FILES = 8


def data_dir_problems(data_dir: Path) -> tuple[int, list[str]]:
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    problems = [
        f"data directory: {p.name} is {p.stat().st_size} bytes"
        for p in files
        if p.name.endswith("-wal") and p.stat().st_size > MAX_WAL
    ]
    if len(files) > MAX_FILES:
        problems.append(f"data directory holds {len(files)} files: {sorted(p.name for p in files)}")
    return size, problems


def integrity_problems(data_dir: Path) -> list[str]:
    """SQLite's own check of the database file, once the server has stopped."""
    with contextlib.closing(sqlite3.connect(data_dir / "gondwana.db")) as conn:
        rows = [row[0] for row in conn.execute("PRAGMA integrity_check")]
    return [] if rows == ["ok"] else [f"database integrity: {rows[:5]}"]


def log_problems(lines: list[str]) -> list[str]:
    """Errors the server logged (a failed commit, an exception answered InternalFailure...)."""
    return [
        f"server log: {line.strip()[:300]}"
        for line in lines
        if " ERROR " in line or " CRITICAL " in line or line.startswith("Traceback")
    ]


def summary(
    stats: Stats, kills: int, seconds: float, brief: bool = False, max_bytes: int = 0, slowest: float = 0
) -> str:
    with stats.lock:
        ops = Counter(stats.ops)
        violations, checks, errors = list(stats.violations), stats.checks, list(stats.server_errors)
    totals = Counter()
    for (name, outcome), n in ops.items():
        if "(" not in name:  # "(messages dead-lettered)" counts messages, not calls
            totals[outcome] += n
    head = (
        f"[{seconds:6.0f} s] ops {sum(totals.values())} (ack {totals[ACK]}, rejected {totals[REJECTED]}, "
        f"unknown {totals[UNKNOWN]}), kills {kills}, checks {checks}, violations {len(violations)}"
    )
    if brief:
        return head
    lines = [
        head,
        f"largest data directory after a restart: {max_bytes / 1e6:.1f} MB; slowest restart {slowest:.1f} s",
        "operations:",
    ]
    for name in sorted({name for name, _ in ops}):
        lines.append(f"  {name:32} " + "  ".join(f"{o} {ops[name, o]}" for o in (ACK, REJECTED, UNKNOWN)))
    if errors:
        lines.append(f"server errors (5xx): {len(errors)}, e.g. {Counter(errors).most_common(5)}")
    lines += [f"VIOLATION: {v}" for v in violations[:50]]
    lines.append("PASS" if not violations else f"FAIL: {len(violations)} violations")
    return "\n".join(lines)
