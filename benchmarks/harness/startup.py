"""Start-up time to the first answered request, and idle memory after start-up and warm-up.

Each run spawns `gondwana serve` (all built-in services, a fresh durable data directory) and polls
GET /_gondwana/health every 0.5 ms from the moment of the spawn until it answers. Idle RSS is read
from /proc/<pid>/status after the model warm-up and a few hundred real requests.
"""

from __future__ import annotations

import statistics
import time

from harness.requests import Call, Clients
from harness.servers import Server, gondwana, http_call


def measure_startup(runs: int) -> dict[str, object]:
    times: list[float] = []
    memory: dict[str, float] = {}
    for index in range(runs):
        server = Server(gondwana()).start()
        try:
            times.append(server.ready_after)
            if index == runs - 1:
                memory = _idle_memory(server)
        finally:
            server.stop()
    ms = sorted(t * 1000 for t in times)
    return {
        "runs": runs,
        "median_ms": round(statistics.median(ms), 1),
        "min_ms": round(ms[0], 1),
        "max_ms": round(ms[-1], 1),
        "all_ms": [round(t, 1) for t in ms],
        **memory,
    }


def _idle_memory(server: Server) -> dict[str, float]:
    at_start = server.rss_mib()["VmRSS"]
    time.sleep(0.5)  # the server loads its service models 50 ms after listening
    clients = Clients(f"http://127.0.0.1:{server.port}")
    raw = clients.raw(Call("sts", "get_caller_identity"))
    for _ in range(300):
        status, _ = http_call(server.port, raw)
        if status != 200:
            raise RuntimeError(f"warm-up request got {status}")
    time.sleep(1.0)
    return {"rss_at_start_mib": round(at_start, 1), "idle_rss_mib": round(server.rss_mib()["VmRSS"], 1)}
