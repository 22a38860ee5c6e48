"""The base every service provider stands on.

A provider is a class with one method per operation, named in snake_case after the operation
(`CreateQueue` -> `create_queue(ctx, params)`), taking the bound request as a dict keyed by model
member names and returning the result dict (or None). It may be `async` when it must wait (long
polling). It raises `ServiceError` for AWS errors. Protocol plumbing lives elsewhere: a provider
holds only its service's semantics.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from gondwana.protocols.errors import CORAL_VALIDATE, ServiceError, Violation, internal_failure
from gondwana.protocols.model import apply_patches, load_botocore_model
from gondwana.protocols.shapes import NOT_NULL, java_repr
from gondwana.protocols.spec import ErrorInfo, ServiceSpec

if TYPE_CHECKING:
    from gondwana.runtime import Runtime
    from gondwana.server.context import RequestContext

Handler = Callable[["RequestContext", dict[str, Any]], Any]

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def snake_case(operation: str) -> str:
    return _CAMEL.sub("_", operation).lower()


class Service:
    name: ClassVar[str]  # our name, used in health output and storage ("sqs")
    model_name: ClassVar[str]  # botocore data directory ("sqs")
    api_version: ClassVar[str | None] = None
    signing_name: ClassVar[str]  # SigV4 credential-scope service ("sqs")
    endpoint_prefix: ClassVar[str]  # first label of the AWS host name ("sqs")
    target_prefix: ClassVar[str | None] = None  # X-Amz-Target prefix for JSON protocols
    error_namespace: ClassVar[str] = ""  # JSON __type prefix ("com.amazonaws.sqs#")
    xml_namespace: ClassVar[str | None] = None  # query responses, when the model has none
    model_patches: ClassVar[dict[str, dict[str, Any]]] = {}
    # Error shapes whose status or legacy code the model does not carry: code -> (status, query_code).
    error_overrides: ClassVar[dict[str, tuple[int, str]]] = {}
    crc32: ClassVar[bool] = False  # add x-amz-crc32 to responses (DynamoDB)
    # Kinesis names every error by its bare name, platform errors (SerializationException,
    # UnknownOperationException) included, where other JSON services say "com.amazon.coral...#".
    bare_error_types: ClassVar[bool] = False
    speaks_query: ClassVar[bool] = False  # accepts the form-encoded query protocol (STS, legacy SQS)
    speaks_rest: ClassVar[bool] = False  # routed by method + path (rest-json, rest-xml)

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._spec: ServiceSpec | None = None
        self._handlers: dict[str, Handler | None] = {}

    # ---- model ---------------------------------------------------------------------------------

    def load_model(self) -> dict[str, Any]:
        model = load_botocore_model(self.model_name, self.api_version)
        return apply_patches(model, self.model_patches) if self.model_patches else model

    @property
    def spec(self) -> ServiceSpec:
        if self._spec is None:
            self._spec = ServiceSpec(self.load_model(), xml_namespace=self.xml_namespace)
        return self._spec

    def handler(self, operation: str) -> Handler | None:
        found = self._handlers.get(operation, False)
        if found is False:
            found = getattr(self, snake_case(operation), None)
            self._handlers[operation] = found
        return found  # type: ignore[return-value]

    def error_info(self, code: str) -> ErrorInfo:
        info = self.spec.error_info(code)
        override = self.error_overrides.get(code)
        if override is not None:
            info = ErrorInfo(override[0], override[1], info.sender_fault, info.message_key)
        return info

    # ---- validation wording --------------------------------------------------------------------

    def validation_error(self, violations: list[Violation]) -> ServiceError:
        """Coral's wording; services that speak otherwise (SQS) override this."""
        return coral_validation_error(
            violations, self.error_namespace if self._has_validation_shape() else None
        )

    def _has_validation_shape(self) -> bool:
        return "ValidationException" in self.spec.shapes

    def internal_error(self) -> ServiceError:
        """The answer to a failure of ours (the store refused a write, a bug): the model's own
        InternalServerError where it has one (DynamoDB's), else the platform's InternalFailure."""
        if "InternalServerError" in self.spec.shapes:
            return ServiceError(
                "InternalServerError", "Internal server error", status=500, sender_fault=False
            )
        return internal_failure()

    # ---- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        """Called once the runtime and store are up: register storage, resume background work."""

    def reset(self) -> None:
        """Forget every in-memory state (the store's rows are wiped by the runtime)."""

    def close(self) -> None:
        """Stop background work before the store closes."""

    def health(self) -> dict[str, Any]:
        return {"state": "running"}


def validation_message(violations: list[Violation]) -> str:
    """Coral's "N validation error(s) detected: Value ... at '...' failed to satisfy ..." text."""
    parts = []
    for v in violations:
        shown = "null" if v.value is None else f"'{java_repr(v.value)}'"
        parts.append(f"Value {shown} at '{v.path}' failed to satisfy constraint: {v.constraint}")
    count = len(parts)
    noun = "error" if count == 1 else "errors"
    return f"{count} validation {noun} detected: " + "; ".join(parts)


def null_member_message(path: str) -> str:
    """Coral's text for a member left null that the service needs, though the current model no
    longer marks it required (the binder cannot tell)."""
    return validation_message([Violation("required", path, path.rsplit(".", 1)[-1], None, NOT_NULL)])


def coral_validation_error(violations: list[Violation], namespace: str | None) -> ServiceError:
    message = validation_message(violations)
    type_name = (
        f"{namespace}ValidationException" if namespace is not None else CORAL_VALIDATE + "ValidationException"
    )
    return ServiceError("ValidationException", message, status=400, type_name=type_name)
