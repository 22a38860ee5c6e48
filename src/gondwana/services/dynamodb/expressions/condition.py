"""The condition grammar (ConditionExpression, FilterExpression, KeyConditionExpression).

    condition  := or
    or         := and ("OR" and)*
    and        := not ("AND" not)*
    not        := "NOT" not | primary
    primary    := "(" condition ")" | comparison
    comparison := operand comparator operand
                | operand "BETWEEN" operand "AND" operand
                | operand "IN" "(" operand ("," operand)* ")"
                | function
    operand    := "(" operand ")" step* | function | ":value" | path
    function   := name "(" operand ("," operand)* ")"
    path       := (name | "#name") step*
    step       := "." (name | "#name") | "[" digits "]"

Precedence, high to low: comparators, IN, BETWEEN, functions, parentheses, NOT, AND, OR.
Keywords are case-insensitive, function names are not. When an expression has several problems,
DynamoDB names redundant parentheses, function names, misused functions and reserved words first,
then the problems of the first faulty simple condition (LEAF_ORDER).
"""

from __future__ import annotations

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
from gondwana.services.dynamodb.expressions.parser import (
    ARITY,
    COMPARATORS,
    CONDITION_ORDER,
    LEAF_ORDER,
    MAX_IN_OPERANDS,
    ORDERING,
    REDUNDANT,
    TYPE_NAMES,
    UPDATE_FUNCTIONS,
    Parser,
)
from gondwana.services.dynamodb.expressions.placeholders import Placeholders
from gondwana.services.dynamodb.expressions.tokens import PUNCT
from gondwana.services.dynamodb.expressions.values import ORDERED, compare_values, render, type_of


class ConditionParser(Parser):
    keywords = frozenset(("AND", "OR", "NOT", "BETWEEN", "IN"))

    leaf_categories = frozenset(LEAF_ORDER)
    name_category = value_category = "placeholder"  # one slot: whichever comes first

    def __init__(self, text: str, kind: str, ph: Placeholders) -> None:
        super().__init__(text, kind, ph, CONDITION_ORDER)

    def parse(self) -> Node:
        return self.run(self.or_)

    def or_(self) -> Node:
        node = self.and_()
        while self.c.peek.is_word("OR"):
            self.c.take()
            self.operators += 1
            node = Or(node, self.and_())
        return node

    def and_(self) -> Node:
        node = self.not_()
        while self.c.peek.is_word("AND"):
            self.c.take()
            self.operators += 1
            node = And(node, self.not_())
        return node

    def not_(self) -> Node:
        negations = 0
        while self.c.peek.is_word("NOT"):
            self.c.take()
            negations += 1
        self.operators += negations
        node = self.primary()
        for _ in range(negations):
            node = Not(node)
        return node

    def primary(self) -> Node:
        if self.c.peek.is_punct("("):
            grouped = self.attempt(self.group)
            if grouped is not None:
                return grouped
        return self.comparison()

    def group(self) -> Node:
        self.c.take()
        inner = self.nested(self.or_)
        self.expect(")")
        after = self.c.peek
        if (
            (after.kind == PUNCT and after.text in COMPARATORS)
            or after.is_word("BETWEEN")
            or after.is_word("IN")
        ):
            raise self.fail()  # it was a parenthesised operand: "(size(a)) > :n"
        return Paren(inner)

    def comparison(self) -> Node:
        """One simple condition. AWS reports the problems of the first faulty one, by LEAF_ORDER."""
        outer, self.leaf = self.leaf, {}
        try:
            node = self.simple()
            self.check_leaf(node)
            if self.leaf:
                self.issues.add("condition", next(self.leaf[c] for c in LEAF_ORDER if c in self.leaf))
            return node
        finally:
            self.leaf = outer

    def simple(self) -> Node:
        left = self.operand()
        token = self.c.peek
        if token.kind == PUNCT and token.text in COMPARATORS:
            self.c.take()
            self.operators += 1
            return Compare(token.text, left, self.operand())
        if token.is_word("BETWEEN"):
            self.c.take()
            self.operators += 1
            low = self.operand()
            if not self.c.peek.is_word("AND"):
                raise self.fail()
            self.c.take()
            return Between(left, low, self.operand())
        if token.is_word("IN"):
            self.c.take()
            self.operators += 1
            self.expect("(")
            options = [self.operand()]
            while self.c.peek.is_punct(","):
                self.c.take()
                options.append(self.operand())
            self.expect(")")
            return In(left, tuple(options))
        if isinstance(left, Call):
            return Function(left)
        raise self.fail()

    # ---- semantic checks -----------------------------------------------------------------------

    def check(self, result: object) -> None:
        """Redundant parentheses around conditions; simple conditions were checked as parsed."""
        stack = [result]
        while stack:
            node = stack.pop()
            if isinstance(node, Paren):
                if isinstance(node.inner, Paren):
                    self.issues.add("parens", REDUNDANT)
                stack.append(node.inner)
            elif isinstance(node, And | Or):
                stack.extend((node.right, node.left))
            elif isinstance(node, Not):
                stack.append(node.inner)

    def check_leaf(self, node: Node) -> None:
        if isinstance(node, Function):
            if node.call.name == "size":
                self.issues.add(
                    "misused",
                    "The function is not allowed to be used this way in an expression; function: size",
                )
            self.check_call(node.call)
        elif isinstance(node, Compare):
            for operand in (node.left, node.right):
                self.check_value_operand(operand, node.op if node.op in ORDERING else None)
            self.check_distinct(node.op, node.left, [node.right])
        elif isinstance(node, Between):
            for operand in (node.subject, node.low, node.high):
                self.check_value_operand(operand, "BETWEEN")
            self.check_bounds(node.low, node.high)
        elif isinstance(node, In):
            for operand in (node.subject, *node.options):
                self.check_value_operand(operand, None)
            count = 1 + len(node.options)  # AWS counts the left operand too: 99 options at most
            if count > MAX_IN_OPERANDS:
                self.note(
                    "operands",
                    f"The IN operator is provided with too many operands; number of operands: {count}",
                )

    def check_value_operand(self, operand: Operand, ordering: str | None) -> None:
        """An operand that must yield a value; with `ordering`, a value that has an order."""
        if isinstance(operand, Call):
            self.check_call(operand)
            if operand.name in ARITY and operand.name != "size":
                self.issues.add(
                    "misused",
                    "The function is not allowed to be used this way in an expression; "
                    f"function: {operand.name}",
                )
        elif isinstance(operand, Literal) and ordering is not None:
            kind = type_of(operand.value)
            if kind not in ORDERED:
                self.type_issue(ordering, kind)

    def type_issue(self, function: str, kind: str) -> None:
        self.note(
            "types",
            "Incorrect operand type for operator or function; "
            f"operator or function: {function}, operand type: {kind}",
        )

    def check_distinct(self, operator: str, first: Operand, rest: list[Operand]) -> None:
        if isinstance(first, Path) and any(first == other for other in rest):
            self.note(
                "distinct",
                "The first operand must be distinct from the remaining operands for this operator or "
                "function; "
                f"operator: {operator}, first operand: {first}",
            )

    def check_bounds(self, low: Operand, high: Operand) -> None:
        if not (isinstance(low, Literal) and isinstance(high, Literal)):
            return
        a, b = low.value, high.value
        if type_of(a) not in ORDERED or type_of(b) not in ORDERED:
            return
        bounds = (
            f"lower bound operand: AttributeValue: {render(a)}, "
            f"upper bound operand: AttributeValue: {render(b)}"
        )
        if type_of(a) != type_of(b):
            self.note(
                "types", f"The BETWEEN operator requires same data type for lower and upper bounds; {bounds}"
            )
        elif compare_values(a, b) > 0:
            self.note(
                "types",
                "The BETWEEN operator requires upper bound to be greater than or equal to lower bound; "
                f"{bounds}",
            )

    def check_call(self, call: Call) -> None:
        add = self.issues.add
        arity = ARITY.get(call.name)
        if arity is None:
            if call.name in UPDATE_FUNCTIONS:
                add(
                    "function_name",
                    f"The function is not allowed in a condition expression; function: {call.name}",
                )
            else:
                add("function_name", f"Invalid function name; function: {call.name}")
            return
        for arg in call.args:
            if isinstance(arg, Call):
                self.check_value_operand(arg, None)
        if len(call.args) != arity:
            self.note(
                "operands",
                "Incorrect number of operands for operator or function; "
                f"operator or function: {call.name}, number of operands: {len(call.args)}",
            )
            return
        if arity == 2:
            self.check_distinct(call.name, call.args[0], [call.args[1]])
        first = call.args[0]
        if call.name in ("attribute_exists", "attribute_not_exists") and not isinstance(first, Path):
            self.note(
                "types", f"Operator or function requires a document path; operator or function: {call.name}"
            )
        elif call.name == "begins_with":
            for arg in call.args:
                kind = self.kind_of(arg)
                if kind is not None and kind not in ("S", "B"):
                    self.type_issue(call.name, kind)
        elif call.name == "size":
            kind = self.kind_of(first)
            if kind in ("N", "BOOL", "NULL"):
                self.type_issue(call.name, kind)
        if call.name == "attribute_type":
            self.check_type_name(call.args[1])

    def check_type_name(self, operand: Operand) -> None:
        """attribute_type's second operand: a :value naming one of the ten types."""
        kind = self.kind_of(operand)
        if kind is None:  # a document path: any type at all
            self.type_issue("attribute_type", "{NS,SS,L,BS,N,M,B,BOOL,NULL,S}")
        elif kind != "S":
            self.type_issue("attribute_type", kind)
        elif isinstance(operand, Literal) and operand.value["S"] not in TYPE_NAMES:
            self.note(
                "types",
                "Invalid attribute type name found; "
                f"type: {operand.value['S']}, valid types: {{B,NULL,SS,BOOL,L,BS,N,NS,S,M}}",
            )

    @staticmethod
    def kind_of(operand: Operand) -> str | None:
        """The type an operand is known to have before any item is read."""
        if isinstance(operand, Literal):
            return type_of(operand.value)
        if isinstance(operand, Call) and operand.name == "size":
            return "N"
        return None


def parse_condition_node(text: str, ph: Placeholders, kind: str) -> Node:
    return ConditionParser(text, kind, ph).parse()
