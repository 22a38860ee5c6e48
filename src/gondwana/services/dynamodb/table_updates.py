"""UpdateTable: capacity, billing mode, GSI create/update/delete with backfill, streams, flags."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from gondwana.protocols.errors import ServiceError
from gondwana.services.dynamodb import index_updates, limits, provisioning, warm
from gondwana.services.dynamodb.errors import invalid, validation
from gondwana.services.dynamodb.replication import replicas
from gondwana.services.dynamodb.table_specs import (
    on_demand,
    refuse_on_demand,
    sse_description,
    sse_enabled,
    throughput,
)

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
    index_updates.check(p)
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
            provisioning.change(d["ProvisionedThroughput"], pt, now, "table")
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
            index_updates.apply(tables, table, update, p.get("AttributeDefinitions") or [], now, delay)
        svc = tables.replication_service
        for other in replicas.members(svc, table) if updates else []:  # GSIs are kept in step
            for update in updates:
                index_updates.apply(tables, other, update, p.get("AttributeDefinitions") or [], now, delay)
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
        if p.get("TableClass") and (p["TableClass"] != "STANDARD" or "TableClassSummary" in d):
            # (STANDARD on a table never given a class is a no-op that leaves no summary)
            d["TableClassSummary"] = {"TableClass": p["TableClass"], "LastUpdateDateTime": now}
        sse = p.get("SSESpecification")
        if sse is not None:
            enabled = sse_enabled(sse)
            provisioning.ration_encryption_changes(d, now)
            current_key = d.get("SSEDescription", {}).get("KMSMasterKeyArn")
            if enabled and current_key and sse.get("KMSMasterKeyId") == current_key:
                raise invalid(
                    "Table is already encrypted with given KMSMasterKeyId. "
                    "Use KMSMasterKeyId parameter if you want to change Master Key"
                )
            if not enabled and "SSEDescription" not in d:
                raise invalid("Table is already encrypted by default")
            if enabled:
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
