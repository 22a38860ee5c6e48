"""UpdateTable: capacity, billing mode, GSI create/update/delete with backfill, streams, flags."""

from __future__ import annotations

import copy
import datetime
from typing import TYPE_CHECKING, Any

from gondwana.protocols.errors import ServiceError
from gondwana.services.dynamodb import codec, limits, warm
from gondwana.services.dynamodb.errors import invalid, validation
from gondwana.services.dynamodb.replication import replicas
from gondwana.services.dynamodb.table_specs import (
    MAX_GSI,
    MAX_KEY_PARTS,
    check_defined,
    check_key_schema,
    check_projection,
    gsi_description,
    on_demand,
    prune_attributes,
    refuse_on_demand,
    sorted_definitions,
    sse_description,
    throughput,
)
from gondwana.services.dynamodb.types import item_size

if TYPE_CHECKING:
    from gondwana.services.dynamodb.schema import Table
    from gondwana.services.dynamodb.tables import Tables

# The members AWS names when an UpdateTable changes nothing; those present in the request are left out.
_MEMBERS = (
    "ProvisionedThroughput", "BillingMode", "UpdateStreamEnabled", "GlobalSecondaryIndexUpdates",
    "SSESpecification", "ReplicaUpdates", "MultiAccountReplicaReady", "ReplicaTransitRoleArn",
    "MultiRegionConsistency", "DeletionProtectionEnabled", "OnDemandThroughput", "WarmThroughput",
    "TableClass",
)  # fmt: skip
# Members that must be the only change of an UpdateTable, in the order AWS names them when several are given.
_ALONE = (
    ("SSESpecification", "Server-Side Encryption modification must be the only operation in the request"),
    ("TableClass", "TableClass modification must be the only operation in the request"),
    (
        "DeletionProtectionEnabled",
        "DeletionProtection modification must be the only operation in the request",
    ),
    ("WarmThroughput", "WarmThroughput must be the only operation in the request"),
)


# Members that name or accompany a change rather than make one (a replica's consistency and witnesses
# go with its ReplicaUpdates).
_NOT_CHANGES = ("TableName", "AttributeDefinitions", "MultiRegionConsistency", "GlobalTableWitnessUpdates")


def _nothing(p: dict[str, Any]) -> str:
    named = [m for m in _MEMBERS if p.get(m) is None or p.get(m) == []]
    return f"At least one of {', '.join(named[:-1])} or {named[-1]} is required"


_ACTIONS = ("Update", "Create", "Delete")


def check_index_updates(p: dict[str, Any]) -> None:
    """GlobalSecondaryIndexUpdates: one action per entry, one entry per index, and not empty when
    it comes with another change (alone, an empty list is no change at all)."""
    updates = p.get("GlobalSecondaryIndexUpdates")
    if updates is None:
        return
    if not updates:
        raise invalid("List of GlobalSecondaryIndexUpdates is empty")
    named: set[str] = set()
    for update in updates:
        actions = [a for a in _ACTIONS if update.get(a) is not None]
        if not actions:
            raise invalid(
                "One of GlobalSecondaryIndexUpdate.Update, GlobalSecondaryIndexUpdate.Create, "
                "GlobalSecondaryIndexUpdate.Delete must not be null"
            )
        if len(actions) > 1:
            raise invalid(
                "Only one global secondary index action is allowed per GlobalSecondaryIndexUpdate object"
            )
        name = update[actions[0]]["IndexName"]
        if name in named:
            raise invalid(
                f"Only one global secondary index update per index is allowed simultaneously. Index: {name}"
            )
        named.add(name)
        if actions[0] == "Create" and p.get("AttributeDefinitions") is None:
            raise invalid(f"AttributeDefinitions is not specified for index: {name}")


def check_combination(p: dict[str, Any]) -> None:
    """AWS's rule that an UpdateTable makes one logical change: which members may go together
    (BillingMode with throughput, index updates, a stream or on-demand maxima) and which alone."""
    given = {k for k, v in p.items() if v is not None and k not in _NOT_CHANGES}
    if len(given) < 2:
        return
    if "ReplicaUpdates" in given:
        raise invalid("Replica modification must be the only operation in the request")
    creates = any("Create" in u for u in p.get("GlobalSecondaryIndexUpdates") or [])
    if "WarmThroughput" in given and creates:
        raise invalid("Create global secondary index cannot be specified when updating WarmThroughput")
    for member, message in _ALONE:
        if member in given:
            raise invalid(message)
    if "OnDemandThroughput" in given and given - {"OnDemandThroughput", "BillingMode"}:
        raise invalid("OnDemandThroughput can only be combined with BillingMode in an UpdateTable request")
    iops = "ProvisionedThroughput" in given or p.get("BillingMode") == "PROVISIONED"
    online = any("Create" in u or "Delete" in u for u in p.get("GlobalSecondaryIndexUpdates") or [])
    if online and iops:
        raise invalid("You cannot create or delete index while updating table IOPS")
    if "StreamSpecification" in given and iops:
        raise invalid("You cannot modify stream status while updating table IOPS")
    if online and "StreamSpecification" in given:
        raise invalid("You cannot create or delete index while changing stream status")


def apply_update(tables: Tables, table: Table, p: dict[str, Any]) -> None:
    now = tables.runtime.now()
    delay = tables.runtime.state_delay
    d = table.desc
    changed_throughput = False
    ppr = d.get("BillingModeSummary", {}).get("BillingMode") == "PAY_PER_REQUEST"
    billing = p.get("BillingMode")
    pt = p.get("ProvisionedThroughput")
    known = (
        "ProvisionedThroughput",
        "BillingMode",
        "StreamSpecification",
        "GlobalSecondaryIndexUpdates",
        "SSESpecification",
        "ReplicaUpdates",
        "DeletionProtectionEnabled",
        "TableClass",
        "WarmThroughput",
        "OnDemandThroughput",
    )
    if not any(p.get(k) is not None and p.get(k) != [] for k in known):
        raise validation(_nothing(p))
    check_index_updates(p)
    check_combination(p)
    with tables.runtime.store.transaction():
        for holder in [d, *d.get("GlobalSecondaryIndexes", [])]:  # before capacity can go down
            warm.remember(holder, ppr)
        if billing == "PAY_PER_REQUEST" and not ppr:
            if pt:
                raise invalid(
                    "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode "
                    "is PAY_PER_REQUEST"
                )
            d["BillingModeSummary"] = {
                "BillingMode": "PAY_PER_REQUEST",
                "LastUpdateToPayPerRequestDateTime": now,
            }
            d["ProvisionedThroughput"] = throughput(None)
            for gsi in d.get("GlobalSecondaryIndexes", []):
                gsi["ProvisionedThroughput"] = throughput(None)
            changed_throughput = True
        elif billing == "PROVISIONED" and ppr:
            if not pt:
                raise invalid("ProvisionedThroughput must be specified when BillingMode is PROVISIONED")
            given = {
                u["Update"]["IndexName"]
                for u in p.get("GlobalSecondaryIndexUpdates") or []
                if "Update" in u and u["Update"].get("ProvisionedThroughput")
            }
            for gsi in d.get("GlobalSecondaryIndexes", []):  # nothing is assigned to them
                if gsi["IndexName"] not in given:
                    raise invalid(f"ProvisionedThroughput must be specified for index: {gsi['IndexName']}")
            d["BillingModeSummary"] = {
                "BillingMode": "PROVISIONED",
                "LastUpdateToPayPerRequestDateTime": d["BillingModeSummary"].get(
                    "LastUpdateToPayPerRequestDateTime", now
                ),
            }
            d["ProvisionedThroughput"] = throughput(pt)
            d.pop("OnDemandThroughput", None)  # a switch drops the maxima, of the GSIs too
            for gsi in d.get("GlobalSecondaryIndexes", []):
                gsi.pop("OnDemandThroughput", None)
            changed_throughput = True
        elif billing == "PROVISIONED" and not pt:
            raise invalid("ProvisionedThroughput must be specified when BillingMode is PROVISIONED")
        elif pt:
            if ppr:
                raise invalid(
                    "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode "
                    "is PAY_PER_REQUEST"
                )
            _change_throughput(d["ProvisionedThroughput"], pt, now, "table")
            changed_throughput = True
        if p.get("OnDemandThroughput"):
            if d.get("BillingModeSummary", {}).get("BillingMode") != "PAY_PER_REQUEST":
                refuse_on_demand(p["OnDemandThroughput"], "")
            d["OnDemandThroughput"] = on_demand(
                p["OnDemandThroughput"], "table", d.get("OnDemandThroughput"), update=True
            )
        updates = p.get("GlobalSecondaryIndexUpdates") or []
        online = [u for u in updates if "Create" in u or "Delete" in u]
        busy = any(g["IndexStatus"] in ("CREATING", "DELETING") for g in d.get("GlobalSecondaryIndexes", []))
        if len(online) > 1 or (online and busy):
            raise ServiceError(
                "LimitExceededException",
                "Subscriber limit exceeded: Only 1 online index can be created or deleted "
                "simultaneously per table",
            )
        for update in updates:
            _gsi_update(tables, table, update, p.get("AttributeDefinitions") or [], now, delay)
        svc = tables.replication_service
        for other in replicas.members(svc, table) if updates else []:  # GSIs are kept in step
            for update in updates:
                _gsi_update(tables, other, update, p.get("AttributeDefinitions") or [], now, delay)
            tables.store.save(other)
        stream = p.get("StreamSpecification")
        if stream is not None:
            current = d.get("StreamSpecification", {}).get("StreamEnabled", False)
            if stream.get("StreamEnabled") and current:
                raise validation(f"Table already has an enabled stream: TableName: {table.name}")
            if not stream.get("StreamEnabled") and stream.get("StreamViewType"):
                raise invalid("If stream is being disabled, then UpdateViewType must not be specified")
            if not stream.get("StreamEnabled") and "_replicas" in d and not d.get("_consistency"):
                raise invalid("Disabling Stream is not allowed for a Global Table replica.")
            if not stream.get("StreamEnabled") and not current:
                raise validation(f"Table has no stream to disable: TableName: {table.name}")
            if stream.get("StreamEnabled"):
                if not stream.get("StreamViewType"):
                    raise invalid("If stream is being enabled then UpdateViewType is required")
                d["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
                tables._open_stream(table, now)
            else:
                tables._close_stream(table, now)
                d.pop("StreamSpecification", None)
        if p.get("DeletionProtectionEnabled") is not None:
            d["DeletionProtectionEnabled"] = p["DeletionProtectionEnabled"]
        if p.get("TableClass"):
            d["TableClassSummary"] = {"TableClass": p["TableClass"], "LastUpdateDateTime": now}
        sse = p.get("SSESpecification")
        if sse is not None:
            current_key = d.get("SSEDescription", {}).get("KMSMasterKeyArn")
            if sse.get("Enabled") and current_key and sse.get("KMSMasterKeyId") == current_key:
                raise invalid(
                    "Table is already encrypted with given KMSMasterKeyId. "
                    "Use KMSMasterKeyId parameter if you want to change Master Key"
                )
            if not sse.get("Enabled") and "SSEDescription" not in d:
                raise invalid("Table is already encrypted by default")
            if sse.get("Enabled"):
                d["SSEDescription"] = sse_description(sse.get("KMSMasterKeyId"), table.region, table.account)
            else:
                d.pop("SSEDescription", None)
        if p.get("ReplicaUpdates") or p.get("MultiRegionConsistency") or p.get("GlobalTableWitnessUpdates"):
            replicas.apply_updates(svc, table, p, now)
        if p.get("WarmThroughput"):
            now_ppr = d.get("BillingModeSummary", {}).get("BillingMode") == "PAY_PER_REQUEST"
            warm.raise_to(d, p["WarmThroughput"], now_ppr, "table")
        if (changed_throughput or p.get("GlobalSecondaryIndexUpdates")) and delay:
            table.status, table.status_until = "UPDATING", now + delay
        if changed_throughput or updates:
            limits.check(tables.store, table.account, table.region, d, table.tid)
        for other in replicas.members(svc, table) if changed_throughput else []:
            # Throughput and billing mode changed in any region apply to the whole group.
            for key in ("ProvisionedThroughput", "BillingModeSummary"):
                if key in d:
                    other.desc[key] = copy.deepcopy(d[key])
            tables.store.save(other)
        tables.store.save(table)


FREE_DECREASES = 4


def same_utc_day(a: float, b: float) -> bool:
    return int(a // 86400) == int(b // 86400)


def _aws_time(t: float) -> str:
    moment = datetime.datetime.fromtimestamp(t, datetime.UTC)
    return moment.strftime("%A, %B %d, %Y at %I:%M:%S %p Coordinated Universal Time").replace(" 0", " ")


def _change_throughput(current: dict[str, Any], wanted: dict[str, Any], now: float, what: str) -> None:
    r, w = current["ReadCapacityUnits"], current["WriteCapacityUnits"]
    nr, nw = wanted["ReadCapacityUnits"], wanted["WriteCapacityUnits"]
    if (r, w) == (nr, nw):
        raise validation(
            f"The provisioned throughput for the {what} will not change. The requested value equals the "
            f"current value. Current ReadCapacityUnits provisioned for the {what.split(' ')[0]}: {r}. "
            f"Requested ReadCapacityUnits: {nr}. Current WriteCapacityUnits provisioned for the "
            f"{what.split(' ')[0]}: {w}. Requested WriteCapacityUnits: {nw}. Refer to the Amazon DynamoDB "
            "Developer Guide for current limits and how to request higher limits."
        )
    if nr < r or nw < w:
        last = current.get("LastDecreaseDateTime")
        done = current.get("NumberOfDecreasesToday", 0) if last and same_utc_day(last, now) else 0
        if done >= FREE_DECREASES and now - last < 3600:
            raise ServiceError(
                "LimitExceededException",
                "Subscriber limit exceeded: Provisioned throughput decreases are limited within a given "
                "UTC day. "
                f"After the first {FREE_DECREASES} decreases, each subsequent decrease in the same UTC "
                f"day can be performed at most once every 3600 seconds. Number of decreases today: {done}. "
                f"Last decrease at {_aws_time(last)}. Next decrease can be made at {_aws_time(last + 3600)}",
            )
        current["NumberOfDecreasesToday"] = done + 1
        current["LastDecreaseDateTime"] = now
    if nr > r or nw > w:
        current["LastIncreaseDateTime"] = now
    current["ReadCapacityUnits"], current["WriteCapacityUnits"] = nr, nw


def _gsi_update(
    tables: Tables,
    table: Table,
    update: dict[str, Any],
    attrs: list[dict[str, str]],
    now: float,
    delay: float,
) -> None:
    d = table.desc
    gsis = d.setdefault("GlobalSecondaryIndexes", [])
    ppr = d.get("BillingModeSummary", {}).get("BillingMode") == "PAY_PER_REQUEST"
    if "Create" in update:
        spec = update["Create"]
        name = spec["IndexName"]
        if name in table.indexes:
            raise validation(f"Attempting to create an index which already exists: {name}")
        if len(gsis) >= MAX_GSI:  # a quota here (CreateTable words the same limit as invalid input)
            raise ServiceError(
                "LimitExceededException",
                "Subscriber limit exceeded: Number of global secondary indexes exceeds per-table limit "
                f"of {MAX_GSI}",
            )
        check_key_schema(spec["KeySchema"], parts=MAX_KEY_PARTS)
        check_projection(spec["Projection"])
        defined = {a["AttributeName"]: a["AttributeType"] for a in d["AttributeDefinitions"]}
        for a in attrs:
            defined.setdefault(a["AttributeName"], a["AttributeType"])
        keys = [k["AttributeName"] for k in spec["KeySchema"]]
        check_defined(keys, defined)
        if not ppr and not spec.get("ProvisionedThroughput"):
            raise invalid(
                f"Both ReadCapacityUnits and WriteCapacityUnits must be specified for index: {name}"
            )
        if not ppr and spec.get("OnDemandThroughput"):
            refuse_on_demand(spec["OnDemandThroughput"], f" for index : {name}")
        if ppr and spec.get("ProvisionedThroughput"):
            raise invalid(
                f"ProvisionedThroughput should not be specified for index: {name} when BillingMode is "
                "PAY_PER_REQUEST"
            )
        known = {a["AttributeName"] for a in d["AttributeDefinitions"]}
        # Only the new key's attributes are added: others in the request are ignored, as by AWS.
        d["AttributeDefinitions"] = sorted_definitions(
            d["AttributeDefinitions"]
            + [
                {"AttributeName": k, "AttributeType": defined[k]}
                for k in dict.fromkeys(keys)
                if k not in known
            ]
        )
        entry = gsi_description(spec, "CREATING" if delay else "ACTIVE")
        if spec.get("OnDemandThroughput"):
            entry["OnDemandThroughput"] = on_demand(spec["OnDemandThroughput"], f"index : {name}")
        entry["IndexArn"] = f"{table.arn}/index/{name}"
        if delay:
            entry["Backfilling"] = True
            entry["_until"] = now + delay
        gsis.append(entry)
        table.refresh()
        _backfill(tables, table, table.indexes[name])
    elif "Delete" in update:
        name = update["Delete"]["IndexName"]
        if name not in [g["IndexName"] for g in gsis]:
            raise _no_such_gsi(table, name, "delete")
        tables.runtime.store.execute(
            "DELETE FROM dynamodb_index_entries WHERE tid = ? AND idx = ?", (table.tid, name)
        )
        tables.store.recount_index(table, name)
        if delay:
            for g in gsis:
                if g["IndexName"] == name:
                    g["IndexStatus"], g["_until"] = "DELETING", now + delay
        else:
            d["GlobalSecondaryIndexes"] = [g for g in gsis if g["IndexName"] != name]
            prune_attributes(d)
    elif "Update" in update:
        name = update["Update"]["IndexName"]
        found = [g for g in gsis if g["IndexName"] == name]
        if not found:
            raise _no_such_gsi(table, name, "update")
        wanted = update["Update"].get("WarmThroughput")
        if wanted is not None:
            if not any(v is not None for v in wanted.values()):
                raise invalid(
                    "WarmThroughput must have at least one of ReadUnitsPerSecond or WriteUnitsPerSecond "
                    f"specified for index: {name}"
                )
            warm.raise_to(found[0], wanted, ppr, f"index {name}")
        maxima = update["Update"].get("OnDemandThroughput")
        if maxima:
            if not ppr:
                refuse_on_demand(maxima, f" for index : {name}")
            current = found[0].get("OnDemandThroughput")
            found[0]["OnDemandThroughput"] = on_demand(maxima, f"index : {name}", current, update=True)
        if update["Update"].get("ProvisionedThroughput"):
            if ppr:
                raise invalid(
                    f"The only Updates for index: {name} when TableThroughputMode is PAY_PER_REQUEST can be "
                    "to OnDemandThroughput, WarmThroughput"
                )
            _change_throughput(
                found[0]["ProvisionedThroughput"],
                update["Update"]["ProvisionedThroughput"],
                now,
                f"index {name}",
            )
    if not d.get("GlobalSecondaryIndexes"):
        d.pop("GlobalSecondaryIndexes", None)


def _no_such_gsi(table: Table, index: str, action: str) -> Exception:
    """An index update naming no GSI of the table: an LSI's name, or none at all."""
    if index in table.indexes:
        return validation(f"Cannot {action} an index that is not a GlobalSecondaryIndex: {index}")
    return ServiceError(
        "ResourceNotFoundException", f"Requested resource not found: Index {index} for table {table.name}"
    )


def _backfill(tables: Tables, table: Table, index: Any) -> None:
    store = tables.runtime.store
    every = index.projection == "ALL"  # entries link to the item rows (see storage)
    rows = store.query("SELECT rowid, hk, rk, item FROM dynamodb_items WHERE tid = ?", (table.tid,))
    for irow, hk, rk, text in rows:
        item = codec.loads(text)
        where = index.locate(item)
        if where is None or any(next(iter(item[k])) != table.attr_types[k] for k in index.key_names):
            continue  # sparse, or a key attribute of another type (AWS leaves such items out)
        projected = None if every else index.project(item, table)
        store.execute(
            "INSERT INTO dynamodb_index_entries (tid, idx, spread, hk, rk, bhk, brk, irow, item, size) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                table.tid,
                index.name,
                *where,
                hk,
                rk,
                irow if every else None,
                None if projected is None else codec.dumps(projected),
                None if projected is None else item_size(projected),
            ),
        )
    tables.store.recount_index(table, index.name)
