"""AWS JSON 1.0 / 1.1 and its CBOR twin (`application/x-amz-cbor-1.1`).

Both carry the operation in `X-Amz-Target` and the input as one object keyed by member names;
they differ only in the codec: JSON sends blobs as base64 and timestamps as epoch seconds, CBOR
sends blobs as byte strings and timestamps as tag-1 epoch values.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gondwana.protocols import json_codec
from gondwana.protocols.base import WireProtocol, request_id_headers
from gondwana.protocols.errors import ServiceError, serialization_error
from gondwana.protocols.eventstream import CONTENT_TYPE as EVENTSTREAM_TYPE
from gondwana.protocols.eventstream import stream_events
from gondwana.protocols.shapes import (
    CBOR_INPUT,
    JSON_INPUT,
    JSON_OUTPUT,
    OutputCodec,
    compile_encoder,
    epoch_millis,
)
from gondwana.server.messages import Request, Response

if TYPE_CHECKING:
    from gondwana.protocols.spec import OperationSpec
    from gondwana.server.context import RequestContext


def decode_json_object(body: bytes) -> dict[str, Any]:
    """A JSON body that must be an object (Coral's SerializationException otherwise)."""
    try:
        value = json_codec.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise serialization_error() from None
    if type(value) is not dict:
        raise serialization_error("Start of structure or map expected")
    return value


def _error_type(ctx: RequestContext, error: ServiceError) -> str:
    if error.type_name is not None:
        if ctx.service is not None and ctx.service.bare_error_types:
            return error.type_name.rsplit("#", 1)[-1]
        return error.type_name
    namespace = ctx.service.error_namespace if ctx.service is not None else ""
    return namespace + error.code


def _error_fields(
    ctx: RequestContext, error: ServiceError
) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
    """Status, body members and extra headers shared by the JSON and CBOR error forms."""
    extra: list[tuple[str, str]] = []
    if ctx.service is not None and error.type_name is None:
        info = ctx.service.error_info(error.code)
        status = error.status or info.status
        key = info.message_key
        query_code = error.query_code or info.query_code
        sender = info.sender_fault if error.sender_fault is None else error.sender_fault
    else:
        status = error.status or 400
        key = "message"
        query_code = error.query_code or error.code
        sender = error.sender_fault is not False
    body: dict[str, Any] = {"__type": _error_type(ctx, error)}
    if error.message is not None:
        body[key] = error.message
    if error.fields:
        body.update(error.fields)
    if ctx.service is not None and ctx.service.spec.query_compatible:
        extra.append(("x-amzn-query-error", f"{query_code};{'Sender' if sender else 'Receiver'}"))
    if error.headers:
        extra.extend(error.headers.items())
    return status, body, extra


class JsonProtocol(WireProtocol):
    input_codec = JSON_INPUT

    def __init__(self, version: str) -> None:
        self.name = f"json{version}"
        self.content_type = f"application/x-amz-json-{version}"

    def decode(self, op: OperationSpec, request: Request) -> dict[str, Any]:
        body = request.body
        # isspace() stops at the first other byte; strip() would copy the whole body
        return decode_json_object(body) if body and not body.isspace() else {}

    def _response(
        self, ctx: RequestContext, status: int, payload: bytes, extra: list[tuple[str, str]]
    ) -> Response:
        headers = request_id_headers(ctx, self.content_type)
        if ctx.service is not None and ctx.service.crc32:
            headers.append(("x-amz-crc32", str(zlib.crc32(payload))))
        headers.extend(extra)
        return Response(status, headers, payload)

    def serialize(self, ctx: RequestContext, op: OperationSpec, result: dict[str, Any] | None) -> Response:
        if op.event_stream is not None and result and op.event_stream[0] in result:
            return self._event_stream(ctx, op, result)
        if result:
            encoder = op.encoder(JSON_OUTPUT)
            payload = json_codec.dumps(encoder(result) if encoder else result)
        else:
            payload = b"{}"
        return self._response(ctx, 200, payload, [])

    def serialize_error(self, ctx: RequestContext, error: ServiceError) -> Response:
        status, body, extra = _error_fields(ctx, error)
        return self._response(ctx, status, json_codec.dumps(body), extra)

    def _event_stream(self, ctx: RequestContext, op: OperationSpec, result: dict[str, Any]) -> Response:
        return event_stream_response(ctx, op, result, JSON_OUTPUT, json_codec.dumps, "application/json")


def event_stream_response(
    ctx: RequestContext,
    op: OperationSpec,
    result: dict[str, Any],
    codec: OutputCodec,
    dump: Callable[[Any], bytes],
    content_type: str,
) -> Response:
    """The result's event-stream member is an async iterator of (event name, event members); each
    message's payload is encoded like a response body of the request's protocol (JSON or CBOR)."""
    member, union = op.event_stream  # type: ignore[misc]
    rest = dict(result)
    events = rest.pop(member)
    shapes = op.spec.shapes

    def encode(shape_name: str, value: dict[str, Any]) -> bytes:
        key = ("event_encoder", codec.name, shape_name)
        if key not in op.cache:
            op.cache[key] = compile_encoder(shapes, shape_name, codec)
        encoder = op.cache[key]
        return dump(encoder(value) if encoder else value)

    def encode_event(name: str, event: dict[str, Any]) -> bytes:
        return encode(shapes[union]["members"][name]["shape"], event)

    def encode_error(error: ServiceError) -> bytes:
        return dump({"message": error.message or ""})

    initial = encode(op.output_shape, rest) if op.output_shape else dump({})  # type: ignore[arg-type]
    body = stream_events(initial, events, encode_event, encode_error, content_type)
    return Response(200, request_id_headers(ctx, EVENTSTREAM_TYPE), stream=body)


# AWS's CBOR (`application/x-amz-cbor-1.1`, spoken by the Java SDKs) carries timestamps as tag 1
# with epoch *milliseconds* both ways (the SDKs' UNIX_TIMESTAMP_MILLIS payload format).
def _cbor_timestamp(value: Any) -> Any:
    import cbor2

    return cbor2.CBORTag(1, epoch_millis(value))


def _raw_epoch(value: Any, immutable: bool) -> Any:
    """Keep tag 1 raw (cbor2 would read its milliseconds as seconds); the binder converts it."""
    import cbor2

    return cbor2.CBORTag(1, value)


CBOR_OUTPUT = OutputCodec("cbor", bytes, _cbor_timestamp)


class CborProtocol(WireProtocol):
    name = "cbor1.1"
    content_type = "application/x-amz-cbor-1.1"
    input_codec = CBOR_INPUT

    def decode(self, op: OperationSpec, request: Request) -> dict[str, Any]:
        import cbor2  # imported on the first CBOR request: most clients never send one

        if not request.body:
            return {}
        try:
            params = cbor2.loads(request.body, semantic_decoders={1: _raw_epoch})
        except Exception:  # cbor2 raises a family of decode errors and ValueErrors
            raise serialization_error() from None
        if type(params) is not dict:
            raise serialization_error("Start of structure or map expected")
        return params

    def serialize(self, ctx: RequestContext, op: OperationSpec, result: dict[str, Any] | None) -> Response:
        import cbor2

        if op.event_stream is not None and result and op.event_stream[0] in result:
            return event_stream_response(ctx, op, result, CBOR_OUTPUT, cbor2.dumps, self.content_type)
        encoder = op.encoder(CBOR_OUTPUT)
        value = (encoder(result) if encoder else result) if result else {}
        return Response(200, request_id_headers(ctx, self.content_type), cbor2.dumps(value))

    def serialize_error(self, ctx: RequestContext, error: ServiceError) -> Response:
        import cbor2

        status, body, extra = _error_fields(ctx, error)
        return Response(status, request_id_headers(ctx, self.content_type) + extra, cbor2.dumps(body))


JSON_1_0 = JsonProtocol("1.0")
JSON_1_1 = JsonProtocol("1.1")
CBOR = CborProtocol()
