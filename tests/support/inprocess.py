"""One service started in process on a fresh data directory, for tests of its background work
(sweeps, timer chains) that need its loop and store at hand rather than a server."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from gondwana.config import Settings
from gondwana.runtime import Runtime
from gondwana.server.app import build_runtime
from gondwana.server.context import RequestContext
from gondwana.server.messages import Request


def in_process(tmp_path: Path, service: str, scenario: Callable[[Runtime, Any], Awaitable[int]]) -> int:
    """What `scenario(runtime, provider)` returns, run against `service` started in process."""

    async def run() -> int:
        runtime = build_runtime(Settings(data_dir=tmp_path / "data", services=[service]))
        provider = runtime.services[service]
        provider.start()
        try:
            return await scenario(runtime, provider)
        finally:
            runtime.cancel_background()
            runtime.store.close()

    return asyncio.run(run())


def request_context(account: str = "123456789012", region: str = "us-east-1") -> RequestContext:
    """The context of a request to call a provider's operations with directly."""
    return RequestContext(Request("POST", "/", "", {"host": "localhost"}, b""), "test", account, region)


def dynamodb_table(ddb: Any, ctx: RequestContext, name: str, **extra: Any) -> None:
    """CreateTable through the DynamoDB provider: a string hash key `id`, on demand (`extra` adds
    to or replaces the request's fields)."""
    ddb.create_table(
        ctx,
        {
            "TableName": name,
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
            **extra,
        },
    )
