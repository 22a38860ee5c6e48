"""AWS event streams (`application/vnd.amazon.eventstream`): the binary message framing and the
streaming responses of JSON operations whose output has an event-stream member (Kinesis
SubscribeToShard).

A message is: total length (4 bytes), headers length (4), CRC32 of those 8 bytes, the headers,
the payload, and a CRC32 of everything before it. Headers here are all strings (type 7).

A provider returns the event-stream member as an async iterator of `(event name, event dict)`;
it may raise `ServiceError` to end the stream with an exception message. The first message is
the `initial-response` event carrying the output's other members, as botocore expects.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from gondwana.protocols.errors import ServiceError
from gondwana.protocols.shapes import JSON_OUTPUT, compile_encoder

if TYPE_CHECKING:
    from gondwana.protocols.spec import OperationSpec

CONTENT_TYPE = "application/vnd.amazon.eventstream"
_STRING = 7
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def encode_headers(headers: list[tuple[str, str]]) -> bytes:
    out = bytearray()
    for name, value in headers:
        raw_name, raw_value = name.encode("utf-8"), value.encode("utf-8")
        out += struct.pack(">B", len(raw_name)) + raw_name
        out += struct.pack(">BH", _STRING, len(raw_value)) + raw_value
    return bytes(out)


def frame(headers: list[tuple[str, str]], payload: bytes) -> bytes:
    raw_headers = encode_headers(headers)
    total = 12 + len(raw_headers) + len(payload) + 4
    prelude = struct.pack(">II", total, len(raw_headers))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + raw_headers + payload
    return message + struct.pack(">I", zlib.crc32(message))


def event_message(event_type: str, payload: dict[str, Any]) -> bytes:
    headers = [(":message-type", "event"), (":event-type", event_type), (":content-type", "application/json")]
    return frame(headers, _dumps(payload).encode("utf-8"))


def exception_message(error: ServiceError) -> bytes:
    headers = [
        (":message-type", "exception"),
        (":exception-type", error.code),
        (":content-type", "application/json"),
    ]
    return frame(headers, _dumps({"message": error.message or error.code}).encode("utf-8"))


def event_stream_member(op: OperationSpec) -> str | None:
    """The output member that is an event stream, if the operation has one."""
    found = op.cache.get("eventstream", False)
    if found is False:
        found = None
        shapes = op.spec.shapes
        if op.output_shape is not None:
            for member, spec in shapes[op.output_shape].get("members", {}).items():
                if shapes[spec["shape"]].get("eventstream"):
                    found = member
        op.cache["eventstream"] = found
    return found


async def json_events(op: OperationSpec, member: str, result: dict[str, Any]) -> AsyncIterator[bytes]:
    """The framed messages of a JSON event-stream response."""
    shapes = op.spec.shapes
    union = shapes[shapes[op.output_shape or ""]["members"][member]["shape"]]["members"]
    encoders = op.cache.setdefault("event_encoders", {})
    events: AsyncIterator[tuple[str, dict[str, Any]]] = result[member]
    initial = {k: v for k, v in result.items() if k != member}
    yield event_message("initial-response", initial)
    try:
        async for name, body in events:
            encoder = encoders.get(name, False)
            if encoder is False:
                encoder = encoders[name] = compile_encoder(shapes, union[name]["shape"], JSON_OUTPUT)
            yield event_message(name, encoder(body) if encoder else body)
    except ServiceError as error:
        yield exception_message(error)
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()
