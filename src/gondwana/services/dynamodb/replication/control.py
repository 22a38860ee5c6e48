"""The replication control API: `GET/POST /_gondwana/replication` and the health summary."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gondwana.services.dynamodb.provider import DynamoDBService


def _pairs(svc: DynamoDBService) -> set[tuple[str, str]]:
    """Every pair of regions some global table replicates between, or that has queue or history."""
    rep = svc.replication.replicator
    pairs = set(rep.stats) | set(rep.pair_ms) | rep.pending
    for table in svc.table_store.naming(("_replicas",)):  # the replicas of global tables alone
        regions = [r["RegionName"] for r in table.desc.get("_replicas", [])]
        if table.desc.get("_consistency") != "STRONG":
            pairs |= {(table.region, r) for r in regions if r != table.region}
    return pairs


def state(svc: DynamoDBService) -> dict[str, Any]:
    rep = svc.replication.replicator
    pending = rep.pending_counts()
    out = []
    for source, target in sorted(_pairs(svc)):
        stats = rep.stats.get((source, target))
        out.append(
            {
                "source": source,
                "target": target,
                "delay_ms": rep.pair_ms.get((source, target), rep.default_ms),
                "pending": pending.get((source, target), 0),
                "latency_ms": stats.latency()
                if stats
                else {"last": None, "p50": None, "p99": None, "max": None},
                "applied": stats.applied if stats else 0,
                "conflicts_dropped": stats.conflicts_dropped if stats else 0,
            }
        )
    return {
        "delay_ms": rep.default_ms,
        "mrsc_conflict_window_ms": svc.replication.locks.window * 1000,
        "pairs": out,
    }


def summary(svc: DynamoDBService) -> dict[str, Any]:
    rep = svc.replication.replicator
    return {"delay_ms": rep.default_ms, "pending": sum(rep.pending_counts().values())}


def _set(svc: DynamoDBService, body: Any) -> tuple[int, Any]:
    rep = svc.replication.replicator
    if not isinstance(body, dict):
        return 400, {"error": 'expected {"delay_ms": n} or {"source": a, "target": b, "delay_ms": n}'}
    window = body.get("mrsc_conflict_window_ms")
    if window is not None:
        if not isinstance(window, int | float) or isinstance(window, bool) or window < 0:
            return 400, {"error": "mrsc_conflict_window_ms must be a number >= 0"}
        svc.replication.locks.window = window / 1000.0
    ms = body.get("delay_ms")
    if ms is not None:
        if not isinstance(ms, int | float) or isinstance(ms, bool) or ms < 0:
            return 400, {"error": "delay_ms must be a number >= 0"}
        source, target = body.get("source"), body.get("target")
        if source is None and target is None:
            rep.default_ms = int(ms)
        elif isinstance(source, str) and isinstance(target, str) and source and target and source != target:
            rep.pair_ms[(source, target)] = int(ms)
        else:
            return 400, {"error": "source and target must be two different region names"}
    elif window is None:
        return 400, {"error": "delay_ms is required"}
    rep.wake()
    return 200, state(svc)


def control_routes(svc: DynamoDBService) -> dict[tuple[str, str], Callable[[Any], tuple[int, Any]]]:
    return {
        ("GET", "/_gondwana/replication"): lambda body: (200, state(svc)),
        ("POST", "/_gondwana/replication"): lambda body: _set(svc, body),
    }
