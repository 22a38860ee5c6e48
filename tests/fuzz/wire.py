"""Raw HTTP/1.1 over a socket, and the invariants every answer must keep.

Whatever a client sends, the server answers it (or, when the HTTP framing itself is beyond
repair, answers 400 and closes), never with a 5xx, and a rejection is in the protocol's error
shape: JSON or CBOR with `__type` for the JSON services, `<ErrorResponse>` XML for query.
"""

from __future__ import annotations

import json
import socket
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from tests.support.server import ServerProcess

# What a server log must never say (a request that raised where it should have answered).
FAILURE_MARKS = ("unexpected failure", "Traceback", "handler failed")
# 5xx answers AWS itself gives to client input (recorded): ListGlobalTables with an unknown
# RegionName.
AWS_5XX = {
    b'{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"Internal server error"}'
}

NOT_FOUND = b"<UnknownOperationException/>\n"  # AWS's front end, for a request no service takes


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def __repr__(self) -> str:
        return f"Answer({self.status}, {self.body[:300]!r})"


class NoAnswer(AssertionError):
    pass


def exchange(
    server: ServerProcess, data: bytes, half_close: bool = False, timeout: float = 30.0
) -> list[Answer]:
    """Send `data` on a fresh connection (then half-close it, if asked) and read every answer
    until the server closes."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before reading everything
        received = bytearray()
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass
    return parse_answers(bytes(received))


def parse_answers(data: bytes) -> list[Answer]:
    answers: list[Answer] = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        assert sep, f"truncated response head: {data[:200]!r}"
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if status == 100:
            data = rest
            continue
        if "content-length" in headers:
            length = int(headers["content-length"])
            assert len(rest) >= length, f"truncated body ({len(rest)} of {length})"
            body, data = rest[:length], rest[length:]
        else:
            assert headers.get("transfer-encoding") == "chunked", headers
            body, data = _dechunk(rest)
        answers.append(Answer(status, headers, body))
    return answers


def _dechunk(data: bytes) -> tuple[bytes, bytes]:
    out = bytearray()
    while True:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line, 16)
        out += data[:size]
        data = data[size + 2 :]
        if size == 0:
            return bytes(out), data


def one_answer(server: ServerProcess, data: bytes) -> Answer:
    answers = exchange(server, data)
    if not answers:
        raise NoAnswer("the connection closed without an answer")
    assert len(answers) == 1, answers
    return answers[0]


def check(answer: Answer, protocol: str) -> Any:
    """The invariants of one answer; returns the decoded body."""
    assert answer.status < 500 or answer.body in AWS_5XX, answer
    if answer.body == NOT_FOUND or (answer.status in (400, 413, 431) and not answer.body):
        return None  # routing found no service / framing refused: plain answers, as AWS's front end
    kind = answer.headers.get("content-type", "")
    if "xml" in kind:
        root = ET.fromstring(answer.body)
        if answer.status >= 400:
            assert root.tag.endswith("ErrorResponse"), answer
            error = next(e for e in root if e.tag.endswith("Error"))
            codes = [e for e in error if e.tag.endswith("Code")]
            assert codes and codes[0].text, answer
        return root
    if "cbor" in kind:
        import cbor2

        body = cbor2.loads(answer.body, semantic_decoders={1: lambda v, _: v})
    else:
        assert "json" in kind, answer
        body = json.loads(answer.body)
    assert isinstance(body, dict), answer
    if answer.status >= 400:
        assert isinstance(body.get("__type"), str) and body["__type"], answer
        message = body.get("message", body.get("Message"))
        assert message is None or isinstance(message, str), answer
    return body


class LogWatch:
    """New server output since the last look must not report an unexpected failure."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.seen = len(server.output)

    def check(self) -> None:
        new = self.server.output[self.seen :]
        self.seen += len(new)
        bad = [line for line in new if any(mark in line for mark in FAILURE_MARKS)]
        assert not bad, "server log:\n" + "".join(new[-60:])


def healthy(server: ServerProcess) -> None:
    answer = one_answer(server, b"GET /_gondwana/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert answer.status == 200, answer
