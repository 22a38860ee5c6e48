"""ProjectionExpression (and legacy AttributesToGet): `path ("," path)*`, applied to items.

Projected paths keep their structure: `a.b, a.c` gives `{"a": {"M": {"b": .., "c": ..}}}` and
`l[3], l[1]` gives the list of those elements in list order. Missing paths are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gondwana.services.dynamodb.expressions.ast import Path, first_overlap
from gondwana.services.dynamodb.expressions.errors import validation
from gondwana.services.dynamodb.expressions.parser import Parser
from gondwana.services.dynamodb.expressions.placeholders import Placeholders
from gondwana.services.dynamodb.expressions.values import copy_value

Item = dict[str, dict[str, Any]]
PROJECTION_ORDER = ("reserved", "name", "nesting", "overlap")


@dataclass(frozen=True, slots=True)
class Projection:
    paths: tuple[Path, ...]

    def attribute_names(self) -> set[str]:
        return {path.top for path in self.paths}

    def tree(self) -> dict[Any, Any]:
        """Requested paths as a trie; an empty dict marks "the whole value"."""
        root: dict[Any, Any] = {}
        for path in self.paths:
            node = root
            for element in path.elements:
                node = node.setdefault(element, {})
        return root


class ProjectionParser(Parser):
    def __init__(self, text: str, ph: Placeholders) -> None:
        super().__init__(text, "ProjectionExpression", ph, PROJECTION_ORDER)

    def parse(self) -> Projection:
        return Projection(tuple(self.run(self.paths)))

    def paths(self) -> list[Path]:
        found = [self.path()]
        while self.c.peek.is_punct(","):
            self.c.take()
            found.append(self.path())
        return found

    def check(self, result: object) -> None:
        overlap = first_overlap(result)  # type: ignore[arg-type]
        if overlap:
            self.issues.add("overlap", overlap)


def parse_projection(text: str, ph: Placeholders) -> Projection:
    return ProjectionParser(text, ph).parse()


def projection_from_attributes(names: list[str]) -> Projection:
    """Legacy AttributesToGet: top-level names taken literally."""
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise validation(
                f"One or more parameter values were invalid: Duplicate value in attribute name: {name}"
            )
        seen.add(name)
    return Projection(tuple(Path((name,)) for name in names))


def _extract(value: dict[str, Any], wanted: dict[Any, Any]) -> dict[str, Any] | None:
    if not wanted:
        return copy_value(value)
    if "M" in value:
        members = value["M"]
        picked = {}
        for key, sub in wanted.items():
            if isinstance(key, str) and key in members:
                found = _extract(members[key], sub)
                if found is not None:
                    picked[key] = found
        return {"M": picked} if picked else None
    if "L" in value:
        elements = value["L"]
        kept = []
        for index in sorted(k for k in wanted if isinstance(k, int)):
            if index < len(elements):
                found = _extract(elements[index], wanted[index])
                if found is not None:
                    kept.append(found)
        return {"L": kept} if kept else None
    return None


def project(proj: Projection, item: Item) -> Item:
    result: Item = {}
    for name, wanted in proj.tree().items():
        if name in item:
            found = _extract(item[name], wanted)
            if found is not None:
                result[name] = found
    return result
