"""HTTP/1.1 on asyncio: our own protocol class over httptools' C parser, run on uvloop.

Chosen by measurement (benchmarks/http_stacks.py): a bare protocol answers 2-3x more requests
per second than uvicorn or a pure-Python parser on this 2-core machine, and it lets us see each
connection's life (a long poll gives up when its client disconnects).

Keep-alive, pipelining (answered in order), chunked request bodies (httptools decodes them),
`Expect: 100-continue`, and chunked streaming responses (event streams) are supported.
HTTP/2: a connection whose first bytes are the h2 preface ("PRI * HTTP/2.0", h2c with prior
knowledge) is handed to `http2.Http2Session`, which builds the same `Request` values and calls
the same chain; a TLS listener will do the same for ALPN "h2".
"""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl
import time
from collections import deque
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

import httptools

from gondwana.server.messages import ABORT, Pending, Request, Response

try:  # the C fast path (_fastpath.c); without a compiler, httptools and the Python below alone
    from gondwana.server._fastpath import parse_request
    from gondwana.server._fastpath import response as response_bytes
except ImportError:  # pragma: no cover - the build made no extension
    parse_request = response_bytes = None

log = logging.getLogger("gondwana.http")

# A handler answers at once when it can (no task, no coroutine), or returns a Pending (a write
# waiting for its group commit) or an awaitable.
Handler = Callable[[Request], "Response | Pending | Awaitable[Response]"]
INTERNAL_ERROR = Response(500, [("Content-Type", "text/plain")], b"internal error")

MAX_BODY = 64 * 1024 * 1024
COPIED_BODY = 65536  # smaller bodies go out in one bytes object with their head
# Request line and headers: httptools buffers them whole, so a client streaming headers without
# end would grow the buffer without bound; past this it gets 431 and the connection closes.
MAX_HEAD = 4 * 1024 * 1024
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"  # h2c with prior knowledge
SWITCHING = b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"
_REASONS = {s.value: s.phrase for s in HTTPStatus}
_date_cache: tuple[int, str] = (0, "")
_status_lines: dict[int, str] = {}
_header_names: dict[bytes, str] = {}  # raw header name -> lower-cased text, for names seen before


def _date_header() -> str:
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, time.strftime("Date: %a, %d %b %Y %H:%M:%S GMT\r\n", time.gmtime(now)))
    return _date_cache[1]


def _status_line(status: int) -> str:
    line = _status_lines.get(status)
    if line is None:
        line = _status_lines[status] = f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}\r\n"
    return line


def _header_name(raw: bytes) -> str:
    name = _header_names.get(raw)
    if name is None:
        name = raw.lower().decode("latin-1")
        if len(_header_names) < 512:  # clients send few distinct names; never let one grow it
            _header_names[raw] = name
    return name


class HttpConnection(asyncio.Protocol):
    __slots__ = (
        "_body",
        "_body_size",
        "_busy",
        "_can_write",
        "_eof",
        "_h2",
        "_head_size",
        "_headers",
        "_in_body",
        "_out",
        "_parsing",
        "_peer",
        "_preface",
        "_queue",
        "_raw_headers",
        "_upgrading",
        "_url",
        "closed",
        "parser",
        "region",
        "scheme",
        "server",
        "transport",
    )

    def __init__(self, server: HttpServer, region: str | None = None) -> None:
        self.server = server
        self.region = region
        self.scheme = "http"
        self.transport: asyncio.Transport | None = None
        self._peer: Any = None
        self.parser = httptools.HttpRequestParser(self)
        self._queue: deque[tuple[Request, bool]] = deque()
        self._busy = False
        self._url = b""
        self._headers: dict[str, str] = {}
        self._raw_headers: list[tuple[bytes, bytes]] = []
        self._out: list[bytes] = []  # answers written this loop iteration, sent together at its end
        self._body: list[bytes] = []
        self._body_size = 0
        self._can_write: asyncio.Future[None] | None = None
        self._head_size = 0  # bytes received since the current request's head began
        self._in_body = False
        self._parsing = False  # httptools is inside a request: the fast path must wait for its end
        self._eof = False  # the client half-closed: close once every answer owed is sent
        self._h2: Any = None  # an http2.Http2Session once the client spoke HTTP/2
        self._preface: bytes | None = b""  # bytes seen while they could still be the h2 preface
        # An accepted h2c upgrade still reading its request body: settings, headers, length, chunks
        self._upgrading: tuple[bytes, dict[str, str], int, list[bytes]] | None = None
        self.closed: asyncio.Future[None] = server.loop.create_future()

    # ---- asyncio.Protocol ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self._peer = transport.get_extra_info("peername")
        self.server.connections.add(self)
        tls = transport.get_extra_info("ssl_object")
        if tls is not None:
            self.scheme = "https"
        if tls is not None and tls.selected_alpn_protocol() == "h2":
            from gondwana.server.http2 import Http2Session

            self._preface = None
            self._h2 = Http2Session(self.server, self.transport, self.region)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        self._out.clear()
        if self._h2 is not None:
            self._h2.connection_lost()
        if not self.closed.done():
            self.closed.set_result(None)
        if self._can_write is not None and not self._can_write.done():
            self._can_write.set_result(None)

    def data_received(self, data: bytes) -> None:
        if self._h2 is not None:
            self._h2.data_received(data)
            return
        if self._upgrading is not None:
            self._feed_upgrade(data)
            return
        if self._preface is not None:
            seen = self._preface + data
            if PREFACE.startswith(seen[: len(PREFACE)]):
                if len(seen) < len(PREFACE):
                    self._preface = seen
                    return
                from gondwana.server.http2 import Http2Session  # h2 is imported only when needed

                assert self.transport is not None
                self._h2 = Http2Session(self.server, self.transport, self.region)
                self._h2.data_received(seen)
                return
            self._preface = None
            data = seen
        if not self._parsing and parse_request is not None:
            data = self._parse_plain(data)
            if not data:
                return
        if not self._in_body:
            self._head_size += len(data)
            if self._head_size > MAX_HEAD:
                self._reject(431)
                return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            if self._upgrading is None:  # only h2c is spoken (not websockets, not TLS upgrades)
                self._reject(400)
            else:  # on_message_complete accepted h2c: the body, then HTTP/2
                self._feed_upgrade(data[upgrade.args[0] :])
        except httptools.HttpParserError:
            self._reject(400)

    def _parse_plain(self, data: bytes) -> bytes:
        """Serve the plain complete requests at the start of `data` through the C fast path
        (one call per request instead of httptools' dozen callbacks); return the rest, from the
        first request it leaves to httptools (partial, chunked, an upgrade, odd bytes ...)."""
        start, size = 0, len(data)
        while (parsed := parse_request(data, start, MAX_BODY)) is not None:
            method, path, query, headers, body, keep_alive, start = parsed
            if self.transport is None or self.transport.is_closing():
                return b""
            self._dispatch(self._request(method, path, query, headers, body), keep_alive)
            if start == size:
                return b""
        return data[start:] if start else data

    def eof_received(self) -> bool:
        """The client shut its sending side after its last request (`nc -N`, some HTTP/1.0
        clients): the answers still owed go out before the connection closes, instead of being
        dropped with it (a write would be done but never acknowledged)."""
        if self._h2 is not None or self._upgrading is not None:
            return False
        self.flush()
        if self._busy or self._queue:
            self._eof = True
            # As for a client gone (as nginx does): a long poll gives up rather than take
            # messages no one may read; answers already owed (a write's commit) still go out.
            if not self.closed.done():
                self.closed.set_result(None)
            return True  # keep the transport open to write them
        return False

    def _close_if_done(self) -> None:
        if self._eof and not self._busy and not self._queue and self.transport is not None:
            self.flush()
            self.transport.close()

    def pause_writing(self) -> None:
        self._can_write = self.server.loop.create_future()

    def resume_writing(self) -> None:
        if self._can_write is not None and not self._can_write.done():
            self._can_write.set_result(None)
        self._can_write = None

    # ---- httptools callbacks -------------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._parsing = True

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._raw_headers.append((name, value))  # decoded once, all together, below

    def on_headers_complete(self) -> None:
        raw = self._raw_headers
        names = _header_names
        try:
            headers = {names[name]: value.decode("latin-1") for name, value in raw}
        except KeyError:  # a name not seen before
            headers = {_header_name(name): value.decode("latin-1") for name, value in raw}
        if len(headers) != len(raw):  # a repeated header: its values joined with ","
            headers = {}
            for name, value in raw:
                key, text = _header_name(name), value.decode("latin-1")
                headers[key] = text if key not in headers else f"{headers[key]},{text}"
        self._headers = headers
        self._head_size, self._in_body = 0, True
        if "expect" in headers and headers["expect"].lower() == "100-continue" and self.transport is not None:
            self.flush()
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        self._body_size += len(body)
        if self._body_size > MAX_BODY:
            self._reject(413)
            return
        self._body.append(body)

    def on_message_complete(self) -> None:
        url, chunks = self._url, self._body
        self._url, self._raw_headers, self._body, self._body_size = b"", [], [], 0  # the next one
        self._in_body = self._parsing = False
        if self.transport is None or self.transport.is_closing():
            return
        if self.parser.should_upgrade():
            self._upgrade(url)  # h2c, or refused as the parser raises (data_received)
            return
        path, _, query = url.decode("latin-1").partition("?")
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        method = self.parser.get_method().decode("ascii")
        request = self._request(method, path, query, self._headers, body)
        self._dispatch(request, self.parser.should_keep_alive())

    def _request(self, method: str, path: str, query: str, headers: dict[str, str], body: bytes) -> Request:
        """A request that came in on this connection (from either parser)."""
        return Request(method, path, query, headers, body, self._peer, self.closed, self.scheme, self.region)

    def _dispatch(self, request: Request, keep_alive: bool) -> None:
        """Answer a request now, or once what it waits for is there (in order on the connection)."""
        if self._busy:  # an earlier response is still pending: answer in order
            self._queue.append((request, keep_alive))
            return
        pending = self._call_handler(request)
        if type(pending) is Response and pending.stream is None and pending is not ABORT:
            # Answered synchronously (most requests): written now, no task.
            self._send(pending, keep_alive)
            return
        self._busy = True
        if type(pending) is Pending:  # a write waiting for its group commit
            self.server.in_flight += 1
            pending.then(functools.partial(self._answered, keep_alive))
        else:
            self.server.loop.create_task(self._drain(pending, keep_alive))

    def _call_handler(self, request: Request) -> Response | Pending | Awaitable[Response]:
        try:
            return self.server.handler(request)
        except Exception:
            log.exception("handler failed")
            return INTERNAL_ERROR

    def _answered(self, keep_alive: bool, response: Response) -> None:
        """The answer a request was pending on is there: write it; anything less plain (an
        abort, a stream, requests pipelined behind it) is left to `_drain`."""
        self.server.in_flight -= 1
        if self.transport is None or self.transport.is_closing():
            self._busy = False
        elif response is ABORT or response.stream is not None or self._queue:
            self.server.loop.create_task(self._drain(response, keep_alive))
        else:
            self._send(response, keep_alive)
            self._busy = False
            if self._eof:
                self._close_if_done()

    def _upgrade(self, url: bytes) -> None:
        """`Upgrade: h2c` with HTTP2-Settings (RFC 7540 3.2, as curl --http2 sends it): switch
        to HTTP/2 and answer this request as its stream 1. The parser stops at the end of the
        headers; the body (Content-Length bytes) and then HTTP/2 follow (`_feed_upgrade`)."""
        headers = self._headers
        settings = headers.get("http2-settings")
        length = headers.get("content-length", "0")
        if (
            headers.get("upgrade", "").lower() != "h2c"
            or settings is None
            or not length.isdigit()
            or "transfer-encoding" in headers
            or self._queue
            or self._busy
        ):
            return  # refused with 400 as the parser raises (data_received)
        assert self.transport is not None
        self.flush()
        self.transport.write(SWITCHING)
        hop = {"connection", "upgrade", "http2-settings", "keep-alive", "content-length"}
        stream_headers = {
            ":method": self.parser.get_method().decode("ascii"),
            ":path": url.decode("latin-1"),
            ":authority": headers.get("host", "localhost"),
            **{k: v for k, v in headers.items() if k not in hop},
        }
        self._upgrading = (settings.encode("latin-1"), stream_headers, int(length), [])

    def _feed_upgrade(self, data: bytes) -> None:
        assert self._upgrading is not None and self.transport is not None
        settings, headers, length, chunks = self._upgrading
        chunks.append(data)
        received = b"".join(chunks)
        if len(received) < length:
            self._upgrading = (settings, headers, length, [received])
            return
        from gondwana.server.http2 import Http2Session

        self._upgrading = None
        upgrade = (settings, headers, received[:length])
        self._h2 = Http2Session(self.server, self.transport, self.region, upgrade)
        if len(received) > length:
            self._h2.data_received(received[length:])

    # ---- responses -----------------------------------------------------------------------------

    async def _drain(self, pending: Response | Awaitable[Response], keep_alive: bool) -> None:
        """Answer a request that is still being served, then the ones pipelined behind it."""
        server = self.server
        try:
            while True:
                server.in_flight += 1
                try:
                    response = pending if type(pending) is Response else await pending  # type: ignore[misc]
                except Exception:
                    log.exception("handler failed")
                    response = INTERNAL_ERROR
                finally:
                    server.in_flight -= 1
                if self.transport is None or self.transport.is_closing():
                    return
                if response is ABORT:
                    self.flush()
                    self.transport.abort()
                    return
                if response.stream is not None:
                    await self._stream(response, keep_alive and not server.closing)
                    if not keep_alive or server.closing:
                        self.transport.close()
                        return
                elif not self._send(response, keep_alive):
                    return
                if not self._queue:
                    return
                request, keep_alive = self._queue.popleft()
                pending = self._call_handler(request)
        finally:
            self._busy = False
            self._close_if_done()

    def _send(self, response: Response, keep_alive: bool) -> bool:
        """Write a whole response; False when the connection is closed after it."""
        keep_alive = keep_alive and not self.server.closing
        self._write(response, keep_alive)
        if not keep_alive:
            assert self.transport is not None
            self.flush()
            self.transport.close()
        return keep_alive

    @staticmethod
    def _head(response: Response, keep_alive: bool) -> list[str]:
        lines = [_status_line(response.status), _date_header()]
        for name, value in response.headers:
            lines.append(f"{name}: {value}\r\n")
        if not keep_alive:
            lines.append("Connection: close\r\n")
        return lines

    def _write(self, response: Response, keep_alive: bool) -> None:
        if not self._out:
            self.server.outgoing(self)
        body = response.body
        if len(body) >= COPIED_BODY:  # not copied into one string (GetRecords answers reach megabytes)
            self._out += (self._sized_head(response, keep_alive), body)
            return
        whole = None
        if response_bytes is not None:  # None too for headers it cannot write: the Python way then
            whole = response_bytes(
                _status_line(response.status), _date_header(), response.headers, body, keep_alive
            )
        self._out.append(whole if whole is not None else self._sized_head(response, keep_alive) + body)

    def _sized_head(self, response: Response, keep_alive: bool) -> bytes:
        lines = self._head(response, keep_alive)
        lines.append(f"Content-Length: {len(response.body)}\r\n\r\n")
        return "".join(lines).encode("latin-1")

    def flush(self) -> None:
        """Send the answers written so far (at the end of the loop iteration, or before anything
        else goes out on this connection)."""
        if self._out:
            if self.transport is not None and not self.transport.is_closing():
                self.transport.writelines(self._out)
            self._out.clear()

    async def _stream(self, response: Response, keep_alive: bool) -> None:
        assert self.transport is not None and response.stream is not None
        lines = self._head(response, keep_alive)
        lines.append("Transfer-Encoding: chunked\r\n\r\n")
        self.flush()
        self.transport.write("".join(lines).encode("latin-1"))
        try:
            async for chunk in response.stream:
                if self.transport.is_closing():
                    return
                if chunk:
                    self.transport.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                if self._can_write is not None:
                    await self._can_write
            if not self.transport.is_closing():
                self.transport.write(b"0\r\n\r\n")
        finally:
            aclose = getattr(response.stream, "aclose", None)
            if aclose is not None:
                await aclose()

    def _reject(self, status: int) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.flush()
            closing = "Content-Length: 0\r\nConnection: close\r\n\r\n"
            self.transport.write(f"{_status_line(status)}{closing}".encode())
            self.transport.close()

    @property
    def idle(self) -> bool:
        if self._h2 is not None:
            return not self._h2.streams
        return not self._busy and not self._queue


class HttpServer:
    def __init__(self, handler: Handler, loop: asyncio.AbstractEventLoop) -> None:
        self.handler = handler
        self.loop = loop
        self.connections: set[HttpConnection] = set()
        self.in_flight = 0
        self.closing = False
        self._servers: list[asyncio.base_events.Server] = []
        self._outgoing: list[HttpConnection] = []
        self._regional: dict[str, tuple[asyncio.base_events.Server, str, int]] = {}

    def outgoing(self, connection: HttpConnection) -> None:
        """`connection` has answers to send: all such are sent together once this loop iteration
        has read every request it could. Sent one by one, each answer would wake a client that
        went idle waiting for it (a cross-CPU wake-up costs more than our whole request); sent
        together, the client wakes once for several."""
        if not self._outgoing:
            self.loop.call_soon(self._send_outgoing)
        self._outgoing.append(connection)

    def _send_outgoing(self) -> None:
        connections, self._outgoing = self._outgoing, []
        for connection in connections:
            connection.flush()

    async def listen(
        self, host: str, port: int, region: str | None = None, tls: ssl.SSLContext | None = None
    ) -> int:
        """Listen on host:port; a region's own listener stamps that region on its requests; with
        `tls`, HTTPS, where ALPN "h2" selects HTTP/2."""
        server = await self.loop.create_server(
            lambda: HttpConnection(self, region), host, port, backlog=1024, ssl=tls
        )
        self._servers.append(server)
        bound = server.sockets[0].getsockname()[1]
        if region is not None:
            self._regional[region] = (server, host, bound)
        return bound

    async def refuse(self, region: str, refusing: bool) -> None:
        """Close a region's own listener (connections are refused) or open it again."""
        found = self._regional.get(region)
        if found is None:
            return
        server, host, port = found
        if refusing and server.is_serving():
            server.close()
            for connection in list(self.connections):
                if connection.region == region and connection.transport is not None:
                    connection.transport.abort()
        elif not refusing and not server.is_serving():
            self._servers.remove(server)
            await self.listen(host, port, region)

    async def shutdown(self, grace: float = 30.0) -> None:
        """Stop accepting, let in-flight requests finish (up to `grace` s), close connections."""
        self.closing = True
        for server in self._servers:
            server.close()
        self._send_outgoing()
        for connection in list(self.connections):
            if connection.idle and connection.transport is not None:
                connection.transport.close()
        deadline = self.loop.time() + grace
        while self.in_flight and self.loop.time() < deadline:
            await asyncio.sleep(0.01)
        self._send_outgoing()
        for connection in list(self.connections):
            if connection.transport is not None:
                connection.transport.close()
        for server in self._servers:
            await server.wait_closed()
