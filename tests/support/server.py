"""Start the real Gondwana server in a subprocess on a free loopback port, and stop or kill it."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
_LISTENING = re.compile(r"listening on (http://[^\s]+)")


def free_port() -> int:
    """A loopback port nothing listens on right now (for --region-ports, --tls-port)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """One `gondwana serve` process. `start()` waits for its listening line; `kill()` is kill -9."""

    def __init__(self, data_dir: Path | None, *args: str, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.args = list(args)
        self.env = env or {}
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.port = 0
        self.output: list[str] = []

    def start(self, port: int = 0) -> ServerProcess:
        store = ["--in-memory"] if self.data_dir is None else ["--data-dir", str(self.data_dir)]
        cmd = [
            sys.executable,
            "-m",
            "gondwana",
            "serve",
            "--port",
            str(port or self.port or 0),
            *store,
            *self.args,
        ]
        env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}", **self.env}
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("server exited before listening:\n" + "".join(self.output))
            self.output.append(line)
            match = _LISTENING.search(line)
            if match:
                self.url = match.group(1)
                self.port = int(self.url.rsplit(":", 1)[1])
                break
        else:
            raise RuntimeError("server did not start in time")
        # Keep draining output so a chatty server never blocks on a full pipe.
        import threading

        threading.Thread(target=self._drain, daemon=True).start()
        return self

    def _drain(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM and wait: the graceful path."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        """SIGKILL: nothing gets to clean up."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)

    def restart(self) -> ServerProcess:
        """Start again on the same port and data directory (after stop or kill)."""
        return self.start(self.port)

    def crash(self) -> None:
        """kill -9 and start again, the test clock set where it was (a new process starts at the
        wall clock: the offset tests advanced it by lives only in the server's memory)."""
        offset = float(self.call("GET", "/_gondwana/clock")["offset"])
        self.kill()
        self.restart()
        if offset:
            self.advance_clock(offset)

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        with urllib.request.urlopen(req, timeout=10) as response:
            return json.loads(response.read())

    def reset(self) -> None:
        self.call("POST", "/_gondwana/reset")

    def advance_clock(self, seconds: float) -> None:
        self.call("POST", "/_gondwana/clock", {"advance": seconds})

    def now(self) -> float:
        """The server's clock (ahead of the wall clock by what tests advanced it)."""
        return self.call("GET", "/_gondwana/clock")["now"]


def serving(data_dir: Path | None, *args: str) -> Iterator[ServerProcess]:
    """For a fixture (`yield from serving(...)`): a started server, stopped once its tests are done."""
    proc = ServerProcess(data_dir, *args).start()
    try:
        yield proc
    finally:
        proc.stop()
