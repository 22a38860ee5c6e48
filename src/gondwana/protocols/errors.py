"""Errors that cross the wire.

A service raises `ServiceError` with the name of an error shape from its model; the serializer
looks the shape up for the HTTP status and wire code. Errors that belong to the platform rather
than to a service (validation, serialization, unknown operation, auth, internal failure) carry an
explicit `type_name` ("com.amazon.coral.validate#ValidationException") so every JSON service
reports them the same way, as AWS's Coral front end does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class ServiceError(Exception):
    """An AWS error response.

    code: the error shape name in the service model (or the platform error name).
    status: HTTP status; None means "take it from the model, else 400".
    sender_fault: True for client errors ("Sender"), False for "Receiver".
    query_code: the legacy query-protocol code (SQS: "AWS.SimpleQueueService.NonExistentQueue").
    type_name: the JSON `__type`, when it is not "<service namespace>#<code>".
    fields: extra members of the error shape (e.g. CancellationReasons, Item).
    headers: extra response headers.
    """

    def __init__(
        self,
        code: str,
        message: str | None = None,
        *,
        status: int | None = None,
        sender_fault: bool | None = None,
        query_code: str | None = None,
        type_name: str | None = None,
        fields: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message or code)
        self.code = code
        self.message = message
        self.status = status
        self.sender_fault = sender_fault
        self.query_code = query_code
        self.type_name = type_name
        self.fields = fields
        self.headers = headers


CORAL_SERVICE = "com.amazon.coral.service#"
CORAL_VALIDATE = "com.amazon.coral.validate#"


def serialization_error(message: str | None = None) -> ServiceError:
    """Malformed or mistyped body (Coral's answer to JSON it cannot bind)."""
    return ServiceError(
        "SerializationException", message, status=400, type_name=CORAL_SERVICE + "SerializationException"
    )


def unknown_operation(message: str | None = None) -> ServiceError:
    return ServiceError(
        "UnknownOperationException",
        message,
        status=400,
        type_name=CORAL_SERVICE + "UnknownOperationException",
        query_code="InvalidAction",
    )


def internal_failure() -> ServiceError:
    return ServiceError(
        "InternalFailure",
        "The request processing has failed because of an unknown error, exception or failure.",
        status=500,
        sender_fault=False,
        type_name=CORAL_SERVICE + "InternalFailure",
    )


@dataclass(slots=True)
class Violation:
    """One failed model constraint, kept raw so each service can word it its own way.

    kind: "required", "type", "min_length", "max_length", "min_value", "max_value", "pattern", "enum".
    path: Coral path ("keySchema.1.member.attributeName"); name: the member's model name.
    """

    kind: str
    path: str
    name: str
    value: Any
    constraint: str
