"""What the load generators share: the outcome of one call, counters, and the gate that parks
workers while the server is down or being checked."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

ACK, REJECTED, UNKNOWN = "ack", "rejected", "unknown"

# No retries: one call is one attempt, so its outcome is exactly what the server said (or nothing).
CLIENT_CONFIG = Config(
    retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=20, max_pool_connections=4
)


def make_client(service: str, url: str) -> Any:
    return boto3.session.Session().client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="AKIASOAKSOAKSOAK0000",
        aws_secret_access_key="soak",
        config=CLIENT_CONFIG,
    )


class Stats:
    """Operations by (name, outcome), server errors (5xx) and violations, shared by all threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ops: Counter[tuple[str, str]] = Counter()
        self.server_errors: list[str] = []
        self.violations: list[str] = []
        self.checks = 0

    def count(self, name: str, outcome: str, n: int = 1) -> None:
        with self.lock:
            self.ops[name, outcome] += n

    def violation(self, text: str) -> None:
        with self.lock:
            self.violations.append(text)
        print(f"VIOLATION: {text}", flush=True)

    def check(self, problems: list[str]) -> None:
        with self.lock:
            self.checks += 1
        for problem in problems:
            self.violation(problem)


def call(stats: Stats, name: str, fn: Callable[..., Any], **kwargs: Any) -> tuple[str, Any]:
    """(outcome, response or error code). A 4xx is a rejection (nothing happened); a 5xx or a
    broken connection leaves the outcome unknown (it may or may not have been applied)."""
    try:
        response = fn(**kwargs)
    except ClientError as error:
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500)
        code = error.response.get("Error", {}).get("Code", "?")
        if status >= 500:
            with stats.lock:
                stats.server_errors.append(f"{name}: {status} {code}")
            stats.count(name, UNKNOWN)
            return UNKNOWN, code
        stats.count(name, REJECTED)
        return REJECTED, error.response
    except BotoCoreError as error:
        stats.count(name, UNKNOWN)
        return UNKNOWN, type(error).__name__
    stats.count(name, ACK)
    return ACK, response


class Gate:
    """Workers pass `enter()` before each call; `close()` stops new calls and `wait_parked()` waits
    until every worker is waiting at the gate (the ledger is then quiet and can be checked)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.cond = threading.Condition()
        self.open = False
        self.parked = 0
        self.stopped = False

    def enter(self) -> bool:
        with self.cond:
            if not self.open and not self.stopped:
                self.parked += 1
                self.cond.notify_all()
                while not self.open and not self.stopped:
                    self.cond.wait()
                self.parked -= 1
            return not self.stopped

    def set_open(self, value: bool) -> None:
        with self.cond:
            self.open = value
            self.cond.notify_all()

    def wait_parked(self, timeout: float = 60) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: self.parked >= self.workers, timeout)

    def leave(self) -> None:
        """A worker that ended (crashed) no longer counts towards `wait_parked`."""
        with self.cond:
            self.workers -= 1
            self.cond.notify_all()

    def stop(self) -> None:
        with self.cond:
            self.stopped = True
            self.cond.notify_all()
