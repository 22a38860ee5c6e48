"""HTTP request and response values passed between the server, the chain and the protocols."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Generator
from dataclasses import dataclass, field
from typing import Any
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


class Pending:
    """A response that a callback will supply (a write's, once its group commit is done): the
    HTTP layer registers `then` and is called back synchronously, with no future, task or extra
    loop pass; code that prefers to wait can `await` it."""

    __slots__ = ("_callbacks", "response")

    def __init__(self) -> None:
        self.response: Response | None = None
        self._callbacks: list[Callable[[Response], None]] = []

    def then(self, callback: Callable[[Response], None]) -> None:
        if self.response is not None:
            callback(self.response)
        else:
            self._callbacks.append(callback)

    def resolve(self, response: Response) -> None:
        self.response = response
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback(response)

    def __await__(self) -> Generator[Any, None, Response]:
        if self.response is None:
            future: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
            self.then(lambda response: future.done() or future.set_result(response))
            return (yield from future)
        return self.response


# Answer nothing and reset the connection (a region that is down in "refuse" mode).
ABORT = Response(status=0)


def json_response(body: bytes, status: int = 200) -> Response:
    return Response(status, [("Content-Type", "application/json")], body)
