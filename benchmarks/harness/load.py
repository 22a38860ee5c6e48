"""The load generator: wrk over HTTP/1.1 keep-alive, replaying pre-built requests.

wrk (C, epoll) runs in its own process with one thread and 8 connections by default, so it takes
as little of this 2-core machine as possible from the server under test. `rotate.lua` cycles
through the requests; its `done()` prints one JSON line that we parse.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

LUA = Path(__file__).with_name("rotate.lua")


@dataclass
class LoadResult:
    requests: int
    seconds: float
    rps: float
    errors: dict[str, int]
    latency_ms: dict[str, float]

    @property
    def failed(self) -> int:
        """Requests that failed at the socket or got a status >= 400 (wrk counts non-2xx/3xx)."""
        return sum(self.errors.values()) - self.errors.get("connect", 0)

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "failed": self.failed}


def run_wrk(
    port: int,
    requests: list[bytes],
    seconds: float,
    connections: int = 8,
    threads: int = 1,
    lua_extra: str = "",
) -> LoadResult:
    """Drive 127.0.0.1:`port` for `seconds` with `requests` in rotation; return what wrk saw."""
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
        ]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("WRK_JSON ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    raw = json.loads(line.removeprefix("WRK_JSON "))
    elapsed = raw["duration_us"] / 1e6
    lat = {k: round(v / 1000, 3) for k, v in raw["latency_us"].items()}
    return LoadResult(raw["requests"], elapsed, raw["requests"] / elapsed, raw["errors"], lat)
