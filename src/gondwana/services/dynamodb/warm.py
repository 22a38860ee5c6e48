"""WarmThroughput of a table or GSI: always reported; on demand at least 12,000 reads and 4,000
writes a second, provisioned the highest capacity the holder ever had; raised by UpdateTable, never
lowered. `_warm` (private, in the table's or GSI's description) keeps the high-water mark."""

from __future__ import annotations

from typing import Any

from gondwana.services.dynamodb.errors import invalid

ON_DEMAND = {"ReadUnitsPerSecond": 12000, "WriteUnitsPerSecond": 4000}
_UNITS = (("ReadUnitsPerSecond", "ReadCapacityUnits"), ("WriteUnitsPerSecond", "WriteCapacityUnits"))


def _basis(holder: dict[str, Any], on_demand: bool) -> dict[str, int]:
    if on_demand:
        return dict(ON_DEMAND)
    pt = holder["ProvisionedThroughput"]
    return {warm: pt[provisioned] for warm, provisioned in _UNITS}


def current(holder: dict[str, Any], on_demand: bool) -> dict[str, int]:
    """The warm throughput of a table or GSI description now."""
    out = _basis(holder, on_demand)
    for kept in (holder.get("_warm"), holder.get("WarmThroughput")):
        for member in out:
            out[member] = max(out[member], (kept or {}).get(member, 0))
    return out


def remember(holder: dict[str, Any], on_demand: bool) -> None:
    """Keep the high-water mark before a change of capacity or billing mode can lower the basis."""
    holder["_warm"] = current(holder, on_demand)


def raise_to(holder: dict[str, Any], wanted: dict[str, int], on_demand: bool, where: str) -> None:
    """UpdateTable's WarmThroughput: a member not given stays; a lower one is refused."""
    now = current(holder, on_demand)
    for member in now:
        if wanted.get(member) is not None and wanted[member] < now[member]:
            raise invalid(
                f"Requested {member} for WarmThroughput for {where} is lower than current WarmThroughput, "
                "decreasing WarmThroughput is not supported"
            )
    holder["WarmThroughput"] = {**now, **{m: v for m, v in wanted.items() if v is not None}}


_INITIAL = (
    "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/on-demand-capacity-mode.html"
    "#on-demand-capacity-mode-initial"
)


def check_initial(given: dict[str, int], holder: dict[str, Any], on_demand: bool, where: str) -> None:
    """CreateTable's WarmThroughput: not below what the table or GSI starts with."""
    basis = _basis(holder, on_demand)
    for (member, provisioned), floor in zip(_UNITS, basis.values(), strict=True):
        if given.get(member) is not None and given[member] < floor:
            if on_demand:
                raise invalid(
                    f"Requested {member} for WarmThroughput for {where} is lower than initial throughput "
                    f"for OnDemand. See: {_INITIAL}"
                )
            raise invalid(
                f"Requested {member} for WarmThroughput for {where} is lower than {provisioned} of "
                "ProvisionedThroughput"
            )
