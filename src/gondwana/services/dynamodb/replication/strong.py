"""MRSC (MultiRegionConsistency=STRONG): three regions of one region set, synchronous replication.

All regions live in one process and one store, so a write is applied to every replica in the same
store transaction as the local one, before the response. A write to an item that another region
wrote within the conflict window is refused with ReplicatedWriteConflictException, as AWS refuses a
write racing an in-flight write from another region.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from gondwana.protocols.errors import ServiceError
from gondwana.services.dynamodb import codec
from gondwana.services.dynamodb.errors import validation
from gondwana.services.dynamodb.types import Item

if TYPE_CHECKING:
    from gondwana.services.dynamodb.provider import DynamoDBService
    from gondwana.services.dynamodb.schema import Table


def is_strong(table: Table) -> bool:
    return table.desc.get("_consistency") == "STRONG"


def check_conversion(
    svc: DynamoDBService, table: Table, updates: list[dict[str, Any]], witness: list[dict[str, Any]]
) -> None:
    from gondwana.services.dynamodb.replication.replicas import REGION_SETS, check_region, regions

    if "_replicas" in table.desc:
        raise validation("MultiRegionConsistency parameter is unsupported on existing global table")
    if any(not u.get("Create") for u in updates):
        raise validation(
            "Only Replica Create actions are supported when MultiRegionConsistency parameter is provided."
        )
    svc.table_store.counts(table)
    if table.item_count:
        raise validation(
            "A table must be empty to be converted to a multi-Region strongly consistent global table"
        )
    ttl = table.desc.get("_ttl")
    if ttl and ttl.get("TimeToLiveStatus") == "ENABLED":
        raise validation("Time to live is not supported for tables with MultiRegionConsistency set to STRONG")
    wanted = [u["Create"]["RegionName"] for u in updates]
    witnesses = [w["Create"]["RegionName"] for w in witness if "Create" in w]
    for region in wanted + witnesses:
        check_region(region)
    everything = [*regions(table), *wanted, *witnesses]
    if set(witnesses) & set([*regions(table), *wanted]):
        raise validation("Cannot add a witness in the same region as an existing replica")
    if len(witnesses) > 1 or len(everything) != 3 or len(set(everything)) != 3:
        raise validation(
            f"Unsupported replica count: {len(everything)}. A global table with MultiRegionConsistency "
            "set to STRONG needs exactly three Regions: three replicas, or two replicas and one witness"
        )
    if not any(set(everything) <= set(rs) for rs in REGION_SETS.values()):
        raise validation(
            f"Unsupported Region(s) specified: [{', '.join(everything)}]. The Regions of a global table "
            "with MultiRegionConsistency set to STRONG must belong to one Region set"
        )


def convert(svc: DynamoDBService, table: Table, witness: list[dict[str, Any]]) -> None:
    from gondwana.services.dynamodb.replication.replicas import members

    names = [w["Create"]["RegionName"] for w in witness if "Create" in w]
    for member in [table, *members(svc, table)]:
        member.desc["_consistency"] = "STRONG"
        if names:
            member.desc["_witness"] = names[0]
        if "_replicas" not in member.desc:  # two replicas + a witness: still a group of one table
            member.desc["_replicas"] = [{"RegionName": member.region, "ReplicaStatus": "ACTIVE"}]
        svc.table_store.save(member)


class Locks:
    """Who wrote an item last, and when (monotonic), for the conflict window."""

    def __init__(self) -> None:
        # Writes here complete synchronously, so nothing is ever in flight on its own: the window
        # (set through the control API) stands for the time a write would be in flight.
        self.window = 0.0
        self._last: dict[tuple[str, str, str], tuple[str, float]] = {}

    def claim(self, table: Table, key: Item, region: str) -> None:
        slot = (table.account, table.name, codec.dumps(key))
        now = time.monotonic()
        held = self._last.get(slot)
        if held is not None and held[0] != region and now - held[1] < self.window:
            raise ServiceError(
                "ReplicatedWriteConflictException",
                "The request was rejected because one or more items in the request are being modified by a "
                "request in another Region.",
                status=409,
            )
        if len(self._last) > 10000:
            self._last = {k: v for k, v in self._last.items() if now - v[1] < self.window}
        self._last[slot] = (region, now)


def replicate_now(
    svc: DynamoDBService, table: Table, key: Item, new: Item | None, now: float, region: str
) -> None:
    from gondwana.services.dynamodb.replication.apply import apply_change
    from gondwana.services.dynamodb.replication.replicas import members

    svc.replication.locks.claim(table, key, region)
    for other in members(svc, table):
        apply_change(svc, other, key, new, now, region)


def refuse_transaction(table: Table) -> None:
    if is_strong(table):
        raise validation(
            "Transactions are not supported for tables with MultiRegionConsistency set to STRONG"
        )


def dissolve(
    svc: DynamoDBService,
    table: Table,
    updates: list[dict[str, Any]],
    witness: list[dict[str, Any]],
    now: float,
) -> None:
    """An MRSC group is torn down in one call deleting every other replica and the witness; what remains
    is a plain regional table."""
    from gondwana.services.dynamodb.replication.replicas import members, refuse_single_strong_delete

    others = members(svc, table)
    deleting = {u["Delete"]["RegionName"] for u in updates if u.get("Delete")}
    if any(not u.get("Delete") for u in updates) or deleting != {o.region for o in others}:
        refuse_single_strong_delete(table)
    gone = {w["Delete"]["RegionName"] for w in witness if w.get("Delete")}
    if table.desc.get("_witness") and gone != {table.desc["_witness"]}:
        raise validation("Update table delete operation does not include all witnesses.")
    for other in others:
        svc.tables._close_stream(other, now)
        svc.table_store.drop(other)
    for key in ("_replicas", "_consistency", "_witness", "_version", "_seeded"):
        table.desc.pop(key, None)
    svc.table_store.save(table)
