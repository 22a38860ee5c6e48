"""DescribeTableReplicaAutoScaling / UpdateTableReplicaAutoScaling: the auto scaling settings of a
global table (version 2019.11.21), kept as state only: nothing here changes capacity.

AWS keeps them in Application Auto Scaling (AAS), a scalable target and one policy per dimension.
Write capacity is set for every replica at once (the table's and each GSI's), read capacity per
replica, and so are the rows of `dynamodb_repl_autoscaling`: region '' for the group-wide write
dimensions, idx '' for the table itself; a disabled dimension has no row. Like AAS targets, rows
outlive DeleteTable and replica removal (AWS orphans them too); Reset clears them.

Texts marked "recorded" are AWS's (published live probes, the ack-api-quirks notes DDB-TABLE-190,
-232, -237, -238, -241, -242, -253, -254, -255, -289, -317); the others are ours.
"""

from __future__ import annotations

import copy
import json
import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

from gondwana.protocols.errors import ServiceError
from gondwana.services.base import null_member_message
from gondwana.services.dynamodb.errors import validation
from gondwana.services.dynamodb.replication import replicas
from gondwana.services.dynamodb.table_specs import billing_mode
from gondwana.services.dynamodb.tables import table_name

if TYPE_CHECKING:
    from gondwana.server.context import RequestContext
    from gondwana.services.dynamodb.provider import DynamoDBService
    from gondwana.services.dynamodb.schema import Table

Params = dict[str, Any]


class Change(NamedTuple):
    """One dimension a request sets: region '' and idx '' as in the rows."""

    region: str
    idx: str
    dim: str  # "read" or "write"
    settings: Params  # the AutoScalingSettingsUpdate
    param: str  # its name in the on-demand refusal


# AWS answers every dimension with its service-linked role, whatever role was asked for (DDB-TABLE-237).
_ROLE = (
    "arn:aws:iam::{}:role/aws-service-role/dynamodb.application-autoscaling.amazonaws.com/"
    "AWSServiceRoleForApplicationAutoScaling_DynamoDBTable"
)
_FIELDS = ("MaximumUnits", "ScalingPolicyUpdate", "MinimumUnits")  # the order AWS names them in
_SQL_SET = (
    "INSERT INTO dynamodb_repl_autoscaling (account, name, region, idx, dim, settings) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (account, name, region, idx, dim) DO UPDATE SET settings = "
    "excluded.settings"
)
_SQL_UNSET = (
    "DELETE FROM dynamodb_repl_autoscaling WHERE account = ? AND name = ? AND region = ? AND idx = ? "
    "AND dim = ?"
)


def _global_table(svc: DynamoDBService, ctx: RequestContext, raw: str) -> Table:
    """The 2019.11.21 global table named (or ARN'd) `raw`: a regional or legacy (2017.11.29) table is
    'not a global table' to this API, as a missing one is (recorded: DDB-TABLE-187, -254)."""
    table = svc.tables.find(ctx.account, ctx.region, raw)
    if (
        table is None
        or "_replicas" not in table.desc
        or table.desc.get("_version", replicas.VERSION) != replicas.VERSION
    ):
        name = table_name(raw)
        raise ServiceError("ResourceNotFoundException", f"Global table with name: '{name}' does not exist.")
    return table


def _member(svc: DynamoDBService, table: Table, region: str) -> Table | None:
    return table if region == table.region else svc.tables.find(table.account, region, table.name)


# ---- DescribeTableReplicaAutoScaling ------------------------------------------------------------------


def _description(svc: DynamoDBService, table: Table) -> Params:
    rows = svc.runtime.store.query(
        "SELECT region, idx, dim, settings FROM dynamodb_repl_autoscaling WHERE account = ? AND name = ?",
        (table.account, table.name),
    )
    stored = {(region, idx, dim): json.loads(text) for region, idx, dim, text in rows}
    shown: Params = {}
    replicas.describe(table, shown, svc.runtime.now())  # the other replicas' statuses
    status = {r["RegionName"]: r["ReplicaStatus"] for r in shown.get("Replicas", [])}
    out = []
    for region in sorted(replicas.regions(table)):  # home included, by name (recorded: DDB-TABLE-232, -265)
        member = _member(svc, table, region)
        if member is None:
            continue
        ppr = billing_mode(member.desc) == "PAY_PER_REQUEST"

        def settings(where: str, idx: str, dim: str, ppr: bool = ppr) -> Params:
            found = stored.get((where, idx, dim))
            if found is None:  # never set, or disabled (recorded: DDB-TABLE-189, -242)
                return {"AutoScalingDisabled": True, "ScalingPolicies": []}
            found = copy.deepcopy(found)
            if ppr:  # an on-demand table keeps its settings, shown disabled (recorded: DDB-TABLE-317)
                found["AutoScalingDisabled"] = True
            return found

        out.append(
            {
                "RegionName": region,
                "GlobalSecondaryIndexes": [
                    {
                        "IndexName": g["IndexName"],
                        "IndexStatus": g.get("IndexStatus", "ACTIVE"),
                        "ProvisionedReadCapacityAutoScalingSettings": settings(
                            region, g["IndexName"], "read"
                        ),
                        "ProvisionedWriteCapacityAutoScalingSettings": settings("", g["IndexName"], "write"),
                    }
                    for g in member.desc.get("GlobalSecondaryIndexes", [])
                ],
                "ReplicaProvisionedReadCapacityAutoScalingSettings": settings(region, "", "read"),
                "ReplicaProvisionedWriteCapacityAutoScalingSettings": settings("", "", "write"),
                "ReplicaStatus": status.get(region, "ACTIVE"),
            }
        )
    return {"TableName": table.name, "TableStatus": table.status, "Replicas": out}


def describe(svc: DynamoDBService, ctx: RequestContext, p: Params) -> Params:
    return {"TableAutoScalingDescription": _description(svc, _global_table(svc, ctx, p["TableName"]))}


# ---- UpdateTableReplicaAutoScaling ------------------------------------------------------------------


def _quoted(names: list[str]) -> str:
    return ", ".join(f"'{n}'" for n in names)


def _check_shape(name: str, update: Params) -> None:
    """A dimension is disabled with nothing else, or set whole: Min, Max and a policy (recorded:
    DDB-TABLE-241, -242, -253; note the colon AWS leaves out of the first text)."""
    if update.get("AutoScalingDisabled"):
        given = [f for f in _FIELDS if update.get(f) is not None]
        if given:
            raise validation(
                f"Failed to update settings for global table with name \u2018{name}\u2019: Parameters "
                f"{_quoted(given)} must be left blank when disabling auto scaling."
            )
        return
    missing = [f for f in _FIELDS if update.get(f) is None]
    if missing:
        raise validation(
            f"Failed to update settings for global table with name: \u2018{name}\u2019: Parameters "
            f"{_quoted(missing)} are required unless auto scaling is being disabled."
        )


def _java_double(value: float) -> str:
    """`value` as Java's Double.toString writes it (AAS quotes numbers so): plain from 10^-3 to 10^7,
    else the shortest digits with an exponent ('1.0E9')."""
    if value == 0 or 1e-3 <= abs(value) < 1e7:
        return repr(float(value))
    _sign, digits, exponent = Decimal(repr(abs(value))).normalize().as_tuple()
    text = "".join(map(str, digits))
    return f"{'-' if value < 0 else ''}{text[0]}.{text[1:] or '0'}E{len(text) - 1 + int(exponent)}"


def _aas_error(message: str) -> ServiceError:
    """AAS's own validation error, passed through verbatim with its request id (recorded: DDB-TABLE-253)."""
    return validation(
        f"{message} (Service: AWSApplicationAutoScaling; Status Code: 400; Error Code: ValidationException; "
        f"Request ID: {uuid.uuid4()}; Proxy: null)"
    )


def _check_aas(update: Params, dim: str) -> None:
    """What RegisterScalableTarget then PutScalingPolicy refuse (recorded: DDB-TABLE-253: the target
    value range is 10-90, inclusive here, for DynamoDB's predefined metrics)."""
    if update["MinimumUnits"] > update["MaximumUnits"]:
        raise _aas_error("Maximum capacity cannot be less than minimum capacity")
    target = update["ScalingPolicyUpdate"]["TargetTrackingScalingPolicyConfiguration"]["TargetValue"]
    if not 8.51592e-109 <= target <= 1.174271e108:
        raise _aas_error(
            "For target tracking scaling, target value must be between '8.51592E-109' and '1.174271E108', "
            f"but was '{_java_double(target)}'."
        )
    if not 10.0 <= target <= 90.0:
        raise _aas_error(
            f"For predefined metric type DynamoDB{dim.title()}CapacityUtilization, target value must be "
            f"between '10.0' and '90.0', but was '{_java_double(target)}'."
        )


def _settings(table: Table, idx: str, dim: str, update: Params) -> Params:
    """The stored (and described) form of an enabling update: the policy keeps the name given, else
    AWS's generated one, and only the configuration members given (recorded: DDB-TABLE-237, -240)."""
    policy = update["ScalingPolicyUpdate"]
    resource = f"table/{table.name}" + (f"/index/{idx}" if idx else "")
    return {
        "MinimumUnits": update["MinimumUnits"],
        "MaximumUnits": update["MaximumUnits"],
        "AutoScalingRoleArn": _ROLE.format(table.account),
        "ScalingPolicies": [
            {
                "PolicyName": policy.get("PolicyName")
                or f"DynamoDB{dim.title()}CapacityUtilization:{resource}",
                "TargetTrackingScalingPolicyConfiguration": dict(
                    policy["TargetTrackingScalingPolicyConfiguration"]
                ),
            }
        ],
    }


def _nothing_for(failed: str, where: str = "") -> ServiceError:
    """Recorded for the request and for a region (DDB-TABLE-255); for an index the text is ours."""
    return validation(f"{failed} because at least one update parameter must be specified{where}.")


def _changes(svc: DynamoDBService, table: Table, p: Params) -> list[Change]:
    """Every dimension the request sets, after the checks of the request's shape and names."""
    failed = f"Failed to update settings for global table with name: \u2018{table.name}\u2019"
    write = p.get("ProvisionedWriteCapacityAutoScalingUpdate")
    indexes, updates = p.get("GlobalSecondaryIndexUpdates") or [], p.get("ReplicaUpdates") or []
    if write is None and not indexes and not updates:
        raise _nothing_for(failed)
    regions = [u["RegionName"] for u in updates]
    twice = [r for r in dict.fromkeys(regions) if regions.count(r) > 1]
    if twice:  # recorded: DDB-TABLE-255
        listed = ", ".join(twice)
        raise validation(
            f"{failed} because the regions: \u2018[{listed}]\u2019 were specified more than once."
        )
    # `param` names the update in the on-demand text: AWS's names for the table's dimensions, and
    # for the indexes' the matching members of UpdateGlobalTableSettings (ours).
    changes: list[Change] = []
    if write is not None:
        changes.append(
            Change("", "", "write", write, "GlobalTableProvisionedWriteCapacityAutoScalingSettingsUpdate")
        )
    for i, entry in enumerate(indexes, 1):
        idx = _index(table, entry.get("IndexName"), f"globalSecondaryIndexUpdates.{i}.member.indexName")
        settings = entry.get("ProvisionedWriteCapacityAutoScalingUpdate")
        if settings is None:
            raise _nothing_for(failed, f" for index: \u2018{idx}\u2019")
        changes.append(
            Change("", idx, "write", settings, "ProvisionedWriteCapacityAutoScalingSettingsUpdate")
        )
    members = replicas.regions(table)
    for i, entry in enumerate(updates, 1):
        region, read = entry["RegionName"], entry.get("ReplicaProvisionedReadCapacityAutoScalingUpdate")
        if read is None and not entry.get("ReplicaGlobalSecondaryIndexUpdates"):
            raise _nothing_for(failed, f" for region: \u2018{region}\u2019")
        member = _member(svc, table, region) if region in members else None
        if member is None:  # the code is recorded (DDB-TABLE-253), the text ours
            raise ServiceError(
                "ResourceNotFoundException", f"Requested resource not found: Replica: {region} not found"
            )
        if read is not None:
            changes.append(
                Change(region, "", "read", read, "ReplicaProvisionedReadCapacityAutoScalingSettingsUpdate")
            )
        for j, index in enumerate(entry.get("ReplicaGlobalSecondaryIndexUpdates") or [], 1):
            path = f"replicaUpdates.{i}.member.replicaGlobalSecondaryIndexUpdates.{j}.member.indexName"
            idx = _index(member, index.get("IndexName"), path)
            settings = index.get("ProvisionedReadCapacityAutoScalingUpdate")
            if settings is None:
                raise _nothing_for(failed, f" for index: \u2018{idx}\u2019")
            changes.append(
                Change(region, idx, "read", settings, "ProvisionedReadCapacityAutoScalingSettingsUpdate")
            )
    return changes


def _index(table: Table, name: str | None, path: str) -> str:
    if name is None:  # optional in the model, yet nothing names the index without it: Coral's answer
        raise validation(null_member_message(path))
    if name not in [g["IndexName"] for g in table.desc.get("GlobalSecondaryIndexes", [])]:
        # the code is recorded (DDB-TABLE-253), the text ours
        raise ServiceError(
            "ResourceNotFoundException", f"Requested resource not found: Index: {name} not found"
        )
    return name


def _refuse_on_demand(table: Table, enabling: list[Change]) -> None:
    """An on-demand table takes no settings but disabling (recorded: DDB-TABLE-190, -317; both quotes
    around the name are opening ones there)."""
    if enabling and billing_mode(table.desc) == "PAY_PER_REQUEST":
        regions = _quoted([r.upper() for r in sorted(replicas.regions(table))])
        params = _quoted(list(dict.fromkeys(c.param for c in enabling)))
        raise validation(
            f"Failed to update global table with name \u2018{table.name}\u2018. Replicas {regions} "
            "BillingMode is PayPerRequest. You must convert table's BillingMode to PROVISIONED to set "
            f"parameters: {params}."
        )


def update(svc: DynamoDBService, ctx: RequestContext, p: Params) -> Params:
    table = _global_table(svc, ctx, p["TableName"])
    changes = _changes(svc, table, p)
    for change in changes:
        _check_shape(table.name, change.settings)
    enabling = [c for c in changes if not c.settings.get("AutoScalingDisabled")]
    _refuse_on_demand(table, enabling)
    for change in enabling:
        _check_aas(change.settings, change.dim)
    before = _description(svc, table)  # AWS answers with the settings before the update (DDB-TABLE-238)
    store = svc.runtime.store
    with store.transaction():
        for change in changes:
            key = (table.account, table.name, change.region, change.idx, change.dim)
            if not change.settings.get("AutoScalingDisabled"):
                store.execute(
                    _SQL_SET, (*key, json.dumps(_settings(table, change.idx, change.dim, change.settings)))
                )
            else:  # disabling deregisters the target, and its policy goes with it (DDB-TABLE-242)
                store.execute(_SQL_UNSET, key)
    return {"TableAutoScalingDescription": before}
