"""Conditions (ConditionExpression, FilterExpression, legacy Expected and filters) and their evaluation."""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any

from gondwana.services.dynamodb.expressions import values as v
from gondwana.services.dynamodb.expressions.ast import (
    And,
    Arith,
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
    node_paths,
)
from gondwana.services.dynamodb.expressions.condition import parse_condition_node
from gondwana.services.dynamodb.expressions.placeholders import Placeholders

Item = dict[str, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Condition:
    node: Node | None  # None: no condition at all (an empty legacy Expected or filter)

    def paths(self) -> list[Path]:
        return list(node_paths(self.node)) if self.node is not None else []

    def attribute_names(self) -> set[str]:
        """Top-level attributes the condition reads (Query filters may not name key attributes)."""
        return {path.top for path in self.paths()}


def parse_condition(text: str, ph: Placeholders, kind: str = "ConditionExpression") -> Condition:
    """Parse a ConditionExpression; pass kind="FilterExpression" for filters (it names the error)."""
    return Condition(parse_condition_node(text, ph, kind))


def resolve(item: Item | None, path: Path) -> dict[str, Any] | None:
    """The value at a document path, or None when any step is missing or of the wrong type."""
    if not item:
        return None
    elements = path.elements
    value = item.get(elements[0])  # type: ignore[call-overload]
    for element in elements[1:]:
        if value is None:
            return None
        if isinstance(element, int):
            items = value.get("L")
            value = items[element] if items is not None and element < len(items) else None
        else:
            members = value.get("M")
            value = members.get(element) if members is not None else None
    return value


def operand_value(operand: Operand, item: Item | None) -> dict[str, Any] | None:
    if isinstance(operand, Path):
        return resolve(item, operand)
    if isinstance(operand, Literal):
        return operand.value
    if isinstance(operand, Call) and operand.name == "size":
        return v.size_of(operand_value(operand.args[0], item))
    if isinstance(operand, Arith):  # not reachable from conditions; kept total for safety
        return None
    return None


_ORDER = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def _ordered(op: str, a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    if not v.orderable(a, b):
        return False
    return _ORDER[op](v.compare_values(a, b), 0)  # type: ignore[arg-type]


def _function(call: Call, item: Item | None) -> bool:
    name, args = call.name, call.args
    if name == "attribute_exists":
        return operand_value(args[0], item) is not None
    if name == "attribute_not_exists":
        return operand_value(args[0], item) is None
    first = operand_value(args[0], item)
    second = operand_value(args[1], item) if len(args) > 1 else None
    if name == "attribute_type":
        return first is not None and second is not None and "S" in second and v.type_of(first) == second["S"]
    if name == "begins_with":
        return v.begins_with(first, second)
    if name == "contains":
        return v.contains(first, second)
    return False


def evaluate_node(node: Node, item: Item | None) -> bool:
    if isinstance(node, Compare):
        a, b = operand_value(node.left, item), operand_value(node.right, item)
        if node.op == "=":
            return v.equal(a, b)
        if node.op == "<>":
            return not v.equal(a, b)
        return _ordered(node.op, a, b)
    if isinstance(node, And):
        return evaluate_node(node.left, item) and evaluate_node(node.right, item)
    if isinstance(node, Or):
        return evaluate_node(node.left, item) or evaluate_node(node.right, item)
    if isinstance(node, Not):
        return not evaluate_node(node.inner, item)
    if isinstance(node, Paren):
        return evaluate_node(node.inner, item)
    if isinstance(node, Function):
        return _function(node.call, item)
    if isinstance(node, Between):
        x = operand_value(node.subject, item)
        low, high = operand_value(node.low, item), operand_value(node.high, item)
        return _ordered(">=", x, low) and _ordered("<=", x, high)
    if isinstance(node, In):
        x = operand_value(node.subject, item)
        return any(v.equal(x, operand_value(option, item)) for option in node.options)
    raise TypeError(f"not a condition: {node!r}")


def evaluate(cond: Condition, item: Item | None) -> bool:
    """Whether `item` (None when there is no item) satisfies the condition."""
    return cond.node is None or evaluate_node(cond.node, item)
