"""Queues: names, URLs, ARNs, and every attribute's range, default and rules."""

from __future__ import annotations

import functools
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from gondwana.protocols.errors import ServiceError
from gondwana.services.sqs.errors import (
    invalid_attribute_value,
    invalid_parameter,
    unknown_attribute,
)

NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")
FIFO_NAME = re.compile(r"[A-Za-z0-9_-]{1,75}\.fifo")

# name -> (low, high, default) for the numeric attributes.
NUMERIC: dict[str, tuple[int, int, int]] = {
    "DelaySeconds": (0, 900, 0),
    "MaximumMessageSize": (1024, 1_048_576, 1_048_576),
    "MessageRetentionPeriod": (60, 1_209_600, 345_600),
    "ReceiveMessageWaitTimeSeconds": (0, 20, 0),
    "VisibilityTimeout": (0, 43_200, 30),
    "KmsDataKeyReusePeriodSeconds": (60, 86_400, 300),
}
FIFO_ONLY = ("FifoQueue", "ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit")
SETTABLE = frozenset(
    [
        *NUMERIC,
        "Policy",
        "RedrivePolicy",
        "RedriveAllowPolicy",
        "KmsMasterKeyId",
        "SqsManagedSseEnabled",
        *FIFO_ONLY,
    ]
)
ENUMS = {
    "DeduplicationScope": ("messageGroup", "queue"),
    "FifoThroughputLimit": ("perQueue", "perMessageGroupId"),
}
BOOLEANS = ("ContentBasedDeduplication", "SqsManagedSseEnabled", "FifoQueue")
# The order GetQueueAttributes(All) lists them in does not matter on the wire (a map); keep AWS's set.
SWEEPING = -math.inf  # `Queue.oldest_sent` while a retention round learns it: still due until then
COUNTERS = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)


@dataclass(slots=True)
class Queue:
    id: int
    account: str
    region: str
    name: str
    fifo: bool
    attributes: dict[str, str]  # the explicitly set attributes, as strings
    tags: dict[str, str]
    created: float
    modified: float
    # Where its messages and message groups are stored (`sqs_spaces` draws each once): a purge
    # moves the queue to a new, empty space and leaves the old one to the reclaimer.
    space: int
    purged_at: float | None = None
    # Futures of the long polls waiting on this queue, the longest waiting first, and the one
    # timer that wakes one of them when the next hidden message (delayed or in flight) shows.
    waiters: dict[Any, None] = field(default_factory=dict)
    timer: Any = None
    # An upper bound of the messages in flight: counted when it nears the quota, plus what was
    # received since (deletes and expiries only lower the truth). None: not counted yet.
    inflight_bound: int | None = None
    # A lower bound of the send times of the messages stored (sends add newer ones, and the clock
    # only moves forward; a move from another queue lowers it): while it is within the retention
    # period nothing can have expired. None: not known yet; SWEEPING: a retention round is
    # learning it.
    oldest_sent: float | None = None
    # The last receive stopped moving messages to the dead-letter queue at its limit: more may wait.
    moves_left: bool = False
    # How many messages its space holds (expired ones too), kept by every insert and delete; valid
    # while the store's `undone` is still `depth_undone` (None: not counted yet).
    depth: int | None = None
    depth_undone: int = 0
    # FIFO receives before one reads the locked groups too, to park them (see picking.pick_fifo).
    receives_to_park: int = 0

    @property
    def arn(self) -> str:
        return arn_for(self.region, self.account, self.name)

    def number(self, name: str) -> int:
        value = self.attributes.get(name)
        return int(value) if value is not None else NUMERIC[name][2]

    def flag(self, name: str) -> bool:
        return self.attributes.get(name, "false") == "true"

    @property
    def high_throughput_dedup(self) -> bool:
        return self.attributes.get("DeduplicationScope") == "messageGroup"

    def redrive(self) -> dict[str, Any] | None:
        text = self.attributes.get("RedrivePolicy")
        return json.loads(text) if text else None

    def effective(self) -> dict[str, str]:
        """Every settable attribute with its default filled in, as GetQueueAttributes shows it."""
        out = {name: str(self.number(name)) for name in NUMERIC if name != "KmsDataKeyReusePeriodSeconds"}
        for name in ("Policy", "RedrivePolicy", "RedriveAllowPolicy"):
            if self.attributes.get(name):
                out[name] = self.attributes[name]
        if self.attributes.get("KmsMasterKeyId"):
            out["KmsMasterKeyId"] = self.attributes["KmsMasterKeyId"]
            out["KmsDataKeyReusePeriodSeconds"] = str(self.number("KmsDataKeyReusePeriodSeconds"))
            out["SqsManagedSseEnabled"] = "false"
        else:
            out["SqsManagedSseEnabled"] = self.attributes.get("SqsManagedSseEnabled", "true")
        if self.fifo:
            out["FifoQueue"] = "true"
            out["ContentBasedDeduplication"] = self.attributes.get("ContentBasedDeduplication", "false")
            out["DeduplicationScope"] = self.attributes.get("DeduplicationScope", "queue")
            out["FifoThroughputLimit"] = self.attributes.get("FifoThroughputLimit", "perQueue")
        return out


def arn_for(region: str, account: str, name: str) -> str:
    return f"arn:aws:sqs:{region}:{account}:{name}"


def parse_arn(arn: str) -> tuple[str, str, str] | None:
    """(region, account, name) of an SQS queue ARN, or None."""
    parts = arn.split(":")
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sqs" or not parts[5]:
        return None
    return parts[3], parts[4], parts[5]


def url_for(base_url: str, account: str, name: str) -> str:
    return f"{base_url}/{account}/{name}"


@functools.lru_cache(maxsize=4096)  # clients repeat the same few URLs on every call
def parse_queue_url(url: str, default_account: str) -> tuple[str, str | None, str] | None:
    """(account, region named by the host or None, name) from any form of queue URL."""
    if "://" not in url:
        # Some clients pass the bare name or "<account>/<name>" (the query protocol's path form).
        parts = [p for p in url.split("/") if p]
        if len(parts) == 1:
            return default_account, None, parts[0]
        if len(parts) == 2:
            return parts[0], None, parts[1]
        return None
    try:
        split = urlsplit(url)
    except ValueError:  # "http://127]0.0.1/..." (an unbalanced IPv6 bracket): names no queue
        return None
    parts = [p for p in split.path.split("/") if p]
    if len(parts) != 2:
        return None
    host = split.hostname or ""
    labels = host.split(".")
    region = labels[1] if len(labels) >= 3 and labels[0] == "sqs" and labels[1] != "amazonaws" else None
    if region is None and labels[0] not in ("sqs", "queue", "localhost") and len(labels) >= 3:
        region = labels[0] if re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", labels[0]) else None
    return parts[0], region, parts[1]


def check_name(name: str, fifo: bool) -> None:
    if fifo:
        if not FIFO_NAME.fullmatch(name):
            raise invalid_parameter(
                "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, "
                "must end with .fifo suffix and be 1 to 80 in length."
            )
    elif not NAME.fullmatch(name):
        raise invalid_parameter(
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"
        )


def _check_json(name: str, value: str) -> dict[str, Any]:
    try:
        parsed = json.loads(value)
    except ValueError:
        raise invalid_attribute_value(name) from None
    if not isinstance(parsed, dict):
        raise invalid_attribute_value(name)
    return parsed


def validate(attributes: dict[str, str], fifo: bool, creating: bool) -> dict[str, str]:
    """Check a CreateQueue / SetQueueAttributes attribute map; returns the values to store."""
    out: dict[str, str] = {}
    for name, value in attributes.items():
        if name not in SETTABLE:
            raise unknown_attribute(name)
        if name in FIFO_ONLY and not fifo:
            if name in ("DeduplicationScope", "FifoThroughputLimit"):
                raise ServiceError(
                    "InvalidAttributeName", f"You can specify the {name} only when FifoQueue is set to true."
                )
            # Even FifoQueue=false: a standard queue does not know the attribute.
            raise unknown_attribute(name)
        if name == "FifoQueue":
            if not creating:
                if value == "false":
                    raise invalid_attribute_value(name, "Modifying queue type is not supported.")
                raise unknown_attribute(name)
            continue
        out[name] = _normalise(name, value)
    if out.get("KmsMasterKeyId") and out.get("SqsManagedSseEnabled") == "true":
        raise ServiceError(
            "InvalidAttributeName",
            "You can use one type of server-side encryption (SSE) at one time. "
            "You can either enable KMS SSE or SQS SSE.",
        )
    return out


def _normalise(name: str, value: str) -> str:
    if name in NUMERIC:
        low, high, _ = NUMERIC[name]
        if not re.fullmatch(r"-?\d{1,12}", value.strip()) or not low <= int(value) <= high:
            raise invalid_attribute_value(name)
        return str(int(value))
    if name in BOOLEANS:
        lowered = value.lower()
        if lowered not in ("true", "false"):
            raise invalid_attribute_value(name)
        return lowered
    if name in ENUMS:
        if value not in ENUMS[name]:
            raise invalid_attribute_value(name)
        return value
    if name in ("Policy", "RedriveAllowPolicy") and value:
        _check_json(name, value)
    return value


def check_redrive_allow(value: str) -> None:
    if not value:
        return
    policy = _check_json("RedriveAllowPolicy", value)
    permission = policy.get("redrivePermission")
    if permission not in ("allowAll", "denyAll", "byQueue"):
        raise invalid_parameter(
            f"Value {value} for parameter RedriveAllowPolicy is invalid. Reason: Invalid value for "
            "redrivePermission."
        )
    arns = policy.get("sourceQueueArns")
    if permission == "byQueue" and (not isinstance(arns, list) or not 1 <= len(arns) <= 10):
        raise invalid_parameter(
            f"Value {value} for parameter RedriveAllowPolicy is invalid. Reason: Amazon SQS can't create the "
            "redrive allow policy, as it’s in an unsupported format."
        )


def allows_source(dlq: Queue, source_arn: str) -> bool:
    """Whether the dead-letter queue's RedriveAllowPolicy lets `source_arn` send it messages."""
    text = dlq.attributes.get("RedriveAllowPolicy")
    if not text:
        return True
    policy = json.loads(text)
    permission = policy.get("redrivePermission")
    if permission == "denyAll":
        return False
    return permission != "byQueue" or source_arn in (policy.get("sourceQueueArns") or [])


def redrive_target(value: str) -> tuple[str, int]:
    """(deadLetterTargetArn, maxReceiveCount) of a RedrivePolicy, with AWS's complaints."""
    policy = _check_json("RedrivePolicy", value)
    arn = policy.get("deadLetterTargetArn")
    count = policy.get("maxReceiveCount")
    prefix = f"Value {value} for parameter RedrivePolicy is invalid. Reason: "
    if not arn or count is None:
        raise invalid_parameter(
            prefix
            + "Redrive policy does not contain mandatory attribute: "
            + ("deadLetterTargetArn." if not arn else "maxReceiveCount.")
        )
    if not isinstance(arn, str) or parse_arn(arn) is None:
        raise invalid_parameter(prefix + "Invalid value for deadLetterTargetArn.")
    try:
        number = int(count)
    except (TypeError, ValueError):
        number = 0
    if not 1 <= number <= 1000:
        raise invalid_parameter(
            prefix
            + f"Invalid value for maxReceiveCount: {count}, valid values are from 1 to 1000 both inclusive."
        )
    return arn, number
