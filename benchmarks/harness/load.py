"""The load generator: wrk over HTTP/1.1 keep-alive, replaying pre-built requests.

wrk (C, epoll) runs in its own process with one thread and 8 connections by default, so it takes
as little of this 2-core machine as possible from the server under test. `rotate.lua` cycles
through the requests; its `done()` prints one JSON line that we parse.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

LUA = Path(__file__).with_name("rotate.lua")
_runs = itertools.count(1)  # numbers each wrk run, so SEQ values never repeat within the harness


@dataclass
class LoadResult:
    requests: int
    seconds: float
    rps: float
    errors: dict[str, int]
    latency_ms: dict[str, float]
    units: int | None = None  # what a dynamic flow's Lua counted in `units`, if it counts

    @property
    def failed(self) -> int:
        """Requests that failed at the socket or got a status >= 400 (wrk counts non-2xx/3xx)."""
        return sum(self.errors.values()) - self.errors.get("connect", 0)

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "failed": self.failed}


# wrk's main thread sleeps for the whole -d duration even when a thread stops, so a bounded run
# reports and exits from Lua once it has its answers.
_STOP_AFTER = """
local stop_after, answered, failed = %d, 0, 0
function response(status, headers, body)
  answered = answered + 1
  if status >= 400 then failed = failed + 1 end
  if answered >= stop_after then
    io.write(string.format('WRK_DONE {"requests":%%d,"failed":%%d}\\n', answered, failed))
    io.flush()
    os.exit(0)
  end
end
"""


def run_wrk(
    port: int,
    requests: list[bytes],
    seconds: float,
    connections: int = 8,
    threads: int = 1,
    lua_extra: str = "",
    max_requests: int = 0,
) -> LoadResult:
    """Drive 127.0.0.1:`port` for `seconds` with `requests` in rotation; return what wrk saw.
    With `max_requests`, stop after that many responses (per wrk thread) or `seconds`, whichever
    comes first: a workload's prefill (100,000 messages, 1,000,000 items) uses it."""
    if max_requests:
        lua_extra += _STOP_AFTER % max_requests
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        data = Path(tmp) / "requests.bin"
        with open(data, "wb") as out:
            for raw in requests:
                out.write(b"%d\n" % len(raw))
                out.write(raw)
        script = Path(tmp) / "load.lua"
        script.write_text(LUA.read_text() + ("\n" + lua_extra if lua_extra else ""))
        argv = [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}/",
            "--",
            str(data),
            str(next(_runs) % 100),
        ]
        started = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
        elapsed = time.perf_counter() - started
    done = next((ln for ln in proc.stdout.splitlines() if ln.startswith("WRK_DONE ")), None)
    if done is not None:  # a bounded run (max_requests) that reached its count
        counts = json.loads(done.removeprefix("WRK_DONE "))
        n = counts["requests"]
        return LoadResult(n, elapsed, n / elapsed, {"status": counts["failed"]}, {})
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("WRK_JSON ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    raw = json.loads(line.removeprefix("WRK_JSON "))
    elapsed = raw["duration_us"] / 1e6
    lat = {k: round(v / 1000, 3) for k, v in raw["latency_us"].items()}
    units = raw.get("units", -1)
    return LoadResult(
        raw["requests"], elapsed, raw["requests"] / elapsed, raw["errors"], lat, None if units < 0 else units
    )
