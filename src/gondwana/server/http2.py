"""HTTP/2 for the same chain: h2c with prior knowledge (what Node's http2 and the Java SDK's
Netty client send to an http:// endpoint for event-stream operations such as SubscribeToShard).

`HttpConnection` hands a connection over when its first bytes are the HTTP/2 preface. Each
stream becomes the same `Request` value HTTP/1.1 produces, answered by the same handler; a
streamed response body (an event stream) goes out as DATA frames under h2's flow control.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import h2.config
import h2.connection
import h2.events
import h2.exceptions

from gondwana.server.messages import ABORT, Request, Response

if TYPE_CHECKING:
    from gondwana.server.http import HttpServer

log = logging.getLogger("gondwana.http2")


class _Stream:
    __slots__ = ("body", "closed", "headers", "window")

    def __init__(self, headers: dict[str, str], loop: asyncio.AbstractEventLoop) -> None:
        self.headers = headers
        self.body: list[bytes] = []
        self.closed: asyncio.Future[None] = loop.create_future()  # the client reset or left
        self.window: asyncio.Event = asyncio.Event()


class Http2Session:
    def __init__(
        self,
        server: HttpServer,
        transport: asyncio.Transport,
        region: str | None,
        upgrade: tuple[bytes, dict[str, str], bytes] | None = None,
    ) -> None:
        """`upgrade`: the HTTP2-Settings, headers and body of an HTTP/1.1 request that asked for
        h2c (`Upgrade: h2c`); it becomes stream 1 and is answered over HTTP/2."""
        self.server = server
        self.transport = transport
        self.region = region
        config = h2.config.H2Configuration(client_side=False, header_encoding=None)
        self.conn = h2.connection.H2Connection(config)
        self.streams: dict[int, _Stream] = {}
        if upgrade is None:
            self.conn.initiate_connection()
        else:
            settings, headers, body = upgrade
            self.conn.initiate_upgrade_connection(settings_header=settings)
            stream = self.streams[1] = _Stream(headers, server.loop)
            stream.body.append(body)
            server.loop.create_task(self._answer(1, stream))
        self._flush()

    def _flush(self) -> None:
        data = self.conn.data_to_send()
        if data and not self.transport.is_closing():
            self.transport.write(data)

    def data_received(self, data: bytes) -> None:
        try:
            events = self.conn.receive_data(data)
        except h2.exceptions.ProtocolError:
            self._flush()
            self.transport.close()
            return
        for event in events:
            if isinstance(event, h2.events.RequestReceived):
                headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in event.headers}
                self.streams[event.stream_id] = _Stream(headers, self.server.loop)
            elif isinstance(event, h2.events.DataReceived):
                stream = self.streams.get(event.stream_id)
                if stream is not None:
                    stream.body.append(event.data)
                self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                stream = self.streams.get(event.stream_id)
                if stream is not None:
                    self.server.loop.create_task(self._answer(event.stream_id, stream))
            elif isinstance(event, h2.events.StreamReset):
                self._close_stream(event.stream_id)
            elif isinstance(event, h2.events.WindowUpdated):
                for stream_id, stream in self.streams.items():
                    if event.stream_id in (0, stream_id):
                        stream.window.set()
            elif isinstance(event, h2.events.ConnectionTerminated):
                self.transport.close()
        self._flush()

    def connection_lost(self) -> None:
        for stream_id in list(self.streams):
            self._close_stream(stream_id)

    def _close_stream(self, stream_id: int) -> None:
        stream = self.streams.pop(stream_id, None)
        if stream is not None:
            if not stream.closed.done():
                stream.closed.set_result(None)
            stream.window.set()

    async def _answer(self, stream_id: int, stream: _Stream) -> None:
        headers = stream.headers
        path, _, query = headers.get(":path", "/").partition("?")
        headers.setdefault("host", headers.get(":authority", "localhost"))
        request = Request(
            headers.get(":method", "GET"),
            path,
            query,
            {k: v for k, v in headers.items() if not k.startswith(":")},
            b"".join(stream.body),
            self.transport.get_extra_info("peername"),
            stream.closed,
            listener_region=self.region,
            scheme="https" if self.transport.get_extra_info("ssl_object") is not None else "http",
        )
        self.server.in_flight += 1
        try:
            response = self.server.handler(request)
            if type(response) is not Response:
                response = await response
        except Exception:
            log.exception("handler failed")
            response = Response(500, [("content-type", "text/plain")], b"internal error")
        finally:
            self.server.in_flight -= 1
        if stream.closed.done() or self.transport.is_closing():
            return
        try:
            if response is ABORT:
                self.conn.reset_stream(stream_id)
                self._flush()
                return
            await self._send(stream_id, stream, response)
        except h2.exceptions.StreamClosedError:
            pass
        finally:
            self.streams.pop(stream_id, None)

    async def _send(self, stream_id: int, stream: _Stream, response: Response) -> None:
        headers = [(":status", str(response.status))]
        headers += [(name.lower(), value) for name, value in response.headers]
        if response.stream is None:
            headers.append(("content-length", str(len(response.body))))
            self.conn.send_headers(stream_id, headers, end_stream=not response.body)
            self._flush()
            if response.body:
                await self._send_data(stream_id, stream, response.body)
                self.conn.end_stream(stream_id)
                self._flush()
            return
        self.conn.send_headers(stream_id, headers)
        self._flush()
        try:
            async for chunk in response.stream:
                if stream.closed.done():
                    return
                await self._send_data(stream_id, stream, chunk)
        finally:
            close = getattr(response.stream, "aclose", None)
            if close is not None:
                await close()
        if not stream.closed.done():
            self.conn.end_stream(stream_id)
            self._flush()

    async def _send_data(self, stream_id: int, stream: _Stream, data: bytes) -> None:
        view = memoryview(data)
        while view:
            if stream.closed.done():
                return
            window = self.conn.local_flow_control_window(stream_id)
            if window <= 0:
                stream.window.clear()
                await stream.window.wait()
                continue
            size = min(window, self.conn.max_outbound_frame_size, len(view))
            self.conn.send_data(stream_id, bytes(view[:size]))
            self._flush()
            view = view[size:]
