"""JSON bytes in and out: orjson on the hot path, the standard library where the two differ.

orjson is several times faster at both ends, but it refuses a few inputs the standard library
takes (NaN, a byte-order mark, lone surrogates, integers beyond 64 bits); those fall back, so what
we accept and produce does not change with the codec.

A `RawJson` in a result is JSON text a service already holds in wire form (DynamoDB's stored
items): orjson copies it into the output as it is, instead of the service decoding it only for it
to be encoded again; the standard-library fallback parses it back, so both write the same value.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import orjson
import pybase64


def epoch_number(value: Any) -> float | int:
    """A timestamp as the AWS JSON protocols send it: epoch seconds, milliseconds at most."""
    if isinstance(value, dt.datetime):
        value = value.timestamp()
    return int(value) if float(value).is_integer() else round(float(value), 3)


class RawJson:
    """JSON text (one complete value, UTF-8 bytes or str) to be written into the output unchanged.

    Only the JSON protocols' serializer understands it: give one only to a JSON response."""

    __slots__ = ("fragment", "text")

    def __init__(self, text: bytes | str) -> None:
        self.text = text
        self.fragment = orjson.Fragment(text)

    def __repr__(self) -> str:
        return f"RawJson({self.text!r})"


def _convert(value: Any) -> Any:
    """What the models' blobs (bytes: base64) and timestamps (datetimes: epoch seconds) become."""
    if type(value) is RawJson:
        return value.fragment
    if isinstance(value, bytes | bytearray | memoryview):
        return pybase64.b64encode_as_string(value)
    if isinstance(value, dt.datetime):
        return epoch_number(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _std_convert(value: Any) -> Any:
    if type(value) is RawJson:
        return json.loads(value.text)  # the standard library reads what orjson refuses (surrogates)
    return _convert(value)


_std_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_std_convert).encode
_ascii_dumps = json.JSONEncoder(separators=(",", ":"), default=_std_convert).encode
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME  # datetimes as epoch seconds (_convert), not ISO text


def loads(data: bytes | str) -> Any:
    """Parse JSON; raises ValueError (or UnicodeDecodeError) on malformed input, and on nesting
    deeper than orjson's 1,024 levels (where the standard library would overflow the stack)."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        try:
            return json.loads(data)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON (non-ASCII unescaped, as AWS sends it); bytes become base64 text and
    datetimes epoch seconds, as the AWS JSON protocols send blobs and timestamps."""
    try:
        return orjson.dumps(value, default=_convert, option=_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError: big integers, lone surrogates, subclasses it skips
        text = _std_dumps(value)
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: as \u escapes (the only valid UTF-8 form)
            return _ascii_dumps(value).encode("ascii")
