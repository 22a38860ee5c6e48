"""KeyConditionExpression and legacy KeyConditions: equality on the partition key, and at most one
condition on the sort key (`= < <= > >=`, BETWEEN, begins_with), joined by AND. A GSI key of several
attributes wants equality on each HASH attribute, and conditions on its RANGE attributes from the
left: equality on each but the last one conditioned."""

from __future__ import annotations

from dataclasses import dataclass
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
    Operand,
    Or,
    Paren,
    Path,
)
from gondwana.services.dynamodb.expressions.condition import parse_condition_node
from gondwana.services.dynamodb.expressions.errors import invalid_expression, validation
from gondwana.services.dynamodb.expressions.placeholders import Placeholders
from gondwana.services.dynamodb.expressions.values import compare_values, type_of

KIND = "KeyConditionExpression"
_FLIPPED = {"=": "=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_LEGACY_OPS = {
    "EQ": "=",
    "LT": "<",
    "LE": "<=",
    "GT": ">",
    "GE": ">=",
    "BETWEEN": "BETWEEN",
    "BEGINS_WITH": "begins_with",
}
_LEGACY_COUNTS = {
    "EQ": 1,
    "LT": 1,
    "LE": 1,
    "GT": 1,
    "GE": 1,
    "BEGINS_WITH": 1,
    "BETWEEN": 2,
    "NE": 1,
    "CONTAINS": 1,
    "NOT_CONTAINS": 1,
    "NULL": 0,
    "NOT_NULL": 0,
}


@dataclass(frozen=True)
class KeyCondition:
    hash_values: tuple[dict[str, Any], ...]  # one per HASH attribute, in key schema order
    # (attribute, operator, values) on the leading RANGE attributes, in key schema order; every
    # operator but the last is "=" ("<", "<=", ">", ">=", "BETWEEN", "begins_with" for the last)
    ranges: tuple[tuple[str, str, list[dict[str, Any]]], ...] = ()

    @property
    def range_op(self) -> str | None:
        return self.ranges[-1][1] if self.ranges else None

    @property
    def range_values(self) -> list[dict[str, Any]]:
        return self.ranges[-1][2] if self.ranges else []


def _fail(message: str) -> Exception:
    return invalid_expression(KIND, message)


def _collect(node: Node, found: dict[str, tuple[str, list[dict[str, Any]]]]) -> None:
    """Flatten AND-ed simple conditions into {attribute: (operator, values)}."""
    while isinstance(node, Paren):
        node = node.inner
    if isinstance(node, And):
        _collect(node.left, found)
        _collect(node.right, found)
        return
    if isinstance(node, Or | Not | In) or (isinstance(node, Compare) and node.op == "<>"):
        word = {Or: "OR", Not: "NOT", In: "IN"}.get(type(node), "<>")
        raise _fail(f"Invalid operator used in KeyConditionExpression: {word}")
    operands: list[Operand]
    if isinstance(node, Function):
        name = node.call.name
        if name == "size":
            raise _fail("KeyConditionExpressions cannot contain nested operations")
        if name != "begins_with":
            raise _fail(f"Invalid operator used in KeyConditionExpression: {name}")
        operator, operands, first_only = "begins_with", list(node.call.args), True
    elif isinstance(node, Between):
        operator, operands, first_only = "BETWEEN", [node.subject, node.low, node.high], True
    else:
        assert isinstance(node, Compare)
        operator, operands, first_only = node.op, [node.left, node.right], False
    if first_only and not isinstance(operands[0], Path):
        raise _fail(
            f"Invalid condition in KeyConditionExpression: {operator} operator must have the key attribute "
            "as its first operand"
        )
    # Operands are examined left to right, so the first problem met is the one reported.
    path: Path | None = None
    for index, operand in enumerate(operands):
        if isinstance(operand, Call):
            raise _fail("KeyConditionExpressions cannot contain nested operations")
        if isinstance(operand, Path):
            if path is not None:
                raise _fail(
                    "Invalid condition in KeyConditionExpression: "
                    "Multiple attribute names used in one condition"
                )
            if len(operand.elements) > 1:
                raise _fail("KeyConditionExpressions cannot have conditions on nested attributes")
            path = operand
            if index != 0:
                operator = _FLIPPED[operator]
    if path is None:
        raise _fail("Invalid condition in KeyConditionExpression: No key attribute specified")
    if path.top in found:
        raise _fail("KeyConditionExpressions must only contain one condition per key")
    literal_values = [o.value for o in operands if isinstance(o, Literal)]
    found[path.top] = (operator, literal_values)


def _build(
    found: dict[str, tuple[str, list[dict[str, Any]]]],
    hash_keys: tuple[str, ...],
    range_keys: tuple[str, ...],
) -> KeyCondition:
    simple = len(hash_keys) == 1 and len(range_keys) <= 1
    if simple and len(found) > 2:
        raise validation("Conditions can be of length 1 or 2 only")
    for name in hash_keys:
        if name not in found:
            raise validation(f"Query condition missed key schema element: {name}")
    for name in found:
        if name not in hash_keys and name not in range_keys:
            if simple and range_keys and range_keys[0] not in found:
                raise validation(f"Query condition missed key schema element: {range_keys[0]}")
            raise validation("Query key condition not supported")
    if any(found[name][0] != "=" for name in hash_keys):
        raise validation("Query key condition not supported")
    for position, later in enumerate(range_keys):
        if later not in found:
            continue
        for prior in range_keys[:position]:
            if prior not in found or found[prior][0] != "=":
                raise validation(
                    f"RANGE key attributes {prior} must have equality conditions specified in the "
                    f"query because a condition is present on key attribute {later}"
                )
    return KeyCondition(
        tuple(found[name][1][0] for name in hash_keys),
        tuple((name, *found[name]) for name in range_keys if name in found),
    )


def parse_key_condition(
    text: str, ph: Placeholders, hash_keys: tuple[str, ...], range_keys: tuple[str, ...]
) -> KeyCondition:
    found: dict[str, tuple[str, list[dict[str, Any]]]] = {}
    _collect(parse_condition_node(text, ph, KIND), found)
    return _build(found, hash_keys, range_keys)


def key_condition_from_legacy(
    key_conditions: dict[str, Any], hash_keys: tuple[str, ...], range_keys: tuple[str, ...]
) -> KeyCondition:
    """Legacy KeyConditions: {attr: {"ComparisonOperator": "EQ", "AttributeValueList": [...]}}."""
    found: dict[str, tuple[str, list[dict[str, Any]]]] = {}
    for name, spec in key_conditions.items():
        operator = spec.get("ComparisonOperator")
        values = list(spec.get("AttributeValueList") or [])
        expected = _LEGACY_COUNTS.get(operator)
        if operator == "IN":
            expected = len(values) if values else 1
        if expected is None or len(values) != expected:
            raise validation(
                "The attempted filter operation is not supported for the provided filter argument count"
            )
        found[name] = (operator, values)
    if not 1 <= len(found) <= max(2, len(hash_keys) + len(range_keys)):
        raise validation("Conditions can be of length 1 or 2 only")
    for name, (operator, values) in found.items():
        if operator not in _LEGACY_OPS:
            if name in hash_keys:
                raise validation("Query key condition not supported")
            raise validation("Attempted conditional constraint is not an indexable operation")
        kinds = {type_of(value) for value in values}
        ordered = len(kinds) == 1 and kinds <= {"S", "N", "B"}
        if operator == "BETWEEN" and ordered and compare_values(values[0], values[1]) > 0:
            raise validation(
                "The BETWEEN condition was provided a range where the lower bound is greater than the "
                "upper bound"
            )
    legacy = {k: (_LEGACY_OPS[op], vals) for k, (op, vals) in found.items()}
    return _build(legacy, hash_keys, range_keys)
