"""PartiQL for DynamoDB: SELECT, INSERT, UPDATE and DELETE on one table (or index), parsed by a
small recursive-descent parser and translated into the expression language (conditions, updates,
projections with #name/:value placeholders), so PartiQL shares the expression semantics."""

from __future__ import annotations

from typing import Any

from gondwana.services.dynamodb.errors import validation
from gondwana.services.dynamodb.partiql_tokens import FUNCTIONS, Statement, malformed, tokenize
from gondwana.services.dynamodb.types import check_value


class Parser:
    def __init__(self, text: str, parameters: list[dict[str, Any]] | None) -> None:
        self.tokens = tokenize(text)
        self.i = 0
        self.params = list(parameters or [])
        self.used_params = 0
        self.st = Statement("", "")

    # ---- token helpers -----------------------------------------------------------------------

    def peek(self, offset: int = 0) -> tuple[str, str]:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else ("eof", "")

    def word(self, *words: str) -> bool:
        kind, text = self.peek()
        if kind == "id" and text.upper() in words:
            self.i += 1
            return True
        return False

    def expect_word(self, word: str) -> None:
        if not self.word(word):
            raise malformed(f"Expected {word}, found {self.peek()[1] or 'end of statement'}")

    def op(self, *ops: str) -> str | None:
        kind, text = self.peek()
        if kind == "op" and text in ops:
            self.i += 1
            return text
        return None

    def expect_op(self, op: str) -> None:
        if not self.op(op):
            raise malformed(f"Expected {op}, found {self.peek()[1] or 'end of statement'}")

    def identifier(self) -> str:
        kind, text = self.peek()
        if kind == "qid":
            self.i += 1
            return text[1:-1].replace('""', '"')
        if kind == "id":
            self.i += 1
            return text
        raise malformed(f"Expected an identifier, found {text or 'end of statement'}")

    def component(self) -> str:
        """A table or index name in FROM/INTO/UPDATE: an identifier that may not be empty."""
        name = self.identifier()
        if not name:
            raise validation("Path component cannot be an empty string")
        return name

    # ---- placeholders ------------------------------------------------------------------------

    def name(self, attr: str) -> str:
        for key, value in self.st.names.items():
            if value == attr:
                return key
        key = f"#n{len(self.st.names)}"
        self.st.names[key] = attr
        return key

    def value(self, value: dict[str, Any]) -> str:
        key = f":v{len(self.st.values)}"
        self.st.values[key] = value
        return key

    # ---- statements --------------------------------------------------------------------------

    def parse(self) -> Statement:
        if self.word("SELECT"):
            self.select()
        elif self.word("INSERT"):
            self.insert()
        elif self.word("UPDATE"):
            self.update()
        elif self.word("DELETE"):
            self.delete()
        elif self.peek()[0] == "id" and self.peek()[1].upper() == "EXISTS" and self.peek(1) == ("op", "("):
            self.exists()
        else:
            raise malformed(f"Unsupported statement: {self.peek()[1] or 'empty'}")
        if self.peek()[0] != "eof":
            raise malformed(f"Unexpected token: {self.peek()[1]}")
        if self.used_params != len(self.params):
            raise validation(
                f"Number of parameters in request and statement don't match. Expected {self.used_params}, "
                f"got {len(self.params)}"
            )
        return self.st

    def select(self) -> None:
        self.st.kind = "SELECT"
        if self.op("*"):
            self.st.projection = None
        else:
            paths = [self.path()]
            while self.op(","):
                paths.append(self.path())
            self.st.projection = paths
        self.expect_word("FROM")
        self.st.table = self.component()
        if self.op("."):
            self.st.index = self.component()
            if self.peek() == ("op", "."):
                raise validation("A path may contain at most 2 components in the FROM clause")
        if self.word("WHERE"):
            self.st.where = self.condition()

    def exists(self) -> None:
        """EXISTS(SELECT ... WHERE <full key> [AND ...]): a transaction's condition check."""
        self.i += 2
        self.expect_word("SELECT")
        self.select()
        self.expect_op(")")
        self.st.kind = "EXISTS"

    def insert(self) -> None:
        self.st.kind = "INSERT"
        self.expect_word("INTO")
        self.st.table = self.component()
        self.expect_word("VALUE")
        item = self.literal()
        if "M" not in item:
            raise malformed("INSERT VALUE must be a tuple")
        self.st.item = item["M"]

    def update(self) -> None:
        self.st.kind = "UPDATE"
        self.st.table = self.component()
        sets: list[str] = []
        removes: list[str] = []
        while True:
            if self.word("SET"):
                target = self.path()
                self.expect_op("=")
                sets.append(f"{target} = {self.update_value()}")
                while self.op(","):
                    target = self.path()
                    self.expect_op("=")
                    sets.append(f"{target} = {self.update_value()}")
            elif self.word("REMOVE"):
                removes.append(self.path())
                while self.op(","):
                    removes.append(self.path())
            else:
                break
        if not sets and not removes:
            raise malformed("UPDATE requires SET or REMOVE")
        parts = []
        if sets:
            parts.append("SET " + ", ".join(sets))
        if removes:
            parts.append("REMOVE " + ", ".join(removes))
        self.st.update = " ".join(parts)
        self.expect_word("WHERE")
        self.st.where = self.condition()
        self.returning()

    def delete(self) -> None:
        self.st.kind = "DELETE"
        self.expect_word("FROM")
        self.st.table = self.component()
        self.expect_word("WHERE")
        self.st.where = self.condition()
        start = self.i
        self.returning()
        if self.st.returning not in (None, "ALL_OLD"):
            clause = " ".join(t for _, t in self.tokens[start : self.i])
            raise validation(
                f"Invalid returning clause: {clause}. Only RETURNING ALL OLD * is allowed in DELETE "
                f"statements."
            )

    def returning(self) -> None:
        if not self.word("RETURNING"):
            return
        which = "ALL" if self.word("ALL") else "UPDATED" if self.word("MODIFIED") else None
        age = "OLD" if self.word("OLD") else "NEW" if self.word("NEW") else None
        if which is None or age is None or not self.op("*"):
            raise malformed("RETURNING must be ALL OLD *, ALL NEW *, MODIFIED OLD * or MODIFIED NEW *")
        self.st.returning = f"{which}_{age}"

    # ---- expressions -------------------------------------------------------------------------

    def path(self) -> str:
        parts = [self.name(self.identifier())]
        while True:
            if self.op("."):
                parts.append("." + self.name(self.identifier()))
            elif self.op("["):
                kind, text = self.peek()
                if kind == "num" and text.isdigit():
                    self.i += 1
                    parts.append(f"[{text}]")
                elif kind == "str":
                    self.i += 1
                    parts.append("." + self.name(text[1:-1].replace("''", "'")))
                else:
                    raise malformed("Expected a list index or map key")
                self.expect_op("]")
            else:
                return "".join(parts)

    def is_literal_start(self) -> bool:
        kind, text = self.peek()
        if kind in ("str", "num") or (kind == "op" and text in ("?", "<<", "[", "{")):
            return True
        return kind == "id" and text.upper() in ("TRUE", "FALSE", "NULL")

    def operand(self) -> str:
        if self.is_literal_start():
            return self.value(self.literal())
        if self.peek()[0] == "id" and self.peek()[1].lower() == "size" and self.peek(1) == ("op", "("):
            self.i += 2
            inner = self.path()
            self.expect_op(")")
            return f"size({inner})"
        return self.path()

    def update_value(self) -> str:
        kind, text = self.peek()
        if kind == "id" and text.lower() in ("list_append", "if_not_exists") and self.peek(1) == ("op", "("):
            self.i += 2
            first = self.update_value()
            self.expect_op(",")
            second = self.update_value()
            self.expect_op(")")
            left = f"{text.lower()}({first}, {second})"
        else:
            left = self.operand()
        arith = self.op("+", "-")
        if arith:
            return f"{left} {arith} {self.update_value()}"
        return left

    def condition(self) -> str:
        parts = [self.conjunction(top=True)]
        while self.word("OR"):
            parts.append(self.conjunction(top=False))
        if len(parts) > 1:
            self.st.key_equalities.clear()  # equalities under OR do not pin the key
        return " OR ".join(parts)

    def conjunction(self, top: bool) -> str:
        parts = [self.negation(top)]
        while self.word("AND"):
            parts.append(self.negation(top))
        return " AND ".join(parts)

    def negation(self, top: bool) -> str:
        if self.word("NOT"):
            return f"NOT {self.negation(False)}"
        return self.predicate(top)

    def predicate(self, top: bool) -> str:
        if self.op("("):
            inner = self.condition_nested()
            self.expect_op(")")
            return f"({inner})"
        kind, text = self.peek()
        if kind == "id" and text.lower() in FUNCTIONS and self.peek(1) == ("op", "("):
            self.i += 2
            args = [self.operand()]
            while self.op(","):
                args.append(self.operand())
            self.expect_op(")")
            return f"{text.lower()}({', '.join(args)})"
        start = self.i
        left = self.operand()
        if self.word("IS"):
            negated = self.word("NOT")
            if self.word("MISSING"):
                return f"attribute_exists({left})" if negated else f"attribute_not_exists({left})"
            if self.word("NULL"):
                test = f"attribute_type({left}, {self.value({'S': 'NULL'})})"
                return f"NOT {test}" if negated else test
            raise malformed("Expected MISSING or NULL after IS")
        if self.word("BETWEEN"):
            low = self.operand()
            self.expect_word("AND")
            return f"{left} BETWEEN {low} AND {self.operand()}"
        if self.word("IN"):
            close = "]" if self.op("[") else ")" if self.op("(") else None
            if close is None:
                raise malformed("Expected [ or ( after IN")
            items = [self.operand()]
            while self.op(","):
                items.append(self.operand())
            self.expect_op(close)
            return f"{left} IN ({', '.join(items)})"
        comparator = self.op("=", "<>", "!=", "<", "<=", ">", ">=")
        if comparator is None:
            raise malformed(f"Expected a comparison, found {self.peek()[1] or 'end of statement'}")
        comparator = "<>" if comparator == "!=" else comparator
        right = self.operand()
        simple = self.i - start == 3 and self.tokens[start][0] in ("id", "qid")
        if top and comparator == "=" and simple and right.startswith(":"):
            self.st.key_equalities[self.st.names[left]] = self.st.values[right]
        return f"{left} {comparator} {right}"

    def condition_nested(self) -> str:
        saved = dict(self.st.key_equalities)
        text = self.condition()
        self.st.key_equalities = saved
        return text

    # ---- literals ----------------------------------------------------------------------------

    def literal(self) -> dict[str, Any]:
        kind, text = self.peek()
        self.i += 1
        if kind == "str":
            return {"S": text[1:-1].replace("''", "'")}
        if kind == "num":
            return check_value({"N": text})
        if kind == "id":
            upper = text.upper()
            if upper in ("TRUE", "FALSE"):
                return {"BOOL": upper == "TRUE"}
            if upper == "NULL":
                return {"NULL": True}
        if kind == "op" and text == "?":
            if self.used_params >= len(self.params):
                self.used_params += 1
                return {"NULL": True}  # counted; the mismatch is reported at the end
            value = self.params[self.used_params]
            self.used_params += 1
            return check_value(value)
        if kind == "op" and text == "[":
            items = [] if self.op("]") else self._sequence("]")
            return {"L": items}
        if kind == "op" and text == "<<":
            members = self._sequence(">>")
            kinds = {next(iter(m)) for m in members}
            if len(kinds) != 1 or not kinds <= {"S", "N", "B"}:
                raise malformed("A set must hold strings, numbers or binaries of one type")
            kind_name = kinds.pop()
            return check_value({kind_name + "S": [m[kind_name] for m in members]})
        if kind == "op" and text == "{":
            entries: dict[str, Any] = {}
            if not self.op("}"):
                while True:
                    key = self.literal()
                    if "S" not in key:
                        raise malformed("Tuple keys must be strings")
                    self.expect_op(":")
                    entries[key["S"]] = self.literal()
                    if self.op("}"):
                        break
                    self.expect_op(",")
            return {"M": entries}
        raise malformed(f"Unexpected token: {text or 'end of statement'}")

    def _sequence(self, close: str) -> list[dict[str, Any]]:
        items = [self.literal()]
        while self.op(","):
            items.append(self.literal())
        self.expect_op(close)
        return items


def parse(text: str, parameters: list[dict[str, Any]] | None = None) -> Statement:
    return Parser(text, parameters).parse()
