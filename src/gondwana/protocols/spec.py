"""A service model compiled for the wire: operations, their shapes and their errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gondwana.protocols.shapes import (
    Binder,
    Encoder,
    InputCodec,
    OutputCodec,
    compile_binder,
    compile_encoder,
)

_UNSET: Any = object()


@dataclass(slots=True)
class OperationSpec:
    name: str
    input_shape: str | None
    output_shape: str | None
    http_method: str
    request_uri: str
    result_wrapper: str | None
    response_code: int
    # (output member, union shape) when the output carries an event stream (SubscribeToShard).
    event_stream: tuple[str, str] | None
    spec: ServiceSpec
    _binders: dict[str, Binder | None] = field(default_factory=dict)
    _encoders: dict[str, Encoder | None] = field(default_factory=dict)
    cache: dict[str, Any] = field(default_factory=dict)  # per-protocol compiled plans

    def binder(self, codec: InputCodec) -> Binder | None:
        found = self._binders.get(codec.name, _UNSET)
        if found is _UNSET:
            found = (
                None
                if self.input_shape is None
                else compile_binder(self.spec.shapes, self.input_shape, codec)
            )
            self._binders[codec.name] = found
        return found

    def encoder(self, codec: OutputCodec) -> Encoder | None:
        found = self._encoders.get(codec.name, _UNSET)
        if found is _UNSET:
            found = (
                None
                if self.output_shape is None
                else compile_encoder(self.spec.shapes, self.output_shape, codec)
            )
            self._encoders[codec.name] = found
        return found


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    status: int
    query_code: str
    sender_fault: bool
    message_key: str  # "message" or "Message", as the error shape spells it


class ServiceSpec:
    """The compiled view of one botocore service model."""

    def __init__(self, model: dict[str, Any], *, xml_namespace: str | None = None) -> None:
        self.model = model
        self.metadata: dict[str, Any] = model["metadata"]
        self.shapes: dict[str, Any] = model["shapes"]
        self.protocol: str = self.metadata["protocol"]
        self.json_version: str = self.metadata.get("jsonVersion", "1.0")
        self.target_prefix: str | None = self.metadata.get("targetPrefix")
        self.query_compatible = "awsQueryCompatible" in self.metadata
        self.xml_namespace = xml_namespace or self.metadata.get("xmlNamespace", "")
        self._operations: dict[str, OperationSpec | None] = {}
        self._errors: dict[str, ErrorInfo] = {}

    def operation(self, name: str) -> OperationSpec | None:
        found = self._operations.get(name, _UNSET)
        if found is _UNSET:
            raw = self.model["operations"].get(name)
            found = None if raw is None else self._compile_operation(name, raw)
            self._operations[name] = found
        return found

    def _compile_operation(self, name: str, raw: dict[str, Any]) -> OperationSpec:
        http = raw.get("http", {})
        output = raw.get("output") or {}
        event_stream = None
        for member, target in self.shapes.get(output.get("shape", ""), {}).get("members", {}).items():
            if self.shapes[target["shape"]].get("eventstream"):
                event_stream = (member, target["shape"])
        return OperationSpec(
            name=name,
            input_shape=(raw.get("input") or {}).get("shape"),
            output_shape=output.get("shape"),
            http_method=http.get("method", "POST"),
            request_uri=http.get("requestUri", "/"),
            # Query-compatible JSON models (SQS) lost the wrapper their query ancestors declared.
            result_wrapper=output.get("resultWrapper")
            or (f"{name}Result" if output and self.protocol != "query" else None),
            response_code=http.get("responseCode", 200),
            event_stream=event_stream,
            spec=self,
        )

    def error_info(self, code: str) -> ErrorInfo:
        info = self._errors.get(code)
        if info is None:
            shape = self.shapes.get(code)
            trait: dict[str, Any] = (shape or {}).get("error", {})
            members = (shape or {}).get("members", {})
            info = ErrorInfo(
                status=trait.get("httpStatusCode", 400),
                query_code=trait.get("code", code),
                sender_fault=trait.get("senderFault", True),
                message_key="Message" if "Message" in members else "message",
            )
            self._errors[code] = info
        return info
