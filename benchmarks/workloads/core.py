"""The core alone: a cheap operation through the full stack, and a durable write.

Echo is the test-only service (`tests/plugins/echo.py`, loaded with `--plugin`): routing, JSON
parse, model validation, context, serialization, with a trivial provider. STS GetCallerIdentity
does the same over the query protocol (form in, XML out). Echo `Put` upserts one SQLite row, so it
measures the store with group commit, in the default durability and in `--durability strict`.
"""

from __future__ import annotations

from harness.requests import SEQ, Call, Clients
from workloads import Workload

ECHO = ("--plugin", "tests.plugins.echo")


def echo_calls(clients: Clients) -> list[Call]:
    body = {"Name": "bench", "Count": 3, "Flag": True, "Choice": "ALPHA", "Tags": ["a", "b"]}
    return [Call("echo", "echo", body)]


def _sts(clients: Clients) -> list[Call]:
    return [Call("sts", "get_caller_identity")]


def _put(clients: Clients) -> list[Call]:
    # 1,000 keys in rotation: upserts of small rows, one SQLite statement each.
    return [Call("echo", "put", {"Key": f"key-{i:04d}", "Value": "v" * 64}) for i in range(1000)]


def _insert(clients: Clients) -> list[Call]:
    # A new row per request: the load generator numbers the keys.
    return [Call("echo", "put", {"Key": f"new-{SEQ}", "Value": "v" * 64})]


def _fill(clients: Clients) -> list[Call]:
    return [Call("echo", "put", {"Key": f"old-{SEQ}", "Value": "v" * 64})]


WORKLOADS = [
    Workload(
        "echo.Echo",
        "JSON 1.0 echo, small valid body (full stack, no storage)",
        echo_calls,
        ECHO,
        target_pct=40,
    ),
    Workload(
        "sts.GetCallerIdentity", "query protocol: form in, XML out", _sts, peers=("moto",), target_pct=40
    ),
    Workload("echo.Put", "upsert one row, default durable store (group commit)", _put, ECHO),
    Workload(
        "echo.Put.strict",
        "the same with --durability strict (fsync per group commit)",
        _put,
        (*ECHO, "--durability", "strict"),
    ),
    Workload("echo.Insert", "insert a new row per request (empty table)", _insert, ECHO),
    Workload(
        "echo.Insert.100k",
        "the same on a table prefilled with 100,000 rows: the cost must not grow with size",
        _insert,
        ECHO,
        prefill=_fill,
        prefill_requests=100_000,
        baseline="echo.Insert",
    ),
]
