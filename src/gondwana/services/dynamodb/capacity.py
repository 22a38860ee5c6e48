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
    transactional: bool = False,
) -> dict[str, Any] | None:
    """The ConsumedCapacity member for ReturnConsumedCapacity `mode` (None or NONE: absent).

    As AWS reports it: one aggregate figure per arm, with the read/write split only for
    transactions, and an arm only for the indexes the call actually charged."""
    if mode not in ("TOTAL", "INDEXES"):
        return None
    indexes = indexes or {}
    kind = "ReadCapacityUnits" if read else "WriteCapacityUnits"

    def arm(value: float) -> dict[str, float]:
        return {"CapacityUnits": value, kind: value} if transactional else {"CapacityUnits": value}

    out: dict[str, Any] = {"TableName": table.name, **arm(units + sum(indexes.values()))}
    if mode == "INDEXES":
        out["Table"] = arm(units)
        gsis = {n: arm(u) for n, u in indexes.items() if u and table.indexes[n].is_global}
        lsis = {n: arm(u) for n, u in indexes.items() if u and not table.indexes[n].is_global}
        if gsis:
            out["GlobalSecondaryIndexes"] = gsis
        if lsis:
            out["LocalSecondaryIndexes"] = lsis
    return out
