"""The parsed forms of expressions: operands, conditions, and document-path helpers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Union

Element = str | int  # a map key or a list index


@dataclass(frozen=True, slots=True)
class Path:
    """A document path with placeholders already substituted: ("a", "b", 2, "c") for a.b[2].c."""

    elements: tuple[Element, ...]

    @property
    def top(self) -> str:
        return self.elements[0]  # type: ignore[return-value]

    def __str__(self) -> str:
        """AWS's rendering in messages: [a, b, [2], c]."""
        return "[" + ", ".join(f"[{e}]" if isinstance(e, int) else e for e in self.elements) + "]"


@dataclass(frozen=True, slots=True)
class Literal:
    value: dict[str, Any]
    placeholder: str


@dataclass(frozen=True, slots=True)
class Call:
    name: str
    args: tuple[Operand, ...]


@dataclass(frozen=True, slots=True)
class Arith:
    """`a + b` / `a - b` on the right-hand side of SET."""

    op: str
    left: Operand
    right: Operand


Operand = Union[Path, Literal, Call, Arith]  # noqa: UP007 (a runtime alias of forward references)


@dataclass(frozen=True, slots=True)
class Compare:
    op: str
    left: Operand
    right: Operand


@dataclass(frozen=True, slots=True)
class Between:
    subject: Operand
    low: Operand
    high: Operand


@dataclass(frozen=True, slots=True)
class In:
    subject: Operand
    options: tuple[Operand, ...]


@dataclass(frozen=True, slots=True)
class Function:
    """A boolean function used as a condition: attribute_exists(a), begins_with(a, :p)..."""

    call: Call


@dataclass(frozen=True, slots=True)
class And:
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Or:
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Not:
    inner: Node


@dataclass(frozen=True, slots=True)
class Paren:
    """A parenthesised condition; kept only to spot AWS's "redundant parentheses"."""

    inner: Node


Node = Union[Compare, Between, In, Function, And, Or, Not, Paren]  # noqa: UP007


def operand_paths(operand: Operand) -> Iterator[Path]:
    if isinstance(operand, Path):
        yield operand
    elif isinstance(operand, Call):
        for arg in operand.args:
            yield from operand_paths(arg)
    elif isinstance(operand, Arith):
        yield from operand_paths(operand.left)
        yield from operand_paths(operand.right)


def node_operands(node: Node) -> Iterator[Operand]:
    if isinstance(node, Compare):
        yield node.left
        yield node.right
    elif isinstance(node, Between):
        yield from (node.subject, node.low, node.high)
    elif isinstance(node, In):
        yield node.subject
        yield from node.options
    elif isinstance(node, Function):
        yield node.call
    elif isinstance(node, And | Or):
        yield from node_operands(node.left)
        yield from node_operands(node.right)
    elif isinstance(node, Not | Paren):
        yield from node_operands(node.inner)


def node_paths(node: Node) -> Iterator[Path]:
    for operand in node_operands(node):
        yield from operand_paths(operand)


def strip_parens(node: Node) -> Node:
    while isinstance(node, Paren):
        node = node.inner
    return node


def _relation(one: Path, two: Path) -> str | None:
    """ "overlap" when one path contains the other, "conflict" when they index one level differently."""
    for a, b in zip(one.elements, two.elements, strict=False):
        if type(a) is not type(b):
            return "conflict"
        if a != b:
            return None
    return "overlap"


def first_overlap(paths: list[Path]) -> str | None:
    """AWS's complaint about two paths of one expression touching the same part of a document;
    overlaps are reported before conflicts."""
    conflict = None
    for j, later in enumerate(paths):
        for earlier in paths[:j]:
            relation = _relation(earlier, later)
            if relation is None:
                continue
            message = (
                f"Two document paths {relation} with each other; must remove or rewrite one of these paths; "
                f"path one: {earlier}, path two: {later}"
            )
            if relation == "overlap":
                return message
            conflict = conflict or message
    return conflict
