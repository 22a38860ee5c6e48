"""The HTTP server, the CLI and the control API."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests.support.server import ROOT, ServerProcess, free_port


def test_version_flag() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "gondwana", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "gondwana 0.1.0"


def test_health_reports_version_services_and_storage(server: ServerProcess) -> None:
    health = server.call("GET", "/_gondwana/health")
    assert health["version"] == "0.1.0"
    assert health["uptime"] >= 0
    assert health["services"]["sts"] == {"state": "running"}
    assert health["storage"]["path"].endswith("gondwana.db")
    assert health["regions"] == "all"


def test_environment_variables_set_the_flags(fresh_server: Callable[..., ServerProcess]) -> None:
    proc = fresh_server(in_memory=True, GONDWANA_STATE_DELAY="250", GONDWANA_DEFAULT_REGION="eu-west-2")
    health = proc.call("GET", "/_gondwana/health")
    assert health["state_delay_ms"] == 250
    assert health["default_region"] == "eu-west-2"
    assert health["storage"]["path"] == ":memory:"


def test_listening_line(fresh_server: Callable[..., ServerProcess]) -> None:
    proc = fresh_server(in_memory=True)
    assert any(
        "gondwana 0.1.0 listening on http://127.0.0.1:" in line and "regions: all" in line
        for line in proc.output
    )


def test_unknown_internal_endpoint_and_wrong_method(server: ServerProcess) -> None:
    conn = _connect(server)
    conn.sendall(b"GET /_gondwana/nothing HTTP/1.1\r\nHost: x\r\n\r\n")
    assert _read_response(conn)[0] == 404
    conn.sendall(b"GET /_gondwana/reset HTTP/1.1\r\nHost: x\r\n\r\n")
    assert _read_response(conn)[0] == 405


def test_reset_wipes_every_account_and_region(
    fresh_server: Callable[..., ServerProcess], echo_session: boto3.Session
) -> None:
    proc = fresh_server("--plugin", "tests.plugins.echo")
    clients = [
        echo_session.client(
            "echo",
            endpoint_url=proc.url,
            region_name=region,
            aws_access_key_id=key,
            aws_secret_access_key="x",
        )
        for region, key in (("us-east-1", "test"), ("eu-west-1", "111111111111"))
    ]
    for c in clients:
        c.put(Key="k", Value="v")
        assert c.count_items()["Count"] == 1
    proc.reset()
    for c in clients:
        assert c.count_items()["Count"] == 0


def test_clock_advances_only_forward(server: ServerProcess) -> None:
    before = server.call("GET", "/_gondwana/clock")
    server.advance_clock(0.5)
    after = server.call("GET", "/_gondwana/clock")
    assert after["offset"] == pytest.approx(before["offset"] + 0.5)
    conn = _connect(server)
    body = b'{"advance": -5}'
    conn.sendall(
        b"POST /_gondwana/clock HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    assert _read_response(conn)[0] == 400


# ---- HTTP/1.1 details ------------------------------------------------------------------------------


def _connect(server: ServerProcess) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=10)


def _read_response(conn: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Read one HTTP/1.1 response (Content-Length framed) from a socket."""
    return _Buffered(conn, b"").read()


def _echo_request(body: bytes, extra: str = "") -> bytes:
    return (
        b"POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: GondwanaEcho_20261127.Echo\r\n"
        b"Content-Type: application/x-amz-json-1.0\r\n"
        + extra.encode()
        + b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )


def test_keep_alive_serves_many_requests_on_one_connection(server: ServerProcess) -> None:
    conn = _connect(server)
    for i in range(20):
        conn.sendall(_echo_request(json.dumps({"Name": "keep", "Count": i % 10 + 1}).encode()))
        status, headers, body = _read_response(conn)
        assert status == 200
        assert json.loads(body)["Count"] == i % 10 + 1
        assert "connection" not in headers


def test_pipelined_requests_are_answered_in_order(server: ServerProcess) -> None:
    conn = _connect(server)
    conn.sendall(
        b"".join(_echo_request(json.dumps({"Name": "pipe", "Count": n}).encode()) for n in range(1, 9))
    )
    buffered = b""
    counts = []
    for _ in range(8):
        sock = _Buffered(conn, buffered)
        status, _, body = sock.read()
        assert status == 200
        buffered = sock.rest
        counts.append(json.loads(body)["Count"])
    assert counts == list(range(1, 9))


def test_pipelined_writes_reads_and_waits_keep_their_order(server: ServerProcess) -> None:
    """Answers that wait (a group commit, an async operation) and answers given at once, pipelined
    on one connection, come back in request order; a read sees the write before it."""

    def call(op: str, body: dict[str, object]) -> bytes:
        raw = json.dumps(body).encode()
        return _echo_request(raw).replace(
            b"GondwanaEcho_20261127.Echo", b"GondwanaEcho_20261127." + op.encode()
        )

    key = f"pipe-{time.time_ns()}"
    sequence = [
        call("Put", {"Key": key, "Value": "one"}),
        call("Get", {"Key": key}),
        call("Sleep", {"Seconds": 0.05}),
        call("Echo", {"Name": "mid"}),
        call("Put", {"Key": key, "Value": "two"}),
        call("Get", {"Key": key}),
    ]
    conn = _connect(server)
    conn.sendall(b"".join(sequence))
    buffered, bodies = b"", []
    for _ in sequence:
        sock = _Buffered(conn, buffered)
        status, _, body = sock.read()
        assert status == 200
        buffered = sock.rest
        bodies.append(json.loads(body or b"{}"))
    assert bodies == [{}, {"Value": "one"}, {"Slept": True}, {"Name": "mid"}, {}, {"Value": "two"}]


class _Buffered:
    """Reads consecutive responses from a socket, keeping bytes that belong to the next one."""

    def __init__(self, conn: socket.socket, data: bytes) -> None:
        self.conn, self.data, self.rest = conn, data, b""

    def read(self) -> tuple[int, dict[str, str], bytes]:
        while b"\r\n\r\n" not in self.data:
            chunk = self.conn.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.data += chunk
        head, _, rest = self.data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        length = int(headers.get("content-length", "0"))
        while len(rest) < length:
            rest += self.conn.recv(65536)
        self.rest = rest[length:]
        return int(lines[0].split()[1]), headers, rest[:length]


def test_half_closed_client_still_gets_every_answer(server: ServerProcess) -> None:
    """Found by the wire fuzzer: a client that shuts its sending side after its requests (`nc -N`,
    some HTTP/1.0 clients) got no answer when one was still pending (a write waiting for its
    group commit): the connection closed at EOF, though the write was done."""
    key = f"half-{time.time_ns()}"
    put = _echo_request(json.dumps({"Key": key, "Value": "v"}).encode()).replace(
        b"GondwanaEcho_20261127.Echo", b"GondwanaEcho_20261127.Put"
    )
    conn = _connect(server)
    conn.sendall(put + _echo_request(b'{"Name": "after"}'))
    conn.shutdown(socket.SHUT_WR)
    sock = _Buffered(conn, b"")
    assert sock.read()[0] == 200
    status, _, body = _Buffered(conn, sock.rest).read()
    assert (status, json.loads(body)) == (200, {"Name": "after"})
    assert conn.recv(10) == b""  # then closed


def test_chunked_request_body(server: ServerProcess) -> None:
    body = json.dumps({"Name": "chunked", "Count": 4}).encode()
    half = len(body) // 2
    chunks = b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (half, body[:half], len(body) - half, body[half:])
    conn = _connect(server)
    conn.sendall(
        b"POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: GondwanaEcho_20261127.Echo\r\n"
        b"Content-Type: application/x-amz-json-1.0\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks
    )
    status, _, answer = _read_response(conn)
    assert status == 200
    assert json.loads(answer) == {"Name": "chunked", "Count": 4}


def test_expect_100_continue(server: ServerProcess) -> None:
    body = json.dumps({"Name": "expect"}).encode()
    conn = _connect(server)
    conn.sendall(
        b"POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: GondwanaEcho_20261127.Echo\r\n"
        b"Content-Type: application/x-amz-json-1.0\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n"
        % len(body)
    )
    assert conn.recv(64).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
    conn.sendall(body)
    status, _, answer = _read_response(conn)
    assert status == 200 and json.loads(answer)["Name"] == "expect"


def test_connection_close_is_honoured(server: ServerProcess) -> None:
    conn = _connect(server)
    conn.sendall(_echo_request(b'{"Name": "bye"}', "Connection: close\r\n"))
    status, headers, _ = _read_response(conn)
    assert status == 200 and headers["connection"] == "close"
    assert conn.recv(10) == b""


def test_garbage_gets_400_and_server_lives_on(server: ServerProcess) -> None:
    conn = _connect(server)
    conn.sendall(b"\x16\x03\x01 this is not http\r\n\r\n")
    assert conn.recv(100).startswith(b"HTTP/1.1 400")
    assert server.call("GET", "/_gondwana/health")["version"] == "0.1.0"


def test_endless_headers_get_431_and_a_close(server: ServerProcess) -> None:
    """Found by the wire fuzzer: headers were buffered without limit (a client streaming one
    endless header grew the server's memory); past 4 MiB the answer is 431 and a close."""
    conn = _connect(server)
    start = b"POST / HTTP/1.1\r\nHost: x\r\nX-Big: "
    conn.sendall(start)
    # One byte past the limit and nothing more: the server has read all of it when it refuses,
    # so its close is a FIN (bytes still unread would make it a reset, losing the answer).
    left = 4 * 1024 * 1024 + 1 - len(start)
    while left:
        piece = min(left, 65536)
        conn.sendall(b"v" * piece)
        left -= piece
    answer = b""
    while chunk := conn.recv(65536):
        answer += chunk
    assert answer.startswith(b"HTTP/1.1 431 ") and b"Connection: close" in answer
    assert server.call("GET", "/_gondwana/health")["version"] == "0.1.0"


def test_many_concurrent_connections(server: ServerProcess, echo_session: boto3.Session) -> None:
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            c = echo_session.client(
                "echo",
                endpoint_url=server.url,
                region_name="us-east-1",
                config=Config(retries={"total_max_attempts": 1}),
            )
            for j in range(10):
                assert c.echo(Name="many", Count=(i + j) % 10 + 1)["Count"] == (i + j) % 10 + 1
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(64)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_sigterm_finishes_in_flight_requests(
    fresh_server: Callable[..., ServerProcess], echo_session: boto3.Session
) -> None:
    proc = fresh_server("--plugin", "tests.plugins.echo")
    c = echo_session.client(
        "echo",
        endpoint_url=proc.url,
        region_name="us-east-1",
        config=Config(retries={"total_max_attempts": 1}),
    )
    result: dict[str, Any] = {}
    sleeper = threading.Thread(target=lambda: result.update(c.sleep(Seconds=1.0)))
    sleeper.start()
    time.sleep(0.3)
    assert proc.stop() == 0
    sleeper.join()
    assert result["Slept"] is True
    assert any("stopped" in line for line in proc.output)


def serve_fails(*args: str, status: int = 1) -> str:
    """What `gondwana serve ARGS` says when it cannot start: one line, no trace, and the exit
    status (1; 2 for a usage error)."""
    out = subprocess.run(
        [sys.executable, "-m", "gondwana", "serve", *args],
        capture_output=True,
        text=True,
        timeout=20,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    assert out.returncode == status, out.stderr
    assert "Traceback" not in out.stderr
    return out.stderr.strip()


def test_port_in_use_is_a_clean_error(server: ServerProcess) -> None:
    said = serve_fails("--port", str(server.port), "--in-memory")
    assert said.startswith(f"gondwana: cannot listen on 127.0.0.1:{server.port}: ")


def test_a_region_port_in_use_is_named_as_such(server: ServerProcess) -> None:
    said = serve_fails("--port", "0", "--in-memory", "--region-ports", f"eu-west-1={server.port}")
    assert said.startswith(f"gondwana: cannot listen on 127.0.0.1:{server.port}: ")


def test_an_unreadable_tls_certificate_is_a_usage_error(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.pem")
    said = serve_fails(
        "--port",
        "0",
        "--in-memory",
        "--tls-port",
        str(free_port()),
        "--tls-cert",
        missing,
        "--tls-key",
        missing,
        status=2,
    )
    assert said == "gondwana: cannot load --tls-cert/--tls-key: No such file or directory"


def test_a_data_dir_in_use_by_another_server_is_refused(
    fresh_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    first = fresh_server(data_dir=tmp_path / "shared")
    assert first.proc is not None
    said = serve_fails("--port", "0", "--data-dir", str(tmp_path / "shared"))
    assert said == (
        f"gondwana: {tmp_path / 'shared'} is in use by another gondwana server (pid {first.proc.pid}); "
        "give this one a --data-dir of its own"
    )
    assert first.call("GET", "/_gondwana/health")  # the first one is untouched
    first.kill()  # the kernel drops a killed server's lock: the directory is free again
    first.restart()
    assert first.call("GET", "/_gondwana/health")


def test_a_data_dir_that_cannot_hold_a_store_is_a_clean_error(tmp_path: Path) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    assert serve_fails("--data-dir", str(a_file)) == (
        f"gondwana: cannot use {a_file} as the data directory: File exists"
    )
    (tmp_path / "garbage").mkdir()
    (tmp_path / "garbage" / "gondwana.db").write_bytes(b"not a database, and long enough to tell" * 100)
    assert serve_fails("--data-dir", str(tmp_path / "garbage")) == (
        f"gondwana: cannot open the store {tmp_path / 'garbage' / 'gondwana.db'}: file is not a database"
    )


def test_other_upgrades_are_refused_cleanly(server: ServerProcess) -> None:
    conn = _connect(server)
    conn.sendall(_echo_request(b'{"Name": "upgrade"}', "Connection: Upgrade\r\nUpgrade: websocket\r\n"))
    status, headers, _ = _read_response(conn)
    assert (status, headers["connection"]) == (400, "close")


def _h2c_upgrade(server: ServerProcess, body: bytes, split: bool) -> list[Any]:
    """An HTTP/1.1 request asking for h2c (as curl --http2 sends one), then HTTP/2 with h2."""
    import h2.config
    import h2.connection

    client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    settings = client.initiate_upgrade_connection().decode()
    upgrade = f"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: {settings}\r\n"
    request = _echo_request(body, upgrade)
    conn = _connect(server)
    if split:  # the body arrives after the headers, in pieces
        conn.sendall(request[: len(request) - len(body)])
        for i in range(0, len(body), 5):
            time.sleep(0.01)
            conn.sendall(body[i : i + 5])
    else:
        conn.sendall(request)
    reply = b""
    while b"\r\n\r\n" not in reply:
        reply += conn.recv(65536)
    head, _, rest = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101 ") and b"Upgrade: h2c" in head
    conn.sendall(client.data_to_send())
    events: list[Any] = list(client.receive_data(rest))
    while not any(type(e).__name__ == "StreamEnded" for e in events):
        conn.sendall(client.data_to_send())
        data = conn.recv(65536)
        assert data, "the server closed the connection"
        events += client.receive_data(data)
    return events


@pytest.mark.parametrize("split", [False, True])
def test_h2c_upgrade_answers_the_request_over_http2(server: ServerProcess, split: bool) -> None:
    events = _h2c_upgrade(server, b'{"Name": "upgrade", "Count": 2}', split)
    headers = dict(next(e.headers for e in events if type(e).__name__ == "ResponseReceived"))
    assert headers[b":status"] == b"200"
    assert {e.stream_id for e in events if getattr(e, "stream_id", 0)} == {1}
    body = b"".join(e.data for e in events if type(e).__name__ == "DataReceived")
    assert json.loads(body) == {"Name": "upgrade", "Count": 2}


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_curl_http2_over_plain_http(server: ServerProcess) -> None:
    out = subprocess.run(
        ["curl", "-s", "--http2", f"{server.url}/", "-H", "X-Amz-Target: GondwanaEcho_20261127.Echo",
         "-H", "Content-Type: application/x-amz-json-1.0", "-d", '{"Name": "curl"}',
         "-w", "\n%{http_version} %{http_code}"],
        capture_output=True, text=True, timeout=20,
    )  # fmt: skip
    body, _, version = out.stdout.rpartition("\n")
    assert version == "2 200"
    assert json.loads(body) == {"Name": "curl"}
