"""AWS event streams (`application/vnd.amazon.eventstream`), as Kinesis SubscribeToShard sends them.

A message is: total length (4 bytes), headers length (4), CRC-32 of those 8 bytes, headers,
payload, CRC-32 of everything before it. A header is a 1-byte name length, the name, a type byte
(7 = string) and a 2-byte-length-prefixed value. For the JSON protocols the stream starts with an
`initial-response` event holding the output's other members, then one `event` message per event
(`:event-type` = the member name of the event in the stream's union shape), and may end with an
`exception` message (`:exception-type` = the error shape's name).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from gondwana.protocols.errors import ServiceError

CONTENT_TYPE = "application/vnd.amazon.eventstream"
_STRING = 7


def encode_message(headers: dict[str, str], payload: bytes) -> bytes:
    encoded = bytearray()
    for name, value in headers.items():
        raw_name, raw_value = name.encode(), value.encode()
        encoded += (
            struct.pack("!B", len(raw_name))
            + raw_name
            + struct.pack("!BH", _STRING, len(raw_value))
            + raw_value
        )
    total = 12 + len(encoded) + len(payload) + 4
    prelude = struct.pack("!II", total, len(encoded))
    message = prelude + struct.pack("!I", zlib.crc32(prelude)) + bytes(encoded) + payload
    return message + struct.pack("!I", zlib.crc32(message))


def event_message(event_type: str, payload: bytes, content_type: str) -> bytes:
    return encode_message(
        {":message-type": "event", ":event-type": event_type, ":content-type": content_type}, payload
    )


def exception_message(error: ServiceError, payload: bytes, content_type: str) -> bytes:
    return encode_message(
        {":message-type": "exception", ":exception-type": error.code, ":content-type": content_type}, payload
    )


async def stream_events(
    initial: bytes,
    events: AsyncIterator[tuple[str, dict[str, Any]]],
    encode_event: Callable[[str, dict[str, Any]], bytes],
    encode_error: Callable[[ServiceError], bytes],
    content_type: str,
) -> AsyncIterator[bytes]:
    """The body of an event-stream response: initial-response, the events, maybe an exception."""
    yield event_message("initial-response", initial, content_type)
    try:
        async for name, event in events:
            yield event_message(name, encode_event(name, event), content_type)
    except ServiceError as error:
        yield exception_message(error, encode_error(error), content_type)
    finally:
        close = getattr(events, "aclose", None)
        if close is not None:
            await close()
