"""Kinesis Data Streams destinations of a table: the settings and their lifecycle (state only; change
records are not delivered to Kinesis)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gondwana.services.dynamodb.errors import validation

if TYPE_CHECKING:
    from gondwana.services.dynamodb.provider import DynamoDBService
    from gondwana.services.dynamodb.schema import Table


def _save(svc: DynamoDBService, table: Table) -> None:
    with svc.runtime.store.transaction():
        svc.table_store.save(table)


def enable(svc: DynamoDBService, ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    table = svc.tables.named(ctx, p["TableName"])
    config = p.get("EnableKinesisStreamingConfiguration") or {}
    entry: dict[str, Any] = {"status": "ACTIVE"}
    if config.get("ApproximateCreationDateTimePrecision"):
        entry["precision"] = config["ApproximateCreationDateTimePrecision"]
    table.desc.setdefault("_kinesis", {})[p["StreamArn"]] = entry
    _save(svc, table)
    return {
        "TableName": table.name,
        "StreamArn": p["StreamArn"],
        "DestinationStatus": "ENABLING",
        "EnableKinesisStreamingConfiguration": config,
    }


def describe(svc: DynamoDBService, ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    table = svc.tables.named(ctx, p["TableName"])
    destinations = []
    for arn, entry in table.desc.get("_kinesis", {}).items():
        destination = {"StreamArn": arn, "DestinationStatus": entry["status"]}
        if entry.get("precision"):
            destination["ApproximateCreationDateTimePrecision"] = entry["precision"]
        destinations.append(destination)
    return {"TableName": table.name, "KinesisDataStreamDestinations": destinations}


def _entry(table: Table, arn: str) -> dict[str, Any]:
    entry = table.desc.get("_kinesis", {}).get(arn)
    if entry is None or entry["status"] == "DISABLED":
        raise validation(
            "Table is not in a valid state to enable Kinesis Streaming Destination: No streaming destination "
            f"with streamArn: {arn} found for table with tableName: {table.name}"
        )
    return entry


def update(svc: DynamoDBService, ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    table = svc.tables.named(ctx, p["TableName"])
    config = p.get("UpdateKinesisStreamingConfiguration") or {}
    precision = config.get("ApproximateCreationDateTimePrecision")
    if not precision:
        raise validation(
            "Streaming destination cannot be updated with given parameters: "
            "UpdateKinesisStreamingConfiguration "
            "cannot be null or contain only null values"
        )
    entry = _entry(table, p["StreamArn"])
    if entry.get("precision", "MILLISECOND") == precision:
        raise validation(
            f"Invalid Request: Precision is already set to the desired value of {precision} for tableId: "
            f"{table.desc['TableId']}, kdsArn: {p['StreamArn']}"
        )
    entry["precision"] = precision
    _save(svc, table)
    return {
        "TableName": table.name,
        "StreamArn": p["StreamArn"],
        "DestinationStatus": "UPDATING",
        "UpdateKinesisStreamingConfiguration": config,
    }


def disable(svc: DynamoDBService, ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    table = svc.tables.named(ctx, p["TableName"])
    _entry(table, p["StreamArn"])["status"] = "DISABLED"
    _save(svc, table)
    out = {"TableName": table.name, "StreamArn": p["StreamArn"], "DestinationStatus": "DISABLING"}
    if p.get("EnableKinesisStreamingConfiguration"):
        out["EnableKinesisStreamingConfiguration"] = p["EnableKinesisStreamingConfiguration"]
    return out
