"""Measure one workload on one server: start it, prepare, probe, warm up, load, record, stop."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.load import run_wrk
from harness.requests import Call, Clients
from harness.servers import Server, ServerSpec, http_call

if TYPE_CHECKING:
    from workloads import Workload


@dataclass(frozen=True)
class Settings:
    seconds: float = 5.0  # each measured load
    repeats: int = 3  # measured loads per workload; the best counts (others' work only slows us down)
    warmup: float = 1.0  # load before measuring (warms caches, SQLite pages, the allocator)
    connections: int = 8
    threads: int = 1  # wrk threads: one leaves the other core to the server
    startup_runs: int = 11

    @classmethod
    def quick(cls) -> Settings:
        return cls(seconds=3.0, repeats=1, warmup=1.0, startup_runs=5)


def probe(port: int, raws: list[bytes]) -> None:
    """Send the first distinct requests once and insist on success: a benchmark of errors is void."""
    for raw in list(dict.fromkeys(raws))[:3]:
        status, body = http_call(port, raw, timeout=30)
        if status >= 300:
            request_line = raw.split(b"\r\n", 1)[0].decode()
            raise RuntimeError(f"probe {request_line} got {status}: {body[:300]!r}")


def measure(
    spec: ServerSpec,
    build: Callable[[Clients], list[Call]],
    settings: Settings,
    lua: str = "",
    prefill: Callable[[Clients], list[Call]] | None = None,
    prefill_requests: int = 0,
    prefill_seconds: float = 3600,
    pause: float = 0.0,
) -> dict[str, Any]:
    """Requests/s (and latency, failures, memory) of `spec` under the calls `build` returns,
    after `prefill_requests` of the `prefill` calls (or `prefill_seconds` of them) if given."""
    extra: dict[str, Any] = {}
    with Server(spec) as server:
        clients = Clients(f"http://127.0.0.1:{server.port}")
        if prefill is not None and prefill_requests > 0:
            fill = [clients.raw(call) for call in prefill(clients)]
            probe(server.port, fill)
            done = run_wrk(
                server.port, fill, prefill_seconds, settings.connections, 1, max_requests=prefill_requests
            )
            if done.failed:
                raise RuntimeError(f"prefill: {done.failed} of {done.requests} requests failed")
            extra["prefill"] = {"requests": done.requests, "seconds": round(done.seconds, 1)}
        raws = [clients.raw(call) for call in build(clients)]
        if not raws:
            raise RuntimeError("the workload built no requests")
        # A dynamic flow's later requests are templates (placeholders) its Lua fills in: probe the first.
        probe(server.port, raws[:1] if lua else raws)
        if settings.warmup > 0:
            run_wrk(server.port, raws, settings.warmup, settings.connections, settings.threads, lua)
        runs = []
        for _ in range(max(1, settings.repeats)):
            time.sleep(pause)  # let what the previous load left behind settle (see Workload.pause)
            load = run_wrk(server.port, raws, settings.seconds, settings.connections, settings.threads, lua)
            runs.append(load)
        # The best run by what moves: a flow's own count when it keeps one (a run of fast empty
        # receives has the most requests and no messages).
        result = max(runs, key=lambda r: r.rps if r.units is None else r.units / r.seconds)
        extra["all_rps"] = [round(r.rps) for r in runs]
        rss = server.rss_mib()
    return {
        **result.as_dict(),
        **extra,
        "rss_mib": {k: round(v, 1) for k, v in rss.items()},
        "distinct_requests": len(raws),
    }


def run_workload(
    workload: Workload, targets: list[tuple[str, ServerSpec]], settings: Settings, installed: set[str]
) -> list[dict[str, Any]]:
    """One row per target (Gondwana, then the peers); a failure is recorded in its row."""
    rows = []
    for target, spec in targets:
        print(f"{workload.name} on {target} ...", flush=True)
        row: dict[str, Any] = {
            "group": workload.group,
            "workload": workload.name,
            "target": target,
            "description": workload.description,
            "unit": workload.unit,
            "target_pct": workload.target_pct,
            "target_units": workload.target_units,
            "baseline": workload.baseline,
        }
        if not set(spec.needs) <= installed:
            row["error"] = f"not installed: {', '.join(spec.needs)}"
        else:
            try:
                row.update(
                    measure(
                        spec,
                        workload.build,
                        settings,
                        workload.lua,
                        workload.prefill,
                        workload.prefill_requests,
                        workload.prefill_seconds,
                        workload.pause,
                    )
                )
                counted = row.get("units")  # a Lua flow's own count (messages deleted ...)
                row["units_per_s"] = (
                    counted / row["seconds"]
                    if counted is not None
                    else row["rps"] * workload.units_per_request
                )
            except Exception as exc:  # record it and go on: one broken workload must not lose the run
                row["error"] = str(exc)[:2000]
        rows.append(row)
    return rows
