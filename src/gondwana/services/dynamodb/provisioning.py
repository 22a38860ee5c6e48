"""Rationed table changes, in the words DynamoDB uses: provisioned throughput (the 'will not change'
rule and the daily decrease budget: four a UTC day, then one an hour) and encryption changes (four in
a 24-hour window that opens with the first, then one every six hours)."""

from __future__ import annotations

import datetime
from typing import Any

from gondwana.protocols.errors import ServiceError
from gondwana.services.dynamodb.errors import validation

FREE_DECREASES = 4


def same_utc_day(a: float, b: float) -> bool:
    return int(a // 86400) == int(b // 86400)


def aws_time(t: float) -> str:
    """A moment as the decrease-budget text prints it."""
    moment = datetime.datetime.fromtimestamp(t, datetime.UTC)
    return moment.strftime("%A, %B %d, %Y at %I:%M:%S %p Coordinated Universal Time").replace(" 0", " ")


def change(current: dict[str, Any], wanted: dict[str, Any], now: float, what: str) -> None:
    """Apply `wanted` to a table's or GSI's ProvisionedThroughput (`what`: "table" or "index <name>"),
    counting a decrease against its budget, or refuse it in AWS's words."""
    r, w = current["ReadCapacityUnits"], current["WriteCapacityUnits"]
    nr, nw = wanted["ReadCapacityUnits"], wanted["WriteCapacityUnits"]
    if (r, w) == (nr, nw):
        raise validation(
            f"The provisioned throughput for the {what} will not change. The requested value equals the "
            f"current value. Current ReadCapacityUnits provisioned for the {what.split(' ')[0]}: {r}. "
            f"Requested ReadCapacityUnits: {nr}. Current WriteCapacityUnits provisioned for the "
            f"{what.split(' ')[0]}: {w}. Requested WriteCapacityUnits: {nw}. Refer to the Amazon DynamoDB "
            "Developer Guide for current limits and how to request higher limits."
        )
    if nr < r or nw < w:
        last = current.get("LastDecreaseDateTime")
        done = current.get("NumberOfDecreasesToday", 0) if last and same_utc_day(last, now) else 0
        if done >= FREE_DECREASES and now - last < 3600:
            raise ServiceError(
                "LimitExceededException",
                "Subscriber limit exceeded: Provisioned throughput decreases are limited within a given "
                "UTC day. "
                f"After the first {FREE_DECREASES} decreases, each subsequent decrease in the same UTC "
                f"day can be performed at most once every 3600 seconds. Number of decreases today: {done}. "
                f"Last decrease at {aws_time(last)}. Next decrease can be made at {aws_time(last + 3600)}",
            )
        current["NumberOfDecreasesToday"] = done + 1
        current["LastDecreaseDateTime"] = now
    if nr > r or nw > w:
        current["LastIncreaseDateTime"] = now
    current["ReadCapacityUnits"], current["WriteCapacityUnits"] = nr, nw


ENCRYPTION_FREE, ENCRYPTION_WINDOW, ENCRYPTION_SPACING = 4, 86400.0, 21600.0


def _iso(t: float) -> str:
    moment = datetime.datetime.fromtimestamp(t, datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def ration_encryption_changes(desc: dict[str, Any], now: float) -> None:
    """Count an SSESpecification change against the table's budget (before anything else about it
    is checked, as AWS does), or refuse it."""
    window = desc.get("_sse_window")
    if window is None or now >= window["start"] + ENCRYPTION_WINDOW:
        window = {"start": now, "count": 0, "last": now}
    if window["count"] >= ENCRYPTION_FREE and now - window["last"] < ENCRYPTION_SPACING:
        raise ServiceError(
            "LimitExceededException",
            "Subscriber limit exceeded: Encryption mode changes are limited in the 24h window ending at "
            f"{_iso(window['start'] + ENCRYPTION_WINDOW)}. After the first {ENCRYPTION_FREE} change, each "
            f"subsequent change in the same window can be performed at most once every "
            f"{int(ENCRYPTION_SPACING)} seconds. Number of updates today: {window['count']}. Last change at "
            f"{_iso(window['last'])}",
        )
    desc["_sse_window"] = {**window, "count": window["count"] + 1, "last": now}
