"""Kinesis Data Streams destinations of a table: their lifecycle, and the change records the writes
send to the one that is active (see writes.py).

A table has at most one destination in ENABLING, ACTIVE, UPDATING or DISABLING at a time, and any
number that are DISABLED or ENABLE_FAILED (newest first). Each transition lasts the server's state
delay and settles when the destinations are next looked at. An enabled destination becomes ACTIVE
if a stream of its ARN exists in the table's account and region, else ENABLE_FAILED (AWS answers
the Enable call before it looks). From ENABLING's end until DISABLING begins, every change to an
item is written to the stream in the same unit of change as the item itself, in order, once.
"""

from __future__ import annotations

import hashlib
import os
from typing import TYPE_CHECKING, Any

from gondwana.protocols import json_codec
from gondwana.services.dynamodb import codec
from gondwana.services.dynamodb.errors import validation
from gondwana.services.dynamodb.types import Item, item_size

if TYPE_CHECKING:
    from gondwana.services.dynamodb.provider import DynamoDBService
    from gondwana.services.dynamodb.schema import Table

_LIVE = ("ENABLING", "ACTIVE", "UPDATING", "DISABLING")
_SETTLED = {"ENABLING": "ACTIVE", "UPDATING": "ACTIVE", "DISABLING": "DISABLED"}
_STATE = "Table is not in a valid state to enable Kinesis Streaming Destination: "
_NO_STREAM = "User does not have a permission to use kinesis stream"


def _destinations(
    svc: DynamoDBService, ctx: Any, name: str, *, save: bool = True
) -> tuple[Table, dict[str, dict[str, Any]]]:
    """The table and its destinations, each transition that is over settled (and saved)."""
    table = svc.tables.named(ctx, name)
    entries: dict[str, dict[str, Any]] = table.desc.get("_kinesis", {})
    now = svc.runtime.now()
    changed = False
    for arn, entry in entries.items():
        if entry["status"] in _SETTLED and entry.get("until", 0) <= now:
            entry["status"] = _SETTLED[entry["status"]]
            if entry["status"] == "ACTIVE" and not _stream_exists(svc, table, arn):
                entry["status"], entry["reason"] = "ENABLE_FAILED", _NO_STREAM
            entry.pop("until", None)
            changed = True
    if changed and save:
        _save(svc, table)
    return table, entries


def _stream_exists(svc: DynamoDBService, table: Table, arn: str) -> bool:
    """A stream of `arn` takes writes, in the table's account and region."""
    kinesis: Any = svc.runtime.services.get("kinesis")
    _, _, _, region, account, _ = table.desc["TableArn"].split(":", 5)
    arn_parts = arn.split(":")
    if kinesis is None or len(arn_parts) != 6 or arn_parts[3:5] != [region, account]:
        return False
    return kinesis.streams.writable_by_arn(arn) is not None


def _save(svc: DynamoDBService, table: Table) -> None:
    with svc.runtime.store.transaction():
        svc.table_store.save(table)


def _begin(svc: DynamoDBService, entry: dict[str, Any], status: str) -> None:
    entry["status"] = status
    entry["until"] = svc.runtime.now() + svc.runtime.state_delay


def enable(svc: DynamoDBService, ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    table, entries = _destinations(svc, ctx, p["TableName"], save=False)
    if any(entry["status"] in _LIVE for entry in entries.values()):
        raise validation(
            _STATE + "EnableKinesisStreamingDestination must be DISABLED or ENABLE_FAILED to perform "
            "ENABLE operation."
        )
    config = p.get("EnableKinesisStreamingConfiguration") or {}
    entry: dict[str, Any] = {}
    _begin(svc, entry, "ENABLING")
    if config.get("ApproximateCreationDateTimePrecision"):
        entry["precision"] = config["ApproximateCreationDateTimePrecision"]
    arn = p["StreamArn"]
    table.desc["_kinesis"] = {arn: entry, **{a: e for a, e in entries.items() if a != arn}}
    _save(svc, table)
    return {
        "TableName": table.name,
        "StreamArn": arn,
        "DestinationStatus": "ENABLING",
        "EnableKinesisStreamingConfiguration": config,
    }


def describe(svc: DynamoDBService, ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    table, entries = _destinations(svc, ctx, p["TableName"])
    destinations = []
    for arn, entry in entries.items():
        destination = {"StreamArn": arn, "DestinationStatus": entry["status"]}
        if entry.get("reason"):
            destination["DestinationStatusDescription"] = entry["reason"]
        if entry.get("precision"):
            destination["ApproximateCreationDateTimePrecision"] = entry["precision"]
        destinations.append(destination)
    return {"TableName": table.name, "KinesisDataStreamDestinations": destinations}


def _entry(table: Table, entries: dict[str, dict[str, Any]], arn: str) -> dict[str, Any]:
    entry = entries.get(arn)
    if entry is None:
        raise validation(
            f"{_STATE}No streaming destination with streamArn: {arn} found for table with tableName: "
            f"{table.name}"
        )
    return entry


def update(svc: DynamoDBService, ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    table, entries = _destinations(svc, ctx, p["TableName"], save=False)
    config = p.get("UpdateKinesisStreamingConfiguration") or {}
    precision = config.get("ApproximateCreationDateTimePrecision")
    if not precision:
        raise validation(
            "Streaming destination cannot be updated with given parameters: "
            "UpdateKinesisStreamingConfiguration "
            "cannot be null or contain only null values"
        )
    entry = _entry(table, entries, p["StreamArn"])
    if entry["status"] != "ACTIVE":
        raise validation(
            f"{_STATE}Kinesis streaming is not in ACTIVE state. Updates are only allowed in ACTIVE state. "
            f"TableName: {table.name}"
        )
    if entry.get("precision", "MILLISECOND") == precision:
        raise validation(
            f"Invalid Request: Precision is already set to the desired value of {precision} for tableId: "
            f"{table.desc['TableId']}, kdsArn: {p['StreamArn']}"
        )
    entry["precision"] = precision
    _begin(svc, entry, "UPDATING")
    _save(svc, table)
    return {
        "TableName": table.name,
        "StreamArn": p["StreamArn"],
        "DestinationStatus": "UPDATING",
        "UpdateKinesisStreamingConfiguration": config,
    }


def disable(svc: DynamoDBService, ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    table, entries = _destinations(svc, ctx, p["TableName"], save=False)
    entry = _entry(table, entries, p["StreamArn"])
    if entry["status"] != "ACTIVE":
        raise validation(f"{_STATE}KinesisStreamingDestination must be ACTIVE to perform DISABLE operation.")
    _begin(svc, entry, "DISABLING")
    _save(svc, table)
    out = {"TableName": table.name, "StreamArn": p["StreamArn"], "DestinationStatus": "DISABLING"}
    if p.get("EnableKinesisStreamingConfiguration"):
        out["EnableKinesisStreamingConfiguration"] = p["EnableKinesisStreamingConfiguration"]
    return out


# ---- the change records ----------------------------------------------------------------------


def target(table: Table, now: float) -> tuple[str, str] | None:
    """The ARN and timestamp precision of the destination `table`'s changes go to now, if any."""
    entries = table.desc.get("_kinesis")
    if not entries:
        return None
    for arn, entry in entries.items():
        status = entry["status"]
        if status in ("ACTIVE", "UPDATING") or (status == "ENABLING" and entry.get("until", 0) <= now):
            return arn, entry.get("precision", "MILLISECOND")
    return None


def record(
    table: Table,
    made: tuple[str, float, str, dict[str, str] | None],
    key: Item,
    old: Item | None,
    new: Item | None,
    new_text: str | None,
    sizes: tuple[int, int],
) -> tuple[str, bytes]:
    """One change as the stream receives it: (partition key, data). `made`: the timestamps'
    precision, the time, region and identity of the write. Both images go out (a destination has
    no view type); the partition key is the item key's digest, so an item's changes share a shard
    and stay in order."""
    precision, now, region, identity = made
    keys_text = codec.dumps(key)
    event = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
    new_size, old_size = sizes
    size = item_size(key) + (new_size if new is not None else 0) + (old_size if old is not None else 0)
    created = int(now * 1_000_000) if precision == "MICROSECOND" else int(now * 1000)
    user = (
        json_codec.dumps({"type": identity["Type"], "principalId": identity["PrincipalId"]}).decode()
        if identity
        else "null"
    )
    images = ""
    if new is not None:
        images += f',"NewImage":{new_text if new_text is not None else codec.dumps(new)}'
    if old is not None:
        images += f',"OldImage":{codec.dumps(old)}'
    exact = f',"ApproximateCreationDateTimePrecision":"{precision}"' if precision == "MICROSECOND" else ""
    data = (
        f'{{"awsRegion":"{region}","eventID":"{_event_id()}","eventName":"{event}","userIdentity":{user},'
        f'"recordFormat":"application/json","tableName":{json_codec.dumps(table.name).decode()},'
        f'"dynamodb":{{"ApproximateCreationDateTime":{created},"Keys":{keys_text}{images},'
        f'"SizeBytes":{size}{exact}}},"eventSource":"aws:dynamodb"}}'
    )
    partition_key = hashlib.md5(keys_text.encode(), usedforsecurity=False).hexdigest().upper()
    return partition_key, data.encode()


def _event_id() -> str:
    raw = os.urandom(16).hex()
    return f"{raw[:8]}-{raw[8:12]}-4{raw[13:16]}-{raw[16:20]}-{raw[20:]}"
