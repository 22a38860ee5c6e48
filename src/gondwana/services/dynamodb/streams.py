"""DynamoDB Streams (`dynamodbstreams`): shards with parent/child lineage, records kept 24 hours in
write order, iterators valid 15 minutes."""

from __future__ import annotations

import base64
import datetime
import json
from typing import Any

from gondwana.protocols.errors import ServiceError
from gondwana.server.context import RequestContext
from gondwana.services.base import Service
from gondwana.services.dynamodb import codec
from gondwana.services.dynamodb.errors import validation
from gondwana.services.dynamodb.shards import next_seq
from gondwana.services.dynamodb.storage import MIGRATIONS

ITERATOR_LIFETIME = 900.0
RETENTION = 86400.0
RESPONSE_BYTES = 1024 * 1024
_STREAM_COLUMNS = "arn, table_name, label, view_type, key_schema, created, closed"
_SHARD_COLUMNS = "shard_id, parent, start_seq, end_seq, created, closed"


def _seq(n: int) -> str:
    return f"{n:021d}"


def _stream_missing(arn: str) -> ServiceError:
    return ServiceError("ResourceNotFoundException", f"Requested resource not found: Stream: {arn} not found")


def _shard_missing(shard: str) -> ServiceError:
    return ServiceError(
        "ResourceNotFoundException", f"Requested resource not found: Shard does not exist: {shard}"
    )


class DynamoDBStreamsService(Service):
    name = "dynamodbstreams"
    model_name = "dynamodbstreams"
    signing_name = "dynamodb"
    endpoint_prefix = "streams.dynamodb"
    target_prefix = "DynamoDBStreams_20120810"
    error_namespace = "com.amazonaws.dynamodb.v20120810#"

    def start(self) -> None:
        self.runtime.store.register("dynamodb", MIGRATIONS)

    # ---- lookups -------------------------------------------------------------------------------

    def _stream(self, ctx: RequestContext, arn: str) -> tuple[Any, ...]:
        if not arn.isascii():  # no stream's ARN is (and a lone surrogate cannot be looked up)
            raise _stream_missing(arn)
        row = self.runtime.store.query_one(
            f"SELECT {_STREAM_COLUMNS} FROM dynamodb_streams WHERE arn = ? AND account = ? AND region = ?",
            (arn, ctx.account, ctx.region),
        )
        if row is None or (row[6] is not None and self.runtime.now() - row[6] > RETENTION):
            raise _stream_missing(arn)
        return row

    def _shards(self, arn: str) -> list[tuple[Any, ...]]:
        """The stream's shards still within retention, oldest first."""
        rows = self.runtime.store.query(
            f"SELECT {_SHARD_COLUMNS} FROM dynamodb_stream_shards WHERE arn = ? ORDER BY start_seq, created",
            (arn,),
        )
        now = self.runtime.now()
        return [r for r in rows if r[5] is None or now - r[5] <= RETENTION]

    def _shard(self, arn: str, shard_id: str) -> tuple[Any, ...]:
        for shard in self._shards(arn):
            if shard[0] == shard_id:
                return shard
        raise _shard_missing(shard_id)

    # ---- operations ----------------------------------------------------------------------------

    def list_streams(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        """A page of the region's streams (a table's, with TableName) in the order they were made,
        those closed for 24 hours left out; read from the index in that order, from the stream
        after ExclusiveStartStreamArn (from the first when it names none of them)."""
        where = "account = ? AND region = ? AND (closed IS NULL OR closed >= ?)"
        args: list[Any] = [ctx.account, ctx.region, self.runtime.now() - RETENTION]
        if p.get("TableName"):
            where += " AND table_name = ?"
            args.append(p["TableName"])
        store = self.runtime.store
        start = p.get("ExclusiveStartStreamArn")
        after = None
        if start and start.isascii():  # (no stream's ARN is not, and a lone surrogate cannot be looked up)
            sql = f"SELECT created, arn FROM dynamodb_streams WHERE {where} AND arn = ?"
            after = store.query_one(sql, [*args, start])
        if after:
            where += " AND (created, arn) > (?, ?)"
            args += after
        limit = p.get("Limit") or 100
        rows = store.query(
            f"SELECT {_STREAM_COLUMNS} FROM dynamodb_streams WHERE {where} ORDER BY created, arn LIMIT ?",
            [*args, limit + 1],
        )
        out: dict[str, Any] = {
            "Streams": [{"StreamArn": r[0], "TableName": r[1], "StreamLabel": r[2]} for r in rows[:limit]]
        }
        if len(rows) > limit:
            out["LastEvaluatedStreamArn"] = rows[limit - 1][0]
        return out

    def describe_stream(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        arn, table, label, view, schema, created, closed = self._stream(ctx, p["StreamArn"])
        shards = self._shards(arn)
        after = p.get("ExclusiveStartShardId")
        if after:
            ids = [s[0] for s in shards]
            shards = shards[ids.index(after) + 1 :] if after in ids else shards
        limit = p.get("Limit") or 100
        described = []
        upcoming = next_seq(self.runtime.store)
        for shard_id, parent, start, end, _, closed in shards[:limit]:
            entry: dict[str, Any] = {"ShardId": shard_id}
            if parent:
                entry["ParentShardId"] = parent
            first = start if start is not None else upcoming
            entry["SequenceNumberRange"] = {"StartingSequenceNumber": _seq(first)}
            if closed is not None:
                entry["SequenceNumberRange"]["EndingSequenceNumber"] = _seq(end if end is not None else first)
            described.append(entry)
        out: dict[str, Any] = {
            "StreamArn": arn,
            "StreamLabel": label,
            "StreamStatus": "DISABLED" if closed else "ENABLED",
            "StreamViewType": view,
            "CreationRequestDateTime": created,
            "TableName": table,
            "KeySchema": json.loads(schema),
            "Shards": described,
        }
        if len(shards) > limit:
            out["LastEvaluatedShardId"] = shards[limit - 1][0]
        return {"StreamDescription": out}

    def get_shard_iterator(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        arn = self._stream(ctx, p["StreamArn"])[0]
        shard_id, _, start, end, _, closed = self._shard(arn, p["ShardId"])
        kind = p["ShardIteratorType"]
        store = self.runtime.store
        # the oldest record still kept; with none, everything up to the shard's end is gone
        span = _span(start, end, closed)
        row = None
        if span is not None:
            row = store.query_one(
                "SELECT MIN(seq) FROM dynamodb_stream_records WHERE arn = ? AND shard_id = ? "
                "AND seq >= ? AND seq <= ?",
                (arn, shard_id, *span),
            )
        first = row[0] if row and row[0] is not None else None
        if first is None:
            first = end + 1 if closed is not None and end is not None else next_seq(store)
            if start is not None and closed is None:
                first = max(first, start)
        if kind == "TRIM_HORIZON":
            position = first
        elif kind == "LATEST":
            position = (end + 1 if end is not None else first) if closed is not None else next_seq(store)
        else:
            if not p.get("SequenceNumber"):
                raise validation(f"Must provide a SequenceNumber for ShardIteratorType {kind}")
            try:
                asked = int(p["SequenceNumber"])
            except ValueError:
                raise validation(f"Invalid SequenceNumber: {p['SequenceNumber']}") from None
            if asked < first:
                raise ServiceError(
                    "TrimmedDataAccessException",
                    f"Attempted to access data older than the trim horizon: SequenceNumber "
                    f"{p['SequenceNumber']}",
                )
            if closed is not None and end is not None and asked > end:
                raise validation(f"Invalid SequenceNumber {p['SequenceNumber']} for shard {shard_id}")
            position = asked if kind == "AT_SEQUENCE_NUMBER" else asked + 1
        return {"ShardIterator": self._iterator(arn, shard_id, position)}

    def _iterator(self, arn: str, shard: str, position: int) -> str:
        raw = json.dumps([arn, shard, position, self.runtime.now()]).encode()
        return base64.urlsafe_b64encode(raw).decode()

    def get_records(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        try:
            arn, shard_id, position, issued = json.loads(
                base64.urlsafe_b64decode(p["ShardIterator"].encode())
            )
        except (ValueError, TypeError):
            raise validation("Invalid ShardIterator") from None
        now = self.runtime.now()
        if now - issued > ITERATOR_LIFETIME:
            raise ServiceError(
                "ExpiredIteratorException",
                f"Iterator expired. The iterator was created at time {_when(issued)} while right now it is "
                f"{_when(now)} which is further in the future than the tolerated delay of "
                f"{int(ITERATOR_LIFETIME * 1000)} milliseconds.",
            )
        self._stream(ctx, arn)
        _, _, start, end, _, closed = self._shard(arn, shard_id)
        limit = p.get("Limit") or 1000
        span = _span(start, end, closed)
        rows = []
        if span is not None:
            rows = self.runtime.store.query(
                "SELECT seq, created, record FROM dynamodb_stream_records WHERE arn = ? AND shard_id = ? "
                "AND seq >= ? AND seq <= ? ORDER BY seq LIMIT ?",
                (arn, shard_id, max(position, span[0]), span[1], limit),
            )
        records, size, following = [], 0, position
        for seq, created, text in rows:
            if records and size + len(text) > RESPONSE_BYTES:  # at most 1 MB per call
                break
            records.append(_record(seq, created, json.loads(text)))
            size += len(text)
            following = seq + 1
        out: dict[str, Any] = {"Records": records}
        more = len(records) < len(rows) or len(rows) == limit
        if closed is None or more:  # a closed shard read to its end has no next iterator
            out["NextShardIterator"] = self._iterator(arn, shard_id, following)
        return out


_NO_END = 2**63 - 1  # an open shard's bound: the largest sequence number SQLite holds


def _span(start: int | None, end: int | None, closed: float | None) -> tuple[int, int] | None:
    """The sequence numbers a shard's records lie within, or None when it has none. The stream's
    records share one index by sequence number: a walk bounded by these never goes through the
    other shards' records. (A shard learns its first number from its first record, and its last
    when it closes.)"""
    if start is None or (closed is not None and end is None):
        return None
    return start, end if closed is not None and end is not None else _NO_END


def _when(t: float) -> str:
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
