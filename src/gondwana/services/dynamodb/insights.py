"""CloudWatch Contributor Insights settings per table and index (state only: no metrics flow)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gondwana.protocols.errors import ServiceError

if TYPE_CHECKING:
    from gondwana.services.dynamodb.provider import DynamoDBService
    from gondwana.services.dynamodb.schema import Table


def _table(svc: DynamoDBService, ctx: Any, p: dict[str, Any]) -> Table:
    table = svc.tables.named(ctx, p["TableName"])
    index = p.get("IndexName")
    if index is not None and index not in table.indexes:
        raise ServiceError(
            "ResourceNotFoundException", f"Requested resource not found: Index: {index} not found"
        )
    return table


def _entry(table: Table, index: str | None) -> dict[str, Any]:
    return table.desc.get("_insights", {}).get(index or "", {"status": "DISABLED"})


def describe(svc: DynamoDBService, ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    table = _table(svc, ctx, p)
    entry = _entry(table, p.get("IndexName"))
    out: dict[str, Any] = {"TableName": table.name, "ContributorInsightsStatus": entry["status"]}
    if p.get("IndexName"):
        out["IndexName"] = p["IndexName"]
    if entry["status"] == "ENABLED":
        out["ContributorInsightsRuleList"] = [f"DynamoDBContributorInsights-PKC-{table.name}"]
        out["LastUpdateDateTime"] = entry["changed"]
        out["ContributorInsightsMode"] = entry["mode"]
    return out


def update(svc: DynamoDBService, ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    table = _table(svc, ctx, p)
    status = "ENABLED" if p["ContributorInsightsAction"] == "ENABLE" else "DISABLED"
    mode = p.get("ContributorInsightsMode") or "ACCESSED_AND_THROTTLED_KEYS"
    insights = table.desc.setdefault("_insights", {})
    insights[p.get("IndexName") or ""] = {"status": status, "mode": mode, "changed": svc.runtime.now()}
    with svc.runtime.store.transaction():
        svc.table_store.save(table)
    out: dict[str, Any] = {"TableName": table.name, "ContributorInsightsStatus": status}
    if p.get("IndexName"):
        out["IndexName"] = p["IndexName"]
    if status == "ENABLED":
        out["ContributorInsightsMode"] = mode
    return out


def list_all(svc: DynamoDBService, ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    names = [p["TableName"]] if p.get("TableName") else svc.table_store.with_insights(ctx.account, ctx.region)
    summaries = []
    for name in names:
        table = svc.tables.find(ctx.account, ctx.region, name)
        if table is None:
            continue
        for index, entry in sorted(table.desc.get("_insights", {}).items()):
            summary = {"TableName": table.name, "ContributorInsightsStatus": entry["status"]}
            if index:
                summary["IndexName"] = index
            if entry["status"] == "ENABLED":
                summary["ContributorInsightsMode"] = entry["mode"]
            summaries.append(summary)
    return {"ContributorInsightsSummaries": summaries}
