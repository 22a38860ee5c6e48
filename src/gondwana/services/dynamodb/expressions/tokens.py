"""The lexer shared by every expression kind, and the cursor the parsers walk tokens with.

Tokens follow DynamoDB's lexical rules: a bare name starts with a letter and continues with
letters, digits and `_`; `#name` and `:value` placeholders take letters, digits and `_` after the
sigil; numbers (list indexes) are digits. Any other character is a token of its own that no rule
accepts, so it surfaces as AWS's "Syntax error; token: ..., near: ..." message.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from gondwana.services.dynamodb.expressions.errors import invalid_expression

NAME, ATTR_NAME, ATTR_VALUE, NUMBER, PUNCT, UNKNOWN, EOF = (
    "name",
    "attr_name",
    "attr_value",
    "number",
    "punct",
    "unknown",
    "eof",
)
_TWO_CHAR = ("<>", "<=", ">=")
_ONE_CHAR = "=<>()[],.+-"
_WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_DIGITS = frozenset("0123456789")
MAX_EXPRESSION_BYTES = 4096


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    text: str
    start: int
    end: int

    def is_word(self, word: str) -> bool:
        """A keyword (case-insensitive, as AWS's lexer treats AND, SET, BETWEEN...)."""
        return self.kind == NAME and self.text.upper() == word

    def is_punct(self, text: str) -> bool:
        return self.kind == PUNCT and self.text == text


@lru_cache(maxsize=1024)
def tokenize(text: str) -> tuple[Token, ...]:
    """Tokens of an expression (cached: clients send the same expressions over and over)."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        start = i
        if ch in _LETTERS:
            while i < n and text[i] in _WORD:
                i += 1
            kind = NAME
        elif ch in "#:" and i + 1 < n and text[i + 1] in _WORD:
            i += 1
            while i < n and text[i] in _WORD:
                i += 1
            kind = ATTR_NAME if ch == "#" else ATTR_VALUE
        elif ch in _DIGITS:
            while i < n and text[i] in _DIGITS:
                i += 1
            kind = NUMBER
        elif text[i : i + 2] in _TWO_CHAR:
            i += 2
            kind = PUNCT
        elif ch in _ONE_CHAR:
            i += 1
            kind = PUNCT
        else:
            i += 1
            kind = UNKNOWN
        tokens.append(Token(kind, text[start:i], start, i))
    tokens.append(Token(EOF, "<EOF>", n, n))
    return tuple(tokens)


class ParseFailure(Exception):
    """A syntax error at token index `at` (kept as an exception so parsers can backtrack)."""

    def __init__(self, at: int) -> None:
        super().__init__(at)
        self.at = at


class Cursor:
    """A position in the token stream of one expression."""

    def __init__(self, text: str, kind: str) -> None:
        self.text = text
        self.kind = kind
        self.tokens = tokenize(text)
        self.i = 0

    @property
    def peek(self) -> Token:
        return self.tokens[self.i]

    def ahead(self, offset: int = 1) -> Token:
        return self.tokens[min(self.i + offset, len(self.tokens) - 1)]

    def take(self) -> Token:
        token = self.tokens[self.i]
        if token.kind != EOF:
            self.i += 1
        return token

    def syntax_error(self, at: int) -> Exception:
        """AWS names the bad token and quotes the source from the token before it to the one after."""
        bad = self.tokens[at]
        first = self.tokens[at - 1] if at > 0 else bad
        last = self.tokens[at + 1] if bad.kind != EOF and self.tokens[at + 1].kind != EOF else bad
        if bad.kind == EOF:
            last = first
        near = self.text[first.start : last.end]
        return invalid_expression(self.kind, f'Syntax error; token: "{bad.text}", near: "{near}"')


def check_size(text: str, kind: str, with_size: bool) -> None:
    """Empty and over-4-KB expressions; Condition and Filter expressions also quote the size."""
    if text == "":
        raise invalid_expression(kind, "The expression can not be empty;")
    size = len(text.encode("utf-8"))
    if size > MAX_EXPRESSION_BYTES:
        suffix = f" expression size: {size}" if with_size else ""
        raise invalid_expression(kind, "Expression size has exceeded the maximum allowed size;" + suffix)
