"""Applying replicated changes in a target region: last-writer-wins per item by (written, origin)
against the replica's item or the tombstone of its delete, the winners of one write handed to the
writer together.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gondwana.services.dynamodb import codec, writes
from gondwana.services.dynamodb.keys import Where
from gondwana.services.dynamodb.types import Item

if TYPE_CHECKING:
    from gondwana.services.dynamodb.provider import DynamoDBService
    from gondwana.services.dynamodb.schema import Table


def _lookup(n: int) -> str:
    """The stored version of n items: the item row's (item, written, origin), or its delete's
    tombstone (NULL, written, origin); a live item wins over a tombstone of an earlier delete."""
    wanted = ", ".join(["(?, ?, ?)"] * n)
    return (
        f"WITH k(spread, hk, rk) AS (VALUES {wanted}) "
        "SELECT k.spread, k.hk, k.rk, i.item, i.written, i.origin FROM k JOIN dynamodb_items AS i "
        "ON i.tid = ? AND i.spread = k.spread AND i.hk = k.hk AND i.rk = k.rk "
        "UNION ALL SELECT k.spread, k.hk, k.rk, NULL, t.written, t.origin FROM k "
        "JOIN dynamodb_repl_tombstones AS t "
        "ON t.tid = ? AND t.spread = k.spread AND t.hk = k.hk AND t.rk = k.rk"
    )


# A few fixed widths (padded with repeats of the last key): constant SQL texts the statement cache keeps.
_WIDTHS = (8, 32)
_LOOKUPS = {n: _lookup(n) for n in _WIDTHS}
_LOOKUP_ONE = (  # one item: plain point reads (the VALUES list costs more than it saves)
    "SELECT item, written, origin FROM dynamodb_items WHERE tid = ? AND spread = ? AND hk = ? AND rk = ? "
    "UNION ALL SELECT NULL, written, origin FROM dynamodb_repl_tombstones WHERE tid = ? AND spread = ? "
    "AND hk = ? AND rk = ?"
)


def tombstone(store: Any, table: Table, key: Item, written: float, origin: str) -> None:
    _bury(store, table.tid, table.encode_key(key), written, origin)


def _bury(store: Any, tid: int, where: Where, written: float, origin: str) -> None:
    store.execute(
        "INSERT INTO dynamodb_repl_tombstones (tid, spread, hk, rk, written, origin) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (tid, spread, hk, rk) "
        "DO UPDATE SET written = excluded.written, origin = excluded.origin",
        (tid, *where, written, origin),
    )


def apply_change(
    svc: DynamoDBService, table: Table, key: Item, new: Item | None, written: float, origin: str
) -> bool:
    """Apply a replicated change if it is newer than what the replica has (item or tombstone)."""
    return apply_changes(svc, table, [(table.encode_key(key), new)], written, origin)[0][0]


def apply_changes(
    svc: DynamoDBService,
    table: Table,
    changes: list[tuple[Where, Item | None]],
    written: float,
    origin: str,
) -> list[tuple[bool, float]]:
    """Apply replicated changes of distinct items, made by one write (`written`, `origin`), each
    only if newer than what the replica has (item or tombstone): (applied, written) per change."""
    store = svc.runtime.store
    stamp = (written, origin)
    stored = versions(store, table.tid, [where for where, _ in changes])
    winners: list[tuple[Where, Item | None, Item | None]] = []
    buried: list[Where] = []
    outcomes = []
    for where, new in changes:
        old_text, current = stored.get(where, (None, None))
        if current is not None and current >= stamp:
            outcomes.append((False, written))  # last writer wins: this change lost (or was applied)
            continue
        winners.append((where, codec.loads(old_text) if old_text is not None else None, new))
        if new is None:
            buried.append(where)
        outcomes.append((True, written))
    if winners:
        _write(svc, table, winners, written, origin)
    for where in buried:
        _bury(store, table.tid, where, written, origin)
    return outcomes


def versions(store: Any, tid: int, wheres: list[Where]) -> dict[Where, tuple[str | None, tuple[float, str]]]:
    """What a replica holds for each item: (its stored text or None for a tombstone, (written, origin)),
    looked up 32 at a time; items never written (or deleted without a trace) are absent."""
    found: dict[Where, tuple[str | None, tuple[float, str]]] = {}
    if len(wheres) == 1:
        where = wheres[0]
        for text, at, by in store.query(_LOOKUP_ONE, (tid, *where, tid, *where)):
            if text is not None or where not in found:
                found[where] = (text, (at, by))
        return found
    for start in range(0, len(wheres), _WIDTHS[-1]):
        part = wheres[start : start + _WIDTHS[-1]]
        width = next(n for n in _WIDTHS if n >= len(part))
        params = [v for where in part + [part[-1]] * (width - len(part)) for v in where]
        for spread, hk, rk, text, at, by in store.query(_LOOKUPS[width], (*params, tid, tid)):
            where = (spread, hk, rk)
            if text is not None or where not in found:  # a live item wins over a tombstone
                found[where] = (text, (at, by))
    return found


def _write(
    svc: DynamoDBService,
    table: Table,
    changes: list[tuple[Where, Item | None, Item | None]],
    written: float,
    origin: str,
) -> None:
    """Hand the winners (where, old, new) of one write to the writer, in one batched write."""
    batch = [writes.Change(old, new, where) for where, old, new in changes]
    svc.writer.apply_many(table, batch, now=written, region=origin, replicated=True)
