"""DynamoDB global tables: replicas (2019.11.21), MREC and MRSC replication, the control API.

Public helpers (used by the DR drill and the legacy 2017.11.29 API): `add_replica`,
`remove_replica`, `replica_regions`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gondwana.services.dynamodb.errors import not_found
from gondwana.services.dynamodb.replication import replicas, strong
from gondwana.services.dynamodb.replication.control import control_routes, summary
from gondwana.services.dynamodb.replication.replicator import Replicator
from gondwana.services.dynamodb.replication.storage import MIGRATIONS
from gondwana.services.dynamodb.types import Item

if TYPE_CHECKING:
    from gondwana.services.dynamodb.provider import DynamoDBService
    from gondwana.services.dynamodb.schema import Table

__all__ = [
    "MIGRATIONS",
    "Replication",
    "add_replica",
    "control_routes",
    "join_tables",
    "remove_replica",
    "replica_regions",
    "summary",
]


class Replication:
    """What the DynamoDB service holds: the replicator and the MRSC item locks."""

    def __init__(self, svc: DynamoDBService) -> None:
        self.svc = svc
        self.replicator = Replicator(svc)
        self.locks = strong.Locks()

    def local_change(self, table: Table, key: Item, new: Item | None, now: float, region: str) -> None:
        """Called by the writer, inside its transaction, before a local change of a global table."""
        self.local_changes(table, [(key, new)], now, region)

    def local_changes(
        self, table: Table, changes: list[tuple[Item, Item | None]], now: float, region: str
    ) -> None:
        """`local_change` for the changes (key, new image or None) of one write to distinct items:
        a writer applying a batch calls this once (the outbox rows go in with one statement)."""
        if strong.is_strong(table):
            for key, new in changes:
                strong.replicate_now(self.svc, table, key, new, now, region)
        else:
            self.replicator.record(table, changes, now, region)


def _table(service: DynamoDBService, account: str, region: str, table_name: str) -> Table:
    table = service.tables.find(account, region, table_name)
    if table is None:
        raise not_found(table_name)
    return table


def add_replica(service: Any, account: str, region: str, table_name: str, target_region: str) -> None:
    """Add a replica of `table_name` (in `region`) in `target_region`, as UpdateTable ReplicaUpdates."""
    table = _table(service, account, region, table_name)
    with service.runtime.store.transaction():
        replicas.create(service, table, {"RegionName": target_region}, service.runtime.now())


def remove_replica(service: Any, account: str, region: str, table_name: str, target_region: str) -> None:
    table = _table(service, account, region, table_name)
    with service.runtime.store.transaction():
        replicas.delete(service, table, target_region, service.runtime.now())


def replica_regions(service: Any, account: str, region: str, table_name: str) -> list[str]:
    """Every region of the table's group, its own included (just [region] for a plain table)."""
    return replicas.regions(_table(service, account, region, table_name))


def join_tables(
    service: Any, account: str, table_name: str, regions: list[str], version: str = "2017.11.29"
) -> None:
    """Make the existing same-named tables in `regions` exactly one replication group, as the legacy
    CreateGlobalTable/UpdateGlobalTable do (the caller checks that API's preconditions). Members of
    the previous group not listed leave it and keep their table and data."""
    tables = [_table(service, account, region, table_name) for region in regions]
    previous = {r for t in tables for r in replicas.regions(t)} - set(regions)
    now = service.runtime.now()
    entries = [{"RegionName": t.region, "ReplicaStatus": "ACTIVE", "_until": now} for t in tables]
    with service.runtime.store.transaction():
        for region in previous:
            gone = service.table_store.get(account, region, table_name)
            if gone is not None:
                for key in ("_replicas", "_consistency", "_witness", "_version"):
                    gone.desc.pop(key, None)
                service.table_store.save(gone)
            replicas._forget_region(service, tables[0], region)
        for table in tables:
            table.desc["_version"] = version
        replicas._save_group(service, tables[0], entries)
    service.replication.replicator.wake()
