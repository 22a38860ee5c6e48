"""ConsumedCapacity arithmetic: 4 KB read units (half for eventual reads), 1 KB write units."""

from __future__ import annotations

import math
from typing import Any

from gondwana.services.dynamodb.schema import Table


def read_units(size: int, consistent: bool, transactional: bool = False) -> float:
    units = float(max(1, math.ceil(size / 4096)))
    if transactional:
        return units * 2
    return units if consistent else units / 2


def write_units(size: int, transactional: bool = False) -> float:
    units = float(max(1, math.ceil(size / 1024)))
    return units * 2 if transactional else units


def consumed(
    mode: str | None,
    table: Table,
    units: float,
    indexes: dict[str, float] | None = None,
    *,
    read: bool = False,
) -> dict[str, Any] | None:
    """The ConsumedCapacity member for ReturnConsumedCapacity `mode` (None or NONE: absent)."""
    if mode not in ("TOTAL", "INDEXES"):
        return None
    indexes = indexes or {}
    total = units + sum(indexes.values())
    out: dict[str, Any] = {"TableName": table.name, "CapacityUnits": total}
    out["ReadCapacityUnits" if read else "WriteCapacityUnits"] = total
    if mode == "INDEXES":
        kind = "ReadCapacityUnits" if read else "WriteCapacityUnits"
        out["Table"] = {"CapacityUnits": units, kind: units}
        gsis = {n: {"CapacityUnits": u, kind: u} for n, u in indexes.items() if table.indexes[n].is_global}
        lsis = {
            n: {"CapacityUnits": u, kind: u} for n, u in indexes.items() if not table.indexes[n].is_global
        }
        if gsis:
            out["GlobalSecondaryIndexes"] = gsis
        if lsis:
            out["LocalSecondaryIndexes"] = lsis
    return out
