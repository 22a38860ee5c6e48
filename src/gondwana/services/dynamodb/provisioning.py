"""Provisioned throughput changes: the 'will not change' rule and the daily decrease budget (four a
UTC day, then one an hour), in the words DynamoDB uses."""

from __future__ import annotations

import datetime
from typing import Any

from gondwana.protocols.errors import ServiceError
from gondwana.services.dynamodb.errors import validation

FREE_DECREASES = 4


def same_utc_day(a: float, b: float) -> bool:
    return int(a // 86400) == int(b // 86400)


def aws_time(t: float) -> str:
    moment = datetime.datetime.fromtimestamp(t, datetime.UTC)
    return moment.strftime("%A, %B %d, %Y at %I:%M:%S %p Coordinated Universal Time").replace(" 0", " ")


def change(current: dict[str, Any], wanted: dict[str, Any], now: float, what: str) -> None:
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
