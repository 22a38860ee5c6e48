"""Request-level rules shared by the data-plane operations: expression vs legacy parameters,
placeholders, and turning either form into condition/projection objects."""

from __future__ import annotations

import importlib
from functools import cache
from types import ModuleType
from typing import Any

from gondwana.services.dynamodb import codec
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
    key = ph.cache_key = _key(names, values)
    checked = _CHECKED.get(key) if key is not None else None
    if checked is None:
        ph.validate(check_value)
        if key is not None:
            if len(_CHECKED) >= _PARSED_MAX:
                _CHECKED.clear()
            _CHECKED[key] = (ph.values,)
    else:
        ph.values = checked[0]
    return ph


# Parsed expressions, by (parser, text, extra arguments, the request's placeholder maps). Parsing is a
# pure function of those, and what it returns is immutable (frozen nodes; updates and projections
# copy values before changing them), so a request repeating an expression with the same maps (a
# counter's "SET n = n + :one") skips the parser. Requests with big values are not remembered.
_PARSED: dict[tuple[Any, ...], tuple[Any, frozenset[str], frozenset[str]]] = {}
# The maps as validated (numbers normalised), by the same key: a request repeating them skips the
# checks, which are a pure function of the maps (a failing check raises and is not remembered).
_CHECKED: dict[tuple[Any, ...], tuple[dict[str, Any] | None]] = {}
_PARSED_MAX = 4096
_MAX_VALUES = 2048  # bytes of ExpressionAttributeValues (as JSON) worth remembering


def _key(names: dict[str, str] | None, values: dict[str, Any] | None) -> tuple[Any, ...] | None:
    """The request's placeholder maps as a dictionary key (None: too big to be worth remembering)."""
    names_key = tuple(names.items()) if names is not None else None
    values_key = codec.dumps(values) if values is not None else None
    if values_key is not None and len(values_key) > _MAX_VALUES:
        return None
    return names_key, values_key


def _maps(ph: Any) -> tuple[Any, ...] | None:
    key = ph.cache_key
    return key if key is not None else _key(ph.names, ph.values)


def parse(parser: str, text: str, ph: Any, *args: Any) -> Any:
    """`ex().<parser>(text, ph, *args)`, remembered; marks the placeholders it uses on `ph`."""
    maps = _maps(ph)
    if maps is None:
        return getattr(ex(), parser)(text, ph, *args)
    key = (parser, text, args, maps)
    hit = _PARSED.get(key)
    if hit is None:
        fresh = ex().Placeholders(ph.names, ph.values)  # to learn exactly what this text uses
        result = getattr(ex(), parser)(text, fresh, *args)
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        hit = _PARSED[key] = (result, frozenset(fresh.used_names), frozenset(fresh.used_values))
    ph.used_names.update(hit[1])
    ph.used_values.update(hit[2])
    return hit[0]


def condition(p: dict[str, Any], ph: Any) -> Any:
    if p.get("ConditionExpression") is not None:
        return parse("parse_condition", p["ConditionExpression"], ph)
    ex().check_conditional_operator(p.get("Expected"), p.get("ConditionalOperator"))
    if p.get("Expected"):
        return ex().condition_from_expected(p["Expected"], p.get("ConditionalOperator"))
    return None


def projection(p: dict[str, Any], ph: Any) -> Any:
    if p.get("ProjectionExpression") is not None:
        return parse("parse_projection", p["ProjectionExpression"], ph)
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
