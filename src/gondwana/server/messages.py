"""HTTP request and response values passed between the server, the chain and the protocols."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import parse_qsl


@dataclass(slots=True)
class Request:
    method: str
    path: str  # percent-encoded, without the query string
    query_string: str  # raw, percent-encoded
    headers: dict[str, str]  # names lower-cased; repeated headers joined with ","
    body: bytes
    client: tuple[str, int] | None = None
    # Resolved when the client's connection closes, so a long poll can give up its waiter.
    disconnected: asyncio.Future[None] | None = None
    scheme: str = "http"
    listener_region: str | None = None  # set when the request came in on a region's own port
    _query: dict[str, str] | None = field(default=None, repr=False)
    _form: dict[str, str] | None = field(default=None, repr=False)  # protocols/query.form_params

    @property
    def query(self) -> dict[str, str]:
        if self._query is None:
            self._query = dict(parse_qsl(self.query_string, keep_blank_values=True))
        return self._query

    @property
    def host(self) -> str:
        return self.headers.get("host", "localhost")


@dataclass(slots=True)
class Response:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    # When set, the body is streamed with chunked transfer encoding (event streams).
    stream: AsyncIterator[bytes] | None = None


# Answer nothing and reset the connection (a region that is down in "refuse" mode).
ABORT = Response(status=0)


def json_response(body: bytes, status: int = 200) -> Response:
    return Response(status, [("Content-Type", "application/json")], body)
