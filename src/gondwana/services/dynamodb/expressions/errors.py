"""Errors of the expression language, worded as DynamoDB words them."""

from __future__ import annotations

from gondwana.protocols.errors import ServiceError


def validation(message: str) -> ServiceError:
    return ServiceError("ValidationException", message)


def invalid_expression(kind: str, message: str) -> ServiceError:
    """`Invalid UpdateExpression: ...`, `Invalid ConditionExpression: ...` and so on."""
    return validation(f"Invalid {kind}: {message}")


# Runtime failures of an UpdateExpression against a concrete item.
BAD_OPERAND = "An operand in the update expression has an incorrect data type"
MISSING_ATTRIBUTE = "The provided expression refers to an attribute that does not exist in the item"
BAD_PATH = "The document path provided in the update expression is invalid for update"
LEGACY_MISMATCH = "Type mismatch for attribute to update"  # AttributeUpdates ADD/DELETE


class Issues:
    """Semantic problems found while parsing, reported by AWS's precedence, not discovery order.

    DynamoDB finishes parsing before it reports, e.g., an undefined placeholder, and when an
    expression has several problems it names the most important kind first.
    """

    def __init__(self, order: tuple[str, ...]) -> None:
        self.order = order
        self.found: dict[str, str] = {}

    def add(self, category: str, message: str) -> None:
        self.found.setdefault(category, message)

    def snapshot(self) -> dict[str, str]:
        return dict(self.found)

    def restore(self, saved: dict[str, str]) -> None:
        self.found = saved

    def first(self) -> str | None:
        for category in self.order:
            if category in self.found:
                return self.found[category]
        return None
