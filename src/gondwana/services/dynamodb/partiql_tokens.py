"""PartiQL's lexical layer and the parsed statement it feeds."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from gondwana.services.dynamodb.errors import validation

TOKEN = re.compile(
    r"""\s*(?:
    (?P<str>'(?:[^']|'')*')
  | (?P<qid>"(?:[^"]|"")*")
  | (?P<num>-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<id>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op><<|>>|<>|!=|<=|>=|[=<>,.\[\]{}()?:*+\-])
    )""",
    re.VERBOSE,
)
FUNCTIONS = {"begins_with", "contains", "attribute_type"}


def malformed(detail: str) -> Exception:
    return validation(f"Statement wasn't well formed, can't be processed: {detail}")


@dataclass
class Statement:
    kind: str  # SELECT, INSERT, UPDATE, DELETE, EXISTS (a condition check, in transactions only)
    table: str
    index: str | None = None
    projection: list[str] | None = None  # projection paths (expression text), None for *
    where: str | None = None  # condition expression text
    key_equalities: dict[str, dict[str, Any]] = field(default_factory=dict)  # top-level `attr = value`
    item: dict[str, Any] | None = None  # INSERT's VALUE
    update: str | None = None  # UPDATE's SET/REMOVE as an UpdateExpression
    returning: str | None = None  # ALL_OLD, ALL_NEW, UPDATED_OLD, UPDATED_NEW
    names: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, Any]] = field(default_factory=dict)


def tokenize(text: str) -> list[tuple[str, str]]:
    """(kind, text) pairs: str, qid (quoted identifier), num, id, op."""
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip().rstrip(";")
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m or m.end() == pos:
            if text[pos:].strip() == "":
                break
            raise malformed(f"Unexpected character: {text[pos:].strip()[:1]}")
        kind = m.lastgroup or ""
        tokens.append((kind, m.group(kind)))
        pos = m.end()
    return tokens
