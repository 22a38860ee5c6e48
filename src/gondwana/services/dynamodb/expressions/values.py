"""Comparison, equality, size and arithmetic on wire-form attribute values.

Values are the wire dicts (`{"S": "x"}`, `{"N": "1.5"}`, `{"B": b"..."}`, ...). DynamoDB orders
strings by their UTF-8 bytes, numbers numerically and binaries as unsigned bytes; sets are equal
regardless of member order; numbers are exact decimals of at most 38 significant digits.
"""

from __future__ import annotations

from decimal import Context, Decimal, InvalidOperation
from typing import Any

from gondwana.services.dynamodb.expressions.errors import validation

Value = dict[str, Any]

SETS = {"SS": "S", "NS": "N", "BS": "B"}
ORDERED = ("S", "N", "B")
# Wide enough that sums of 38-digit numbers are exact; the range check below does the rest.
_EXACT = Context(prec=400)
OVERFLOW = "Number overflow. Attempting to store a number with magnitude larger than supported range"


def type_of(value: Value) -> str:
    for key in value:
        return key
    raise validation("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes")


def decimal_of(text: str) -> Decimal:
    try:
        return Decimal(text)
    except (InvalidOperation, TypeError):
        raise validation(f"The parameter cannot be converted to a numeric value: {text}") from None


def format_number(value: Decimal) -> str:
    """Check DynamoDB's number limits and render as AWS returns numbers ("2.5", "100", "0")."""
    if value.is_zero():
        return "0"
    value = value.normalize(_EXACT)
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    magnitude = exponent + len(digits) - 1
    if magnitude > 125:
        raise validation(OVERFLOW)
    if magnitude < -130:
        raise validation(
            "Number underflow. Attempting to store a number with magnitude smaller than supported range"
        )
    if len(digits) > 38:
        raise validation("Attempting to store more than 38 significant digits in a Number")
    return format(value, "f")


def _integer(text: str) -> int | None:
    """A plain integer of at most 38 digits ("42", "-7", as counters hold) as an int, else None."""
    digits = text[1:] if text[:1] == "-" else text
    if digits.isascii() and digits.isdigit() and len(digits) <= 38:
        return int(text)
    return None


def add_numbers(a: str, b: str, subtract: bool = False) -> str:
    """Exact sum or difference. A result DynamoDB cannot hold in 38 digits is reported as an
    overflow even when it is only too precise (1E+50 + 1): that is what DynamoDB answers."""
    i, j = _integer(a), _integer(b)
    if i is not None and j is not None:  # exact in ints, and within range (39 digits at most)
        total = i - j if subtract else i + j
        text = str(total)
        if len(text.lstrip("-").rstrip("0")) > 38:
            raise validation(OVERFLOW)
        return text
    x, y = decimal_of(a), decimal_of(b)
    result = (_EXACT.subtract(x, y) if subtract else _EXACT.add(x, y)).normalize(_EXACT)
    if len(result.as_tuple().digits) > 38:
        raise validation(OVERFLOW)
    return format_number(result)


def _scalar_key(kind: str, raw: Any) -> Any:
    if kind == "N":
        return decimal_of(raw)
    if kind == "S":
        return raw.encode("utf-8")
    return bytes(raw)


def compare_values(a: Value, b: Value) -> int:
    """-1/0/1 ordering of two S, N or B values of the same type, as DynamoDB orders them."""
    kind = type_of(a)
    x, y = a[kind], b[kind]
    if kind == "N" and (i := _integer(x)) is not None and (j := _integer(y)) is not None:
        return (i > j) - (i < j)  # plain integers (counters) compare as ints, no Decimals
    x, y = _scalar_key(kind, x), _scalar_key(kind, y)
    return (x > y) - (x < y)


def orderable(a: Value | None, b: Value | None) -> bool:
    """Both present, of one type, and that type has an order (S, N or B)."""
    if a is None or b is None:
        return False
    kind = type_of(a)
    return kind in ORDERED and kind in b


def _member_keys(kind: str, members: list[Any]) -> set[Any]:
    return {_scalar_key(SETS[kind], m) for m in members}


def equal(a: Value | None, b: Value | None) -> bool:
    if a is None or b is None:
        return False
    kind = type_of(a)
    if kind not in b:
        return False
    x, y = a[kind], b[kind]
    if kind in ORDERED:
        return _scalar_key(kind, x) == _scalar_key(kind, y)
    if kind in SETS:
        return _member_keys(kind, x) == _member_keys(kind, y)
    if kind == "L":
        return len(x) == len(y) and all(equal(p, q) for p, q in zip(x, y, strict=True))
    if kind == "M":
        return x.keys() == y.keys() and all(equal(x[k], y[k]) for k in x)
    return x == y


def contains(haystack: Value | None, needle: Value | None) -> bool:
    """`contains(a, b)`: substring of S/B, member of a set of b's type, or element of a list."""
    if haystack is None or needle is None:
        return False
    kind, want = type_of(haystack), type_of(needle)
    if kind in ("S", "B"):
        return want == kind and needle[want] in haystack[kind]
    if kind in SETS:
        return SETS[kind] == want and _scalar_key(want, needle[want]) in _member_keys(kind, haystack[kind])
    if kind == "L":
        return any(equal(element, needle) for element in haystack["L"])
    return False


def begins_with(value: Value | None, prefix: Value | None) -> bool:
    if value is None or prefix is None:
        return False
    kind = type_of(value)
    return kind in ("S", "B") and kind in prefix and value[kind].startswith(prefix[kind])


def size_of(value: Value | None) -> Value | None:
    """`size(path)`: bytes of S (UTF-8, as DynamoDB sizes strings) and B, members of sets, L and M;
    nothing for other types."""
    if value is None:
        return None
    kind = type_of(value)
    if kind == "S":
        return {"N": str(len(value["S"].encode("utf-8")))}
    if kind in ("B", "L", "M") or kind in SETS:
        return {"N": str(len(value[kind]))}
    return None


def union(kind: str, existing: list[Any], added: list[Any]) -> list[Any]:
    seen = _member_keys(kind, existing)
    out = list(existing)
    for member in added:
        key = _scalar_key(SETS[kind], member)
        if key not in seen:
            seen.add(key)
            out.append(member)
    return out


def difference(kind: str, existing: list[Any], removed: list[Any]) -> list[Any]:
    gone = _member_keys(kind, removed)
    return [m for m in existing if _scalar_key(SETS[kind], m) not in gone]


def copy_value(value: Value) -> Value:
    """A deep copy of a wire value (cheaper than copy.deepcopy; scalars are immutable)."""
    kind = type_of(value)
    raw = value[kind]
    if kind == "M":
        return {"M": {k: copy_value(v) for k, v in raw.items()}}
    if kind == "L":
        return {"L": [copy_value(v) for v in raw]}
    if kind in SETS:
        return {kind: list(raw)}
    return {kind: raw}


def render(value: Value) -> str:
    """How DynamoDB prints a value inside messages: `{N:5}`, `{S:abc}`."""
    kind = type_of(value)
    return f"{{{kind}:{value[kind]}}}"
