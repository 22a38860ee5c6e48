"""Recursive-descent parsing: the machinery every expression kind shares.

A parser walks the token stream with one method per grammar rule. Problems other than syntax
(reserved words, undefined placeholders, misused functions, operand types) are collected while
parsing and reported afterwards in AWS's order of precedence; syntax errors name the token where
the furthest attempt failed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from gondwana.services.dynamodb.expressions.ast import Call, Literal, Operand, Path
from gondwana.services.dynamodb.expressions.errors import Issues, invalid_expression
from gondwana.services.dynamodb.expressions.placeholders import Placeholders
from gondwana.services.dynamodb.expressions.reserved import is_reserved
from gondwana.services.dynamodb.expressions.tokens import (
    ATTR_NAME,
    ATTR_VALUE,
    EOF,
    NAME,
    NUMBER,
    PUNCT,
    Cursor,
    ParseFailure,
    check_size,
)

T = TypeVar("T")

COMPARATORS = frozenset(("=", "<>", "<", "<=", ">", ">="))
ORDERING = frozenset(("<", "<=", ">", ">="))
ARITY = {
    "attribute_exists": 1,
    "attribute_not_exists": 1,
    "attribute_type": 2,
    "begins_with": 2,
    "contains": 2,
    "size": 1,
}
TYPE_NAMES = frozenset(("S", "N", "B", "NULL", "SS", "BOOL", "L", "BS", "NS", "M"))
MAX_IN_OPERANDS = 100
REDUNDANT = "The expression has redundant parentheses;"
UPDATE_FUNCTIONS = frozenset(("if_not_exists", "list_append"))
MAX_OPERATORS = 300
MAX_DEPTH = 32  # elements in one document path
MAX_NESTING = 100  # parentheses and calls; deeper needs over 300 operators or redundant parentheses
OPERATOR_PUNCTS = frozenset(("=", "<>", "<", "<=", ">", ">=", "+", "-"))
OPERATOR_WORDS = frozenset(("AND", "OR", "NOT", "BETWEEN", "IN"))
CONDITION_ORDER = ("parens", "function_name", "misused", "reserved", "condition")
# Problems of one simple condition; the first faulty condition is reported, by this order.
LEAF_ORDER = ("placeholder", "nesting", "operands", "distinct", "types")


class TooDeep(Exception):
    """Nesting beyond MAX_NESTING: stop before Python's recursion limit does."""


class Parser:
    """Shared machinery: cursor, placeholders, paths, values and function calls."""

    keywords: frozenset[str] = frozenset()
    leaf_categories: frozenset[str] = frozenset()  # problems reported per simple condition
    name_category = "name"
    value_category = "value"

    def __init__(self, text: str, kind: str, ph: Placeholders, order: tuple[str, ...]) -> None:
        check_size(text, kind, with_size=kind in ("ConditionExpression", "FilterExpression"))
        self.kind = kind
        self.ph = ph
        self.issues = Issues(order)
        self.c = Cursor(text, kind)
        self.far = 0
        self.depth = 0
        self.operators = 0  # operators and functions, limited to 300 per expression
        self.leaf: dict[str, str] | None = None  # problems of the simple condition being parsed

    def run(self, rule: Callable[[], T]) -> T:
        try:
            result = rule()
            if self.c.peek.kind != EOF:
                raise self.fail()
        except ParseFailure:
            raise self.c.syntax_error(self.far) from None
        except TooDeep:
            raise self.too_deep() from None
        if self.operators > MAX_OPERATORS:
            raise self.too_many_operators(self.operators)
        self.check(result)
        message = self.issues.first()
        if message is not None:
            raise invalid_expression(self.kind, message)
        return result

    def check(self, result: object) -> None:
        """Semantic checks on the finished tree (subclasses)."""

    def note(self, category: str, message: str) -> None:
        """Record a problem: against the current simple condition when the category is per-condition."""
        if self.leaf is not None and category in self.leaf_categories:
            self.leaf.setdefault(category, message)
        else:
            self.issues.add(category, message)

    def too_many_operators(self, count: int) -> Exception:
        return invalid_expression(
            self.kind, f"The expression contains too many operators; operator count: {count}"
        )

    def nested(self, rule: Callable[[], T]) -> T:
        """Parse one level deeper (parentheses, function arguments), within MAX_NESTING levels."""
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise TooDeep
        try:
            return rule()
        finally:
            self.depth -= 1

    def too_deep(self) -> Exception:
        """The answer for nesting no valid expression reaches within 4 KB: unbalanced parentheses are a
        syntax error; balanced, the nesting takes more than 300 operators or is redundant."""
        balance = 0
        for at, token in enumerate(self.c.tokens):
            if token.is_punct("("):
                balance += 1
            elif token.is_punct(")"):
                balance -= 1
                if balance < 0:
                    return self.c.syntax_error(at)
        if balance:
            return self.c.syntax_error(len(self.c.tokens) - 1)
        tokens = self.c.tokens
        count = sum(
            1
            for at, t in enumerate(tokens)
            if (t.kind == PUNCT and t.text in OPERATOR_PUNCTS)
            or (t.kind == NAME and (t.text.upper() in OPERATOR_WORDS or tokens[at + 1].is_punct("(")))
        )
        if count > MAX_OPERATORS:
            return self.too_many_operators(count)
        return invalid_expression(self.kind, REDUNDANT)

    def fail(self) -> ParseFailure:
        self.far = max(self.far, self.c.i)
        return ParseFailure(self.c.i)

    def expect(self, text: str) -> None:
        if not self.c.peek.is_punct(text):
            raise self.fail()
        self.c.take()

    def attempt(self, rule: Callable[[], T]) -> T | None:
        """Try a rule; on failure rewind the cursor and forget what the attempt found."""
        start, saved, operators = self.c.i, self.issues.snapshot(), self.operators
        try:
            return rule()
        except ParseFailure:
            self.c.i = start
            self.issues.restore(saved)
            self.operators = operators
            return None

    # ---- paths, values, calls ------------------------------------------------------------------

    def path(self) -> Path:
        return self.path_tail([self.path_name()])

    def path_tail(self, elements: list[str | int]) -> Path:
        """`.name` and `[index]` steps after the start of a path."""
        while True:
            if self.c.peek.is_punct("."):
                self.c.take()
                elements.append(self.path_name())
            elif self.c.peek.is_punct("["):
                self.c.take()
                if self.c.peek.kind != NUMBER:
                    raise self.fail()
                elements.append(int(self.c.take().text))
                self.expect("]")
            else:
                if len(elements) > MAX_DEPTH:
                    self.note(
                        "nesting",
                        f"The document path has too many nesting levels; nesting levels: {len(elements)}",
                    )
                return Path(tuple(elements))

    def path_name(self) -> str:
        token = self.c.peek
        if token.kind == NAME and token.text.upper() not in self.keywords:
            self.c.take()
            if is_reserved(token.text):
                self.issues.add(
                    "reserved", f"Attribute name is a reserved keyword; reserved keyword: {token.text}"
                )
            return token.text
        if token.kind == ATTR_NAME:
            self.c.take()
            name = self.ph.name(token.text)
            if name is None:
                self.note(
                    self.name_category,
                    "An expression attribute name used in the document path is not defined; "
                    f"attribute name: {token.text}",
                )
                return token.text
            return name
        raise self.fail()

    def literal(self) -> Literal:
        token = self.c.take()
        value = self.ph.value(token.text)
        if value is None:
            self.note(
                self.value_category,
                "An expression attribute value used in expression is not defined; "
                f"attribute value: {token.text}",
            )
            value = {"NULL": True}
        return Literal(value, token.text)

    def is_call(self) -> bool:
        return self.c.peek.kind == NAME and self.c.ahead().is_punct("(")

    def call(self, argument: Callable[[], Operand]) -> Call:
        name = self.c.take().text
        self.c.take()
        self.operators += 1
        args = [self.nested(argument)]
        while self.c.peek.is_punct(","):
            self.c.take()
            args.append(self.nested(argument))
        self.expect(")")
        return Call(name, tuple(args))

    def operand(self) -> Operand:
        token = self.c.peek
        if token.is_punct("("):
            self.c.take()
            doubled = self.c.peek.is_punct("(")
            inner = self.nested(self.operand)
            self.expect(")")
            if doubled:
                self.issues.add("parens", REDUNDANT)
            if isinstance(inner, Path) and (self.c.peek.is_punct(".") or self.c.peek.is_punct("[")):
                return self.path_tail(list(inner.elements))  # "(a.b).c" continues the path
            return inner
        if self.is_call():
            return self.call(self.operand)
        if token.kind == ATTR_VALUE:
            return self.literal()
        return self.path()
