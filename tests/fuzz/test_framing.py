"""HTTP/1.1 framing gone wrong: bad request lines, broken chunked bodies, Content-Length that
lies, garbage pipelined behind a good request, oversized headers. The server answers what it
can parse, refuses the rest with 400 (or 413) and a close, and keeps serving everyone else."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz import catalog
from tests.fuzz.conftest import FUZZ
from tests.fuzz.wire import LogWatch, check, exchange, healthy
from tests.support.server import ServerProcess

LIST_QUEUES = catalog.Endpoint("sqs", "json")


def _good(server: ServerProcess, close: bool = True) -> bytes:
    """A valid read-only request (ListQueues), as botocore sends it."""
    raw = catalog.serialize(LIST_QUEUES, "ListQueues", {})
    data = raw.encode(f"127.0.0.1:{server.port}")
    return data if close else data.replace(b"Connection: close\r\n", b"")


def _split(data: bytes) -> tuple[bytes, bytes]:
    head, _, body = data.partition(b"\r\n\r\n")
    return head, body


def _chunked(data: bytes, chunks: list[bytes]) -> bytes:
    head, _ = _split(data)
    head = b"\r\n".join(line for line in head.split(b"\r\n") if not line.startswith(b"Content-Length"))
    return head + b"\r\nTransfer-Encoding: chunked\r\n\r\n" + b"".join(chunks)


def _framings(server: ServerProcess) -> st.SearchStrategy[bytes]:
    good = _good(server)
    head, body = _split(good)
    size = len(body)
    garbage = st.binary(min_size=1, max_size=200)
    return st.one_of(
        garbage,
        garbage.map(lambda g: g + b"\r\n\r\n"),
        st.sampled_from(
            [
                b"GET\r\n\r\n",
                b"POST / HTTP/9.9\r\nHost: x\r\n\r\n",
                b"POST  HTTP/1.1\r\n\r\n",
                b"\xff\xfe / HTTP/1.1\r\n\r\n",
                b"POST /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
                b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
                b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
                b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
                b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n",
                b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
                b"POST / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
                b"POST / HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n",
                b"POST / HTTP/1.1\r\nHost: x\r\n: empty\r\n\r\n",
                b"POST / HTTP/1.1\r\nHost: x\r\nX: " + b"v" * 200_000 + b"\r\n\r\n",
                b"POST / HTTP/1.1\r\nHost: x\r\n" + b"X-A: b\r\n" * 20_000 + b"\r\n",
            ]
        ),
        # Content-Length that lies: longer (the body never ends) or shorter (the rest is garbage)
        st.integers(0, size * 2 + 5).map(
            lambda n: (
                head.replace(f"Content-Length: {size}".encode(), f"Content-Length: {n}".encode())
                + b"\r\n\r\n"
                + body
            )
        ),
        # chunked bodies: sizes that lie, bad hex, extensions, missing terminators, trailers
        st.lists(
            st.one_of(
                st.just(b"%x\r\n%s\r\n" % (len(body), body)),
                st.sampled_from([b"zz\r\n", b"-1\r\n", b"ffffffffffffffffff\r\n", b"5;ext=\x01\r\nabc\r\n"]),
                st.sampled_from([b"0\r\n\r\n", b"0\r\nTrailer: x\r\n\r\n", b"3\r\nab", b"\r\n", b"0\r\n"]),
                garbage,
            ),
            min_size=1,
            max_size=4,
        ).map(lambda chunks: _chunked(good, chunks)),
        # garbage pipelined behind a good request (kept alive)
        garbage.map(lambda g: _good(server, close=False) + g),
        st.integers(1, len(good) - 1).map(lambda n: _good(server, close=False) + good[:n]),
    )


def test_broken_framing_gets_400_or_an_answer(fuzz_server: ServerProcess) -> None:
    """Sent, then half-closed (so an incomplete request ends): every answer that comes is a
    whole, well-formed one, and the server serves on."""
    watch = LogWatch(fuzz_server)
    framings = _framings(fuzz_server)

    @FUZZ
    @given(framings)
    def run(data: bytes) -> None:
        for answer in exchange(fuzz_server, data, half_close=True, timeout=10):
            check(answer, "json")

    run()
    healthy(fuzz_server)
    watch.check()


def test_pipelined_requests_are_answered_in_order_then_garbage_refused(fuzz_server: ServerProcess) -> None:
    data = _good(fuzz_server, close=False) * 3 + b"\x00garbage\r\n\r\n"
    answers = exchange(fuzz_server, data, half_close=True)
    assert [a.status for a in answers] == [200, 200, 200, 400]
    assert answers[-1].headers.get("connection") == "close"
    healthy(fuzz_server)
