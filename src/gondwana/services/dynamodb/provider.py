"""DynamoDB's operations, dispatched to the modules that hold their semantics."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from gondwana.protocols.errors import ServiceError, Violation
from gondwana.server.context import RequestContext
from gondwana.services.base import Service
from gondwana.services.dynamodb import (
    backfill,
    backups,
    batch,
    expiry_index,
    global_legacy,
    insights,
    items,
    kinesis_destinations,
    misc,
    partiql_ops,
    query,
    recovery,
    replication,
    restoring,
    tags,
    transactions,
)
from gondwana.services.dynamodb.locks import Locks
from gondwana.services.dynamodb.replication import autoscaling, seeding
from gondwana.services.dynamodb.snapshots import Snapshots
from gondwana.services.dynamodb.storage import MIGRATIONS, TableStore
from gondwana.services.dynamodb.tables import Tables
from gondwana.services.dynamodb.ttl import TtlSweeper
from gondwana.services.dynamodb.writes import Writer

Params = dict[str, Any]
# The keys a table's description holds while background work on it goes on (a GSI's backfill, a
# restore, a replica's seeding, the expiry walk), which a restart resumes: each resume checks its own.
_INTERRUPTED = ("_backfill", *restoring.FILLING, "_seeding", "_ttl_walk")


class DynamoDBService(Service):
    name = "dynamodb"
    model_name = "dynamodb"
    signing_name = "dynamodb"
    endpoint_prefix = "dynamodb"
    target_prefix = "DynamoDB_20120810"
    error_namespace = "com.amazonaws.dynamodb.v20120810#"
    crc32 = True

    def validation_error(self, violations: list[Violation]) -> ServiceError:
        """Coral's wording, except for tags: DynamoDB words a bad tag its own way."""
        return tags.violation_error(violations[0]) or super().validation_error(violations)

    def start(self) -> None:
        store = self.runtime.store
        store.register("dynamodb", MIGRATIONS)
        self.table_store = TableStore(store, self.runtime.reclaimer)
        self.writer = Writer(store, self.table_store)
        self.locks = Locks()  # items held by write transactions in progress
        self.tables = Tables(self.runtime, self.table_store, self.writer)
        store.register("dynamodb_repl", replication.MIGRATIONS)
        self.replication = replication.Replication(self)
        self.writer.replication = self.replication
        self.snapshots = self.writer.snapshots = Snapshots(self)
        self.table_store.still_read = self._still_read
        self.tables.replication_service = self
        self.ttl = TtlSweeper(self)
        self.ttl.start()
        for table in self.table_store.naming(_INTERRUPTED):  # background work a restart interrupted
            backfill.resume(self.tables, table)
            restoring.resume(self, table)
            seeding.resume(self, table)
            expiry_index.resume(self, table)
        self.snapshots.resume()
        self.replication.replicator.start()
        self.writer.kinesis = self.runtime.services.get("kinesis")  # (all are built before any starts)

    def _still_read(self, tid: int) -> set[str]:
        """The rows of table `tid` that copies still read: its items, by the backups being copied
        from it and the restores to a point in time from it, and its history, by the restores. A
        table dropped meanwhile leaves them (nothing writes them any more, and ids are never
        reused) until the last copy done releases them."""
        read = {"dynamodb_items"} if self.snapshots.reading(tid) else set()
        if recovery.reading(self, tid):
            read |= {"dynamodb_items", "dynamodb_pitr_changes"}
        return read

    def release_rows(self, tid: int) -> None:
        """A copy from table `tid` is done: if the table is gone, the rows no copy reads any more
        go to the reclaimer (a row dropped twice is deleted once)."""
        if self.runtime.store.query_one("SELECT 1 FROM dynamodb_tables WHERE tid = ?", (tid,)):
            return
        read = self._still_read(tid)
        for name in ("dynamodb_items", "dynamodb_pitr_changes"):
            if name not in read:
                self.runtime.reclaimer.drop(name, "tid", tid)

    def reset(self) -> None:
        self.table_store.clear()
        self.snapshots.walking.clear()
        self.writer.cache.clear()
        self.locks.clear()
        self.replication.replicator.reset()
        self.ttl.start()
        self.replication.replicator.start()

    def close(self) -> None:
        self.ttl.stop()
        self.replication.replicator.stop()

    def health(self) -> dict[str, Any]:
        return {"state": "running", "replication": replication.summary(self)}

    def control_routes(self) -> dict[Any, Any]:
        return replication.control_routes(self)

    # ---- control plane -----------------------------------------------------------------------

    def create_table(self, ctx: RequestContext, p: Params) -> Params:
        return {"TableDescription": self.tables.create(ctx, p)}

    def describe_table(self, ctx: RequestContext, p: Params) -> Params:
        return {"Table": self.tables.describe(self.tables.named(ctx, p["TableName"]))}

    def delete_table(self, ctx: RequestContext, p: Params) -> Params:
        table = self.tables.find(ctx.account, ctx.region, p["TableName"])
        if table is None or "_pitr" not in table.desc:
            return {"TableDescription": self.tables.delete(ctx, p)}
        with self.runtime.store.transaction():  # (no backup if the delete is refused)
            backups.keep_deleted(self, table)
            return {"TableDescription": self.tables.delete(ctx, p)}

    def list_tables(self, ctx: RequestContext, p: Params) -> Params:
        return self.tables.list(ctx, p)

    def update_table(self, ctx: RequestContext, p: Params) -> Params:
        return {"TableDescription": self.tables.update(ctx, p)}

    def describe_limits(self, ctx: RequestContext, p: Params) -> Params:
        return misc.describe_limits()

    def describe_endpoints(self, ctx: RequestContext, p: Params) -> Params:
        return misc.describe_endpoints(ctx)

    def update_time_to_live(self, ctx: RequestContext, p: Params) -> Params:
        return misc.update_ttl(self, ctx, p)

    def describe_time_to_live(self, ctx: RequestContext, p: Params) -> Params:
        return misc.describe_ttl(self, ctx, p)

    def tag_resource(self, ctx: RequestContext, p: Params) -> None:
        tags.tag_resource(self, ctx, p)

    def untag_resource(self, ctx: RequestContext, p: Params) -> None:
        tags.untag_resource(self, ctx, p)

    def list_tags_of_resource(self, ctx: RequestContext, p: Params) -> Params:
        return tags.list_tags(self, ctx, p)

    def create_backup(self, ctx: RequestContext, p: Params) -> Params:
        return backups.create(self, ctx, p)

    def describe_backup(self, ctx: RequestContext, p: Params) -> Params:
        return backups.describe(self, ctx, p)

    def list_backups(self, ctx: RequestContext, p: Params) -> Params:
        return backups.list_backups(self, ctx, p)

    def delete_backup(self, ctx: RequestContext, p: Params) -> Params:
        return backups.delete(self, ctx, p)

    def restore_table_from_backup(self, ctx: RequestContext, p: Params) -> Params:
        return backups.restore(self, ctx, p)

    def restore_table_to_point_in_time(self, ctx: RequestContext, p: Params) -> Params:
        return recovery.restore(self, ctx, p)

    def describe_continuous_backups(self, ctx: RequestContext, p: Params) -> Params:
        return misc.describe_backups(self, ctx, p)

    def update_continuous_backups(self, ctx: RequestContext, p: Params) -> Params:
        return misc.update_backups(self, ctx, p)

    def put_resource_policy(self, ctx: RequestContext, p: Params) -> Params:
        return misc.put_policy(self, ctx, p)

    def get_resource_policy(self, ctx: RequestContext, p: Params) -> Params:
        return misc.get_policy(self, ctx, p)

    def delete_resource_policy(self, ctx: RequestContext, p: Params) -> Params:
        return misc.delete_policy(self, ctx, p)

    def describe_contributor_insights(self, ctx: RequestContext, p: Params) -> Params:
        return insights.describe(self, ctx, p)

    def update_contributor_insights(self, ctx: RequestContext, p: Params) -> Params:
        return insights.update(self, ctx, p)

    def list_contributor_insights(self, ctx: RequestContext, p: Params) -> Params:
        return insights.list_all(self, ctx, p)

    def enable_kinesis_streaming_destination(self, ctx: RequestContext, p: Params) -> Params:
        return kinesis_destinations.enable(self, ctx, p)

    def describe_kinesis_streaming_destination(self, ctx: RequestContext, p: Params) -> Params:
        return kinesis_destinations.describe(self, ctx, p)

    def update_kinesis_streaming_destination(self, ctx: RequestContext, p: Params) -> Params:
        return kinesis_destinations.update(self, ctx, p)

    def disable_kinesis_streaming_destination(self, ctx: RequestContext, p: Params) -> Params:
        return kinesis_destinations.disable(self, ctx, p)

    # ---- global tables, version 2017.11.29 -------------------------------------------------------

    def create_global_table(self, ctx: RequestContext, p: Params) -> Params:
        return global_legacy.create(self, ctx, p)

    def update_global_table(self, ctx: RequestContext, p: Params) -> Params:
        return global_legacy.update(self, ctx, p)

    def describe_global_table(self, ctx: RequestContext, p: Params) -> Params:
        return global_legacy.describe(self, ctx, p)

    def list_global_tables(self, ctx: RequestContext, p: Params) -> Params:
        return global_legacy.list_all(self, ctx, p)

    def describe_global_table_settings(self, ctx: RequestContext, p: Params) -> Params:
        return global_legacy.describe_settings(self, ctx, p)

    def update_global_table_settings(self, ctx: RequestContext, p: Params) -> Params:
        return global_legacy.update_settings(self, ctx, p)

    # ---- global tables, version 2019.11.21: auto scaling settings -----------------------------------

    def describe_table_replica_auto_scaling(self, ctx: RequestContext, p: Params) -> Params:
        return autoscaling.describe(self, ctx, p)

    def update_table_replica_auto_scaling(self, ctx: RequestContext, p: Params) -> Params:
        return autoscaling.update(self, ctx, p)

    # ---- data plane --------------------------------------------------------------------------

    def put_item(self, ctx: RequestContext, p: Params) -> Params:
        return items.put_item(self, ctx, p)

    def get_item(self, ctx: RequestContext, p: Params) -> Params:
        return items.get_item(self, ctx, p)

    def update_item(self, ctx: RequestContext, p: Params) -> Params:
        return items.update_item(self, ctx, p)

    def delete_item(self, ctx: RequestContext, p: Params) -> Params:
        return items.delete_item(self, ctx, p)

    def query(self, ctx: RequestContext, p: Params) -> Params:
        return query.query(self, ctx, p)

    def scan(self, ctx: RequestContext, p: Params) -> Params:
        return query.scan(self, ctx, p)

    def batch_get_item(self, ctx: RequestContext, p: Params) -> Params:
        return batch.batch_get(self, ctx, p)

    def batch_write_item(self, ctx: RequestContext, p: Params) -> Params:
        return batch.batch_write(self, ctx, p)

    def transact_write_items(self, ctx: RequestContext, p: Params) -> Params | Awaitable[Params]:
        return transactions.transact_write(self, ctx, p)

    def transact_get_items(self, ctx: RequestContext, p: Params) -> Params:
        return transactions.transact_get(self, ctx, p)

    # ---- PartiQL -----------------------------------------------------------------------------

    def execute_statement(self, ctx: RequestContext, p: Params) -> Params:
        return partiql_ops.execute_statement(self, ctx, p)

    def batch_execute_statement(self, ctx: RequestContext, p: Params) -> Params:
        return partiql_ops.batch_execute_statement(self, ctx, p)

    def execute_transaction(self, ctx: RequestContext, p: Params) -> Params | Awaitable[Params]:
        return partiql_ops.execute_transaction(self, ctx, p)
