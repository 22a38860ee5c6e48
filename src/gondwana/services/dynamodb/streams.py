"""DynamoDB Streams (`dynamodbstreams`): one shard per stream, records kept 24 hours in write order,
iterators valid 15 minutes."""

from __future__ import annotations

import base64
import json
from typing import Any

from gondwana.protocols.errors import ServiceError
from gondwana.server.context import RequestContext
from gondwana.services.base import Service
from gondwana.services.dynamodb import codec
from gondwana.services.dynamodb.errors import validation

ITERATOR_LIFETIME = 900.0
RETENTION = 86400.0
_STREAM_COLUMNS = "arn, table_name, label, view_type, key_schema, shard_id, start_seq, created, closed, tid"


def _seq(n: int) -> str:
    return f"{n:021d}"


def _stream_missing(arn: str) -> ServiceError:
    return ServiceError("ResourceNotFoundException", f"Requested resource not found: Stream: {arn} not found")


class DynamoDBStreamsService(Service):
    name = "dynamodbstreams"
    model_name = "dynamodbstreams"
    signing_name = "dynamodb"
    endpoint_prefix = "streams.dynamodb"
    target_prefix = "DynamoDBStreams_20120810"
    error_namespace = "com.amazonaws.dynamodb.v20120810#"

    def start(self) -> None:
        from gondwana.services.dynamodb.storage import MIGRATIONS

        self.runtime.store.register("dynamodb", MIGRATIONS)

    def _stream(self, ctx: RequestContext, arn: str) -> tuple[Any, ...]:
        row = self.runtime.store.query_one(
            f"SELECT {_STREAM_COLUMNS} FROM dynamodb_streams WHERE arn = ? AND account = ? AND region = ?",
            (arn, ctx.account, ctx.region),
        )
        if row is None or (row[8] is not None and self.runtime.now() - row[8] > RETENTION):
            raise _stream_missing(arn)
        return row

    def list_streams(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        sql = f"SELECT {_STREAM_COLUMNS} FROM dynamodb_streams WHERE account = ? AND region = ?"
        args: list[Any] = [ctx.account, ctx.region]
        if p.get("TableName"):
            sql += " AND table_name = ?"
            args.append(p["TableName"])
        rows = self.runtime.store.query(sql + " ORDER BY created, arn", args)
        now = self.runtime.now()
        rows = [r for r in rows if r[8] is None or now - r[8] <= RETENTION]
        start = p.get("ExclusiveStartStreamArn")
        if start:
            arns = [r[0] for r in rows]
            rows = rows[arns.index(start) + 1 :] if start in arns else rows
        limit = p.get("Limit") or 100
        out: dict[str, Any] = {
            "Streams": [{"StreamArn": r[0], "TableName": r[1], "StreamLabel": r[2]} for r in rows[:limit]]
        }
        if len(rows) > limit:
            out["LastEvaluatedStreamArn"] = rows[limit - 1][0]
        return out

    def describe_stream(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        arn, table, label, view, schema, shard, start, created, closed, _ = self._stream(ctx, p["StreamArn"])
        seq_range: dict[str, Any] = {"StartingSequenceNumber": _seq(start)}
        if closed is not None:
            row = self.runtime.store.query_one(
                "SELECT MAX(seq) FROM dynamodb_stream_records WHERE arn = ?", (arn,)
            )
            seq_range["EndingSequenceNumber"] = _seq(row[0] if row and row[0] else start)
        shards = [{"ShardId": shard, "SequenceNumberRange": seq_range}]
        if p.get("ExclusiveStartShardId") == shard:
            shards = []
        return {
            "StreamDescription": {
                "StreamArn": arn,
                "StreamLabel": label,
                "StreamStatus": "DISABLED" if closed else "ENABLED",
                "StreamViewType": view,
                "CreationRequestDateTime": created,
                "TableName": table,
                "KeySchema": json.loads(schema),
                "Shards": shards,
            }
        }

    def get_shard_iterator(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        arn, _, _, _, _, shard, start, created, _, _ = self._stream(ctx, p["StreamArn"])
        if p["ShardId"] != shard:
            raise ServiceError(
                "ResourceNotFoundException", "Requested resource not found: Shard does not exist"
            )
        kind = p["ShardIteratorType"]
        store = self.runtime.store
        first_row = store.query_one("SELECT MIN(seq) FROM dynamodb_stream_records WHERE arn = ?", (arn,))
        first = first_row[0] if first_row and first_row[0] is not None else None
        if kind == "TRIM_HORIZON":
            position = first if first is not None else start
        elif kind == "LATEST":
            row = store.query_one("SELECT MAX(seq) FROM dynamodb_stream_records")
            position = max((row[0] or 0) + 1 if row else 1, start)
        else:
            if not p.get("SequenceNumber"):
                raise validation(f"Must provide a SequenceNumber for ShardIteratorType {kind}")
            try:
                asked = int(p["SequenceNumber"])
            except ValueError:
                raise validation(f"Invalid SequenceNumber: {p['SequenceNumber']}") from None
            trimmed_before = first if first is not None else start
            if asked < start or (asked < trimmed_before and self.runtime.now() - created > RETENTION):
                raise ServiceError(
                    "TrimmedDataAccessException",
                    f"Attempted to access data older than the trim horizon: SequenceNumber "
                    f"{p['SequenceNumber']}",
                )
            position = asked if kind == "AT_SEQUENCE_NUMBER" else asked + 1
        return {"ShardIterator": self._iterator(arn, shard, position)}

    def _iterator(self, arn: str, shard: str, position: int) -> str:
        raw = json.dumps([arn, shard, position, self.runtime.now()]).encode()
        return base64.urlsafe_b64encode(raw).decode()

    def get_records(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        try:
            arn, shard, position, issued = json.loads(base64.urlsafe_b64decode(p["ShardIterator"].encode()))
        except (ValueError, TypeError):
            raise validation("Invalid ShardIterator") from None
        now = self.runtime.now()
        if now - issued > ITERATOR_LIFETIME:
            raise ServiceError(
                "ExpiredIteratorException",
                f"Iterator expired. The iterator was created at time {_ms(issued)} while right now it "
                f"is {_ms(now)} "
                f"which is further in the future than the tolerated delay of {int(ITERATOR_LIFETIME * 1000)} "
                "milliseconds.",
            )
        stream = self._stream(ctx, arn)
        limit = p.get("Limit") or 1000
        rows = self.runtime.store.query(
            "SELECT seq, created, record FROM dynamodb_stream_records WHERE arn = ? AND seq >= ? ORDER "
            "BY seq LIMIT ?",
            (arn, position, limit),
        )
        records = [_record(seq, created, json.loads(text)) for seq, created, text in rows]
        out: dict[str, Any] = {"Records": records}
        following = rows[-1][0] + 1 if rows else position
        if stream[8] is None or len(rows) == limit:
            out["NextShardIterator"] = self._iterator(arn, shard, following)
        return out


def _ms(t: float) -> str:
    import datetime

    return datetime.datetime.fromtimestamp(t, datetime.UTC).strftime("%a %b %d %H:%M:%S UTC %Y")


def _record(seq: int, created: float, r: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "ApproximateCreationDateTime": float(int(created)),
        "Keys": codec.loads(r["keys"]),
    }
    if "new" in r:
        body["NewImage"] = codec.loads(r["new"])
    if "old" in r:
        body["OldImage"] = codec.loads(r["old"])
    body.update(SequenceNumber=_seq(seq), SizeBytes=r["size"], StreamViewType=r["view"])
    out: dict[str, Any] = {
        "eventID": r["id"],
        "eventName": r["event"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": r["region"],
        "dynamodb": body,
    }
    if "identity" in r:
        out["userIdentity"] = r["identity"]
    return out
