"""The interface every wire protocol implements: parse a request, serialize a result or an error."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gondwana.protocols.errors import ServiceError, Violation, serialization_error
from gondwana.protocols.shapes import NeedPaths
from gondwana.server.messages import Request, Response

if TYPE_CHECKING:
    from gondwana.protocols.spec import OperationSpec
    from gondwana.server.context import RequestContext
    from gondwana.services.base import Service


class WireProtocol:
    name: str
    content_type: str

    def decode(self, op: OperationSpec, request: Request) -> dict[str, Any]:
        """The request body as plain values keyed by model member names (not yet validated)."""
        raise NotImplementedError

    def parse(self, service: Service, op: OperationSpec, request: Request) -> dict[str, Any]:
        """Decode, then bind to the input shape; constraint failures become the service's error.

        Valid input (nearly all of it) is bound once without building member paths; at the first
        violation the request is decoded and bound again with paths, to word every violation."""
        try:
            try:
                return self.bind(service, op, self.decode(op, request), [], path=None)
            except NeedPaths:
                return self.bind(service, op, self.decode(op, request), [])
        except RecursionError:  # nested deeper than the binder follows (the decoders allow ~1,000)
            raise serialization_error() from None

    def bind(
        self,
        service: Service,
        op: OperationSpec,
        params: dict[str, Any],
        violations: list[Violation],
        path: str | None = "",
    ) -> dict[str, Any]:
        """Check `params` against the input shape, adding to the violations the decoding found;
        any violation becomes the service's validation error. With `path` None no member paths
        are built, and the first violation raises NeedPaths instead."""
        binder = op.binder(self.input_codec)
        if binder is not None:
            binder(params, path, violations)
        if violations:
            raise service.validation_error(violations)
        return params

    input_codec: Any

    def serialize(self, ctx: RequestContext, op: OperationSpec, result: dict[str, Any] | None) -> Response:
        raise NotImplementedError

    def serialize_error(self, ctx: RequestContext, error: ServiceError) -> Response:
        raise NotImplementedError


def request_id_headers(ctx: RequestContext, content_type: str) -> list[tuple[str, str]]:
    return [("Content-Type", content_type), ("x-amzn-RequestId", ctx.request_id)]
