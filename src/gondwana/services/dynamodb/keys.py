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
FIRST: Where = (-1, b"", b"")  # before a table's first key: where a walk in key order starts

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


# A part of a multi-attribute key: its bytes with 0x00 escaped as 00 FF, then the terminator 00 01,
# which sorts below any continuation: the concatenated parts compare as the tuple of values does.
END = b"\x00\x01"


def encode_part(value: dict[str, Any]) -> bytes:
    """`encode(value)` made self-delimiting, for keys of several attributes (GSIs since 2025-11)."""
    return encode(value).replace(b"\x00", b"\x00\xff") + END


def encode_parts(values: list[dict[str, Any]]) -> bytes:
    """The sortable bytes of one key made of several attributes; one alone is encoded as it is."""
    if len(values) == 1:
        return encode(values[0])
    return b"".join(map(encode_part, values))


Bounds = tuple[bytes | None, bool, bytes | None, bool]  # (low, inclusive, high, inclusive); None: open


def successor(prefix: bytes) -> bytes | None:
    """The least byte string above every string that starts with `prefix` (None: there is none)."""
    trimmed = prefix.rstrip(b"\xff")
    return trimmed[:-1] + bytes([trimmed[-1] + 1]) if trimmed else None


def sort_bounds(ranges: tuple[tuple[str, str, list[dict[str, Any]]], ...], parts: int) -> Bounds:
    """The encoded sort keys a key condition's RANGE conditions select, for a sort key of `parts`
    attributes: equality on the leading ones (a prefix), then one condition on the next."""
    if not ranges:
        return None, True, None, True
    _, op, values = ranges[-1]
    if parts == 1:
        one = encode(values[0])
        return {
            "=": (one, True, one, True),
            "<": (None, True, one, False),
            "<=": (None, True, one, True),
            ">": (one, False, None, True),
            ">=": (one, True, None, True),
            "BETWEEN": (one, True, encode(values[-1]), True),
            "begins_with": (one, True, successor(one), False),
        }[op]
    prefix = b"".join(encode_part(value) for _, _, (value,) in ranges[:-1])
    if op == "begins_with":
        start = prefix + encode_part(values[0])[: -len(END)]
        return start, True, successor(start), False
    first, last = prefix + encode_part(values[0]), prefix + encode_part(values[-1])
    low, high = prefix or None, successor(prefix) if prefix else None  # the prefix's own range
    return {
        "=": (first, True, successor(first), False),
        "<": (low, True, first, False),
        "<=": (low, True, successor(first), False),
        ">": (successor(first), True, high, False),
        ">=": (first, True, high, False),
        "BETWEEN": (first, True, successor(last), False),
    }[op]


def within(bounds: Bounds, key: bytes) -> bool:
    low, low_in, high, high_in = bounds
    if low is not None and (key < low or (key == low and not low_in)):
        return False
    return high is None or key < high or (key == high and high_in)


def spread(hash_bytes: bytes) -> int:
    """Where a partition key falls in the key space (0..2^32-1): scan order and parallel segments."""
    return zlib.crc32(hash_bytes)


def segment_bounds(segment: int, total: int) -> tuple[int, int]:
    """The slice [lo, hi) of the key space that parallel scan segment `segment` of `total` covers."""
    size = 1 << 32
    return segment * size // total, (segment + 1) * size // total


def stored(where: Where) -> list[Any]:
    """A walk's position as kept in a description or a row (JSON: the keys in hex)."""
    return [where[0], where[1].hex(), where[2].hex()]


def position(kept: list[Any]) -> Where:
    """A walk's position from its `stored` form."""
    return (kept[0], bytes.fromhex(kept[1]), bytes.fromhex(kept[2]))


def items_after(columns: str) -> str:
    """The next ?5 items of table ?1 after position (?2, ?3, ?4), in key order: a walk's chunk."""
    return (
        f"SELECT {columns} FROM dynamodb_items "
        "WHERE tid = ?1 AND (spread, hk, rk) > (?2, ?3, ?4) ORDER BY spread, hk, rk LIMIT ?5"
    )
