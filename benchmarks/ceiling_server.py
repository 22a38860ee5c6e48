"""The machine's ceiling: the simplest fast Python HTTP/1.1 server, answering `{}` to everything.

uvloop + httptools, one asyncio.Protocol, a constant response, keep-alive. The benchmark drives it
with the same load generator and requests as the real workloads: no Python server on this machine
can answer faster, so `workload req/s ÷ ceiling req/s` says how much the full stack costs.

    python benchmarks/ceiling_server.py --port 8080
"""

from __future__ import annotations

import argparse
import asyncio

import httptools
import uvloop

HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: 2\r\n"
RESPONSE = HEAD + b"\r\n{}"
CLOSE = HEAD + b"Connection: close\r\n\r\n{}"


class Ceiling(asyncio.Protocol):
    __slots__ = ("parser", "transport")

    def __init__(self) -> None:
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            assert self.transport is not None
            self.transport.close()

    def on_message_complete(self) -> None:
        assert self.transport is not None
        if self.parser.should_keep_alive():
            self.transport.write(RESPONSE)
        else:
            self.transport.write(CLOSE)
            self.transport.close()


async def serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Ceiling, host, port, backlog=1024)
    bound = server.sockets[0].getsockname()[1]
    print(f"ceiling listening on http://{host}:{bound}", flush=True)
    await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    uvloop.install()
    try:
        asyncio.run(serve(args.host, args.port))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
