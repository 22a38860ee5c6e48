"""Workload definitions. Each module here (one per service: `core`, later `sqs`, `kinesis`,
`dynamodb`) exposes `WORKLOADS: list[Workload]`; its module name is the group `--only` selects.

A workload says which server flags it needs, how to prepare the target (with real botocore
clients: create the queue, fill the table), and which botocore calls to replay. The same
definition runs against Gondwana and against each peer it names (e.g. moto), in the same run.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass

from harness.requests import Call, Clients


@dataclass(frozen=True)
class Workload:
    name: str  # "echo.Echo", "sqs.SendMessage.standard.batch1"
    description: str
    # Prepare the running target and return the calls to replay in rotation (at least one).
    build: Callable[[Clients], list[Call]]
    server_args: tuple[str, ...] = ()  # extra `gondwana serve` flags
    peers: tuple[str, ...] = ()  # other servers to run the same definition against ("moto")
    units_per_request: int = 1  # messages per SendMessageBatch, records per PutRecords ...
    unit: str = "req"
    target_pct: float | None = None  # the target as % of the ceiling (reported, never asserted)
    target_units: float | None = None  # the target in units/s (records/s ...), likewise
    # Extra wrk Lua (redefine request/response for dynamic flows). It may count what moves in the
    # global `units` (e.g. messages deleted): units/s is then that count per second.
    lua: str = ""
    # Fill the target before measuring, at full speed through wrk: these calls in rotation until
    # `prefill_requests` responses (e.g. 10,000 SendMessageBatch of 10 = a 100,000-message queue).
    prefill: Callable[[Clients], list[Call]] | None = None
    prefill_requests: int = 0
    prefill_seconds: float = 3600  # stop the prefill earlier (a slow peer still gets some data)
    # Seconds to wait before each measured load: a flow stopped mid-way leaves messages received
    # and never deleted, which lock their FIFO groups until their visibility timeout expires.
    pause: float = 0.0
    baseline: str = ""  # another workload's name: the report shows this one's speed as % of it
    group: str = ""  # filled from the module name


def discover() -> dict[str, list[Workload]]:
    """{group: workloads} for every module in this package."""
    groups: dict[str, list[Workload]] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        found = getattr(module, "WORKLOADS", None)
        if found:
            groups[info.name] = [_in_group(w, info.name) for w in found]
    return groups


def _in_group(workload: Workload, group: str) -> Workload:
    from dataclasses import replace

    return replace(workload, group=group)
