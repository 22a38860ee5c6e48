"""Gondwana's own control API under /_gondwana/: health, reset, the test clock, faults."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any
from urllib.parse import unquote

from gondwana import __version__
from gondwana.faults import FaultError
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
            ("GET", "/_gondwana/faults"): self.list_faults,
            ("POST", "/_gondwana/faults"): self.add_fault,
            ("DELETE", "/_gondwana/faults"): self.clear_faults,
        }

    async def handle(self, request: Request) -> Response:
        if request.method == "DELETE" and request.path.startswith("/_gondwana/faults/"):
            return await self.remove_fault(request)
        route = self.routes.get((request.method, request.path.rstrip("/")))
        if route is None:
            contributed = self._service_route(request.method, request.path.rstrip("/"))
            if contributed is not None:
                return await self._call_service_route(contributed, request)
            known = {path for _, path in self.routes}
            if request.path.rstrip("/") in known:
                return _json({"error": f"method {request.method} not allowed"}, 405)
            return _json({"error": f"no such endpoint: {request.path}"}, 404)
        return await route(request)

    def _service_route(self, method: str, path: str) -> Callable[[Any], tuple[int, Any]] | None:
        """A route a service contributes: its `control_routes()` maps (method, path) to a callable
        taking the parsed JSON body (None when empty) and returning (status, JSON value)."""
        for service in self.runtime.services.values():
            routes = getattr(service, "control_routes", None)
            handler = routes().get((method, path)) if routes else None
            if handler is not None:
                return handler
        return None

    async def _call_service_route(
        self, handler: Callable[[Any], tuple[int, Any]], request: Request
    ) -> Response:
        try:
            body = json.loads(request.body) if request.body else None
        except ValueError:
            return _json({"error": "expected a JSON body"}, 400)
        status, value = handler(body)
        return _json(value, status)

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
                "faults": runtime.faults.snapshot(),
                "region_ports": settings.region_ports,
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

    # ---- faults --------------------------------------------------------------------------------

    async def list_faults(self, request: Request) -> Response:
        return _json({"faults": self.runtime.faults.snapshot()})

    async def add_fault(self, request: Request) -> Response:
        """Inject a fault: {"type": "region-down", "region": r, "mode": "error|hang|refuse"},
        {"type": "partition", "regions": [a, b]}, {"type": "lag", "from": a, "to": b, "ms": n},
        {"type": "throttle", "region": r, "fraction": f}."""
        try:
            spec = json.loads(request.body or b"{}")
            if not isinstance(spec, dict):
                raise FaultError("expected a JSON object")
            fault = self.runtime.faults.add(spec)
        except (ValueError, FaultError) as exc:
            return _json({"error": str(exc)}, 400)
        return _json({"fault": asdict(fault)})

    async def remove_fault(self, request: Request) -> Response:
        fault_id = unquote(request.path.removeprefix("/_gondwana/faults/"))
        if not self.runtime.faults.remove(fault_id):
            return _json({"error": f"no fault {fault_id}"}, 404)
        return _json({"removed": fault_id})

    async def clear_faults(self, request: Request) -> Response:
        self.runtime.faults.clear()
        return _json({"faults": []})
