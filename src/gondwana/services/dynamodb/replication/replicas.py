"""Global tables (version 2019.11.21): replicas added, updated and removed with UpdateTable.

The group lives in every member's description (`_replicas`: one entry per region, the member's
own included), so each region answers DescribeTable from its own table. Adding a replica creates
the table in the target region (same keys, indexes, streams and TTL, not tags) and fills it
(seeding.py).
"""

from __future__ import annotations

import copy
import json
import os
import uuid
from typing import TYPE_CHECKING, Any

from gondwana.protocols.errors import ServiceError
from gondwana.services.dynamodb.errors import invalid, validation
from gondwana.services.dynamodb.replication import seeding
from gondwana.services.dynamodb.table_specs import billing_mode

if TYPE_CHECKING:
    from gondwana.services.dynamodb.provider import DynamoDBService
    from gondwana.services.dynamodb.schema import Table

VERSION = "2019.11.21"
REGION_SETS = {
    "US": ("us-east-1", "us-east-2", "us-west-2"),
    "EU": ("eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1"),
    "AP": ("ap-northeast-1", "ap-northeast-2", "ap-northeast-3"),
}
REGIONS = {
    *(r for rs in REGION_SETS.values() for r in rs),
    "us-west-1", "af-south-1", "ap-east-1", "ap-south-1", "ap-south-2", "ap-southeast-1",
    "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ca-central-1", "ca-west-1", "eu-central-2",
    "eu-north-1", "eu-south-1", "eu-south-2", "il-central-1", "me-central-1", "me-south-1", "sa-east-1",
}  # fmt: skip
_OVERRIDES = ("ProvisionedThroughputOverride", "OnDemandThroughputOverride", "GlobalSecondaryIndexes",
              "TableClassOverride")  # fmt: skip


def delete_hold() -> float:
    return float(os.environ.get("GONDWANA_DYNAMODB_REPLICA_DELETE_HOLD", "86400"))


def regions(table: Table) -> list[str]:
    return [r["RegionName"] for r in table.desc.get("_replicas", [])] or [table.region]


def members(svc: DynamoDBService, table: Table) -> list[Table]:
    """The other replicas of `table`'s group."""
    out = []
    for region in regions(table):
        if region != table.region:
            other = svc.table_store.get(table.account, region, table.name)
            if other is not None:
                out.append(other)
    return out


def describe(table: Table, d: dict[str, Any], now: float) -> None:
    """Add `Replicas`, `GlobalTableVersion` and the MRSC fields to a description."""
    departing = [e for e in table.desc.get("_departing", []) if now < e["_until"]]
    if "_replicas" not in table.desc and not departing:
        return
    d["GlobalTableVersion"] = table.desc.get("_version", VERSION)  # the legacy API sets 2017.11.29
    out = []
    for entry in table.desc.get("_replicas", []):
        if entry["RegionName"] == table.region:
            continue  # AWS never lists the described table itself
        status = entry["ReplicaStatus"]
        if status == "CREATING" and now >= entry.get("_until", 0) and not seeding.seeding(entry):
            status = "ACTIVE"
        public = {k: copy.deepcopy(v) for k, v in entry.items() if not k.startswith("_")}
        public["ReplicaStatus"] = status
        if status == "ACTIVE" and "WarmThroughput" in d:  # the group shares its capacity settings
            public["WarmThroughput"] = copy.deepcopy(d["WarmThroughput"])
        public["GlobalTableSettingsReplicationMode"] = "ENABLED_WITH_OVERRIDES"
        out.append(public)
    for entry in departing:  # removed replicas show DELETING for the state delay
        out.append({"RegionName": entry["RegionName"], "ReplicaStatus": "DELETING"})
    d["Replicas"] = out
    d["GlobalTableSettingsReplicationMode"] = "ENABLED_WITH_OVERRIDES"
    if table.desc.get("_consistency") == "STRONG":  # EVENTUAL is never shown
        d["MultiRegionConsistency"] = "STRONG"
        if table.desc.get("_witness"):
            d["GlobalTableWitnesses"] = [{"RegionName": table.desc["_witness"], "WitnessStatus": "ACTIVE"}]


def _exists(name: str) -> ServiceError:
    return validation(
        f"Failed to create a the new replica of table with name: \u2018{name}\u2019 because one or more "
        "replicas already existed as tables."
    )


def _not_member(region: str) -> ServiceError:
    return validation(
        "Update global table operation failed because one or more replicas were not part of the global "
        f"table. Please retry the request without these replicas: [{region}]."
    )


def check_region(region: str) -> None:
    if region not in REGIONS:
        raise validation(
            f"Region {region} is not supported. The latest version of global tables are only supported in "
            f"the following regions: [{', '.join(sorted(REGIONS))}]."
        )


def apply_updates(svc: DynamoDBService, table: Table, p: dict[str, Any], now: float) -> None:
    """UpdateTable's ReplicaUpdates / MultiRegionConsistency / GlobalTableWitnessUpdates (inside the
    caller's store transaction)."""
    from gondwana.services.dynamodb.replication import strong

    updates = p.get("ReplicaUpdates") or []
    witness = p.get("GlobalTableWitnessUpdates") or []
    if any(not any(update.get(k) for k in ("Create", "Update", "Delete")) for update in updates):
        raise validation("There are no actions specified in the Replica Update Action of the request.")
    if any(sum(bool(update.get(k)) for k in ("Create", "Update", "Delete")) > 1 for update in updates):
        raise validation("Update table operation with more than one type of replica actions not allowed.")
    unique: list[dict[str, Any]] = []  # the same action twice counts once
    for update in updates:
        if update not in unique:
            unique.append(update)
    updates = unique
    for update in updates:
        action = next(k for k in ("Create", "Update", "Delete") if update.get(k))
        if action != "Update" and update[action]["RegionName"] == table.region:
            raise validation(
                "Cannot add or delete the local region through ReplicaUpdates. Use CreateTable, DeleteTable, "
                "or UpdateTable as required."
            )
    if strong.is_strong(table) and any(u.get("Delete") for u in updates):
        strong.dissolve(svc, table, updates, witness, now)
        return
    if witness and p.get("MultiRegionConsistency") != "STRONG":
        raise validation(
            "MultiRegionConsistency must be set as STRONG when GlobalTableWitnessUpdates parameter is "
            "present."
        )
    if p.get("MultiRegionConsistency") == "STRONG":
        strong.check_conversion(svc, table, updates, witness)
    else:
        if sum(1 for u in updates if u.get("Create") or u.get("Delete")) > 1:
            raise validation(
                "Update table operation with more than one create or delete replica actions not allowed"
            )
    for update in updates:
        if "Create" in update:
            create(svc, table, update["Create"], now)
        elif "Update" in update:
            _update(svc, table, update["Update"])
        elif "Delete" in update:
            delete(svc, table, update["Delete"]["RegionName"], now)
    if p.get("MultiRegionConsistency") == "STRONG":
        strong.convert(svc, table, witness)


def _save_group(svc: DynamoDBService, table: Table, entries: list[dict[str, Any]]) -> None:
    """Write the group's membership into every member (and drop it when one table remains)."""
    tables = [svc.table_store.get(table.account, e["RegionName"], table.name) for e in entries]
    for member in [t for t in tables if t is not None]:
        keep = [e for e in entries if svc.table_store.get(member.account, e["RegionName"], member.name)]
        if len(keep) > 1:
            member.desc["_replicas"] = copy.deepcopy(keep)
        else:
            for key in ("_replicas", "_consistency", "_witness", "_version"):
                member.desc.pop(key, None)
        svc.table_store.save(member)


def create(svc: DynamoDBService, table: Table, spec: dict[str, Any], now: float) -> Table:
    target = spec["RegionName"]
    check_region(target)
    if target in regions(table) or svc.table_store.get(table.account, target, table.name):
        raise _exists(table.name)
    if table.desc.get("_consistency") == "STRONG":
        raise validation("Cannot add replicas to a global table with strong MultiRegionConsistency")
    stream = table.desc.get("StreamSpecification")
    if not stream:  # AWS turns a stream on (an existing one keeps its view type)
        table.desc["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
        svc.tables._open_stream(table, now)
    delay = svc.runtime.state_delay
    desc = copy.deepcopy({k: v for k, v in table.desc.items() if not k.startswith("_") or k == "_ttl"})
    arn = f"arn:aws:dynamodb:{target}:{table.account}:table/{table.name}"
    desc.update(TableArn=arn, TableId=str(uuid.uuid4()), CreationDateTime=now)
    for key in ("LocalSecondaryIndexes", "GlobalSecondaryIndexes"):
        for index in desc.get(key, []):
            index["IndexArn"] = f"{arn}/index/{index['IndexName']}"
    if "SSEDescription" in desc:
        desc["SSEDescription"] = copy.deepcopy(desc["SSEDescription"])
    replica = svc.table_store.create(
        table.account, target, table.name, desc, "CREATING" if delay else "ACTIVE", now + delay
    )
    svc.tables._open_stream(replica, now)
    filled = seeding.start(svc, table, replica)
    if not filled:
        replica.status = "CREATING"  # until the rest is copied
    svc.table_store.save(replica)
    entries = copy.deepcopy(
        table.desc.get("_replicas") or [{"RegionName": table.region, "ReplicaStatus": "ACTIVE"}]
    )
    entry: dict[str, Any] = {"RegionName": target, "ReplicaStatus": "ACTIVE", "_until": now + delay}
    if delay or not filled:
        entry["ReplicaStatus"] = "CREATING"
    if not filled:
        entry["_seeding"] = True
    entry.update({k: spec[k] for k in ("KMSMasterKeyId", *_OVERRIDES) if spec.get(k) is not None})
    entries.append(entry)
    table.desc.setdefault("_seeded", {})[target] = now  # replica region -> when this table sourced it
    # Changes from third regions still queued for this one must reach the new replica too.
    thirds = sorted({e["RegionName"] for e in entries} - {table.region, target})
    if thirds:
        args = (target, table.account, table.name, table.region, json.dumps(thirds))
        svc.runtime.store.execute(_COPY_QUEUED, args)
    _save_group(svc, table, entries)
    svc.replication.replicator.start_pairs((third, target) for third in thirds)
    return replica


def _update(svc: DynamoDBService, table: Table, spec: dict[str, Any]) -> None:
    region = spec["RegionName"]
    check_region(region)
    entries = copy.deepcopy(table.desc.get("_replicas") or [])
    found = [e for e in entries if e["RegionName"] == region]
    if not found:
        raise _not_member(region)
    if spec.get("KMSMasterKeyId") is not None:  # a replica's key changes in its own region only
        raise invalid("KMSMasterKeyId must be specified for each replica.")
    if spec.get("ProvisionedThroughputOverride") and billing_mode(table.desc) == "PAY_PER_REQUEST":
        raise validation(
            "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is "
            "PAY_PER_REQUEST"
        )
    if not any(spec.get(k) is not None for k in _OVERRIDES):
        raise validation("There are no actions specified in the Replica Update Action of the request.")
    found[0].update({k: spec[k] for k in _OVERRIDES if spec.get(k) is not None})
    _save_group(svc, table, entries)


def check_hold(svc: DynamoDBService, table: Table, now: float) -> None:
    """A table that sourced a replica in the last 24 h cannot be deleted while that replica exists."""
    members = regions(table)
    seeded = table.desc.get("_seeded") or {}
    if any(r in members and now - t < delete_hold() for r, t in seeded.items()):
        raise validation(
            "Replica cannot be deleted because it has acted as a source region for new replica(s) being "
            "added to the table in the last 24 hours."
        )


def delete(svc: DynamoDBService, table: Table, region: str, now: float) -> None:
    check_region(region)
    if region not in regions(table) or "_replicas" not in table.desc:
        raise _not_member(region)
    refuse_single_strong_delete(table)
    if region == table.region:
        leave(svc, table, now)
        return
    replica = svc.table_store.get(table.account, region, table.name)
    delay = svc.runtime.state_delay
    if replica is not None:
        check_hold(svc, replica, now)
        svc.tables._close_stream(replica, now)
        if delay:  # DELETING for the state delay, like DeleteTable
            for key in ("_replicas", "_consistency", "_witness", "_version", "_departing"):
                replica.desc.pop(key, None)
            replica.status, replica.status_until = "DELETING", now + delay
            svc.table_store.save(replica)
        else:
            svc.table_store.drop(replica)
    entries = [e for e in table.desc["_replicas"] if e["RegionName"] != region]
    _forget_region(svc, table, region)
    _save_group(svc, table, entries)
    if delay:  # the others list it as DELETING meanwhile (replication to it has stopped)
        for member in [svc.table_store.get(table.account, e["RegionName"], table.name) for e in entries]:
            if member is not None:
                gone = [e for e in member.desc.get("_departing", []) if now < e["_until"]]
                member.desc["_departing"] = [*gone, {"RegionName": region, "_until": now + delay}]
                svc.table_store.save(member)


def leave(svc: DynamoDBService, table: Table, now: float) -> None:
    """`table` stops being a replica (DeleteTable on a member): the others forget it."""
    refuse_single_strong_delete(table)
    check_hold(svc, table, now)
    others = members(svc, table)
    entries = [e for e in table.desc.get("_replicas", []) if e["RegionName"] != table.region]
    _forget_region(svc, table, table.region)
    for key in ("_replicas", "_consistency", "_witness", "_version"):
        table.desc.pop(key, None)
    svc.table_store.save(table)
    if others:
        _save_group(svc, others[0], entries)


def _forget_region(svc: DynamoDBService, table: Table, region: str) -> None:
    svc.replication.replicator.cut(table.account, table.name, region)


# The changes queued for the source's region, from third regions, queued for a new replica too (in
# order), but for those a region leaving the group voided (replicator.cut). The third regions are
# the group's (one that left has its changes voided): named, each is a range of the pair index,
# where by target alone every queued change of every table was read.
_COPY_QUEUED = (
    "INSERT INTO dynamodb_repl_outbox (account, name, source, target, keys, item, written, origin) "
    "SELECT account, name, source, ?1, keys, item, written, origin FROM dynamodb_repl_outbox AS o "
    "WHERE source IN (SELECT value FROM json_each(?5)) AND target = ?4 AND account = ?2 "
    "AND name = ?3 AND NOT EXISTS (SELECT 1 FROM "
    "dynamodb_repl_cutoffs AS c WHERE c.account = ?2 AND c.name = ?3 AND c.region IN (o.source, ?4) "
    "AND o.seq <= c.below) ORDER BY seq"
)


def refuse_single_strong_delete(table: Table) -> None:
    if table.desc.get("_consistency") == "STRONG":
        raise validation(
            "Deletion of only one table replica is not supported for global tables with "
            "MultiRegionConsistency set to STRONG."
        )
