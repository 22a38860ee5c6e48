"""The control plane: create, describe, list, update and delete tables, and their lifecycle.

A table's status is stored with the time it settles (`status_until`), so CREATING/UPDATING/
DELETING pass for the server's state delay without timers, and survive restarts.
"""

from __future__ import annotations

import copy
import datetime
import json
import re
import uuid
from typing import Any

from gondwana.services.dynamodb import limits, tags, warm
from gondwana.services.dynamodb.errors import in_use, not_found, validation
from gondwana.services.dynamodb.replication import replicas
from gondwana.services.dynamodb.restoring import FILLING
from gondwana.services.dynamodb.schema import Table, entries_key
from gondwana.services.dynamodb.shards import close_shard, open_shard
from gondwana.services.dynamodb.storage import TableStore
from gondwana.services.dynamodb.table_specs import prune_attributes, sse_description, validate_create
from gondwana.services.dynamodb.writes import Writer

_NAME = re.compile(r"[a-zA-Z0-9_.-]+")


def table_name(raw: str) -> str:
    """TableName may be a table ARN (arn:aws:dynamodb:region:account:table/name); a plain name must be
    3-255 characters of [a-zA-Z0-9_.-] (the model now allows ARNs, so the service checks this itself)."""
    if raw.startswith("arn:"):
        resource = raw.split(":", 5)[-1]
        name = resource.split("/", 2)[1] if resource.startswith("table/") else resource
        if name.isascii():
            return name
        raw = name  # no table is named so (and a lone surrogate cannot be looked up): refused below
    problems = []
    if not _NAME.fullmatch(raw):
        problems.append("Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")
    if len(raw) < 3:
        problems.append("Member must have length greater than or equal to 3")
    if len(raw) > 255:
        problems.append("Member must have length less than or equal to 255")
    if problems:
        noun = "error" if len(problems) == 1 else "errors"
        raise validation(
            f"{len(problems)} validation {noun} detected: "
            + "; ".join(f"Value '{raw}' at 'tableName' failed to satisfy constraint: {p}" for p in problems)
        )
    return raw


def stream_label(now: float) -> str:
    return datetime.datetime.fromtimestamp(now, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


class Tables:
    def __init__(self, runtime: Any, store: TableStore, writer: Writer) -> None:
        self.runtime = runtime
        self.store = store
        self.writer = writer
        self.replication_service: Any = None  # the service, for global-table membership

    # ---- lookup and lifecycle ----------------------------------------------------------------

    def find(self, account: str, region: str, raw_name: str) -> Table | None:
        # A known table's own name needs no checks (an ARN or an invalid name is never one).
        table = self.store.cached(account, region, raw_name)
        if table is None:
            table = self.store.get(account, region, table_name(raw_name))
        if table is not None and not self._settle(table):
            return None
        return table

    def named(self, ctx: Any, raw_name: str) -> Table:
        """The table for a control-plane call, whose not-found message names it."""
        table = self.find(ctx.account, ctx.region, raw_name)
        if table is None:
            raise not_found(table_name(raw_name))
        return table

    def require(self, ctx: Any, raw_name: str, *, named: bool = False) -> Table:
        """The table for a data-plane call; AWS answers a bare "Requested resource not found"."""
        table = self.find(ctx.account, ctx.region, raw_name)
        if table is None or table.status in ("CREATING", "DELETING"):
            raise not_found(table_name(raw_name) if named else None)
        return table

    def _settle(self, table: Table) -> bool:
        """Move a table (and its indexes) past transitions whose time has come; False if it is gone."""
        now = self.runtime.now()
        changed = False
        # (filled in the background: restoring.py, replication/seeding.py)
        restoring = table.status == "CREATING" and any(k in table.desc for k in (*FILLING, "_seeding"))
        if table.status != "ACTIVE" and now >= table.status_until and not restoring:
            if table.status == "DELETING":
                with self.runtime.store.transaction():
                    self.store.drop(table)
                return False
            table.status = "ACTIVE"
            changed = True
        for gsi in table.desc.get("GlobalSecondaryIndexes", []):
            if gsi["IndexStatus"] != "ACTIVE" and now >= gsi.get("_until", 0) and "_backfill" not in gsi:
                if gsi["IndexStatus"] == "DELETING":
                    table.desc["GlobalSecondaryIndexes"] = [
                        g for g in table.desc["GlobalSecondaryIndexes"] if g is not gsi
                    ]
                else:
                    gsi["IndexStatus"] = "ACTIVE"
                    gsi.pop("Backfilling", None)
                changed = True
        if changed:
            if not table.desc.get("GlobalSecondaryIndexes"):
                table.desc.pop("GlobalSecondaryIndexes", None)
            prune_attributes(table.desc)
            with self.runtime.store.transaction():
                self.store.save(table)
        return True

    # ---- description -------------------------------------------------------------------------

    def _require_active(self, table: Table) -> None:
        if table.status != "ACTIVE":
            word = {"CREATING": "created", "UPDATING": "updated", "DELETING": "deleted"}[table.status]
            raise in_use(
                f"Attempt to change a resource which is still in use: Table is being {word}: {table.name}"
            )

    def describe(self, table: Table, *, live: bool = True) -> dict[str, Any]:
        self.store.counts(table)
        d = copy.deepcopy(table.desc)
        d["TableStatus"] = table.status
        d["ItemCount"] = table.item_count
        d["TableSizeBytes"] = table.size_bytes
        ppr = d.get("BillingModeSummary", {}).get("BillingMode") == "PAY_PER_REQUEST"
        now = self.runtime.now()
        for pt in [
            d["ProvisionedThroughput"],
            *(g["ProvisionedThroughput"] for g in d.get("GlobalSecondaryIndexes", [])),
        ]:
            last = pt.get("LastDecreaseDateTime")
            if last and int(last // 86400) != int(now // 86400):
                pt["NumberOfDecreasesToday"] = 0  # the count is per UTC day
        for key in ("LocalSecondaryIndexes", "GlobalSecondaryIndexes"):
            for index in d.get(key, []):
                count, size = self.store.index_counts(table, entries_key(index))
                for private in ("_until", "_backfill", "_key"):
                    index.pop(private, None)
                index["ItemCount"], index["IndexSizeBytes"] = count, size
                if live and key == "GlobalSecondaryIndexes" and index["IndexStatus"] == "ACTIVE":
                    index["WarmThroughput"] = {**warm.current(index, ppr), "Status": "ACTIVE"}
        if live and table.status == "ACTIVE":
            d["WarmThroughput"] = {**warm.current(d, ppr), "Status": "ACTIVE"}
        elif table.status == "CREATING" and "WarmThroughput" in d:
            d["WarmThroughput"]["Status"] = "UPDATING"
        if "RestoreSummary" in d:  # AWS shows a restore's summary only while the table is CREATING
            if table.status == "CREATING":
                d["RestoreSummary"]["RestoreInProgress"] = True
            else:
                del d["RestoreSummary"]
        replicas.describe(table, d, now)
        for private in [k for k in d if k.startswith("_")]:
            d.pop(private)
        return d

    # ---- operations --------------------------------------------------------------------------

    def create(self, ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
        name = p["TableName"]
        if name.startswith("arn:"):
            name = table_name(name)
        desc = validate_create(p)
        existing = self.find(ctx.account, ctx.region, name)
        if existing is not None and existing.status == "CREATING":
            raise in_use(
                f"Attempt to change a resource which is still in use: Table is being created: {name}"
            )
        if existing is not None:
            raise in_use(f"Table already exists: {name}")
        given_tags = tags.check_tags(p.get("Tags") or [])
        limits.check(self.store, ctx.account, ctx.region, desc)
        now = self.runtime.now()
        arn = f"arn:aws:dynamodb:{ctx.region}:{ctx.account}:table/{name}"
        desc.update(TableName=name, TableArn=arn, TableId=str(uuid.uuid4()), CreationDateTime=now)
        if "BillingModeSummary" in desc and desc["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST":
            desc["BillingModeSummary"]["LastUpdateToPayPerRequestDateTime"] = now
        if "SSEDescription" in desc:
            desc["SSEDescription"] = sse_description(
                desc["SSEDescription"].pop("_key"), ctx.region, ctx.account
            )
        for key in ("LocalSecondaryIndexes", "GlobalSecondaryIndexes"):
            for index in desc.get(key, []):
                index["IndexArn"] = f"{arn}/index/{index['IndexName']}"
        spec = desc.get("StreamSpecification")
        delay = self.runtime.state_delay
        with self.runtime.store.transaction():
            table = self.store.create(
                ctx.account, ctx.region, name, desc, "CREATING" if delay else "ACTIVE", now + delay
            )
            if spec and spec.get("StreamEnabled"):
                self._open_stream(table, now)
                self.store.save(table)
            if given_tags:
                table.desc["_tags"] = given_tags
                self.store.save(table)
        out = self.describe(table, live=False)
        out["TableStatus"] = "CREATING"
        for gsi in out.get("GlobalSecondaryIndexes", []):
            gsi["IndexStatus"] = "CREATING"
        if "WarmThroughput" in out:  # the asked-for warm throughput is reached with the table
            out["WarmThroughput"]["Status"] = "UPDATING"
        out.get("BillingModeSummary", {}).pop("LastUpdateToPayPerRequestDateTime", None)
        return out

    @staticmethod
    def _refuse_while_updating(table: Table, p: dict[str, Any], given: set[str]) -> None:
        """What published probes saw refused while a table is UPDATING, in their words: capacity and
        on-demand changes, named after the index being built or deleted when one is."""
        busy = "Attempt to change a resource which is still in use: "
        gsis = table.desc.get("GlobalSecondaryIndexes", [])
        deleting = [g["IndexName"] for g in gsis if g["IndexStatus"] == "DELETING"]
        creating = [g["IndexName"] for g in gsis if g["IndexStatus"] == "CREATING"]
        if given & {"ProvisionedThroughput", "BillingMode"}:
            updated = [
                u["Update"]["IndexName"] for u in p.get("GlobalSecondaryIndexUpdates") or [] if "Update" in u
            ]
            dying = [name for name in updated if name in deleting]
            if dying:
                raise in_use(f"{busy}Index is being deleted. Table: {table.name} Index: {dying[0]}")
            if deleting:
                raise in_use(
                    f"{busy}Can't change table IOPS when an index is being deleted. Table: {table.name} "
                    f"Indexes: [{', '.join(deleting)}]"
                )
            raise in_use(f"{busy}Table IOPS are currently being updated. Table: {table.name}")
        if "OnDemandThroughput" in given and (deleting or creating):
            kind, names = ("deletion", deleting) if deleting else ("creation", creating)
            raise in_use(
                f"{busy}OnDemandThroughput cannot be updated while index {kind} is in progress for indexes: "
                f"[{', '.join(names)}]"
            )

    def _open_stream(self, table: Table, now: float) -> None:
        label = stream_label(now)
        arn = f"{table.arn}/stream/{label}"
        table.desc["LatestStreamArn"] = arn
        table.desc["LatestStreamLabel"] = label
        view = table.desc["StreamSpecification"]["StreamViewType"]
        self.runtime.store.execute(
            "INSERT INTO dynamodb_streams (arn, account, region, table_name, tid, label, view_type, "
            "key_schema, "
            "created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                arn,
                table.account,
                table.region,
                table.name,
                table.tid,
                label,
                view,
                json.dumps(table.desc["KeySchema"]),
                now,
            ),
        )
        open_shard(self.runtime.store, arn, now)

    def _close_stream(self, table: Table, now: float) -> None:
        arn = table.desc.get("LatestStreamArn")
        if arn and table.desc.get("StreamSpecification"):
            store = self.runtime.store
            store.execute(
                "UPDATE dynamodb_streams SET closed = ? WHERE arn = ? AND closed IS NULL", (now, arn)
            )
            close_shard(store, arn, now)

    def delete(self, ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
        table = self.named(ctx, p["TableName"])
        if any(g["IndexStatus"] != "ACTIVE" for g in table.desc.get("GlobalSecondaryIndexes", [])):
            raise in_use(
                "Attempt to change a resource which is still in use: Cannot delete table while indexes "
                "are being created, updated, or deleted."
            )
        if table.status == "UPDATING":
            raise in_use(
                f"Attempt to change a resource which is still in use: Table: {table.name} is in the process "
                "of being updated."
            )
        self._require_active(table)
        if table.desc.get("DeletionProtectionEnabled"):
            raise validation(
                "Resource cannot be deleted as it is currently protected against deletion. "
                "Disable deletion protection first."
            )
        out = self.describe(table, live=False)
        for key in (
            "AttributeDefinitions",
            "KeySchema",
            "CreationDateTime",
            "LocalSecondaryIndexes",
            "GlobalSecondaryIndexes",
            "WarmThroughput",
        ):
            out.pop(key, None)
        out["TableStatus"] = "DELETING"
        now = self.runtime.now()
        replicas.refuse_single_strong_delete(table)
        if "_replicas" in table.desc:  # it may have sourced a replica in the last 24 h
            replicas.check_hold(self.replication_service, table, now)
        with self.runtime.store.transaction():
            if "_replicas" in table.desc:  # a replica leaves its global table
                replicas.leave(self.replication_service, table, now)
            self._close_stream(table, now)
            if self.runtime.state_delay:
                table.status, table.status_until = "DELETING", now + self.runtime.state_delay
                self.store.save(table)
            else:
                self.store.drop(table)
        return out

    def list(self, ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
        start = p.get("ExclusiveStartTableName")
        after = table_name(start) if start else ""
        limit = p.get("Limit", 100)
        # The page's names and one more (whether more remain), looked up alone: a table whose
        # deletion is over goes as it is found, and the names after it take its place.
        names: list[str] = []
        while len(names) <= limit:
            wanted = limit + 1 - len(names)
            read = self.store.names_after(ctx.account, ctx.region, after, wanted)
            names += [n for n in read if self.find(ctx.account, ctx.region, n)]
            if len(read) < wanted:
                break
            after = read[-1]
        out: dict[str, Any] = {"TableNames": names[:limit]}
        if len(names) > limit:
            out["LastEvaluatedTableName"] = names[limit - 1]
        return out

    def update(self, ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
        from gondwana.services.dynamodb.table_updates import apply_update

        table = self.named(ctx, p["TableName"])
        given = {k for k, v in p.items() if v is not None} - {"TableName", "AttributeDefinitions"}
        if table.status == "UPDATING":
            self._refuse_while_updating(table, p, given)
        if table.status != "UPDATING" or given != {"DeletionProtectionEnabled"}:  # that one is admitted
            self._require_active(table)
        encryption = table.desc.get("SSEDescription")
        try:
            apply_update(self, table, p)
        except BaseException:
            # The store rolled back; so must the cached descriptions (replica updates touch the
            # tables of other regions too).
            self.store.clear()
            raise
        out = self.describe(table, live=False)
        if p.get("SSESpecification") is not None:
            # The answer shows the encryption being changed (the new one, else the one going away).
            shown = out.get("SSEDescription") or encryption
            if shown:
                out["SSEDescription"] = {**shown, "Status": "UPDATING"}
        return out
