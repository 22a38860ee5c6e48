"""Attribute values: validation, number normalisation and item size, as DynamoDB does them."""

from __future__ import annotations

import base64
import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from gondwana.services.dynamodb.errors import invalid, validation

Item = dict[str, dict[str, Any]]

MAX_ITEM_SIZE = 400 * 1024
MAX_HASH_KEY = 2048
MAX_RANGE_KEY = 1024
MAX_DEPTH = 32
SCALARS = ("S", "N", "B")
TYPES = ("S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS")
_SET_NAMES = {"SS": "string", "NS": "number", "BS": "binary"}
_NUMBER = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")


def normalize_number(text: str) -> str:
    """AWS's canonical form of a Number: plain notation, no superfluous zeros; errors as AWS words them."""
    if type(text) is str and text.isascii() and text.isdigit() and len(text) <= 38 and text[0] != "0":
        return text  # a plain positive integer is already canonical
    if text == "0":
        return text
    if not isinstance(text, str) or not _NUMBER.match(text):
        shown = f": {text}" if text else ""
        raise validation(f"The parameter cannot be converted to a numeric value{shown}")
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise validation(f"The parameter cannot be converted to a numeric value: {text}") from None
    if value.is_zero():
        return "0"
    sign, digits, exponent = value.as_tuple()
    digits_list = list(digits)
    while digits_list and digits_list[-1] == 0:
        digits_list.pop()
        exponent += 1  # type: ignore[operator]
    if len(digits_list) > 38:
        raise validation("Attempting to store more than 38 significant digits in a Number")
    adjusted = exponent + len(digits_list) - 1  # type: ignore[operator]
    if adjusted > 125:
        raise validation(
            "Number overflow. Attempting to store a number with magnitude larger than supported range"
        )
    if adjusted < -130:
        raise validation(
            "Number underflow. Attempting to store a number with magnitude smaller than supported range"
        )
    return format(Decimal((sign, tuple(digits_list), exponent)), "f")


def check_value(value: Any, depth: int = 0) -> dict[str, Any]:
    """Validate one AttributeValue and return it with numbers normalised."""
    if type(value) is dict and len(value) == 1 and depth <= MAX_DEPTH:  # common shapes, checked fast
        ((kind, raw),) = value.items()
        if raw is not None:
            if kind == "S" or kind == "B" or kind == "BOOL":
                return value
            if kind == "N":
                return {"N": normalize_number(raw)}
    if depth > MAX_DEPTH:
        raise validation("Nesting Levels have exceeded supported limits")
    if not isinstance(value, dict):
        raise validation(
            "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"
        )
    present = [k for k, v in value.items() if v is not None and k in TYPES]
    if not present:
        raise validation(
            "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"
        )
    if len(present) > 1:
        raise validation(
            "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the "
            "supported datatypes"
        )
    kind = present[0]
    raw = value[kind]
    if kind == "N":
        return {"N": normalize_number(raw)}
    if kind in ("S", "B", "BOOL"):
        return {kind: raw}
    if kind == "NULL":  # AWS now accepts {"NULL": false} and stores it as NULL true
        return {"NULL": True}
    if kind in _SET_NAMES:
        if not raw:
            if kind == "BS":
                raise invalid("Binary sets should not be empty")
            raise invalid(f"An {_SET_NAMES[kind]} set  may not be empty")
        members = [normalize_number(n) for n in raw] if kind == "NS" else list(raw)
        keys = [Decimal(n) for n in members] if kind == "NS" else members
        if len(set(keys)) != len(keys):
            if kind == "NS":
                raise validation("Input collection contains duplicates")
            if kind == "BS":
                shown = ", ".join(base64.b64encode(m).decode() for m in raw)
                raise invalid(f"Input collection [{shown}]of type BS contains duplicates.")
            raise invalid(f"Input collection [{', '.join(raw)}] contains duplicates.")
        return {kind: members}
    if kind == "M":
        return {"M": {k: check_value(v, depth + 1) for k, v in raw.items()}}
    return {"L": [check_value(v, depth + 1) for v in raw]}


def check_item(item: dict[str, Any]) -> Item:
    return {name: check_value(value) for name, value in item.items()}


def check_item_sized(item: dict[str, Any]) -> tuple[Item, int]:
    """`check_item` and `item_size` in one pass over the attributes."""
    checked: Item = {}
    total = 0
    for name, value in item.items():
        total += len(name) if name.isascii() else _utf8_len(name)
        text = value.get("S") if type(value) is dict and len(value) == 1 else None
        if text is not None:  # strings as they are (check_value's fast path), sized inline
            checked[name] = value
            total += len(text) if text.isascii() else _utf8_len(text)
        else:
            checked[name] = value = check_value(value)
            total += value_size(value)
    return checked, total


def number_size(text: str) -> int:
    digits = text.lstrip("-").replace(".", "").strip("0")
    return 1 + math.ceil(max(len(digits), 1) / 2)


def _utf8_len(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))  # isascii is O(1)


def value_size(value: dict[str, Any]) -> int:
    ((kind, raw),) = value.items()
    if kind == "S":
        return _utf8_len(raw)
    if kind == "N":
        return number_size(raw)
    if kind == "B":
        return len(raw)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(map(_utf8_len, raw))
    if kind == "BS":
        return sum(map(len, raw))
    if kind == "NS":
        return sum(map(number_size, raw))
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in raw)
    return 3 + item_size(raw) + len(raw)  # a map: its entries plus a byte per entry


def item_size(item: Item) -> int:
    """Bytes as DynamoDB counts them: UTF-8 attribute names plus value sizes."""
    total = 0
    for name, value in item.items():
        total += len(name) if name.isascii() else _utf8_len(name)
        text = value.get("S")  # strings inline: most attributes are
        if text is not None:
            total += len(text) if text.isascii() else _utf8_len(text)
        else:
            total += value_size(value)
    return total


def type_of(value: dict[str, Any]) -> str:
    return next(iter(value))
