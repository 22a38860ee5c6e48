"""Key encoding for SQLite: byte strings whose memcmp order is DynamoDB's order for S, N and B.

S sorts by its UTF-8 bytes and B by its unsigned bytes, so both are stored as they are. N becomes a
sign byte, a biased exponent and the digit string; negative numbers have exponent and digits
complemented and a terminator that puts shorter mantissas after their extensions.
"""

from __future__ import annotations

import zlib
from decimal import Decimal
from typing import Any

Where = tuple[int, bytes, bytes]  # an item's encoded key: (spread, hk, rk)

_NEG, _ZERO, _POS = b"\x01", b"\x02", b"\x03"


def encode_number(text: str) -> bytes:
    value = Decimal(text)
    if value.is_zero():
        return _ZERO
    sign, digits, exponent = value.as_tuple()
    stripped = "".join(map(str, digits)).rstrip("0")
    adjusted = exponent + len(digits) - 1  # type: ignore[operator]
    biased = adjusted + 1000
    if not sign:
        return _POS + biased.to_bytes(2, "big") + stripped.encode()
    flipped = bytes(0x39 - b + 0x30 for b in stripped.encode())  # '0'..'9' -> '9'..'0'
    return _NEG + (65535 - biased).to_bytes(2, "big") + flipped + b"\xff"


def encode(value: dict[str, Any]) -> bytes:
    """The sortable bytes of a key attribute value (S, N or B)."""
    ((kind, raw),) = value.items()
    if kind == "S":
        return raw.encode("utf-8", "surrogatepass")  # a lone surrogate sorts as its 3 bytes
    if kind == "B":
        return bytes(raw)
    return encode_number(raw)


def spread(hash_bytes: bytes) -> int:
    """Where a partition key falls in the key space (0..2^32-1): scan order and parallel segments."""
    return zlib.crc32(hash_bytes)


def segment_bounds(segment: int, total: int) -> tuple[int, int]:
    """The slice [lo, hi) of the key space that parallel scan segment `segment` of `total` covers."""
    size = 1 << 32
    return segment * size // total, (segment + 1) * size // total
