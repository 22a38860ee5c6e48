"""REST protocols (rest-json: Polly, Lambda...; rest-xml: Route 53, S3...).

The operation is chosen by method + path against the model's `requestUri` templates
(`/2013-04-01/hostedzone/{Id}/rrset/`, `/{Bucket}/{Key+}?uploads`). Input members are read from
where their `location` trait says: the URI, the query string, headers, or the body — either one
`payload` member (raw blob/string, or a structure) or, by default, every unlocated member as one
JSON object (rest-json) or XML document (rest-xml). Output goes back the same way.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote

from gondwana.protocols import json_codec
from gondwana.protocols.base import WireProtocol, request_id_headers
from gondwana.protocols.errors import ServiceError, Violation, serialization_error
from gondwana.protocols.json_protocol import _error_fields, decode_json_object
from gondwana.protocols.query import compile_writer
from gondwana.protocols.shapes import JSON_OUTPUT, TYPED_INPUT
from gondwana.server.messages import Request, Response

if TYPE_CHECKING:
    from gondwana.protocols.spec import OperationSpec, ServiceSpec
    from gondwana.server.context import RequestContext
    from gondwana.services.base import Service

_VAR = re.compile(r"\{([^}]+)\}")


@dataclass(slots=True)
class RestRoute:
    method: str
    pattern: re.Pattern[str]
    static_query: dict[str, str]  # `?uploads` / `?list-type=2` in the template must be present
    weight: tuple[int, int]  # more literal characters, then more static query keys, win
    operation: str


def compile_route(op: OperationSpec) -> RestRoute:
    path, _, query = op.request_uri.partition("?")
    regex = ""
    position = 0
    literal = 0
    for match in _VAR.finditer(path):
        chunk = path[position : match.start()]
        regex += re.escape(chunk)
        literal += len(chunk)
        name = match.group(1)
        greedy = name.endswith("+")
        group = re.sub(r"\W", "_", name.rstrip("+"))
        regex += f"(?P<{group}>.+)" if greedy else f"(?P<{group}>[^/]+)"
        position = match.end()
    regex += re.escape(path[position:])
    literal += len(path) - position
    static = {k: v for k, _, v in (p.partition("=") for p in query.split("&") if p)}
    return RestRoute(op.http_method, re.compile(f"^{regex}/?$"), static, (literal, len(static)), op.name)


def compile_routes(spec: ServiceSpec) -> list[RestRoute]:
    routes = [compile_route(op) for name in spec.model["operations"] if (op := spec.operation(name))]
    return sorted(routes, key=lambda r: r.weight, reverse=True)


def match_route(routes: list[RestRoute], request: Request) -> RestRoute | None:
    for route in routes:
        if route.method != request.method or not route.pattern.match(request.path):
            continue
        if route.static_query and any(
            key not in request.query or (value and request.query[key] != value)
            for key, value in route.static_query.items()
        ):
            continue
        return route
    return None


# ---- value conversion for URI, query string and header values ----------------------------------


def _from_text(kind: str, text: str, location: str) -> Any:
    if kind in ("integer", "long", "short", "byte"):
        return int(text)
    if kind in ("float", "double"):
        return float(text)
    if kind == "boolean":
        if text.lower() not in ("true", "false"):
            raise ValueError(text)
        return text.lower() == "true"
    if kind == "blob":
        return base64.b64decode(text, validate=True)
    if kind == "timestamp":
        try:
            return float(text)
        except ValueError:
            pass
        if location == "header":
            from email.utils import parsedate_to_datetime  # REST services only: not at start-up

            return parsedate_to_datetime(text).timestamp()
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).timestamp()
    return text


def _header_text(kind: str, value: Any) -> str:
    if kind == "timestamp":
        moment = value if isinstance(value, dt.datetime) else dt.datetime.fromtimestamp(float(value), dt.UTC)
        return moment.strftime("%a, %d %b %Y %H:%M:%S GMT")
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "blob":
        return base64.b64encode(value).decode()
    return str(value)


# ---- XML bodies ----------------------------------------------------------------------------------


def _read_xml(shapes: dict[str, Any], shape_name: str, element: Any) -> Any:
    shape = shapes[shape_name]
    kind = shape["type"]
    if kind == "structure":
        out: dict[str, Any] = {}
        children: dict[str, list[Any]] = {}
        for child in element:
            children.setdefault(child.tag.rsplit("}", 1)[-1], []).append(child)
        for member, spec in shape.get("members", {}).items():
            if spec.get("location"):
                continue
            target = shapes[spec["shape"]]
            member_flat = spec.get("flattened") or target.get("flattened")
            if member_flat and target["type"] == "list":
                name = target["member"].get("locationName", spec.get("locationName", member))
                found = children.get(name)
                if found:
                    out[member] = [_read_xml(shapes, target["member"]["shape"], e) for e in found]
                continue
            found = children.get(spec.get("locationName", member))
            if found:
                out[member] = _read_xml(shapes, spec["shape"], found[0])
        return out
    if kind == "list":
        return [_read_xml(shapes, shape["member"]["shape"], child) for child in element]
    if kind == "map":
        key_name = shape["key"].get("locationName", "key")
        value_name = shape["value"].get("locationName", "value")
        result = {}
        for entry in element:
            parts = {c.tag.rsplit("}", 1)[-1]: c for c in entry}
            if key_name in parts:
                value = parts.get(value_name)
                result[parts[key_name].text or ""] = (
                    None if value is None else _read_xml(shapes, shape["value"]["shape"], value)
                )
        return result
    return _from_text(kind, element.text or "", "body")


# ---- the protocol --------------------------------------------------------------------------------


@dataclass(slots=True)
class _Plan:
    uri: list[tuple[str, str, str]]  # (member, template variable, type)
    query: list[tuple[str, str, dict[str, Any]]]  # (member, key, target shape)
    headers: list[tuple[str, str, str]]  # (member, header name lower-cased, type)
    prefix_headers: list[tuple[str, str]]  # (member, header prefix lower-cased)
    payload: str | None
    payload_kind: str | None
    body_members: bool


def _plan(op: OperationSpec, shape_name: str | None) -> _Plan:
    shapes = op.spec.shapes
    shape = shapes[shape_name] if shape_name else {"members": {}}
    plan = _Plan([], [], [], [], shape.get("payload"), None, False)
    if plan.payload:
        plan.payload_kind = shapes[shape["members"][plan.payload]["shape"]]["type"]
    for member, spec in shape.get("members", {}).items():
        target = shapes[spec["shape"]]
        location = spec.get("location")
        name = spec.get("locationName", member)
        if location == "uri":
            plan.uri.append((member, re.sub(r"\W", "_", name), target["type"]))
        elif location == "querystring":
            plan.query.append((member, name, target))
        elif location == "header":
            plan.headers.append((member, name.lower(), target["type"]))
        elif location == "headers":
            plan.prefix_headers.append((member, name.lower()))
        elif location is None and member != plan.payload:
            plan.body_members = True
    return plan


class RestProtocol(WireProtocol):
    input_codec = TYPED_INPUT

    def _decode_body(self, op: OperationSpec, shape_name: str, body: bytes) -> Any:
        raise NotImplementedError

    def _encode_body(self, op: OperationSpec, shape_name: str, value: dict[str, Any]) -> bytes:
        raise NotImplementedError

    def parse(self, service: Service, op: OperationSpec, request: Request) -> dict[str, Any]:
        plan: _Plan | None = op.cache.get("rest_in")
        if plan is None:
            plan = op.cache["rest_in"] = _plan(op, op.input_shape)
        if op.input_shape is None:
            return {}
        params: dict[str, Any] = {}
        violations: list[Violation] = []
        try:
            if plan.uri:
                route = op.cache.get("rest_route") or op.cache.setdefault("rest_route", compile_route(op))
                match = route.pattern.match(request.path)
                groups = match.groupdict() if match else {}
                for member, var, kind in plan.uri:
                    if groups.get(var) is not None:
                        params[member] = _from_text(kind, unquote(groups[var]), "uri")
            if plan.query:
                query = parse_qs(request.query_string, keep_blank_values=True)
                for member, key, target in plan.query:
                    if key not in query:
                        continue
                    if target["type"] == "list":
                        item_kind = op.spec.shapes[target["member"]["shape"]]["type"]
                        params[member] = [_from_text(item_kind, v, "querystring") for v in query[key]]
                    else:
                        params[member] = _from_text(target["type"], query[key][0], "querystring")
            for member, header, kind in plan.headers:
                if header in request.headers:
                    params[member] = _from_text(kind, request.headers[header], "header")
            for member, prefix in plan.prefix_headers:
                found = {k[len(prefix) :]: v for k, v in request.headers.items() if k.startswith(prefix)}
                if found:
                    params[member] = found
        except (ValueError, TypeError):
            raise serialization_error("A URI, query string or header value has the wrong type") from None
        shape = op.spec.shapes[op.input_shape]
        if plan.payload and request.body:
            if plan.payload_kind == "blob":
                params[plan.payload] = request.body
            elif plan.payload_kind == "string":
                params[plan.payload] = request.body.decode("utf-8")
            else:
                payload_shape = shape["members"][plan.payload]["shape"]
                params[plan.payload] = self._decode_body(op, payload_shape, request.body)
        elif plan.body_members and request.body and not request.body.isspace():
            decoded = self._decode_body(op, op.input_shape, request.body)
            decoded.update(params)
            params = decoded
        return self.bind(service, op, params, violations)

    def serialize(self, ctx: RequestContext, op: OperationSpec, result: dict[str, Any] | None) -> Response:
        plan: _Plan | None = op.cache.get("rest_out")
        if plan is None:
            plan = op.cache["rest_out"] = _plan(op, op.output_shape)
        result = dict(result or {})
        headers = request_id_headers(ctx, self.content_type)
        status = op.response_code
        for member, header, kind in plan.headers:
            value = result.pop(member, None)
            if value is not None:
                if header == "content-type":
                    headers[0] = ("Content-Type", str(value))
                else:
                    headers.append((header, _header_text(kind, value)))
        for member, prefix in plan.prefix_headers:
            for key, value in (result.pop(member, None) or {}).items():
                headers.append((prefix + key, str(value)))
        if plan.payload:
            value = result.get(plan.payload)
            if value is None:
                body = b""
            elif isinstance(value, bytes | bytearray):
                body = bytes(value)
            elif isinstance(value, str):
                body = value.encode()
            else:
                assert op.output_shape is not None
                shape_name = op.spec.shapes[op.output_shape]["members"][plan.payload]["shape"]
                body = self._encode_body(op, shape_name, value)
        elif op.output_shape is not None and plan.body_members:
            body = self._encode_body(op, op.output_shape, result)
        else:
            body = b""
        return Response(status, headers, body)


class RestJsonProtocol(RestProtocol):
    name = "rest-json"
    content_type = "application/json"

    def _decode_body(self, op: OperationSpec, shape_name: str, body: bytes) -> Any:
        return decode_json_object(body)

    def _encode_body(self, op: OperationSpec, shape_name: str, value: dict[str, Any]) -> bytes:
        members = op.spec.shapes[shape_name].get("members", {})
        body = {k: v for k, v in value.items() if k in members and not members[k].get("location")}
        encoder = op.encoder(JSON_OUTPUT) if shape_name == op.output_shape else None
        return json_codec.dumps(encoder(body) if encoder else body)

    def serialize_error(self, ctx: RequestContext, error: ServiceError) -> Response:
        status, body, extra = _error_fields(ctx, error)
        code = body.pop("__type").rsplit("#", 1)[-1]
        headers = [*request_id_headers(ctx, self.content_type), ("x-amzn-ErrorType", code), *extra]
        return Response(status, headers, json_codec.dumps(body))


class RestXmlProtocol(RestProtocol):
    name = "rest-xml"
    content_type = "text/xml"

    def _decode_body(self, op: OperationSpec, shape_name: str, body: bytes) -> Any:
        from xml.etree import ElementTree  # rest-xml services only: not at start-up

        try:
            root = ElementTree.fromstring(body)
        except ElementTree.ParseError:
            raise ServiceError(
                "MalformedXML",
                "The XML you provided was not well-formed or did not validate against our published schema",
                status=400,
                type_name="MalformedXML",
            ) from None
        try:
            return _read_xml(op.spec.shapes, shape_name, root)
        except (ValueError, TypeError):
            raise serialization_error("A value in the XML body has the wrong type") from None

    def _encode_body(self, op: OperationSpec, shape_name: str, value: dict[str, Any]) -> bytes:
        writer = op.cache.get(("xml_writer", shape_name))
        if writer is None:
            writer = op.cache[("xml_writer", shape_name)] = compile_writer(op.spec.shapes, shape_name)
        root = op.spec.shapes[shape_name].get("locationName") or f"{op.name}Response"
        out = [f'<?xml version="1.0"?>\n<{root} xmlns="{op.spec.xml_namespace}">']
        writer(value, out)
        out.append(f"</{root}>")
        return "".join(out).encode()

    def serialize_error(self, ctx: RequestContext, error: ServiceError) -> Response:
        from gondwana.protocols.query import QUERY

        return QUERY.serialize_error(ctx, error)


REST_JSON = RestJsonProtocol()
REST_XML = RestXmlProtocol()
