"""Legacy parameters (Expected, QueryFilter/ScanFilter, AttributeUpdates) translated to the trees the
expression language uses, after AWS's validation of their shape."""

from __future__ import annotations

from typing import Any

from gondwana.services.dynamodb.expressions.ast import (
    And,
    Between,
    Call,
    Compare,
    Function,
    In,
    Literal,
    Node,
    Not,
    Or,
    Path,
)
from gondwana.services.dynamodb.expressions.errors import validation
from gondwana.services.dynamodb.expressions.evaluate import Condition
from gondwana.services.dynamodb.expressions.update import Action, Update
from gondwana.services.dynamodb.expressions.values import SETS, compare_values, type_of

INVALID = "One or more parameter values were invalid: "
_COUNTS: dict[str, tuple[int, int]] = {
    "EQ": (1, 1),
    "NE": (1, 1),
    "LE": (1, 1),
    "LT": (1, 1),
    "GE": (1, 1),
    "GT": (1, 1),
    "CONTAINS": (1, 1),
    "NOT_CONTAINS": (1, 1),
    "BEGINS_WITH": (1, 1),
    "NULL": (0, 0),
    "NOT_NULL": (0, 0),
    "IN": (1, 10**9),
    "BETWEEN": (2, 2),
}
_TYPES = {
    "EQ": ("S", "N", "B", "SS", "NS", "BS", "BOOL", "NULL", "L", "M"),
    "NE": ("S", "N", "B", "SS", "NS", "BS", "BOOL", "NULL", "L", "M"),
    "LE": ("S", "N", "B"),
    "LT": ("S", "N", "B"),
    "GE": ("S", "N", "B"),
    "GT": ("S", "N", "B"),
    "CONTAINS": ("S", "N", "B"),
    "NOT_CONTAINS": ("S", "N", "B"),
    "BEGINS_WITH": ("S", "B"),
    "IN": ("S", "N", "B"),
    "BETWEEN": ("S", "N", "B"),
}
_COMPARE = {"EQ": "=", "NE": "<>", "LE": "<=", "LT": "<", "GE": ">=", "GT": ">"}


def _check_values(operator: str, values: list[dict[str, Any]]) -> None:
    if operator not in _COUNTS:  # the model's enum normally stops this before us
        raise validation(f"{INVALID}Unsupported ComparisonOperator: {operator}")
    low, high = _COUNTS[operator]
    if not low <= len(values) <= high:
        raise validation(f"{INVALID}Invalid number of argument(s) for the {operator} ComparisonOperator")
    if values:
        kind = type_of(values[0])
        if any(type_of(value) != kind for value in values):
            raise validation(f"{INVALID}AttributeValues inside AttributeValueList must be of same type")
        for value in values:
            if type_of(value) not in _TYPES[operator]:
                raise validation(
                    f"{INVALID}ComparisonOperator {operator} is not valid for "
                    f"{type_of(value)} AttributeValue "
                    "type"
                )
    if operator == "BETWEEN" and compare_values(values[0], values[1]) > 0:
        raise validation(
            "The BETWEEN condition was provided a range where the lower bound is greater than the upper bound"
        )


def _node(name: str, operator: str, values: list[dict[str, Any]]) -> Node:
    path = Path((name,))
    literals = [Literal(value, "") for value in values]
    if operator in _COMPARE:
        return Compare(_COMPARE[operator], path, literals[0])
    if operator == "NULL":
        return Function(Call("attribute_not_exists", (path,)))
    if operator == "NOT_NULL":
        return Function(Call("attribute_exists", (path,)))
    if operator == "CONTAINS":
        return Function(Call("contains", (path, literals[0])))
    if operator == "NOT_CONTAINS":  # unlike NE, false when the attribute is missing
        return And(
            Function(Call("attribute_exists", (path,))), Not(Function(Call("contains", (path, literals[0]))))
        )
    if operator == "BEGINS_WITH":
        return Function(Call("begins_with", (path, literals[0])))
    if operator == "IN":
        return In(path, tuple(literals))
    return Between(path, literals[0], literals[1])


def check_conditional_operator(conditions: dict[str, Any] | None, operator: str | None) -> None:
    """ConditionalOperator needs an Expected / QueryFilter / ScanFilter of two or more conditions."""
    if operator is None:
        return
    if not conditions:
        raise validation("ConditionalOperator cannot be used without Filter or Expected")
    if len(conditions) < 2:
        raise validation(
            "ConditionalOperator can only be used when Filter or Expected has two or more elements"
        )


def _join(nodes: list[Node], operator: str | None) -> Condition:
    if not nodes:
        return Condition(None)  # an empty Expected or filter: always satisfied
    joined = nodes[0]
    for node in nodes[1:]:
        joined = Or(joined, node) if operator == "OR" else And(joined, node)
    return Condition(joined)


def condition_from_filter(filter: dict[str, Any], operator: str | None) -> Condition:
    """QueryFilter / ScanFilter: {attr: {"ComparisonOperator": .., "AttributeValueList": [..]}}."""
    check_conditional_operator(filter, operator)
    nodes = []
    for name, spec in filter.items():
        comparison = spec.get("ComparisonOperator")
        values = list(spec.get("AttributeValueList") or [])
        _check_values(comparison, values)
        nodes.append(_node(name, comparison, values))
    return _join(nodes, operator)


def condition_from_expected(expected: dict[str, Any], operator: str | None) -> Condition:
    """Expected: Value/Exists pairs, or ComparisonOperator with Value or AttributeValueList."""
    check_conditional_operator(expected, operator)
    nodes = []
    for name, spec in expected.items():
        value, exists = spec.get("Value"), spec.get("Exists")
        value_list = spec.get("AttributeValueList")
        comparison = spec.get("ComparisonOperator")
        if value_list is not None and value is not None:
            raise validation(
                f"{INVALID}Value and AttributeValueList cannot be used together for Attribute: {name}"
            )
        if comparison is not None:
            if exists is not None:
                raise validation(
                    f"{INVALID}Exists and ComparisonOperator cannot be used together for Attribute: {name}"
                )
            values = list(value_list) if value_list is not None else ([value] if value is not None else [])
            if comparison not in ("NULL", "NOT_NULL") and not values:
                raise validation(
                    f"{INVALID}Value or AttributeValueList must be used with "
                    f"ComparisonOperator: {comparison} "
                    ""
                    f"for Attribute: {name}"
                )
            _check_values(comparison, values)
            nodes.append(_node(name, comparison, values))
        elif value_list is not None:
            raise validation(
                f"{INVALID}AttributeValueList can only be used with a ComparisonOperator for Attribute: "
                f"{name}"
            )
        elif exists is False:
            if value is not None:
                raise validation(f"{INVALID}Value cannot be used when Exists is false for Attribute: {name}")
            nodes.append(_node(name, "NULL", []))
        else:
            if value is None:
                shown = "null" if exists is None else "true"
                raise validation(
                    f"{INVALID}Value must be provided when Exists is {shown} for Attribute: {name}"
                )
            nodes.append(_node(name, "EQ", [value]))
    return _join(nodes, operator)


def update_from_attribute_updates(updates: dict[str, Any]) -> Update:
    """AttributeUpdates: {attr: {"Action": "PUT"|"ADD"|"DELETE", "Value": ..}} (Action defaults to PUT)."""
    actions = []
    for name, spec in updates.items():
        action, value = spec.get("Action") or "PUT", spec.get("Value")
        if action not in ("PUT", "ADD", "DELETE"):  # the model's enum normally stops this before us
            raise validation(f"{INVALID}Unsupported Action: {action}")
        path = Path((name,))
        if value is None:
            if action != "DELETE":
                raise validation(
                    f"{INVALID}Only DELETE action is allowed when no attribute value is specified"
                )
            actions.append(Action("REMOVE", path))
            continue
        kind = type_of(value)
        if action == "DELETE" and kind not in SETS:
            raise validation(f"{INVALID}DELETE action with value is not supported for the type {kind}")
        if action == "ADD" and kind not in SETS and kind not in ("N", "L"):
            raise validation(f"{INVALID}ADD action is not supported for the type {kind}")
        verb = "SET" if action == "PUT" else action
        actions.append(Action(verb, path, Literal(value, "")))
    return Update(tuple(actions), legacy=True)
