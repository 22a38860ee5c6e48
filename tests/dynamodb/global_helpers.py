"""Helpers for the global-table tests: tables, replicas, the replication control API, polling."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from tests.conftest import make_client
from tests.support.server import ServerProcess


def name(prefix: str = "gt") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def clients(server: ServerProcess, *regions: str) -> list[Any]:
    return [make_client(server.url, "dynamodb", r) for r in regions]


def create_table(ddb: Any, table: str, **extra: Any) -> None:
    extra.setdefault("BillingMode", "PAY_PER_REQUEST")
    ddb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        **extra,
    )


def add_replica(ddb: Any, table: str, region: str) -> dict[str, Any]:
    return ddb.update_table(TableName=table, ReplicaUpdates=[{"Create": {"RegionName": region}}])


def global_table(server: ServerProcess, *regions: str, **extra: Any) -> tuple[str, list[Any]]:
    table = name()
    ddbs = clients(server, *regions)
    create_table(ddbs[0], table, **extra)
    for region in regions[1:]:
        add_replica(ddbs[0], table, region)
    return table, ddbs


def set_delay(server: ServerProcess, ms: int, source: str | None = None, target: str | None = None) -> Any:
    body: dict[str, Any] = {"delay_ms": ms}
    if source:
        body.update(source=source, target=target)
    return server.call("POST", "/_gondwana/replication", body)


def state(server: ServerProcess) -> Any:
    return server.call("GET", "/_gondwana/replication")


def pair(server: ServerProcess, source: str, target: str) -> dict[str, Any]:
    return next(p for p in state(server)["pairs"] if (p["source"], p["target"]) == (source, target))


def wait_for(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


def item(ddb: Any, table: str, pk: str) -> Any:
    return ddb.get_item(TableName=table, Key={"pk": {"S": pk}}, ConsistentRead=True).get("Item")


def scan(ddb: Any, table: str) -> list[Any]:
    items = ddb.scan(TableName=table, ConsistentRead=True)["Items"]
    return sorted(items, key=lambda i: i["pk"]["S"])
