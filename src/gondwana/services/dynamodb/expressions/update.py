"""UpdateExpression: grammar and checks.

update   := clause+                      (each of SET, REMOVE, ADD, DELETE at most once)
clause   := "SET" set ("," set)* | "REMOVE" path ("," path)*
          | "ADD" path ":value" ("," ...)* | "DELETE" path ":value" ("," ...)*
set      := path "=" value
value    := "(" sum ")" | sum
sum      := term (("+" | "-") term)?             (one operator at most: "a + b + c" is refused)
term     := "(" term ")" | function | ":value" | path
function := ("if_not_exists" | "list_append") "(" term "," term ")"

Right-hand sides are evaluated against the item before the update (apply.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gondwana.services.dynamodb.expressions.ast import Arith, Call, Literal, Operand, Path, first_overlap
from gondwana.services.dynamodb.expressions.parser import ARITY, Parser
from gondwana.services.dynamodb.expressions.placeholders import Placeholders
from gondwana.services.dynamodb.expressions.projection import Projection
from gondwana.services.dynamodb.expressions.tokens import ATTR_VALUE, EOF
from gondwana.services.dynamodb.expressions.values import SETS, type_of

UPDATE_ARITY = {"if_not_exists": 2, "list_append": 2}
UPDATE_ORDER = (
    "reserved",
    "function_name",
    "section",
    "name",
    "value",
    "nesting",
    "overlap",
    "operand",
    "function",
)
CLAUSES = ("SET", "REMOVE", "ADD", "DELETE")
_TYPE_WORDS = {
    "S": "STRING",
    "N": "NUMBER",
    "B": "BINARY",
    "NULL": "NULL",
    "BOOL": "BOOLEAN",
    "L": "LIST",
    "M": "MAP",
}


@dataclass(frozen=True, slots=True)
class Action:
    """One clause item. `value` is the SET right-hand side, or the ADD/DELETE operand."""

    verb: str  # SET, REMOVE, ADD or DELETE (legacy AttributeUpdates map onto the same four)
    path: Path
    value: Operand | None = None


@dataclass(frozen=True, slots=True)
class Update:
    actions: tuple[Action, ...]
    legacy: bool = False  # from AttributeUpdates, whose ADD/DELETE mismatches are worded differently

    def paths(self) -> list[Path]:
        """Target paths, in expression order."""
        return [action.path for action in self.actions]

    def updated_projection(self) -> Projection:
        """What ReturnValues UPDATED_OLD / UPDATED_NEW return: only the paths written, nested ones
        in their documents (`project(update.updated_projection(), old_or_new_item)`)."""
        return Projection(tuple(action.path for action in self.actions))

    def modified_attributes(self) -> set[str]:
        """Top-level attributes the update writes (key attributes may not be among them)."""
        return {action.path.top for action in self.actions}

    def attribute_names(self) -> set[str]:
        """Top-level attributes the update reads or writes."""
        names = self.modified_attributes()
        stack: list[Any] = [a.value for a in self.actions if a.value is not None]
        while stack:
            operand = stack.pop()
            if isinstance(operand, Path):
                names.add(operand.top)
            elif isinstance(operand, Call):
                stack.extend(operand.args)
            elif isinstance(operand, Arith):
                stack.extend((operand.left, operand.right))
        return names


class UpdateParser(Parser):
    keywords = frozenset(CLAUSES)

    def __init__(self, text: str, ph: Placeholders) -> None:
        super().__init__(text, "UpdateExpression", ph, UPDATE_ORDER)

    def parse(self) -> Update:
        return Update(tuple(self.run(self.clauses)))

    def clauses(self) -> list[Action]:
        actions: list[Action] = []
        seen: set[str] = set()
        while True:
            verb = next((word for word in CLAUSES if self.c.peek.is_word(word)), None)
            if verb is None:
                raise self.fail()
            self.c.take()
            if verb in seen:
                self.issues.add(
                    "section", f'The "{verb}" section can only be used once in an update expression;'
                )
            seen.add(verb)
            actions.append(self.action(verb))
            while self.c.peek.is_punct(","):
                self.c.take()
                actions.append(self.action(verb))
            if self.c.peek.kind == EOF:
                return actions

    def action(self, verb: str) -> Action:
        path = self.path()
        if verb == "SET":
            self.expect("=")
            return Action(verb, path, self.value())
        if verb == "REMOVE":
            return Action(verb, path)
        if self.c.peek.kind != ATTR_VALUE:
            raise self.fail()
        return Action(verb, path, self.literal())

    def value(self) -> Operand:
        if self.c.peek.is_punct("("):
            grouped = self.attempt(self.grouped_value)
            if grouped is not None:
                return grouped
        return self.arithmetic()

    def grouped_value(self) -> Operand:
        self.c.take()
        inner = self.nested(self.arithmetic)
        self.expect(")")
        if self.c.peek.is_punct("+") or self.c.peek.is_punct("-"):
            raise self.fail()  # "(a) + :v": the parentheses held an operand
        return inner

    def arithmetic(self) -> Operand:
        left = self.term()
        token = self.c.peek
        if token.is_punct("+") or token.is_punct("-"):
            self.c.take()
            self.operators += 1
            return Arith(token.text, left, self.term())
        return left

    def term(self) -> Operand:
        """An operand, optionally in parentheses; arithmetic is not allowed inside function calls."""
        token = self.c.peek
        if token.is_punct("("):
            self.c.take()
            inner = self.nested(self.term)
            self.expect(")")
            return inner
        if self.is_call():
            return self.call(self.term)
        if token.kind == ATTR_VALUE:
            return self.literal()
        return self.path()

    # ---- semantic checks -----------------------------------------------------------------------

    def check(self, result: object) -> None:
        actions: list[Action] = result  # type: ignore[assignment]
        overlap = first_overlap([action.path for action in actions])
        if overlap:
            self.issues.add("overlap", overlap)
        for action in actions:
            if action.verb == "SET":
                self.check_value(action.value)  # type: ignore[arg-type]
            elif isinstance(action.value, Literal):
                kind = type_of(action.value.value)
                allowed = kind in SETS or (action.verb == "ADD" and kind == "N")
                if not allowed:
                    word = _TYPE_WORDS.get(kind, kind)
                    self.issues.add(
                        "operand",
                        "Incorrect operand type for operator or function; "
                        f"operator: {action.verb}, operand type: {word}",
                    )

    def check_value(self, operand: Operand) -> str | None:
        """Check a SET right-hand side; returns the type it is known to have, if any."""
        if isinstance(operand, Literal):
            return type_of(operand.value)
        if isinstance(operand, Arith):
            for side in (operand.left, operand.right):
                kind = self.check_value(side)
                if kind is not None and kind != "N":
                    self.function_issue(operand.op, kind)
            return "N"
        if isinstance(operand, Call):
            return self.check_call(operand)
        return None

    def check_call(self, call: Call) -> str | None:
        arity = UPDATE_ARITY.get(call.name)
        if arity is None:
            if call.name in ARITY:
                message = f"The function is not allowed in an update expression; function: {call.name}"
            else:
                message = f"Invalid function name; function: {call.name}"
            self.issues.add("function_name", message)
            return None
        kinds = [self.check_value(arg) for arg in call.args]
        if len(call.args) != arity:
            self.issues.add(
                "function",
                "Incorrect number of operands for operator or function; "
                f"operator or function: {call.name}, number of operands: {len(call.args)}",
            )
            return None
        if call.name == "if_not_exists":
            if not isinstance(call.args[0], Path):
                self.issues.add(
                    "function",
                    f"Operator or function requires a document path; operator or function: {call.name}",
                )
            return kinds[1]
        for arg, kind in zip(call.args, kinds, strict=True):
            if isinstance(arg, Call) and arg.name == "list_append":  # DynamoDB refuses this nesting
                self.issues.add(
                    "function",
                    f"The function is not allowed to be used this way in an expression; function: {arg.name}",
                )
            elif kind is not None and kind != "L":
                self.function_issue(call.name, kind)
        return "L"

    def function_issue(self, function: str, kind: str) -> None:
        self.issues.add(
            "function",
            "Incorrect operand type for operator or function; "
            f"operator or function: {function}, operand type: {kind}",
        )


def parse_update(text: str, ph: Placeholders) -> Update:
    return UpdateParser(text, ph).parse()
