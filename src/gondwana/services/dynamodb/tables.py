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

from gondwana.services.dynamodb.errors import in_use, invalid, not_found, validation
from gondwana.services.dynamodb.schema import Table
from gondwana.services.dynamodb.shards import close_shard, open_shard
from gondwana.services.dynamodb.storage import TableStore
from gondwana.services.dynamodb.writes import Writer

MAX_LSI = 5
MAX_GSI = 20
PPR_WARM = {"ReadUnitsPerSecond": 12000, "WriteUnitsPerSecond": 4000}


_NAME = re.compile(r"[a-zA-Z0-9_.-]+")


def table_name(raw: str) -> str:
    """TableName may be a table ARN (arn:aws:dynamodb:region:account:table/name); a plain name must be
    3-255 characters of [a-zA-Z0-9_.-] (the model now allows ARNs, so the service checks this itself)."""
    if raw.startswith("arn:"):
        resource = raw.split(":", 5)[-1]
        return resource.split("/", 2)[1] if resource.startswith("table/") else resource
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

    # ---- lookup and lifecycle ----------------------------------------------------------------

    def find(self, account: str, region: str, raw_name: str) -> Table | None:
        table = self.store.get(account, region, table_name(raw_name))
        if table is not None and not self._settle(table):
            return None
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
        if table.status != "ACTIVE" and now >= table.status_until:
            if table.status == "DELETING":
                with self.runtime.store.transaction():
                    self.store.drop(table)
                return False
            table.status = "ACTIVE"
            changed = True
        for gsi in table.desc.get("GlobalSecondaryIndexes", []):
            if gsi["IndexStatus"] != "ACTIVE" and now >= gsi.get("_until", 0):
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
            with self.runtime.store.transaction():
                self.store.save(table)
        return True

    # ---- description -------------------------------------------------------------------------

    def describe(self, table: Table, *, live: bool = True) -> dict[str, Any]:
        self.store.counts(table)
        d = copy.deepcopy(table.desc)
        d["TableStatus"] = table.status
        d["ItemCount"] = table.item_count
        d["TableSizeBytes"] = table.size_bytes
        ppr = d.get("BillingModeSummary", {}).get("BillingMode") == "PAY_PER_REQUEST"
        for key in ("LocalSecondaryIndexes", "GlobalSecondaryIndexes"):
            for index in d.get(key, []):
                index.pop("_until", None)
                count, size = self._index_counts(table, index["IndexName"])
                index["ItemCount"], index["IndexSizeBytes"] = count, size
                if live and key == "GlobalSecondaryIndexes" and index["IndexStatus"] == "ACTIVE":
                    pt = index["ProvisionedThroughput"]
                    warm = (
                        PPR_WARM
                        if ppr
                        else {
                            "ReadUnitsPerSecond": pt["ReadCapacityUnits"],
                            "WriteUnitsPerSecond": pt["WriteCapacityUnits"],
                        }
                    )
                    index["WarmThroughput"] = {**warm, "Status": "ACTIVE"}
        if live and table.status == "ACTIVE" and "WarmThroughput" not in d:
            pt = d["ProvisionedThroughput"]
            warm = (
                PPR_WARM
                if ppr
                else {
                    "ReadUnitsPerSecond": pt["ReadCapacityUnits"],
                    "WriteUnitsPerSecond": pt["WriteCapacityUnits"],
                }
            )
            d["WarmThroughput"] = {**warm, "Status": "ACTIVE"}
        for private in [k for k in d if k.startswith("_")]:
            d.pop(private)
        return d

    def _index_counts(self, table: Table, index: str) -> tuple[int, int]:
        row = self.runtime.store.query_one(
            "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM dynamodb_index_items WHERE tid = ? AND idx = ?",
            (table.tid, index),
        )
        return (row[0], row[1]) if row else (0, 0)

    # ---- operations --------------------------------------------------------------------------

    def create(self, ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
        name = p["TableName"]
        if name.startswith("arn:"):
            name = table_name(name)
        desc = validate_create(p)
        if self.find(ctx.account, ctx.region, name) is not None:
            raise in_use(f"Table already exists: {name}")
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
            if p.get("Tags"):
                table.desc["_tags"] = {t["Key"]: t["Value"] for t in p["Tags"]}
                self.store.save(table)
        out = self.describe(table, live=False)
        out["TableStatus"] = "CREATING"
        out.get("BillingModeSummary", {}).pop("LastUpdateToPayPerRequestDateTime", None)
        return out

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
        table = self.find(ctx.account, ctx.region, p["TableName"])
        if table is None:
            raise not_found(table_name(p["TableName"]))
        if table.status == "DELETING":
            raise in_use(
                f"Attempt to change a resource which is still in use: Table is being deleted: {table.name}"
            )
        if table.status == "CREATING":
            raise in_use(
                f"Attempt to change a resource which is still in use: Table is being created: {table.name}"
            )
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
        with self.runtime.store.transaction():
            self._close_stream(table, now)
            if self.runtime.state_delay:
                table.status, table.status_until = "DELETING", now + self.runtime.state_delay
                self.store.save(table)
            else:
                self.store.drop(table)
        return out

    def list(self, ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
        names = [
            n for n in self.store.names(ctx.account, ctx.region) if self.find(ctx.account, ctx.region, n)
        ]
        start = p.get("ExclusiveStartTableName")
        if start:
            names = [n for n in names if n > table_name(start)]
        limit = p.get("Limit", 100)
        out: dict[str, Any] = {"TableNames": names[:limit]}
        if len(names) > limit:
            out["LastEvaluatedTableName"] = names[limit - 1]
        return out

    def update(self, ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
        from gondwana.services.dynamodb.table_updates import apply_update

        table = self.find(ctx.account, ctx.region, p["TableName"])
        if table is None:
            raise not_found(table_name(p["TableName"]))
        if table.status != "ACTIVE":
            word = {"CREATING": "created", "UPDATING": "updated", "DELETING": "deleted"}[table.status]
            raise in_use(
                f"Attempt to change a resource which is still in use: Table is being {word}: {table.name}"
            )
        apply_update(self, table, p)
        out = self.describe(table, live=False)
        return out


# ---- CreateTable validation ------------------------------------------------------------------


def check_key_schema(schema: list[dict[str, str]], what: str = "KeySchema") -> None:
    if schema[0]["KeyType"] != "HASH":
        raise validation(f"Invalid {what}: The first KeySchemaElement is not a HASH key type")
    if len(schema) == 2:
        if schema[1]["KeyType"] != "RANGE":
            raise validation(f"Invalid {what}: The second KeySchemaElement is not a RANGE key type")
        if schema[0]["AttributeName"] == schema[1]["AttributeName"]:
            raise validation("Invalid KeySchema: Some index key attribute have no definition")


def check_projection(projection: dict[str, Any]) -> None:
    kind = projection.get("ProjectionType")
    attrs = projection.get("NonKeyAttributes")
    if kind == "INCLUDE" and not attrs:
        raise invalid("ProjectionType is INCLUDE, but NonKeyAttributes is not specified")
    if kind in ("ALL", "KEYS_ONLY", None) and attrs:
        raise invalid(f"NonKeyAttributes must not be specified when ProjectionType is {kind or 'ALL'}")
    if kind is None:
        raise invalid("Unknown ProjectionType: null")


def throughput(pt: dict[str, Any] | None) -> dict[str, Any]:
    if not pt:
        return {"NumberOfDecreasesToday": 0, "ReadCapacityUnits": 0, "WriteCapacityUnits": 0}
    return {
        "NumberOfDecreasesToday": 0,
        "ReadCapacityUnits": pt["ReadCapacityUnits"],
        "WriteCapacityUnits": pt["WriteCapacityUnits"],
    }


def validate_create(p: dict[str, Any]) -> dict[str, Any]:
    """The stored TableDescription for a valid CreateTable request, or AWS's error."""
    attrs = p["AttributeDefinitions"]
    defined = {a["AttributeName"]: a["AttributeType"] for a in attrs}
    schema = p["KeySchema"]
    check_key_schema(schema)
    billing = p.get("BillingMode")
    ppr = billing == "PAY_PER_REQUEST"
    pt = p.get("ProvisionedThroughput")
    if ppr and pt:
        raise invalid(
            "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is "
            "PAY_PER_REQUEST"
        )
    if not ppr and not pt:
        raise invalid(
            "ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED"
        )
    used = [k["AttributeName"] for k in schema]
    lsis, gsis = p.get("LocalSecondaryIndexes") or [], p.get("GlobalSecondaryIndexes") or []
    names: set[str] = set()
    for index in [*lsis, *gsis]:
        if index["IndexName"] in names:
            raise invalid(f"Duplicate index name: {index['IndexName']}")
        names.add(index["IndexName"])
        check_key_schema(index["KeySchema"])
        check_projection(index["Projection"])
        used.extend(k["AttributeName"] for k in index["KeySchema"])
    missing = [u for u in dict.fromkeys(used) if u not in defined]
    if missing:
        raise invalid(
            f"Some index key attributes are not defined in AttributeDefinitions. Keys: "
            f"[{', '.join(missing)}], "
            f"AttributeDefinitions: [{', '.join(defined)}]"
        )
    if len(set(used)) != len(defined):
        raise invalid(
            "Number of attributes in KeySchema does not exactly match number of attributes defined in "
            "AttributeDefinitions"
        )
    for name in used:
        if defined[name] not in ("S", "N", "B"):
            raise invalid(f"Member must satisfy enum value set: [B, N, S] for attribute {name}")
    if lsis:
        if len(schema) < 2:
            raise invalid(
                "Table KeySchema does not have a range key, which is required when specifying a "
                "LocalSecondaryIndex"
            )
        if len(lsis) > MAX_LSI:
            raise invalid(f"Number of LocalSecondaryIndexes exceeds per-table limit of {MAX_LSI}")
        for lsi in lsis:
            if (
                lsi["KeySchema"][0]["AttributeName"] != schema[0]["AttributeName"]
                or len(lsi["KeySchema"]) != 2
            ):
                raise invalid(
                    f"Index KeySchema does not have the same leading hash key as table KeySchema for index: "
                    f"{lsi['IndexName']}. index hash key: {lsi['KeySchema'][0]['AttributeName']}, "
                    f"table hash key: {schema[0]['AttributeName']}"
                )
    if len(gsis) > MAX_GSI:
        raise validation(f"GlobalSecondaryIndex count exceeds the per-table limit of {MAX_GSI}")
    for gsi in gsis:
        if ppr and gsi.get("ProvisionedThroughput"):
            raise invalid(
                f"ProvisionedThroughput should not be specified for index: {gsi['IndexName']} when "
                "BillingMode is PAY_PER_REQUEST"
            )
        if not ppr and not gsi.get("ProvisionedThroughput"):
            raise invalid(f"ProvisionedThroughput must be specified for index: {gsi['IndexName']}")
    desc: dict[str, Any] = {
        "AttributeDefinitions": attrs,
        "KeySchema": schema,
        "ProvisionedThroughput": throughput(pt),
        "DeletionProtectionEnabled": bool(p.get("DeletionProtectionEnabled", False)),
    }
    if billing:
        desc["BillingModeSummary"] = {"BillingMode": billing}
    if lsis:
        desc["LocalSecondaryIndexes"] = [
            {"IndexName": i["IndexName"], "KeySchema": i["KeySchema"], "Projection": i["Projection"]}
            for i in lsis
        ]
    if gsis:
        desc["GlobalSecondaryIndexes"] = [gsi_description(g, "ACTIVE") for g in gsis]
    stream = p.get("StreamSpecification")
    if stream and not stream.get("StreamEnabled") and stream.get("StreamViewType"):
        raise invalid("Table is being created with a stream disabled, UpdateViewType should not be specified")
    if stream and stream.get("StreamEnabled"):
        if not stream.get("StreamViewType"):
            raise validation("StreamSpecification: StreamViewType is required when StreamEnabled is true")
        desc["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    if p.get("TableClass"):
        desc["TableClassSummary"] = {"TableClass": p["TableClass"]}
    sse = p.get("SSESpecification")
    if sse and sse.get("Enabled"):
        desc["SSEDescription"] = {"Status": "ENABLED", "SSEType": "KMS", "_key": sse.get("KMSMasterKeyId")}
    if p.get("WarmThroughput"):
        desc["WarmThroughput"] = {**p["WarmThroughput"], "Status": "ACTIVE"}
    if p.get("ResourcePolicy"):
        desc["_policy"] = p["ResourcePolicy"]
    return desc


def gsi_description(g: dict[str, Any], status: str) -> dict[str, Any]:
    return {
        "IndexName": g["IndexName"],
        "KeySchema": g["KeySchema"],
        "Projection": g["Projection"],
        "IndexStatus": status,
        "ProvisionedThroughput": throughput(g.get("ProvisionedThroughput")),
    }


def sse_description(key: str | None, region: str, account: str) -> dict[str, Any]:
    """SSE with KMS: the given key as an ARN, else the account's AWS-managed DynamoDB key."""
    if not key:
        key = str(uuid.uuid5(uuid.NAMESPACE_URL, f"aws/dynamodb/{account}/{region}"))
    if not key.startswith("arn:"):
        key = f"arn:aws:kms:{region}:{account}:key/{key.removeprefix('alias/')}"
    return {"Status": "ENABLED", "SSEType": "KMS", "KMSMasterKeyArn": key}
