"""The AWS query protocol: form-encoded input (`Action=…&Name.1.Key=…`), XML output.

Names follow botocore's query serializer: a member is written under its `locationName` (else its
name); a list is `Name.member.N` unless flattened (`Name.N`, or `<member locationName>.N`); a map
is `Name.entry.N.key/value` unless flattened, with the key and value names taken from their
`locationName`s. Values arrive as strings and are converted here, so the binder that follows only
checks constraints.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import pybase64

from gondwana.protocols.base import WireProtocol, request_id_headers
from gondwana.protocols.errors import ServiceError, Violation
from gondwana.protocols.model import lower_camel
from gondwana.protocols.shapes import TYPED_INPUT
from gondwana.server.messages import Request, Response

if TYPE_CHECKING:
    from gondwana.protocols.spec import OperationSpec, ServiceSpec
    from gondwana.server.context import RequestContext
    from gondwana.services.base import Service

# Readers and writers take the member-level `flattened` trait, which overrides the shape's own.
Reader = Callable[[dict[str, str], str, set[str], list[Violation], bool], Any]
Writer = Callable[[Any, list[str]], None]
Write = Callable[[Any, str, list[str], bool], None]

_MISSING = object()


def form_params(request: Request) -> dict[str, str]:
    """Form fields from the body (POST) merged over the URL's query string (read once per request:
    routing and parsing both need them)."""
    if request._form is not None:
        return request._form
    params = dict(request.query) if request.query_string else {}
    if request.body:
        params.update(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
    request._form = params
    return params


def _prefixes(params: dict[str, str]) -> set[str]:
    found: set[str] = set()
    for key in params:
        parts = key.split(".")
        for i in range(1, len(parts) + 1):
            found.add(".".join(parts[:i]))
    return found


_XML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\r": "&#xD;"})
# Characters XML 1.0 cannot carry at all, not even as character references (a NUL echoed from
# the input in an error message made the whole answer unparsable): U+FFFD stands in for them.
_XML_ESCAPES.update(
    dict.fromkeys(
        [*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0xD800, 0xE000), 0xFFFE, 0xFFFF], "\ufffd"
    )
)


def escape(text: str) -> str:
    """XML text escaping (xml.sax.saxutils costs 20 ms of start-up through urllib)."""
    return text.translate(_XML_ESCAPES)


# ---- input ----------------------------------------------------------------------------------------


def _scalar_reader(kind: str) -> Callable[[str], Any]:
    if kind in ("integer", "long", "short", "byte"):
        return int
    if kind in ("float", "double"):
        return float
    if kind == "boolean":

        def boolean(text: str) -> bool:
            if text.lower() == "true":
                return True
            if text.lower() == "false":
                return False
            raise ValueError(text)

        return boolean
    if kind == "blob":
        return lambda text: base64.b64decode(text, validate=True)
    if kind == "timestamp":

        def timestamp(text: str) -> float:
            try:
                return float(text)
            except ValueError:
                parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
                return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).timestamp()

        return timestamp
    return str


def compile_reader(shapes: dict[str, Any], shape_name: str) -> Callable[..., Any]:
    done: dict[str, Reader] = {}

    def build(name: str) -> Reader:
        if name in done:
            return done[name]
        cell: list[Reader] = []
        done[name] = lambda p, k, s, e, f: cell[0](p, k, s, e, f)
        shape = shapes[name]
        kind = shape["type"]
        shape_flat = bool(shape.get("flattened"))
        reader: Reader
        if kind == "structure":
            members = [
                (m, spec.get("locationName", m), build(spec["shape"]), bool(spec.get("flattened")))
                for m, spec in shape.get("members", {}).items()
            ]

            def reader(
                params: dict[str, str], key: str, seen: set[str], errs: list[Violation], flat: bool
            ) -> Any:
                prefix = key + "." if key else ""
                out: dict[str, Any] = {}
                for member, wire, member_reader, member_flat in members:
                    value = member_reader(params, prefix + wire, seen, errs, member_flat)
                    if value is not _MISSING:
                        out[member] = value
                if key and not out and key not in seen:
                    return _MISSING
                return out

        elif kind == "list":
            item_reader = build(shape["member"]["shape"])
            item_name = shape["member"].get("locationName")

            def reader(
                params: dict[str, str], key: str, seen: set[str], errs: list[Violation], flat: bool
            ) -> Any:
                if flat or shape_flat:
                    base = ".".join([*key.split(".")[:-1], item_name]) if item_name else key
                else:
                    base = f"{key}.{item_name or 'member'}"
                if base not in seen:
                    return [] if key in seen else _MISSING
                items = []
                i = 1
                while f"{base}.{i}" in seen:
                    value = item_reader(params, f"{base}.{i}", seen, errs, False)
                    items.append(None if value is _MISSING else value)
                    i += 1
                return items

        elif kind == "map":
            key_name = shape["key"].get("locationName", "key")
            value_name = shape["value"].get("locationName", "value")
            key_reader = build(shape["key"]["shape"])
            value_reader = build(shape["value"]["shape"])

            def reader(
                params: dict[str, str], key: str, seen: set[str], errs: list[Violation], flat: bool
            ) -> Any:
                base = key if (flat or shape_flat) else f"{key}.entry"
                if f"{base}.1" not in seen:
                    return _MISSING
                out = {}
                i = 1
                while f"{base}.{i}" in seen:
                    k = key_reader(params, f"{base}.{i}.{key_name}", seen, errs, False)
                    v = value_reader(params, f"{base}.{i}.{value_name}", seen, errs, False)
                    if k is not _MISSING:
                        out[k] = None if v is _MISSING else v
                    i += 1
                return out

        else:
            convert = _scalar_reader(kind)

            def reader(
                params: dict[str, str], key: str, seen: set[str], errs: list[Violation], flat: bool
            ) -> Any:
                text = params.get(key)
                if text is None:
                    return _MISSING
                try:
                    return convert(text)
                except (ValueError, binascii.Error):
                    leaf = key.rsplit(".", 1)[-1]
                    errs.append(
                        Violation("type", lower_camel(key), leaf, text, f"Member must be of type {kind}")
                    )
                    return _MISSING

        cell.append(reader)
        done[name] = reader
        return reader

    root = build(shape_name)
    return lambda params, seen, errs: root(params, "", seen, errs, False)


# ---- output ---------------------------------------------------------------------------------------


def _text(kind: str, value: Any) -> str:
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "timestamp":
        if not isinstance(value, dt.datetime):
            value = dt.datetime.fromtimestamp(float(value), dt.UTC)
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    if kind == "blob":
        return pybase64.b64encode_as_string(value)
    return escape(str(value))


def compile_writer(shapes: dict[str, Any], shape_name: str) -> Writer:
    """A function that appends the XML of a structure's members to a list of strings."""
    done: dict[str, Write] = {}

    def build(name: str) -> Write:
        if name in done:
            return done[name]
        cell: list[Write] = []
        done[name] = lambda v, t, o, f: cell[0](v, t, o, f)
        shape = shapes[name]
        kind = shape["type"]
        shape_flat = bool(shape.get("flattened"))
        write: Write
        if kind == "structure":
            members = [
                (m, spec.get("locationName", m), build(spec["shape"]), bool(spec.get("flattened")))
                for m, spec in shape.get("members", {}).items()
            ]

            def write(value: Any, tag: str, out: list[str], flat: bool) -> None:
                if tag:
                    out.append(f"<{tag}>")
                for member, wire, member_write, member_flat in members:
                    item = value.get(member)
                    if item is not None:
                        member_write(item, wire, out, member_flat)
                if tag:
                    out.append(f"</{tag}>")

        elif kind == "list":
            item_write = build(shape["member"]["shape"])
            item_name = shape["member"].get("locationName")

            def write(value: Any, tag: str, out: list[str], flat: bool) -> None:
                if flat or shape_flat:
                    for item in value:
                        item_write(item, item_name or tag, out, False)
                    return
                out.append(f"<{tag}>")
                for item in value:
                    item_write(item, item_name or "member", out, False)
                out.append(f"</{tag}>")

        elif kind == "map":
            key_write = build(shape["key"]["shape"])
            value_write = build(shape["value"]["shape"])
            key_name = shape["key"].get("locationName", "key")
            value_name = shape["value"].get("locationName", "value")

            def write(value: Any, tag: str, out: list[str], flat: bool) -> None:
                entry = tag if (flat or shape_flat) else "entry"
                if entry != tag:
                    out.append(f"<{tag}>")
                for k, v in value.items():
                    out.append(f"<{entry}>")
                    key_write(k, key_name, out, False)
                    value_write(v, value_name, out, False)
                    out.append(f"</{entry}>")
                if entry != tag:
                    out.append(f"</{tag}>")

        else:

            def write(value: Any, tag: str, out: list[str], flat: bool) -> None:
                out.append(f"<{tag}>{_text(kind, value)}</{tag}>")

        cell.append(write)
        done[name] = write
        return write

    root = build(shape_name)
    return lambda value, out: root(value, "", out, False)


class QueryProtocol(WireProtocol):
    name = "query"
    content_type = "text/xml"
    input_codec = TYPED_INPUT

    def decode(self, op: OperationSpec, request: Request) -> dict[str, Any]:
        raise NotImplementedError  # parse() reads the form directly

    def parse(self, service: Service, op: OperationSpec, request: Request) -> dict[str, Any]:
        if op.input_shape is None:
            return {}
        reader = op.cache.get("query_reader")
        if reader is None:
            reader = op.cache["query_reader"] = compile_reader(op.spec.shapes, op.input_shape)
        params = form_params(request)
        violations: list[Violation] = []
        return self.bind(service, op, reader(params, _prefixes(params), violations), violations)

    def serialize(self, ctx: RequestContext, op: OperationSpec, result: dict[str, Any] | None) -> Response:
        ns = _namespace(op.spec, ctx)
        out = [f'<?xml version="1.0"?><{op.name}Response xmlns="{ns}">']
        if op.output_shape is not None:
            writer = op.cache.get("query_writer")
            if writer is None:
                writer = op.cache["query_writer"] = compile_writer(op.spec.shapes, op.output_shape)
            if op.result_wrapper:
                out.append(f"<{op.result_wrapper}>")
            writer(result or {}, out)
            if op.result_wrapper:
                out.append(f"</{op.result_wrapper}>")
        out.append(
            f"<ResponseMetadata><RequestId>{ctx.request_id}</RequestId></ResponseMetadata></{op.name}Response>"
        )
        return Response(200, request_id_headers(ctx, self.content_type), "".join(out).encode())

    def serialize_error(self, ctx: RequestContext, error: ServiceError) -> Response:
        if ctx.service is not None and error.type_name is None:
            info = ctx.service.error_info(error.code)
            status, code = error.status or info.status, error.query_code or info.query_code
            sender = info.sender_fault if error.sender_fault is None else error.sender_fault
        else:
            status, code = error.status or 400, error.query_code or error.code
            sender = error.sender_fault is not False
        ns = _namespace(ctx.service.spec if ctx.service else None, ctx)
        message = "" if error.message is None else f"<Message>{escape(error.message)}</Message>"
        body = (
            f'<?xml version="1.0"?><ErrorResponse xmlns="{ns}"><Error>'
            f"<Type>{'Sender' if sender else 'Receiver'}</Type><Code>{escape(code)}</Code>{message}<Detail/>"
            f"</Error><RequestId>{ctx.request_id}</RequestId></ErrorResponse>"
        )
        headers = request_id_headers(ctx, self.content_type)
        if error.headers:
            headers.extend(error.headers.items())
        return Response(status, headers, body.encode())


def _namespace(spec: ServiceSpec | None, ctx: RequestContext) -> str:
    return spec.xml_namespace if spec is not None else ""


QUERY = QueryProtocol()
