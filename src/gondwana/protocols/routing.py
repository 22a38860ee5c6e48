"""Which service, operation and wire protocol a request is for.

In order: `X-Amz-Target` (JSON 1.0/1.1 and CBOR), then a form `Action` (query), with the service
named by the SigV4 credential scope or the host name. REST protocols (method + path) register
their operations' URI templates here when the first such service lands.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from gondwana.protocols.base import WireProtocol
from gondwana.protocols.errors import ServiceError, unknown_operation
from gondwana.protocols.json_protocol import CBOR, JSON_1_0, JSON_1_1
from gondwana.protocols.query import QUERY, form_params
from gondwana.protocols.rest import REST_JSON, REST_XML, RestRoute, compile_routes, match_route
from gondwana.server.messages import Request

if TYPE_CHECKING:
    from gondwana.protocols.spec import OperationSpec
    from gondwana.server.context import RequestContext
    from gondwana.services.base import Service

FORM = "application/x-www-form-urlencoded"
JSON_TYPES = ("application/x-amz-json-1.0", "application/x-amz-json-1.1", "application/json")
CBOR_TYPE = "application/x-amz-cbor-1.1"


class NotFound(Exception):
    """Nothing here answers this request (AWS's front end answers 404)."""


class Router:
    def __init__(self, services: Iterable[Service]) -> None:
        self.by_target: dict[str, Service] = {}
        self.by_signing_name: dict[str, list[Service]] = {}
        self.by_endpoint: dict[str, Service] = {}
        self.query_services: list[Service] = []
        self.rest_services: list[Service] = []
        # (X-Amz-Target, Content-Type) -> (service, operation, protocol) of requests routed before
        self._targets: dict[tuple[str, str | None], tuple[Any, Any, Any]] = {}
        self._routes: dict[str, list[RestRoute]] = {}
        for service in services:
            if service.target_prefix:
                self.by_target[service.target_prefix] = service
            self.by_signing_name.setdefault(service.signing_name, []).append(service)
            self.by_endpoint[service.endpoint_prefix] = service
            if service.speaks_query:
                self.query_services.append(service)
            if service.speaks_rest:
                self.rest_services.append(service)

    def route(self, request: Request, ctx: RequestContext) -> None:
        """Fill ctx.service, ctx.operation and ctx.protocol, or raise ServiceError / NotFound."""
        headers = request.headers
        target = headers.get("x-amz-target")
        if target is not None and request.method == "POST":
            known = self._targets.get((target, headers.get("content-type")))
            if known is not None:
                ctx.service, ctx.operation, ctx.protocol = known
                return
        content_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if target is not None and content_type != FORM:
            self._route_target(request, ctx, target, content_type)
        elif content_type == FORM or "Action=" in request.query_string:
            self._route_query(request, ctx)
        elif self.rest_services:
            self._route_rest(request, ctx)
        else:
            raise NotFound()

    def _route_target(self, request: Request, ctx: RequestContext, target: str, content_type: str) -> None:
        prefix, _, name = target.rpartition(".")
        service = self.by_target.get(prefix)
        if content_type == CBOR_TYPE:
            ctx.protocol = CBOR
        elif service is not None:
            ctx.protocol = JSON_1_1 if service.spec.json_version == "1.1" else JSON_1_0
        else:
            ctx.protocol = JSON_1_0
        if request.method != "POST" or (
            request.body and content_type not in JSON_TYPES and ctx.protocol is not CBOR
        ):
            raise NotFound()
        if service is None:
            raise unknown_operation()
        ctx.service = service
        op = service.spec.operation(name)
        if op is None:
            raise unknown_operation()
        ctx.operation = op
        if (content_type in JSON_TYPES or ctx.protocol is CBOR) and len(self._targets) < 4096:
            # Remembered only when the body could not change the outcome.
            self._targets[target, request.headers.get("content-type")] = (service, op, ctx.protocol)

    def _route_query(self, request: Request, ctx: RequestContext) -> None:
        ctx.protocol = QUERY
        action = form_params(request).get("Action")
        service = self._query_service(request, ctx, action)
        if service is None:
            raise NotFound()
        ctx.service = service
        if not action:
            raise ServiceError(
                "MissingAction", "Could not find operation to perform.", status=400, type_name=""
            )
        op: OperationSpec | None = service.spec.operation(action)
        if op is None:
            raise ServiceError(
                "InvalidAction",
                f"The action {action} is not valid for this web service.",
                status=400,
                type_name="",
                query_code="InvalidAction",
            )
        ctx.operation = op

    def _route_rest(self, request: Request, ctx: RequestContext) -> None:
        """Method + path against the REST services' URI templates: the credential scope's (or the
        host's) service first, then every REST service."""
        preferred: list[Service] = []
        if ctx.credential is not None and ctx.credential.service:
            preferred = [s for s in self.by_signing_name.get(ctx.credential.service, []) if s.speaks_rest]
        label = request.host.split(".", 1)[0]
        if not preferred and label in self.by_endpoint and self.by_endpoint[label].speaks_rest:
            preferred = [self.by_endpoint[label]]
        for service in preferred or self.rest_services:
            routes = self._routes.get(service.name)
            if routes is None:
                routes = self._routes[service.name] = compile_routes(service.spec)
            route = match_route(routes, request)
            if route is not None:
                ctx.service = service
                ctx.operation = service.spec.operation(route.operation)
                ctx.protocol = REST_XML if service.spec.protocol == "rest-xml" else REST_JSON
                return
        raise NotFound()

    def _query_service(self, request: Request, ctx: RequestContext, action: str | None) -> Service | None:
        candidates = [s for s in self.query_services]
        if ctx.credential is not None and ctx.credential.service:
            named = [s for s in self.by_signing_name.get(ctx.credential.service, []) if s.speaks_query]
            if named:
                return named[0]
        label = request.host.split(".", 1)[0]
        if label in self.by_endpoint and self.by_endpoint[label].speaks_query:
            return self.by_endpoint[label]
        if action:
            owners = [s for s in candidates if s.spec.operation(action) is not None]
            if len(owners) == 1:
                return owners[0]
        return candidates[0] if len(candidates) == 1 else None


def protocol_for(service: Service | None) -> WireProtocol:
    """The protocol to answer in when routing failed before one was chosen."""
    if service is not None:
        protocol = service.spec.protocol
        if protocol == "query":
            return QUERY
        if protocol == "rest-json":
            return REST_JSON
        if protocol == "rest-xml":
            return REST_XML
    return JSON_1_0
