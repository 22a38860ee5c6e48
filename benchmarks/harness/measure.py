"""Measure one workload on one server: start it, prepare, probe, warm up, load, record, stop."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from harness.load import run_wrk
from harness.requests import Call, Clients
from harness.servers import Server, ServerSpec, http_call


@dataclass(frozen=True)
class Settings:
    seconds: float = 10.0  # measured load per workload
    warmup: float = 2.0  # load before measuring (JIT-free Python still warms caches, SQLite pages)
    connections: int = 8
    threads: int = 1  # wrk threads: one leaves the other core to the server
    startup_runs: int = 11

    @classmethod
    def quick(cls) -> Settings:
        return cls(seconds=3.0, warmup=1.0, startup_runs=5)


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
) -> dict[str, object]:
    """Requests/s (and latency, failures, memory) of `spec` under the calls `build` returns."""
    with Server(spec) as server:
        clients = Clients(f"http://127.0.0.1:{server.port}")
        raws = [clients.raw(call) for call in build(clients)]
        if not raws:
            raise RuntimeError("the workload built no requests")
        probe(server.port, raws)
        if settings.warmup > 0:
            run_wrk(server.port, raws, settings.warmup, settings.connections, settings.threads, lua)
        result = run_wrk(server.port, raws, settings.seconds, settings.connections, settings.threads, lua)
        rss = server.rss_mib()
    return {
        **result.as_dict(),
        "rss_mib": {k: round(v, 1) for k, v in rss.items()},
        "distinct_requests": len(raws),
    }
