"""JSON bytes in and out: orjson on the hot path, the standard library where the two differ.

orjson is several times faster at both ends, but it refuses a few inputs the standard library
takes (NaN, a byte-order mark, lone surrogates, integers beyond 64 bits); those fall back, so what
we accept and produce does not change with the codec.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_std_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def loads(data: bytes | str) -> Any:
    """Parse JSON; raises ValueError (or UnicodeDecodeError) on malformed input."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON (non-ASCII unescaped, as AWS sends it)."""
    try:
        return orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError: big integers, lone surrogates, subclasses it skips
        return _std_dumps(value).encode("utf-8", "surrogatepass")
