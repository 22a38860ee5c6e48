"""Gondwana's own control API under /_gondwana/: health, reset, and the test clock."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from gondwana import __version__
from gondwana.runtime import Runtime
from gondwana.server.messages import Request, Response, json_response


def _json(value: Any, status: int = 200) -> Response:
    return json_response(json.dumps(value).encode(), status)


class InternalApi:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.routes: dict[tuple[str, str], Callable[[Request], Awaitable[Response]]] = {
            ("GET", "/_gondwana/health"): self.health,
            ("POST", "/_gondwana/reset"): self.reset,
            ("GET", "/_gondwana/clock"): self.get_clock,
            ("POST", "/_gondwana/clock"): self.set_clock,
        }

    async def handle(self, request: Request) -> Response:
        route = self.routes.get((request.method, request.path.rstrip("/")))
        if route is None:
            known = {path for _, path in self.routes}
            if request.path.rstrip("/") in known:
                return _json({"error": f"method {request.method} not allowed"}, 405)
            return _json({"error": f"no such endpoint: {request.path}"}, 404)
        return await route(request)

    async def health(self, request: Request) -> Response:
        runtime = self.runtime
        settings = runtime.settings
        return _json(
            {
                "version": __version__,
                "uptime": round(time.time() - runtime.started, 3),
                "services": {name: service.health() for name, service in runtime.services.items()},
                "storage": {"path": runtime.store.location, "durability": settings.durability},
                "regions": "all",
                "default_region": settings.default_region,
                "auth": settings.auth,
                "state_delay_ms": settings.state_delay_ms,
            }
        )

    async def reset(self, request: Request) -> Response:
        self.runtime.reset()
        return _json({"reset": True})

    async def get_clock(self, request: Request) -> Response:
        return _json({"now": self.runtime.now(), "offset": self.runtime.clock.offset})

    async def set_clock(self, request: Request) -> Response:
        """Advance the server's clock by `advance` seconds, so tests can cross AWS's time windows
        (60 s queue-name reuse, 5-minute dedup, 24 h retention) without waiting."""
        try:
            body = json.loads(request.body or b"{}")
            seconds = float(body["advance"])
        except (ValueError, KeyError, TypeError):
            return _json({"error": 'expected {"advance": <seconds>}'}, 400)
        if seconds < 0:
            return _json({"error": "the clock only moves forward"}, 400)
        self.runtime.clock.advance(seconds)
        for listener in self.runtime.clock_listeners:
            listener()
        return _json({"now": self.runtime.now(), "offset": self.runtime.clock.offset})
