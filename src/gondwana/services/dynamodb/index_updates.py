"""UpdateTable's GlobalSecondaryIndexUpdates: the per-entry rules, and each Create (with its
backfill), Update (throughput, on-demand maxima, warm throughput) and Delete of a GSI."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gondwana.protocols.errors import ServiceError
from gondwana.services.dynamodb import backfill, keys, provisioning, warm
from gondwana.services.dynamodb.errors import invalid, validation
from gondwana.services.dynamodb.schema import entries_key, new_entries_key
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
)

if TYPE_CHECKING:
    from gondwana.services.dynamodb.schema import Table
    from gondwana.services.dynamodb.tables import Tables

_ACTIONS = ("Update", "Create", "Delete")


def check(p: dict[str, Any]) -> None:
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


def apply(
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
        if name in table.indexes or any(g["IndexName"] == name for g in gsis):
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
        named = [k["AttributeName"] for k in spec["KeySchema"]]
        check_defined(named, defined)
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
                for k in dict.fromkeys(named)
                if k not in known
            ]
        )
        entry = gsi_description(spec, "CREATING" if delay else "ACTIVE")
        if spec.get("OnDemandThroughput"):
            entry["OnDemandThroughput"] = on_demand(spec["OnDemandThroughput"], f"index : {name}")
        if spec.get("WarmThroughput"):
            warm.check_initial(spec["WarmThroughput"], entry, ppr, f"index {name}")
            entry["WarmThroughput"] = dict(spec["WarmThroughput"])
        entry["IndexArn"] = f"{table.arn}/index/{name}"
        if delay:
            entry["Backfilling"] = True
            entry["_until"] = now + delay
        entry["_backfill"] = keys.stored(keys.FIRST)
        entry["_key"] = new_entries_key(name)
        gsis.append(entry)
        table.refresh()
        if not backfill.run_pass(tables, table, name):  # the first pass; the rest in the background
            backfill.schedule(tables, table, name)
    elif "Delete" in update:
        name = update["Delete"]["IndexName"]
        if name not in [g["IndexName"] for g in gsis]:
            raise _no_such_gsi(table, name, "delete")
        # The entries (and counts) go in the background: a large index held up every request. No
        # read or write reaches them meanwhile, nor those of a new index of the same name
        # (`entries_key`); counts still pending in memory are written, then reclaimed too.
        gone = next(g for g in gsis if g["IndexName"] == name)
        for rows in ("dynamodb_index_entries", "dynamodb_index_counts"):
            tables.runtime.reclaimer.drop(rows, "tid", table.tid, idx=entries_key(gone))
        if delay:  # (a backfill in progress stops: the index is no longer among the table's)
            gone.pop("_backfill", None)
            gone.pop("Backfilling", None)
            gone["IndexStatus"], gone["_until"] = "DELETING", now + delay
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
            provisioning.change(
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
