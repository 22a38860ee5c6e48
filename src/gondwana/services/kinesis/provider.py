"""Amazon Kinesis Data Streams: the stream lifecycle, shard listing, resharding and retention here;
records, consumers and the remaining control plane in their own modules."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from gondwana.server.context import RequestContext
from gondwana.services.base import Service
from gondwana.services.kinesis import errors, storage
from gondwana.services.kinesis.consumers import Consumers
from gondwana.services.kinesis.control import Control
from gondwana.services.kinesis.dataplane import DataPlane
from gondwana.services.kinesis.memo import Memo
from gondwana.services.kinesis.resharding import MAX_SHARDS_PER_STREAM, ShardOperations
from gondwana.services.kinesis.retention import Retention
from gondwana.services.kinesis.shards import Shards, shard_index
from gondwana.services.kinesis.streams import (
    DEFAULT_RETENTION,
    MAX_CREATING,
    MAX_RETENTION,
    ON_DEMAND_SHARDS,
    ON_DEMAND_STREAM_LIMIT,
    Stream,
    Streams,
    stream_arn,
)
from gondwana.services.kinesis.subscriptions import Subscription, Subscriptions
from gondwana.services.kinesis.throttle import Throttle
from gondwana.services.kinesis.tokens import make_token, read_token
from gondwana.storage.passes import every

if TYPE_CHECKING:
    from gondwana.runtime import Runtime

TRIM_EVERY = 60.0  # seconds between background retention sweeps
# Bytes of expired records deleted per pass (~8 ms of work); a pass that spends them all is
# followed by the next at the loop's next turn. A shard written at its full 1 MB/s expires 60 MB
# a minute, and a server that was down (or a clock moved on) finds days of it due: deleted at
# once, 1 GB held up every request for 3.8 s.
TRIM_BUDGET = 2 * 2**20


class KinesisService(DataPlane, Subscriptions, ShardOperations, Control, Consumers, Service):
    name = "kinesis"
    model_name = "kinesis"
    signing_name = "kinesis"
    endpoint_prefix = "kinesis"
    target_prefix = "Kinesis_20131202"
    error_namespace = ""
    bare_error_types = True  # Kinesis names platform errors bare too (SerializationException)
    error_overrides: ClassVar[dict[str, tuple[int, str]]] = {}

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime)
        self.store = runtime.store
        self.memo = Memo()
        self.streams = Streams(self.store, runtime, self.memo)
        self.shards = Shards(self.store, self.memo)
        self.retention = Retention(self.store, self.memo)
        self.throttle = Throttle(runtime.settings.kinesis_throttle)
        self._secret: bytes | None = None
        self._stop_sweeping: Callable[[], None] = lambda: None
        self.subscriptions: dict[tuple[str, int, int], Subscription] = {}
        self.arrivals: dict[int, asyncio.Event] = {}  # stream id -> woken when records arrive

    # ---- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        storage.register(self.store)
        self.runtime.clock_listeners.append(self._on_clock)
        self._start_sweeping()

    def reset(self) -> None:
        self._secret = None
        self.memo.drop()
        self.throttle.reset()
        self.retention.reset()
        self._start_sweeping()

    def _start_sweeping(self) -> None:
        """One chain of sweeps at a time, the first at once: a new chain (after a reset, or when
        the clock moved on) retires the previous one."""
        self._stop_sweeping()
        later = self.runtime.later
        self._stop_sweeping = every(self.store, later, self._sweep, "the Kinesis sweep", TRIM_EVERY, 0)

    @property
    def secret(self) -> bytes:
        if self._secret is None:
            self._secret = storage.secret(self.store)
        return self._secret

    def _on_clock(self) -> None:
        self._start_sweeping()

    def _sweep(self) -> bool:
        """Settle transitions that fell due (also while we were down), trim expired records and
        forget expired shards; True when more may be due."""
        self.streams.settle_due()
        self._settle_consumers()
        return self.retention.run_pass(self.runtime.now(), TRIM_BUDGET)

    # ---- streams -------------------------------------------------------------------------------

    def create_stream(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        name = params["StreamName"]
        mode_details = params.get("StreamModeDetails") or {}
        count = params.get("ShardCount")
        mode = mode_details.get("StreamMode") or ("PROVISIONED" if count is not None else "ON_DEMAND")
        if mode == "ON_DEMAND":
            count = ON_DEMAND_SHARDS
        elif count is None:
            raise errors.invalid("ShardCount must be provided for a stream in PROVISIONED mode.")
        if self.streams.load(ctx.account, ctx.region, name) is not None:
            raise errors.stream_exists(name, ctx.account)
        self.streams.settle_due()
        if self.streams.count(ctx.account, ctx.region, "status = 'CREATING'") >= MAX_CREATING:
            raise errors.limit(
                f"This request would exceed the limit of {MAX_CREATING} streams in CREATING state "
                f"for the account {ctx.account} in {ctx.region}."
            )
        if count > MAX_SHARDS_PER_STREAM:
            raise errors.limit(
                f"The shard count {count} exceeds the maximum of {MAX_SHARDS_PER_STREAM} shards for a stream."
            )
        self.streams.check_shard_limit(ctx.account, ctx.region, count)
        warm, strategy = params.get("WarmThroughputMiBps"), params.get("RecordDistributionStrategy")
        if warm is not None:
            self.check_warm(ctx, name, mode, warm)
        if strategy is not None:
            self.check_distribution(ctx, name, mode, strategy)
        if mode == "ON_DEMAND" and (
            self.streams.count(ctx.account, ctx.region, "mode = 'ON_DEMAND'") >= ON_DEMAND_STREAM_LIMIT
        ):
            raise errors.limit(
                f"This request would exceed the limit of {ON_DEMAND_STREAM_LIMIT} on-demand streams "
                f"for the account {ctx.account} in {ctx.region}."
            )
        tags = params.get("Tags") or {}
        self.check_tags(set(), tags, f"{name} under account {ctx.account}")
        now = self.runtime.now()
        with self.store.transaction():
            stream = Stream(
                id=storage.next_stream_id(self.store),
                account=ctx.account,
                region=ctx.region,
                name=name,
                status="CREATING",
                settle_at=None,
                mode=mode,
                created=now,
                retention=DEFAULT_RETENTION,
                encryption="NONE",
                key_id=None,
                metrics=[],
                max_record_kib=params.get("MaxRecordSizeInKiB") or 1024,
                warm=warm,
                next_shard=0,
                seq=0,
                history={},
                distribution="AUTO" if strategy == "AUTO" else None,
            )
            self.store.execute(
                "INSERT INTO kinesis_streams (id, account, region, name, status, settle_at, mode, "
                "created, retention, "
                "encryption, key_id, metrics, max_record_kib, warm, next_shard, seq, history, distribution) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    stream.id,
                    ctx.account,
                    ctx.region,
                    name,
                    "CREATING",
                    None,
                    mode,
                    now,
                    DEFAULT_RETENTION,
                    "NONE",
                    None,
                    "[]",
                    stream.max_record_kib,
                    stream.warm,
                    0,
                    0,
                    "{}",
                    stream.distribution,
                ),
            )
            self.shards.create_uniform(stream, count, now)
            self.streams.save(stream, "next_shard")
            self.put_tags(stream.arn, tags)
            self.streams.transition(stream, "CREATING")

    def delete_stream(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        stream = self.streams.find(ctx, params, deleting_ok=False)
        if not params.get("EnforceConsumerDeletion") and self.consumer_count(stream) > 0:
            raise errors.in_use(
                f"DeleteStream can\u2019t delete {stream.account}:{stream.name} because there are consumers "
                f"associated with this data stream. To delete {stream.name} anyway, set the "
                "EnforceConsumerDeletion parameter to true to force the deletion of all the consumers that "
                "are associated with it."
            )
        with self.store.transaction():
            self.store.execute(
                "UPDATE kinesis_consumers SET status = 'DELETING' WHERE stream_id = ?", (stream.id,)
            )
            self.streams.transition(stream, "DELETING")

    def _mode(self, stream: Stream) -> dict[str, Any]:
        return {"StreamMode": stream.mode}

    def _monitoring(self, stream: Stream) -> list[dict[str, Any]]:
        return [{"ShardLevelMetrics": list(stream.metrics)}]

    def _encryption(self, stream: Stream) -> dict[str, Any]:
        out: dict[str, Any] = {"EncryptionType": stream.encryption}
        if stream.key_id:
            out["KeyId"] = stream.key_id
        return out

    def describe_stream(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        stream = self.streams.find(ctx, params)
        start = params.get("ExclusiveStartShardId")
        index = -1 if start is None else shard_index(start)
        limit = min(params.get("Limit") or 100, 100)  # "at most 100 results are returned"
        shards = [] if index is None else self.shards.page(stream, self.runtime.now(), index, limit + 1)
        return {
            "StreamDescription": {
                "StreamName": stream.name,
                "StreamARN": stream.arn,
                "StreamStatus": stream.status,
                "StreamModeDetails": self._mode(stream),
                "Shards": [s.describe() for s in shards[:limit]],
                "HasMoreShards": len(shards) > limit,
                "RetentionPeriodHours": stream.retention,
                "StreamCreationTimestamp": stream.created,
                "EnhancedMonitoring": self._monitoring(stream),
                **self._encryption(stream),
            }
        }

    def describe_stream_summary(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        stream = self.streams.find(ctx, params)
        open_count = self.shards.open_count(stream.id)
        summary: dict[str, Any] = {
            "StreamName": stream.name,
            "StreamARN": stream.arn,
            "StreamId": stream.stream_id,
            "StreamStatus": stream.status,
            "StreamModeDetails": self._mode(stream),
            "RetentionPeriodHours": stream.retention,
            "StreamCreationTimestamp": stream.created,
            "EnhancedMonitoring": self._monitoring(stream),
            **self._encryption(stream),
            "OpenShardCount": open_count,
            "ConsumerCount": self.consumer_count(stream),
            "MaxRecordSizeInKiB": stream.max_record_kib,
        }
        if stream.mode == "ON_DEMAND":
            summary["RecordDistributionStrategy"] = stream.distribution or "USER_PARTITION_KEY"
        if stream.warm is not None:
            summary["WarmThroughput"] = {"TargetMiBps": stream.warm, "CurrentMiBps": stream.warm}
        return {"StreamDescriptionSummary": summary}

    def list_streams(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self.streams.settle_due()
        now = self.runtime.now()
        after = params.get("ExclusiveStartStreamName") or ""
        if params.get("NextToken") is not None:
            after = read_token(self.secret, params["NextToken"], "streams", now)["after"]
        limit = min(params.get("Limit") or 100, 100)  # "at most 100 results are returned"
        rows = self.store.query(
            "SELECT name, status, mode, created FROM kinesis_streams "
            "WHERE account = ? AND region = ? AND name > ? "
            "ORDER BY name LIMIT ?",
            (ctx.account, ctx.region, after, limit + 1),
        )
        page, more = rows[:limit], len(rows) > limit
        result: dict[str, Any] = {
            "StreamNames": [r[0] for r in page],
            "HasMoreStreams": more,
            "StreamSummaries": [
                {
                    "StreamName": n,
                    "StreamARN": stream_arn(ctx.region, ctx.account, n),
                    "StreamStatus": s,
                    "StreamModeDetails": {"StreamMode": m},
                    "StreamCreationTimestamp": c,
                }
                for n, s, m, c in page
            ],
        }
        if more:
            result["NextToken"] = make_token(self.secret, "streams", now, after=page[-1][0])
        return result

    # ---- retention -----------------------------------------------------------------------------

    def _retention(self, ctx: RequestContext, params: dict[str, Any]) -> tuple[Stream, int]:
        stream = self.streams.find(ctx, params)
        hours = params["RetentionPeriodHours"]
        if hours < DEFAULT_RETENTION:
            raise errors.invalid(
                f"Minimum allowed retention period is {DEFAULT_RETENTION} hours. "
                f"Requested retention period ({hours} hours) is too short."
            )
        if hours > MAX_RETENTION:
            raise errors.invalid(
                f"Maximum allowed retention period is {MAX_RETENTION} hours. "
                f"Requested retention period ({hours} hours) is too long."
            )
        if stream.status != "ACTIVE":
            raise errors.not_active(stream.name, stream.account, stream.status)
        return stream, hours

    def increase_stream_retention_period(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        stream, hours = self._retention(ctx, params)
        if hours < stream.retention:
            raise errors.invalid(
                f"Requested retention period ({hours} hours) for stream {stream.name} "
                "can not be shorter than "
                f"existing retention period ({stream.retention} hours). Use DecreaseRetentionPeriod API."
            )
        self._set_retention(stream, hours)

    def decrease_stream_retention_period(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        stream, hours = self._retention(ctx, params)
        if hours > stream.retention:
            raise errors.invalid(
                f"Requested retention period ({hours} hours) for stream {stream.name} can not be longer than "
                f"existing retention period ({stream.retention} hours). Use IncreaseRetentionPeriod API."
            )
        self._set_retention(stream, hours)

    def _set_retention(self, stream: Stream, hours: int) -> None:
        # Records and closed shards already past the old retention stay gone: they go before the
        # window widens (their expiry is computed from the retention). A narrower window hides what
        # it drops at once (calls check the retention), and the sweeps delete it.
        with self.store.transaction():
            if hours > stream.retention:
                self.retention.expire(stream, self.runtime.now())
            stream.retention = hours
            self.streams.save(stream, "retention")
