"""CreateTable's rules: key schema, attribute definitions, indexes, billing mode and the stored
TableDescription they produce (also used by UpdateTable for new GSIs)."""

from __future__ import annotations

import uuid
from typing import Any

from gondwana.protocols.errors import Violation
from gondwana.services.base import null_member_message, validation_message
from gondwana.services.dynamodb import warm
from gondwana.services.dynamodb.errors import invalid, validation

MAX_LSI = 5
MAX_GSI = 20


MAX_KEY_PARTS = 4  # HASH, and RANGE, attributes of a GSI key (multi-attribute keys, 2025-11)


def check_key_schema(schema: list[dict[str, str]], what: str = "KeySchema", parts: int = 1) -> None:
    """A key schema: HASH attributes, then RANGE ones; `parts` of each at most (a table's and an
    LSI's key: one and one; a GSI's: up to four and four)."""
    kinds = [k["KeyType"] for k in schema]
    if kinds[0] != "HASH":
        raise validation(f"Invalid {what}: The first KeySchemaElement is not a HASH key type")
    hashes = kinds.count("HASH")
    if parts == 1 and len(schema) == 2 and hashes == 2:
        raise validation(f"Invalid {what}: The second KeySchemaElement is not a RANGE key type")
    first_range = kinds.index("RANGE") if "RANGE" in kinds else len(kinds)
    if "HASH" in kinds[first_range:]:
        raise invalid("All HASH key attributes must precede RANGE key attributes in the KeySchema")
    for kind, count in (("HASH", hashes), ("RANGE", len(kinds) - hashes)):
        if count > parts:
            raise invalid(f"The KeySchema exceeds the maximum allowed number of {kind} key attributes")
    names = [k["AttributeName"] for k in schema]
    if len(set(names)) < len(names):
        if kinds == ["HASH", "RANGE"]:
            raise validation("Invalid KeySchema: Some index key attribute have no definition")
        raise validation("The KeySchema contains multiple key attributes with the same name")


def check_key_length(schema: list[dict[str, str]], path: str) -> None:
    """A table's or an LSI's key: two elements at most (only a GSI's may have more), refused as
    Coral's model check words it (the model itself no longer sets the limit)."""
    if len(schema) > 2:
        shown = ", ".join(
            f"KeySchemaElement(attributeName={k['AttributeName']}, keyType={k['KeyType']})" for k in schema
        )
        violation = Violation(
            "max_length", path, "keySchema", f"[{shown}]", "Member must have length less than or equal to 2"
        )
        raise validation(validation_message([violation]))


def check_defined(keys: list[str], defined: dict[str, str]) -> None:
    """Every key attribute has a definition (AWS names those that have none, then the definitions)."""
    missing = [k for k in keys if k not in defined]
    if missing:
        raise invalid(
            f"Some index key attributes are not defined in AttributeDefinitions. Keys: "
            f"[{', '.join(missing)}], AttributeDefinitions: [{', '.join(defined)}]"
        )


def _check_definitions(defined: dict[str, str], used: list[str], indexed: bool) -> None:
    """CreateTable's AttributeDefinitions: exactly the key attributes of the table and its indexes."""
    check_defined(used, defined)
    if len(used) == len(defined):
        return
    if not indexed:
        raise invalid(
            "Number of attributes in KeySchema does not exactly match number of attributes defined in "
            "AttributeDefinitions"
        )
    raise invalid(
        f"Some AttributeDefinitions are not used. AttributeDefinitions: [{', '.join(defined)}], "
        f"keys used: [{', '.join(java_hash_order(used))}]"
    )


def java_hash_order(names: list[str]) -> list[str]:
    """The order a java.util.HashSet of these strings iterates in: AWS prints such a set."""
    capacity = 16
    while len(names) > capacity * 3 // 4:
        capacity *= 2

    def bucket(name: str) -> int:
        h = 0
        units = name.encode("utf-16-be")
        for i in range(0, len(units), 2):
            h = (31 * h + (units[i] << 8 | units[i + 1])) & 0xFFFFFFFF
        return (h ^ (h >> 16)) & (capacity - 1)

    return sorted(names, key=bucket)  # stable: a bucket keeps the order of insertion


def check_projection(projection: dict[str, Any]) -> None:
    kind = projection.get("ProjectionType")
    attrs = projection.get("NonKeyAttributes")
    if kind == "INCLUDE" and not attrs:
        raise invalid("ProjectionType is INCLUDE, but NonKeyAttributes is not specified")
    if kind in ("ALL", "KEYS_ONLY", None) and attrs:
        raise invalid(f"NonKeyAttributes must not be specified when ProjectionType is {kind or 'ALL'}")
    if kind is None:
        raise invalid("Unknown ProjectionType: null")
    for position, name in enumerate(attrs or []):
        if name in attrs[:position]:
            raise invalid(f"Duplicate element in NonKeyAttributes: {name}")


def sorted_definitions(attrs: list[dict[str, str]]) -> list[dict[str, str]]:
    """AttributeDefinitions as DynamoDB keeps and describes them: sorted by name."""
    return sorted(attrs, key=lambda a: a["AttributeName"])


def stored_projection(index: dict[str, Any]) -> dict[str, Any]:
    """An index's Projection as described: NonKeyAttributes sorted by name."""
    projection = dict(index["Projection"])
    if "NonKeyAttributes" in projection:
        projection["NonKeyAttributes"] = sorted(projection["NonKeyAttributes"])
    return projection


def prune_attributes(desc: dict[str, Any]) -> None:
    """Keep only the AttributeDefinitions some key still uses (a deleted GSI's go with it)."""
    used = {k["AttributeName"] for k in desc["KeySchema"]}
    for kind in ("LocalSecondaryIndexes", "GlobalSecondaryIndexes"):
        used.update(k["AttributeName"] for index in desc.get(kind, []) for k in index["KeySchema"])
    desc["AttributeDefinitions"] = [a for a in desc["AttributeDefinitions"] if a["AttributeName"] in used]


def billing_mode(desc: dict[str, Any]) -> str:
    """A table description's billing mode (no summary: PROVISIONED)."""
    return desc.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")


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
    # The model no longer marks these two required, but no table is made without them.
    if p.get("KeySchema") is None:
        raise validation(null_member_message("keySchema"))
    if p.get("AttributeDefinitions") is None:
        raise validation("No defined Attribute schema.")
    attrs = p["AttributeDefinitions"]
    defined = {a["AttributeName"]: a["AttributeType"] for a in attrs}
    schema = p["KeySchema"]
    check_key_length(schema, "keySchema")
    for position, lsi in enumerate(p.get("LocalSecondaryIndexes") or [], start=1):
        check_key_length(lsi["KeySchema"], f"localSecondaryIndexes.{position}.member.keySchema")
    for kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if p.get(kind) == []:
            raise invalid(f"List of {kind} is empty")
    check_key_schema(schema)
    names = [a["AttributeName"] for a in attrs]
    for position, name in enumerate(names):
        if name in names[:position]:
            raise validation(f"Attribute Name is duplicated: {name}")
    lsis, gsis = p.get("LocalSecondaryIndexes") or [], p.get("GlobalSecondaryIndexes") or []
    for index in [*lsis, *gsis]:
        check_key_schema(index["KeySchema"], parts=MAX_KEY_PARTS if index in gsis else 1)
    used = [k["AttributeName"] for index in [p, *lsis, *gsis] for k in index["KeySchema"]]
    _check_definitions(defined, list(dict.fromkeys(used)), bool(lsis or gsis))
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
    index_names: set[str] = set()
    for index in [*lsis, *gsis]:
        if index["IndexName"] in index_names:
            raise invalid(f"Duplicate index name: {index['IndexName']}")
        index_names.add(index["IndexName"])
        check_projection(index["Projection"])
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
            if len(lsi["KeySchema"]) < 2:
                raise invalid(f"Index KeySchema does not have a range key for index: {lsi['IndexName']}")
            if lsi["KeySchema"][0]["AttributeName"] != schema[0]["AttributeName"]:
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
            raise invalid(f"ProvisionedThroughput is not specified for index: {gsi['IndexName']}")
    if not ppr:  # on-demand maxima belong to PAY_PER_REQUEST tables
        for what, spec in [("", p), *((f" for index: {g['IndexName']}", g) for g in gsis)]:
            for member in ("MaxReadRequestUnits", "MaxWriteRequestUnits"):
                if (spec.get("OnDemandThroughput") or {}).get(member) is not None:
                    raise invalid(
                        f"{member} for OnDemandThroughput{what} cannot be specified when table BillingMode "
                        "is PROVISIONED."
                    )
    desc: dict[str, Any] = {
        "AttributeDefinitions": sorted_definitions(attrs),
        "KeySchema": schema,
        "ProvisionedThroughput": throughput(pt),
        "DeletionProtectionEnabled": bool(p.get("DeletionProtectionEnabled", False)),
    }
    if ppr:  # a table created PROVISIONED, even by name, has no summary until it is switched
        desc["BillingModeSummary"] = {"BillingMode": billing}
    if lsis:
        desc["LocalSecondaryIndexes"] = [
            {"IndexName": i["IndexName"], "KeySchema": i["KeySchema"], "Projection": stored_projection(i)}
            for i in lsis
        ]
    if gsis:
        desc["GlobalSecondaryIndexes"] = [gsi_description(g, "ACTIVE") for g in gsis]
    stream = p.get("StreamSpecification")
    if stream and not stream.get("StreamEnabled") and stream.get("StreamViewType"):
        raise invalid("Table is being created with a stream disabled, UpdateViewType should not be specified")
    if stream and stream.get("StreamEnabled"):
        if not stream.get("StreamViewType"):
            raise invalid("Table is being created with a stream enabled, UpdateViewType is required")
        desc["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    if p.get("TableClass"):
        desc["TableClassSummary"] = {"TableClass": p["TableClass"]}
    sse = p.get("SSESpecification")
    if sse is not None and sse_enabled(sse):
        desc["SSEDescription"] = {"Status": "ENABLED", "SSEType": "KMS", "_key": sse.get("KMSMasterKeyId")}
    if p.get("WarmThroughput"):
        warm.check_initial(p["WarmThroughput"], desc, ppr, "table")
        desc["WarmThroughput"] = {**p["WarmThroughput"], "Status": "ACTIVE"}
    for gsi, described in zip(gsis, desc.get("GlobalSecondaryIndexes", []), strict=False):
        if gsi.get("WarmThroughput"):
            warm.check_initial(gsi["WarmThroughput"], described, ppr, f"index {gsi['IndexName']}")
            described["WarmThroughput"] = dict(gsi["WarmThroughput"])
    if ppr and p.get("OnDemandThroughput"):
        desc["OnDemandThroughput"] = on_demand(p["OnDemandThroughput"], "table")
    for gsi, described in zip(gsis, desc.get("GlobalSecondaryIndexes", []), strict=False):
        if ppr and gsi.get("OnDemandThroughput"):
            described["OnDemandThroughput"] = on_demand(
                gsi["OnDemandThroughput"], f"index : {gsi['IndexName']}"
            )
    if p.get("ResourcePolicy"):
        desc["_policy"], desc["_policy_rev"] = p["ResourcePolicy"], str(uuid.uuid4().int)[:13]
    return desc


_MAXIMA = ("MaxReadRequestUnits", "MaxWriteRequestUnits")


def on_demand(
    given: dict[str, int], where: str, current: dict[str, int] | None = None, *, update: bool = False
) -> dict[str, int]:
    """A table's or GSI's OnDemandThroughput as described: the maxima given, over `current`; -1 is
    no maximum (which an UpdateTable may also give, to lift one)."""
    out = dict(current or dict.fromkeys(_MAXIMA, -1))
    for member in _MAXIMA:
        value = given.get(member)
        if value is None:
            continue
        if value < 1 and not (update and value == -1):
            raise invalid(f"Requested {member} for OnDemandThroughput for {where} is outside of valid range")
        out[member] = value
    return out


def refuse_on_demand(given: dict[str, int], where: str) -> None:
    """OnDemandThroughput sent for a PROVISIONED table (UpdateTable's words)."""
    for member in _MAXIMA:
        if given.get(member) is not None:
            raise invalid(
                f"{member} for OnDemandThroughput{where} cannot be specified when the table BillingMode is "
                "PROVISIONED"
            )


def gsi_description(g: dict[str, Any], status: str) -> dict[str, Any]:
    return {
        "IndexName": g["IndexName"],
        "KeySchema": g["KeySchema"],
        "Projection": stored_projection(g),
        "IndexStatus": status,
        "ProvisionedThroughput": throughput(g.get("ProvisionedThroughput")),
    }


def sse_enabled(sse: dict[str, Any]) -> bool:
    """An SSESpecification's verdict, its shape checked as AWS checks it: KMS encryption asked for
    (Enabled, or an SSEType of KMS alone), or the AWS-owned default (Enabled false, or {})."""
    if sse.get("SSEType") == "AES256":
        raise invalid("SSEType AES256 is not supported")
    enabled = sse.get("Enabled")
    if enabled is False:
        for member in ("SSEType", "KMSMasterKeyId"):
            if sse.get(member) is not None:
                raise invalid(f"{member} can not be specified if Enabled is false")
    if sse.get("KMSMasterKeyId") is not None and sse.get("SSEType") != "KMS":
        raise invalid("SSEType KMS is required if KMSMasterKeyId is specified")
    return bool(enabled) or (enabled is None and sse.get("SSEType") == "KMS")


def sse_description(key: str | None, region: str, account: str) -> dict[str, Any]:
    """SSE with KMS: the given key as an ARN, else the account's AWS-managed DynamoDB key."""
    if not key:
        key = str(uuid.uuid5(uuid.NAMESPACE_URL, f"aws/dynamodb/{account}/{region}"))
    if not key.startswith("arn:"):
        key = f"arn:aws:kms:{region}:{account}:key/{key.removeprefix('alias/')}"
    return {"Status": "ENABLED", "SSEType": "KMS", "KMSMasterKeyArn": key}
