"""Applying an Update to an item.

All right-hand sides are read from the item as it was before the update (so `SET a = :v, b = a`
copies the old `a`), then the actions are applied to a copy; the caller's item is never touched.
"""

from __future__ import annotations

from typing import Any

from gondwana.services.dynamodb.expressions import values as v
from gondwana.services.dynamodb.expressions.ast import Arith, Call, Literal, Operand, Path
from gondwana.services.dynamodb.expressions.errors import (
    BAD_OPERAND,
    BAD_PATH,
    LEGACY_MISMATCH,
    MISSING_ATTRIBUTE,
    validation,
)
from gondwana.services.dynamodb.expressions.evaluate import resolve
from gondwana.services.dynamodb.expressions.update import Update

Item = dict[str, dict[str, Any]]


def compute(operand: Operand, item: Item) -> dict[str, Any]:
    """The value of a SET right-hand side against the old item."""
    if isinstance(operand, Literal):
        return operand.value
    if isinstance(operand, Path):
        found = resolve(item, operand)
        if found is None:
            raise validation(MISSING_ATTRIBUTE)
        return found
    if isinstance(operand, Arith):
        a, b = compute(operand.left, item), compute(operand.right, item)
        if "N" not in a or "N" not in b:
            raise validation(BAD_OPERAND)
        return {"N": v.add_numbers(a["N"], b["N"], subtract=operand.op == "-")}
    if isinstance(operand, Call) and operand.name == "if_not_exists":
        found = resolve(item, operand.args[0])  # type: ignore[arg-type]
        return found if found is not None else compute(operand.args[1], item)
    if isinstance(operand, Call) and operand.name == "list_append":
        a, b = compute(operand.args[0], item), compute(operand.args[1], item)
        if "L" not in a or "L" not in b:
            raise validation(BAD_OPERAND)
        return {"L": a["L"] + b["L"]}
    raise validation(BAD_OPERAND)


def _parent(item: Item, path: Path, strict: bool) -> dict[str, Any] | None:
    """The container value holding the last element of a nested path (None if absent and not strict)."""
    parent = resolve(item, Path(path.elements[:-1]))
    last = path.elements[-1]
    if parent is None or ("L" if isinstance(last, int) else "M") not in parent:
        if strict:
            raise validation(BAD_PATH)
        return None
    return parent


def set_path(item: Item, path: Path, value: dict[str, Any]) -> None:
    if len(path.elements) == 1:
        item[path.top] = value
        return
    parent = _parent(item, path, strict=True)
    assert parent is not None
    last = path.elements[-1]
    if isinstance(last, int):
        elements = parent["L"]
        if last < len(elements):
            elements[last] = value
        else:
            elements.append(value)  # SET past the end of a list appends
    else:
        parent["M"][last] = value


def remove_path(item: Item, path: Path) -> None:
    if len(path.elements) == 1:
        item.pop(path.top, None)
        return
    parent = _parent(item, path, strict=True)
    assert parent is not None
    last = path.elements[-1]
    if isinstance(last, int):
        if last < len(parent["L"]):
            del parent["L"][last]
    else:
        parent["M"].pop(last, None)


def _add(existing: dict[str, Any] | None, operand: dict[str, Any], mismatch: str) -> dict[str, Any]:
    kind = v.type_of(operand)
    if existing is None:
        return v.copy_value(operand)
    if kind not in existing:
        raise validation(mismatch)
    if kind == "N":
        return {"N": v.add_numbers(existing["N"], operand["N"])}
    if kind == "L":  # legacy AttributeUpdates ADD appends to lists
        return {"L": existing["L"] + [v.copy_value(x) for x in operand["L"]]}
    return {kind: v.union(kind, existing[kind], operand[kind])}


def _delete(existing: dict[str, Any] | None, operand: dict[str, Any], mismatch: str) -> dict[str, Any] | None:
    kind = v.type_of(operand)
    if existing is None:
        return None
    if kind not in existing:
        raise validation(mismatch)
    return {kind: v.difference(kind, existing[kind], operand[kind])}


def _path_order(path: Path) -> tuple[tuple[bool, Any], ...]:
    return tuple((isinstance(e, int), e) for e in path.elements)


def apply_update(update: Update, item: Item, exists: bool = True) -> Item:
    """The item after the update; raises ValidationException for type and path errors.

    `item` is never modified; the result shares the values of untouched attributes with it, so treat
    both as immutable.

    `exists=False` says there was no stored item (`item` then holds at most the key): DynamoDB
    silently ignores REMOVE of nested paths in that case instead of calling them invalid.
    """
    mismatch = LEGACY_MISMATCH if update.legacy else BAD_OPERAND
    computed = [compute(a.value, item) if a.verb == "SET" else None for a in update.actions]  # type: ignore[arg-type]
    new = dict(item)  # untouched attributes are shared with `item`; touched ones are copied first
    if all(a.verb == "SET" and len(a.path.elements) == 1 for a in update.actions):
        # Whole attributes set (distinct ones: the parser rejects overlapping paths): nothing
        # to copy first, and no order among them matters.
        for action, value in zip(update.actions, computed, strict=True):
            new[action.path.top] = v.copy_value(value)  # type: ignore[arg-type]
        return new
    for name in update.modified_attributes():
        if name in new:
            new[name] = v.copy_value(new[name])
    removals: list[Path] = []
    # SETs run in path order, so several writes past the end of one list append by index.
    steps = sorted(zip(update.actions, computed, strict=True), key=lambda step: _path_order(step[0].path))
    for action, value in steps:
        if action.verb == "SET":
            set_path(new, action.path, v.copy_value(value))  # type: ignore[arg-type]
        elif action.verb == "REMOVE":
            removals.append(action.path)
        elif action.verb == "ADD":
            set_path(new, action.path, _add(resolve(new, action.path), action.value.value, mismatch))  # type: ignore[union-attr]
        elif action.verb == "DELETE":
            if len(action.path.elements) > 1 and _parent(new, action.path, strict=exists) is None:
                continue  # a nested path of a missing item: ignored, as for REMOVE
            operand = action.value.value  # type: ignore[union-attr]
            remaining = _delete(resolve(new, action.path), operand, mismatch)
            if remaining is None:
                continue
            if remaining[v.type_of(remaining)]:
                set_path(new, action.path, remaining)
            else:
                remove_path(new, action.path)  # a set emptied by DELETE disappears
    # Remove list elements from the highest index down so each index means the original element.
    for path in sorted(removals, key=_path_order, reverse=True):
        if exists or len(path.elements) == 1 or _parent(new, path, strict=False) is not None:
            remove_path(new, path)
    return new
