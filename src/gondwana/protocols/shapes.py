"""Shape compilers: turn model shapes into plain functions, once, so requests do no model lookups.

`compile_binder` builds, for an input shape, a function that checks a decoded request value
against the model (types, required members, lengths, ranges, patterns, enums) and converts the
wire forms of blobs and timestamps into bytes and epoch seconds. Type mismatches are fatal
(`SerializationException`, as Coral answers a body it cannot bind); constraint failures are
collected as `Violation`s so the service can report all of them in its own words.

`compile_encoder` builds, for an output shape, the inverse conversion for one codec, or returns
None when the shape holds no blob or timestamp and the value can be dumped as it is.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pybase64

from gondwana.protocols.errors import Violation, serialization_error
from gondwana.protocols.json_codec import epoch_number
from gondwana.protocols.model import lower_camel

try:  # the binders' fast pass in C (_binder.c); without a compiler the closures below do it all
    from gondwana.protocols import _binder
except ImportError:  # pragma: no cover - exercised by installs without a C compiler
    _binder = None  # type: ignore[assignment]

Binder = Callable[[Any, str | None, list[Violation]], Any]  # path None: the fast pass (NeedPaths)
Encoder = Callable[[Any], Any]

NOT_NULL = "Member must not be null"
_JSON_TYPE_NAMES = {str: "STRING_VALUE", int: "NUMBER_VALUE", float: "NUMBER_VALUE", bool: "BOOLEAN_VALUE"}


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "START_OBJECT"
    if isinstance(value, list):
        return "START_ARRAY"
    return _JSON_TYPE_NAMES.get(type(value), type(value).__name__.upper())


def _finite(number: float) -> float:
    """NaN and the infinities are no instant (the services would fail on them)."""
    if not math.isfinite(number):
        raise ValueError("not a finite timestamp")
    return number


def to_epoch(value: Any) -> float:
    """Epoch seconds from a number, an ISO-8601 string or a datetime."""
    if isinstance(value, bool):
        raise TypeError("boolean is not a timestamp")
    if isinstance(value, int | float):
        return _finite(float(value))  # OverflowError for integers beyond a double
    if isinstance(value, dt.datetime):
        return value.timestamp()
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            pass
        else:
            return _finite(number)
        text = value.strip().replace("Z", "+00:00")
        parsed = dt.datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        return parsed.timestamp()
    tag_value = getattr(value, "value", None)  # CBOR tag 1 (epoch) wraps the number
    if tag_value is not None:
        return to_epoch(tag_value)
    raise TypeError(f"{type(value).__name__} is not a timestamp")


def b64_blob(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if not isinstance(value, str):
        raise TypeError("blob must be a base64 string")
    try:
        return pybase64.b64decode(value, validate=True)  # SIMD: 5x the standard library
    except (binascii.Error, ValueError):
        # AWS's Jackson decoder tolerates missing padding and whitespace; so do we.
        cleaned = "".join(value.split())
        return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4))


def raw_blob(value: Any) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, str):
        return b64_blob(value)
    raise TypeError("blob must be bytes")


@dataclass(frozen=True, slots=True)
class InputCodec:
    """How blobs and timestamps arrive in a decoded body."""

    name: str
    blob: Callable[[Any], bytes]
    timestamp: Callable[[Any], float]
    # A str's decoding that fails wherever `blob` is lenient (None: none), for the C fast pass.
    strict_blob: Callable[[str], bytes] | None = None


JSON_INPUT = InputCodec("json", b64_blob, to_epoch, functools.partial(pybase64.b64decode, validate=True))


def cbor_epoch(value: Any) -> float:
    """CBOR timestamps: tag 1 with epoch milliseconds, as the AWS Java SDKs send them."""
    if getattr(value, "tag", None) == 1:
        value = value.value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _finite(value / 1000.0)  # OverflowError for integers beyond a double
    return to_epoch(value)


CBOR_INPUT = InputCodec("cbor", raw_blob, cbor_epoch)
TYPED_INPUT = InputCodec("typed", raw_blob, to_epoch)  # query/rest parsers already converted


def java_repr(value: Any) -> str:
    """How Coral prints a value inside a validation message."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(java_repr(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={java_repr(v)}" for k, v in value.items()) + "}"
    if isinstance(value, bytes):
        return f"java.nio.HeapByteBuffer[pos=0 lim={len(value)} cap={len(value)}]"
    return str(value)


class _Compiler:
    def __init__(self, shapes: dict[str, Any], codec: InputCodec) -> None:
        self.shapes = shapes
        self.codec = codec
        self.done: dict[str, Binder] = {}
        self.nodes: dict[str, Any] = {}

    def native(self, name: str) -> Any:
        """The C node of a shape: the same checks as its closure (which it hands anything else)."""
        node = self.nodes.get(name)
        if node is not None:
            return node
        shape = self.shapes[name]
        kind = _NATIVE_KINDS.get(shape["type"], "other")
        node = self.nodes[name] = _binder.Node(kind, self.binder(name))  # before children: recursion
        if kind == "structure":
            members = {m: self.native(spec["shape"]) for m, spec in shape.get("members", {}).items()}
            node.setup(members=members, required=tuple(shape.get("required", ())))
        elif kind in ("list", "map"):
            value = shape["member" if kind == "list" else "value"]["shape"]
            key = self.native(shape["key"]["shape"]) if kind == "map" else None
            node.setup(item=self.native(value), key=key, **_sizes(shape))
        elif kind == "string":
            regex = _pattern(shape)
            node.setup(
                allowed=frozenset(shape["enum"]) if "enum" in shape else None,
                fullmatch=regex.fullmatch if regex is not None else None,
                **_sizes(shape),
            )
        elif kind == "integer":
            node.setup(lo=shape.get("min"), hi=shape.get("max"))
        elif kind == "blob":
            node.setup(decode=self.codec.strict_blob, **_sizes(shape))
        return node

    def binder(self, name: str) -> Binder:
        if name in self.done:
            return self.done[name]
        cell: list[Binder] = []
        self.done[name] = lambda v, p, e: cell[0](v, p, e)  # recursion guard (DynamoDB AttributeValue)
        built = self._build(name, self.shapes[name])
        cell.append(built)
        self.done[name] = built
        return built

    def _build(self, name: str, shape: dict[str, Any]) -> Binder:
        kind = shape["type"]
        if kind == "structure":
            return self._structure(shape)
        if kind == "list":
            return self._list(shape)
        if kind == "map":
            return self._map(shape)
        return self._scalar(kind, shape)

    def _structure(self, shape: dict[str, Any]) -> Binder:
        members = {
            m: (self.binder(spec["shape"]), lower_camel(m)) for m, spec in shape.get("members", {}).items()
        }
        required = tuple((m, lower_camel(m)) for m in shape.get("required", ()))
        binders = {m: b for m, (b, _) in members.items()}
        required_names = tuple(m for m, _ in required)

        def bind(value: Any, path: str | None, errs: list[Violation]) -> Any:
            if type(value) is not dict:
                raise serialization_error(f"{_kind(value)} can not be converted to a structure")
            if path is None:  # the fast pass: no member paths unless something is wrong
                for key, item in value.items():
                    member_bind = binders.get(key)
                    if member_bind is not None and item is not None:
                        value[key] = member_bind(item, None, errs)
                for key in required_names:
                    if value.get(key) is None:
                        raise NeedPaths()
                return value
            prefix = path + "." if path else ""
            for key, item in value.items():
                member = members.get(key)
                if member is not None and item is not None:
                    value[key] = member[0](item, prefix + member[1], errs)
            for key, lc in required:
                if value.get(key) is None:
                    errs.append(Violation("required", prefix + lc, key, None, NOT_NULL))
            return value

        return bind

    def _list(self, shape: dict[str, Any]) -> Binder:
        item_bind = self.binder(shape["member"]["shape"])
        size = _size_checks(shape)

        def bind(value: Any, path: str | None, errs: list[Violation]) -> Any:
            if type(value) is not list:
                raise serialization_error(f"{_kind(value)} can not be converted to a list")
            if path is None:
                for i, item in enumerate(value):
                    if item is None:
                        raise NeedPaths()
                    value[i] = item_bind(item, None, errs)
            else:
                for i, item in enumerate(value):
                    if item is None:  # no model here has sparse lists: a null member is missing
                        errs.append(Violation("required", f"{path}.{i + 1}.member", "member", None, NOT_NULL))
                    else:
                        value[i] = item_bind(item, f"{path}.{i + 1}.member", errs)
            if size:
                size(value, len(value), path, errs)
            return value

        return bind

    def _map(self, shape: dict[str, Any]) -> Binder:
        key_bind = self.binder(shape["key"]["shape"])
        value_bind = self.binder(shape["value"]["shape"])
        size = _size_checks(shape)

        def bind(value: Any, path: str | None, errs: list[Violation]) -> Any:
            if type(value) is not dict:
                raise serialization_error(f"{_kind(value)} can not be converted to a map")
            for key, item in value.items():
                key_bind(key, path, errs)
                if item is not None:
                    value[key] = value_bind(item, None if path is None else f"{path}.{key}.member", errs)
                elif path is None:
                    raise NeedPaths()
                else:  # nor sparse maps
                    errs.append(Violation("required", f"{path}.{key}.member", "member", None, NOT_NULL))
            if size:
                size(value, len(value), path, errs)
            return value

        return bind

    def _scalar(self, kind: str, shape: dict[str, Any]) -> Binder:
        checks = _constraint_checks(kind, shape)
        convert = _converter(kind, self.codec)
        if kind == "string":
            return _string_binder(shape, convert, checks)
        if kind in ("integer", "long", "short", "byte"):
            return _integer_binder(shape, convert, checks)

        if checks is None:

            def bind_plain(value: Any, path: str | None, errs: list[Violation]) -> Any:
                return convert(value)

            return bind_plain

        def bind(value: Any, path: str | None, errs: list[Violation]) -> Any:
            value = convert(value)
            checks(value, path, errs)
            return value

        return bind


# Strings and integers are most of what requests carry: their binders test every constraint in
# one expression and call the worded checks only when one fails.


def _pattern(shape: dict[str, Any]) -> re.Pattern[str] | None:
    """The shape's pattern compiled, or None (none, or a Java-only construct: then AWS's own check
    is the service's job)."""
    try:
        return re.compile(shape["pattern"]) if "pattern" in shape else None
    except re.error:
        return None


def _string_binder(shape: dict[str, Any], convert: Callable[[Any], Any], checks: Any) -> Binder:
    lo, hi = shape.get("min", 0), shape.get("max", float("inf"))
    allowed = frozenset(shape["enum"]) if "enum" in shape else None
    regex = _pattern(shape)

    def bind_string(value: Any, path: str | None, errs: list[Violation]) -> Any:
        if type(value) is not str:
            convert(value)  # SerializationException
        if checks is not None and (
            not lo <= len(value) <= hi
            or (allowed is not None and value not in allowed)
            or (regex is not None and regex.fullmatch(value) is None)
        ):
            checks(value, path, errs)
        return value

    return bind_string


def _integer_binder(shape: dict[str, Any], convert: Callable[[Any], Any], checks: Any) -> Binder:
    lo, hi = shape.get("min", float("-inf")), shape.get("max", float("inf"))

    def bind_integer(value: Any, path: str | None, errs: list[Violation]) -> Any:
        if type(value) is not int:
            value = convert(value)  # an integral float, or SerializationException
        if checks is not None and not lo <= value <= hi:
            checks(value, path, errs)
        return value

    return bind_integer


def _converter(kind: str, codec: InputCodec) -> Callable[[Any], Any]:
    if kind == "string":

        def string(v: Any) -> str:
            if type(v) is not str:
                raise serialization_error(f"{_kind(v)} cannot be converted to String")
            return v

        return string
    if kind in ("integer", "long", "short", "byte"):
        label = "an Integer" if kind == "integer" else "a Long"

        def integer(v: Any) -> int:
            if type(v) is int:
                return v
            if type(v) is float and v.is_integer():
                return int(v)
            raise serialization_error(f"{_kind(v)} can not be converted to {label}")

        return integer
    if kind in ("float", "double"):

        def number(v: Any) -> float:
            if type(v) in (int, float):
                return v
            raise serialization_error(f"{_kind(v)} can not be converted to a Double")

        return number
    if kind == "boolean":

        def boolean(v: Any) -> bool:
            if type(v) is not bool:
                raise serialization_error(f"{_kind(v)} can not be converted to a Boolean")
            return v

        return boolean
    if kind == "blob":

        def blob(v: Any) -> bytes:
            try:
                return codec.blob(v)
            except (TypeError, ValueError, binascii.Error):
                raise serialization_error("Base64 encoded value expected for a blob") from None

        return blob
    if kind == "timestamp":

        def timestamp(v: Any) -> float:
            try:
                return codec.timestamp(v)
            except (TypeError, ValueError, OverflowError):
                raise serialization_error(f"{_kind(v)} can not be converted to a Date") from None

        return timestamp
    if kind == "document":
        return lambda v: v
    raise ValueError(f"unknown shape type {kind}")


class NeedPaths(Exception):
    """Raised by a binder run without paths (the fast pass) at the first violation: the caller
    binds a fresh decoding again with paths, which words every violation."""


if _binder is not None:
    _binder.configure(NeedPaths)


def _violate(errs: list[Violation], kind: str, path: str | None, value: Any, text: str) -> None:
    if path is None:
        raise NeedPaths()
    errs.append(Violation(kind, path, path.rsplit(".", 1)[-1], value, text))


def _size_checks(shape: dict[str, Any]) -> Callable[[Any, int, str, list[Violation]], None] | None:
    lo, hi = shape.get("min"), shape.get("max")
    if lo is None and hi is None:
        return None

    def check(value: Any, size: int, path: str | None, errs: list[Violation]) -> None:
        if lo is not None and size < lo:
            _violate(
                errs, "min_length", path, value, f"Member must have length greater than or equal to {lo}"
            )
        elif hi is not None and size > hi:
            _violate(errs, "max_length", path, value, f"Member must have length less than or equal to {hi}")

    return check


def _constraint_checks(
    kind: str, shape: dict[str, Any]
) -> Callable[[Any, str, list[Violation]], None] | None:
    checks: list[Callable[[Any, str, list[Violation]], None]] = []
    lo, hi = shape.get("min"), shape.get("max")
    if kind in ("string", "blob") and (lo is not None or hi is not None):
        sized = _size_checks(shape)
        assert sized is not None
        checks.append(lambda v, p, e: sized(v, len(v), p, e))
    elif kind in ("integer", "long", "short", "byte", "float", "double") and (
        lo is not None or hi is not None
    ):

        def value_range(v: Any, p: str | None, e: list[Violation]) -> None:
            if lo is not None and v < lo:
                _violate(e, "min_value", p, v, f"Member must have value greater than or equal to {lo}")
            elif hi is not None and v > hi:
                _violate(e, "max_value", p, v, f"Member must have value less than or equal to {hi}")

        checks.append(value_range)
    if kind == "string" and "enum" in shape:
        allowed = frozenset(shape["enum"])
        text = "Member must satisfy enum value set: [" + ", ".join(shape["enum"]) + "]"

        def enum(v: Any, p: str | None, e: list[Violation]) -> None:
            if v not in allowed:
                _violate(e, "enum", p, v, text)

        checks.append(enum)
    if kind == "string":
        regex = _pattern(shape)
        if regex is not None:
            ptext = "Member must satisfy regular expression pattern: " + shape["pattern"]

            def pattern(v: Any, p: str | None, e: list[Violation]) -> None:
                if regex.fullmatch(v) is None:
                    _violate(e, "pattern", p, v, ptext)

            checks.append(pattern)
    if not checks:
        return None
    if len(checks) == 1:
        return checks[0]

    def all_checks(v: Any, p: str, e: list[Violation]) -> None:
        for c in checks:
            c(v, p, e)

    return all_checks


_NATIVE_KINDS = {
    "structure": "structure",
    "list": "list",
    "map": "map",
    "string": "string",
    "boolean": "boolean",
    "blob": "blob",
    **dict.fromkeys(("integer", "long", "short", "byte"), "integer"),
}


def _sizes(shape: dict[str, Any]) -> dict[str, int]:
    return {k: shape[m] for k, m in (("min_size", "min"), ("max_size", "max")) if m in shape}


def compile_binder(shapes: dict[str, Any], shape_name: str, codec: InputCodec) -> Binder:
    compiler = _Compiler(shapes, codec)
    return compiler.binder(shape_name) if _binder is None else compiler.native(shape_name)


# ---- output -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OutputCodec:
    name: str
    blob: Callable[[bytes], Any]
    timestamp: Callable[[Any], Any]
    # The shape kinds an encoder must walk the result for; a codec whose serializer converts
    # values by their Python type (JSON: bytes and datetimes, see json_codec) walks nothing.
    walks: tuple[str, ...] = ("blob", "timestamp")


def epoch_millis(value: Any) -> int:
    if isinstance(value, dt.datetime):
        value = value.timestamp()
    return round(float(value) * 1000)


# Blobs (bytes) and datetimes are converted by json_codec.dumps as it meets them, so JSON results
# are never walked; timestamps given as numbers pass through as numbers.
JSON_OUTPUT = OutputCodec("json", pybase64.b64encode_as_string, epoch_number, walks=())


def _needs_encoding(shapes: dict[str, Any], name: str, seen: set[str], walks: tuple[str, ...]) -> bool:
    if name in seen:
        return False
    seen.add(name)
    shape = shapes[name]
    kind = shape["type"]
    if kind in walks:
        return True
    if kind == "structure":
        members = shape.get("members", {}).values()
        return any(_needs_encoding(shapes, m["shape"], seen, walks) for m in members)
    if kind == "list":
        return _needs_encoding(shapes, shape["member"]["shape"], seen, walks)
    if kind == "map":
        return _needs_encoding(shapes, shape["value"]["shape"], seen, walks)
    return False


def compile_encoder(shapes: dict[str, Any], shape_name: str, codec: OutputCodec) -> Encoder | None:
    """A function that converts a result for the wire, or None when nothing needs converting."""
    walks = codec.walks
    if not _needs_encoding(shapes, shape_name, set(), walks):
        return None
    done: dict[str, Encoder] = {}

    def build(name: str) -> Encoder:
        if name in done:
            return done[name]
        cell: list[Encoder] = []
        done[name] = lambda v: cell[0](v)
        shape = shapes[name]
        kind = shape["type"]
        enc: Encoder
        if not _needs_encoding(shapes, name, set(), walks):
            enc = _identity
        elif kind == "blob":
            enc = codec.blob
        elif kind == "timestamp":
            enc = codec.timestamp
        elif kind == "structure":
            members = {
                m: build(s["shape"])
                for m, s in shape.get("members", {}).items()
                if _needs_encoding(shapes, s["shape"], set(), walks)
            }

            def enc(v: dict[str, Any]) -> dict[str, Any]:
                return _encode_members(v, members.get)

        elif kind == "list":
            item_enc = build(shape["member"]["shape"])

            def enc(v: list[Any]) -> list[Any]:
                out = None
                for i, item in enumerate(v):
                    new = item_enc(item)
                    if new is not item:
                        if out is None:
                            out = list(v)
                        out[i] = new
                return v if out is None else out

        else:  # map
            value_enc = build(shape["value"]["shape"])

            def enc(v: dict[str, Any]) -> dict[str, Any]:
                return _encode_members(v, lambda _: value_enc)

        cell.append(enc)
        done[name] = enc
        return enc

    return build(shape_name)


def _encode_members(v: dict[str, Any], encoder_of: Callable[[str], Encoder | None]) -> dict[str, Any]:
    """Copy on write: a value with nothing to convert is passed through untouched (most are:
    items without binary values, records without timestamps)."""
    out = None
    for key, item in v.items():
        member_enc = encoder_of(key)
        if member_enc is not None and item is not None:
            new = member_enc(item)
            if new is not item:
                if out is None:
                    out = dict(v)
                out[key] = new
    return v if out is None else out


def _identity(v: Any) -> Any:
    return v
