"""Streams: lookup by name or ARN, lifecycle (CREATING/UPDATING/DELETING settle after the server's
state delay), and the account limits checked before anything is allocated."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gondwana.server.context import RequestContext
from gondwana.services.kinesis import errors
from gondwana.services.kinesis.memo import Memo
from gondwana.services.kinesis.records import COUNTER
from gondwana.storage import Store

if TYPE_CHECKING:
    from gondwana.runtime import Runtime

COLUMNS = (
    "id, account, region, name, status, settle_at, mode, created, retention, encryption, key_id, metrics, "
    "max_record_kib, warm, next_shard, seq, history, distribution"
)
_LOAD = f"SELECT {COLUMNS}, {COUNTER} FROM kinesis_streams t"  # the counter: see records.py
DEFAULT_RETENTION = 24
MAX_RETENTION = 8760
ON_DEMAND_SHARDS = 4
ON_DEMAND_STREAM_LIMIT = 50
MAX_CREATING = 5
DAY = 86400.0
_BIG_SHARD_REGIONS = ("us-east-1", "us-west-2", "eu-west-1")
ALL_METRICS = [
    "IncomingBytes",
    "IncomingRecords",
    "OutgoingBytes",
    "OutgoingRecords",
    "WriteProvisionedThroughputExceeded",
    "ReadProvisionedThroughputExceeded",
    "IteratorAgeMilliseconds",
]


def shard_limit(region: str) -> int:
    return 500 if region in _BIG_SHARD_REGIONS else 200


def partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def stream_arn(region: str, account: str, name: str) -> str:
    return f"arn:{partition(region)}:kinesis:{region}:{account}:stream/{name}"


@dataclass(slots=True)
class Stream:
    id: int
    account: str
    region: str
    name: str
    status: str
    settle_at: float | None
    mode: str
    created: float
    retention: int
    encryption: str
    key_id: str | None
    metrics: list[str]
    max_record_kib: int
    warm: int | None
    next_shard: int
    seq: int
    history: dict[str, list[float]] = field(default_factory=dict)
    distribution: str | None = None  # "AUTO" (on demand only), else None: by partition key

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> Stream:
        """A row of `_LOAD`: the columns, then the highest counter stored in the stream's blocks."""
        values = list(row)
        values[15] = max(values[15], values.pop() or 0)
        values[11] = json.loads(values[11])
        values[16] = json.loads(values[16])
        return cls(*values)

    @property
    def arn(self) -> str:
        return stream_arn(self.region, self.account, self.name)

    @property
    def stream_id(self) -> str:
        """The public StreamId: stable for this stream's life, new for a re-created stream."""
        return f"{self.id:012d}"


def parse_arn(arn: str) -> tuple[str, str, str] | None:
    """(region, account, name) of a stream ARN, or None."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "kinesis" or not parts[5].startswith("stream/"):
        return None
    name = parts[5][len("stream/") :]
    if "/" in name or not name or not name.isascii():  # stream names are [a-zA-Z0-9_.-]
        return None
    return parts[3], parts[4], name


class Streams:
    """Stream rows and their lifecycle; the provider's single way to find a stream."""

    def __init__(self, store: Store, runtime: Runtime, memo: Memo) -> None:
        self.store = store
        self.runtime = runtime
        self.memo = memo

    def load(self, account: str, region: str, name: str) -> Stream | None:
        row = self.store.query_one(
            f"{_LOAD} WHERE account = ? AND region = ? AND name = ?",
            (account, region, name),
        )
        if row is None:
            return None
        stream = Stream.from_row(row)
        if stream.settle_at is not None and stream.settle_at <= self.runtime.now():
            return self.settle(stream)
        return stream

    def load_id(self, stream_id: int) -> Stream | None:
        row = self.store.query_one(f"{_LOAD} WHERE id = ?", (stream_id,))
        if row is None:
            return None
        stream = Stream.from_row(row)
        if stream.settle_at is not None and stream.settle_at <= self.runtime.now():
            return self.settle(stream)
        return stream

    def name_of(self, ctx: RequestContext, params: dict[str, Any]) -> str:
        """The stream a request names by StreamName or StreamARN (the ARN wins when both agree)."""
        arn = params.get("StreamARN")
        name = params.get("StreamName")
        if arn is not None:
            parsed = parse_arn(arn)
            if parsed is None:
                raise errors.invalid(f"Invalid StreamARN {arn}.")
            region, account, arn_name = parsed
            if name is not None and name != arn_name:
                raise errors.invalid("StreamARN and StreamName do not refer to the same stream.")
            if account != ctx.account or region != ctx.region:
                raise errors.stream_not_found(arn_name, account)
            return arn_name
        if name is None:
            raise errors.invalid("Either StreamName or StreamARN must be provided.")
        return name

    def find(self, ctx: RequestContext, params: dict[str, Any], *, deleting_ok: bool = True) -> Stream:
        name = self.name_of(ctx, params)
        stream = self.load(ctx.account, ctx.region, name)
        if stream is None or (stream.status == "DELETING" and not deleting_ok):
            raise errors.stream_not_found(name, ctx.account)
        return stream

    def find_active(self, ctx: RequestContext, params: dict[str, Any]) -> Stream:
        stream = self.find(ctx, params)
        if stream.status != "ACTIVE":
            raise errors.not_active(stream.name, stream.account, stream.status)
        return stream

    def find_writable(self, ctx: RequestContext, params: dict[str, Any]) -> Stream:
        """Data-plane calls: ACTIVE and UPDATING streams serve reads and writes. The stream is the
        memo's shared object: callers only read it, except for advancing its counter (which the
        blocks written persist: see records.py)."""
        name = self.name_of(ctx, params)
        stream = self._writable(ctx.account, ctx.region, name)
        if stream is None:
            raise errors.stream_not_found(name, ctx.account)
        return stream

    def writable_by_arn(self, arn: str) -> Stream | None:
        """`find_writable` for a caller other than a request (another service): the stream of `arn`
        when it takes writes, else None."""
        parsed = parse_arn(arn)
        return None if parsed is None else self._writable(parsed[1], parsed[0], parsed[2])

    def _writable(self, account: str, region: str, name: str) -> Stream | None:
        """The stream, through the memo, when it takes writes (ACTIVE or UPDATING); else None."""
        key = ("stream", account, region, name)
        stream = self.memo.get(key)
        if stream is None:
            stream = self.load(account, region, name)
            if stream is None:
                return None
            self._remember(key, stream)
        return stream if stream.status in ("ACTIVE", "UPDATING") else None

    def hot_id(self, stream_id: int) -> Stream | None:
        """`load_id` through the memo, for the data plane (the same shared object)."""
        stream = self.memo.get(("stream id", stream_id))
        if stream is None:
            stream = self.load_id(stream_id)
            if stream is not None:
                self._remember(("stream", stream.account, stream.region, stream.name), stream)
        return stream

    def _remember(self, key: tuple[Any, ...], stream: Stream) -> None:
        if stream.settle_at is None:  # a stream in transition is read afresh until it settles
            self.memo[key] = self.memo[("stream id", stream.id)] = stream

    # ---- lifecycle -----------------------------------------------------------------------------

    def transition(self, stream: Stream, status: str) -> None:
        """Enter a transient status; it settles after the state delay (at once by default)."""
        delay = self.runtime.state_delay
        self.memo.drop()
        stream.status = status
        stream.settle_at = self.runtime.now() + delay
        self.store.execute(
            "UPDATE kinesis_streams SET status = ?, settle_at = ? WHERE id = ?",
            (status, stream.settle_at, stream.id),
        )
        stream_id = stream.id
        self.runtime.later(delay, lambda: self.load_id(stream_id))

    def settle(self, stream: Stream) -> Stream | None:
        """Finish a due transition: CREATING/UPDATING become ACTIVE; DELETING removes everything."""
        self.memo.drop()
        with self.store.transaction():
            if stream.status == "DELETING":
                self.purge(stream.id, stream.arn)
                return None
            stream.status = "ACTIVE"
            stream.settle_at = None
            self.store.execute(
                "UPDATE kinesis_streams SET status = 'ACTIVE', settle_at = NULL WHERE id = ?", (stream.id,)
            )
        return stream

    def purge(self, stream_id: int, arn: str) -> None:
        """Everything of a deleted stream: records, shards, consumers, and the tags and policies of
        the stream and its consumers (matched by ARN prefix; no LIKE, as names may hold '_')."""
        self.memo.drop()
        # The records in the background (stream ids are never reused: nothing reaches them).
        self.runtime.reclaimer.drop("kinesis_blocks", "stream_id", stream_id)
        for table in ("kinesis_shards", "kinesis_consumers"):
            self.store.execute(f"DELETE FROM {table} WHERE stream_id = ?", (stream_id,))
        prefix = arn + "/consumer/"
        for table in ("kinesis_tags", "kinesis_policies"):
            self.store.execute(
                f"DELETE FROM {table} WHERE arn = ? OR substr(arn, 1, ?) = ?", (arn, len(prefix), prefix)
            )
        self.store.execute("DELETE FROM kinesis_streams WHERE id = ?", (stream_id,))

    def settle_due(self) -> None:
        """Settle every overdue transition (after a restart, or when the clock jumped)."""
        rows = self.store.query(
            "SELECT id FROM kinesis_streams WHERE settle_at IS NOT NULL AND settle_at <= ?",
            (self.runtime.now(),),
        )
        for (stream_id,) in rows:
            self.load_id(stream_id)

    def save(self, stream: Stream, *columns: str) -> None:
        self.memo.drop()
        values = []
        for column in columns:
            value = getattr(stream, column)
            values.append(json.dumps(value) if column in ("metrics", "history") else value)
        assignments = ", ".join(f"{c} = ?" for c in columns)
        self.store.execute(f"UPDATE kinesis_streams SET {assignments} WHERE id = ?", (*values, stream.id))

    def record_event(self, stream: Stream, kind: str, now: float, allowed: int) -> bool:
        """Count an event in a rolling 24 h window (scalings, mode switches); False when over `allowed`."""
        recent = [t for t in stream.history.get(kind, []) if t > now - DAY]
        if len(recent) >= allowed:
            return False
        stream.history[kind] = [*recent, now]
        return True

    # ---- account-wide counts -------------------------------------------------------------------

    def open_shard_total(self, account: str, region: str) -> int:
        row = self.store.query_one(
            "SELECT COUNT(*) FROM kinesis_shards s JOIN kinesis_streams t ON s.stream_id = t.id "
            "WHERE t.account = ? AND t.region = ? AND s.closed IS NULL",
            (account, region),
        )
        return row[0] if row else 0

    def count(self, account: str, region: str, where: str = "1 = 1", params: tuple[Any, ...] = ()) -> int:
        row = self.store.query_one(
            f"SELECT COUNT(*) FROM kinesis_streams WHERE account = ? AND region = ? AND {where}",
            (account, region, *params),
        )
        return row[0] if row else 0

    def check_shard_limit(self, account: str, region: str, additional: int) -> None:
        current = self.open_shard_total(account, region)
        allowed = shard_limit(region)
        if current + additional > allowed:
            raise errors.limit(
                f"This request would exceed the shard limit for the account {account} in {region}. "
                f"Current shard count for the account: {current}. Limit: {allowed}. "
                f"Number of additional shards that would have resulted from this request: {additional}. "
                "Refer to the AWS Service Limits page "
                "(http://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) "
                "for current limits and how to request higher limits."
            )
