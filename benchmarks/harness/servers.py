"""Start a server under test in its own process, wait until it answers, measure it, stop it.

A `ServerSpec` is a command line with a `{port}` placeholder (and `{data}` for a fresh data
directory). Readiness is the first HTTP answer to `ready_path`, polled over a raw socket, so the
same code measures Gondwana's start-up time.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from harness.paths import BENCH, PEER_BIN, gondwana_env, project_python


@dataclass(frozen=True)
class ServerSpec:
    name: str
    argv: tuple[str, ...]  # may contain {port} and {data}
    ready_path: str = "/"
    env: dict[str, str] | None = None
    cwd: str | None = None
    needs: tuple[str, ...] = ()  # pip requirements in the benchmark venv (benchmarks/.env)


def gondwana(*args: str, name: str = "gondwana") -> ServerSpec:
    """`gondwana serve` on a fresh data directory (the default durable store) plus `args`."""
    argv = (
        project_python(),
        "-m",
        "gondwana",
        "serve",
        "--port",
        "{port}",
        "--data-dir",
        "{data}",
        "--log-level",
        "warning",
        *args,
    )
    return ServerSpec(name, argv, "/_gondwana/health", gondwana_env())


def ceiling() -> ServerSpec:
    return ServerSpec("ceiling", (project_python(), str(BENCH / "ceiling_server.py"), "--port", "{port}"))


# Other implementations run side by side on the same workload definitions (`Workload.peers`).
PEERS: dict[str, ServerSpec] = {
    "moto": ServerSpec(
        "moto",
        (str(PEER_BIN / "moto_server"), "-H", "127.0.0.1", "-p", "{port}"),
        "/moto-api/",
        needs=("moto[server]",),
    ),
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_call(port: int, raw: bytes, timeout: float = 5.0) -> tuple[int, bytes]:
    """Send one raw HTTP/1.1 request, return (status, body). Reads Content-Length or to close."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(raw)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = None
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while length is None or len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
        return status, body


def http_get(port: int, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
    raw = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode()
    return http_call(port, raw, timeout)


@dataclass
class Server:
    spec: ServerSpec
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    data_dir: Path | None = None
    log_path: Path | None = None
    started_at: float = 0.0
    ready_after: float = 0.0  # seconds from spawn to the first answer
    _log: object = field(default=None, repr=False)

    def start(self, timeout: float = 60.0) -> Server:
        self.port = free_port()
        self.data_dir = Path(tempfile.mkdtemp(prefix=f"bench-{self.spec.name}-"))
        self.log_path = self.data_dir / "server.log"
        argv = [a.format(port=self.port, data=self.data_dir / "data") for a in self.spec.argv]
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.started_at = time.perf_counter()
        self.proc = subprocess.Popen(
            argv,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=self.spec.env,
            cwd=self.spec.cwd,
            start_new_session=True,
        )
        self.ready_after = self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float) -> float:
        """Poll `ready_path` as fast as is polite (every 0.5 ms) until any HTTP answer."""
        assert self.proc is not None
        deadline = self.started_at + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.spec.name} exited ({self.proc.returncode}):\n{self.log_tail()}")
            try:
                http_get(self.port, self.spec.ready_path, timeout=1.0)
            except (OSError, ValueError, IndexError):
                time.sleep(0.0005)
                continue
            return time.perf_counter() - self.started_at
        self.stop()
        raise RuntimeError(f"{self.spec.name} did not answer within {timeout} s:\n{self.log_tail()}")

    def rss_mib(self) -> dict[str, float]:
        """VmRSS (now) and VmHWM (peak) of the server process, in MiB."""
        assert self.proc is not None
        found: dict[str, float] = {}
        with open(f"/proc/{self.proc.pid}/status") as status:
            for line in status:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    found[key] = int(value.split()[0]) / 1024
        return found

    def log_tail(self, lines: int = 30) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            # The whole process group: granian and moto may fork workers.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        if self._log is not None:
            self._log.close()  # type: ignore[attr-defined]
            self._log = None
        if self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.data_dir = None

    def __enter__(self) -> Server:
        return self.start() if self.proc is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()
