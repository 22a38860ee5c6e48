"""DynamoDB's semantic errors, with AWS's exact wording."""

from __future__ import annotations

from typing import Any

from gondwana.protocols.errors import ServiceError

INVALID = "One or more parameter values were invalid: "


def validation(message: str) -> ServiceError:
    return ServiceError("ValidationException", message)


def invalid(message: str) -> ServiceError:
    """The common "One or more parameter values were invalid: ..." family."""
    return ServiceError("ValidationException", INVALID + message)


def not_found(table: str | None = None) -> ServiceError:
    if table is None:
        return ServiceError("ResourceNotFoundException", "Requested resource not found")
    return ServiceError(
        "ResourceNotFoundException", f"Requested resource not found: Table: {table} not found"
    )


def in_use(message: str) -> ServiceError:
    return ServiceError("ResourceInUseException", message)


def key_mismatch() -> ServiceError:
    return validation("The provided key element does not match the schema")


def condition_failed(item: dict[str, Any] | None = None) -> ServiceError:
    fields = {"Item": item} if item is not None else None
    return ServiceError("ConditionalCheckFailedException", "The conditional request failed", fields=fields)
