"""Request-level rules shared by the data-plane operations: expression vs legacy parameters,
placeholders, and turning either form into condition/projection objects."""

from __future__ import annotations

import importlib
from functools import cache
from types import ModuleType
from typing import Any

from gondwana.services.dynamodb.errors import validation
from gondwana.services.dynamodb.types import check_value


@cache
def ex() -> ModuleType:
    """The expression language package (imported on first use)."""
    return importlib.import_module("gondwana.services.dynamodb.expressions")


def _null_list(names: list[str]) -> str:
    if len(names) == 1:
        return f"{names[0]} is null"
    return f"{', '.join(names[:-1])} and {names[-1]} are null"


def check_mixed(p: dict[str, Any], legacy: list[str], expressions: list[str]) -> None:
    old = [n for n in legacy if p.get(n) is not None]
    new = [n for n in expressions if p.get(n) is not None]
    if old and new:
        raise validation(
            "Can not use both expression and non-expression parameters in the same request: "
            f"Non-expression parameters: {{{', '.join(old)}}} Expression parameters: {{{', '.join(new)}}}"
        )


def placeholders(p: dict[str, Any], expressions: list[str]) -> Any:
    """A Placeholders for this request (None when no expression is used), after AWS's checks."""
    names = p.get("ExpressionAttributeNames")
    values = p.get("ExpressionAttributeValues")
    used = [e for e in expressions if p.get(e) is not None]
    if not used and names is not None:
        raise validation("ExpressionAttributeNames can only be specified when using expressions")
    with_values = [e for e in expressions if e != "ProjectionExpression"]
    if values is not None and with_values and all(p.get(e) is None for e in with_values):
        raise validation(
            "ExpressionAttributeValues can only be specified when using expressions: "
            + _null_list(with_values)
        )
    if not used:
        return None
    ph = ex().Placeholders(names, values)
    ph.validate(check_value)
    return ph


def condition(p: dict[str, Any], ph: Any) -> Any:
    if p.get("ConditionExpression") is not None:
        return ex().parse_condition(p["ConditionExpression"], ph)
    ex().check_conditional_operator(p.get("Expected"), p.get("ConditionalOperator"))
    if p.get("Expected"):
        return ex().condition_from_expected(p["Expected"], p.get("ConditionalOperator"))
    return None


def projection(p: dict[str, Any], ph: Any) -> Any:
    if p.get("ProjectionExpression") is not None:
        return ex().parse_projection(p["ProjectionExpression"], ph)
    if p.get("AttributesToGet"):
        names = p["AttributesToGet"]
        if len(set(names)) != len(names):
            raise validation(
                f"One or more parameter values were invalid: Duplicate value in attribute name: "
                f"{next(n for n in names if names.count(n) > 1)}"
            )
        return ex().projection_from_attributes(names)
    return None


def finish(ph: Any) -> None:
    if ph is not None:
        ph.check_unused()
