"""ListShards with its filters and pagination, and the resharding operations: SplitShard,
MergeShards and UpdateShardCount (uniform scaling, at most x2 / /2 and 10 times a rolling day)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gondwana.server.context import RequestContext
from gondwana.services.kinesis import errors
from gondwana.services.kinesis.shards import Shard, shard_index
from gondwana.services.kinesis.streams import Stream
from gondwana.services.kinesis.tokens import make_token, read_token

if TYPE_CHECKING:
    from gondwana.services.kinesis.provider import KinesisService

MAX_SCALINGS_PER_DAY = 10
MAX_SHARDS_PER_STREAM = 10_000


class ShardOperations:
    def list_shards(self: KinesisService, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        now = self.runtime.now()
        token = params.get("NextToken")
        named = params.get("StreamName") is not None or params.get("StreamARN") is not None
        if token is not None and named:
            raise errors.invalid("NextToken and StreamName cannot be provided together.")
        if token is None and not named:
            raise errors.invalid("Either NextToken or StreamName should be provided.")
        limit = min(params.get("MaxResults") or 1000, 1000)  # AWS returns at most 1,000
        if token is not None:
            state = read_token(self.secret, token, "shards", now)
            stream = self.streams.load_id(state["stream"])
            if stream is None or stream.account != ctx.account or stream.region != ctx.region:
                raise errors.not_found("Requested resource not found: Stream does not exist")
            kind, at, after, start = state["kind"], state["at"], state["after"], state["start"]
        else:
            stream = self.streams.find(ctx, params)
            kind, at, after, start = self._shard_filter(params.get("ShardFilter"))
            if params.get("ExclusiveStartShardId") is not None:
                start = shard_index(params["ExclusiveStartShardId"])
                start = -1 if start is None else start
        shards = self.shards.page(stream, now, start, limit + 1, (kind, at, after))
        result: dict[str, Any] = {"Shards": [s.describe() for s in shards[:limit]]}
        if len(shards) > limit:
            result["NextToken"] = make_token(
                self.secret,
                "shards",
                now,
                stream=stream.id,
                kind=kind,
                at=at,
                after=after,
                start=shards[limit - 1].idx,
            )
        return result

    def _shard_filter(self, shard_filter: dict[str, Any] | None) -> tuple[str, float | None, int | None, int]:
        if not shard_filter:
            return "FROM_TRIM_HORIZON", None, None, -1
        kind = shard_filter["Type"]
        at = shard_filter.get("Timestamp")
        after = None
        if kind == "AFTER_SHARD_ID":
            if shard_filter.get("ShardId") is None:
                raise errors.invalid("ShardId must be provided when the ShardFilter type is AFTER_SHARD_ID.")
            after = shard_index(shard_filter["ShardId"])
            after = -1 if after is None else after
        elif kind in ("AT_TIMESTAMP", "FROM_TIMESTAMP") and at is None:
            raise errors.invalid(f"Timestamp must be provided when the ShardFilter type is {kind}.")
        elif shard_filter.get("ShardId") is not None or (
            at is not None and kind not in ("AT_TIMESTAMP", "FROM_TIMESTAMP")
        ):
            raise errors.invalid(f"Only the Type may be provided for a ShardFilter of type {kind}.")
        return kind, at, after, -1

    def _resharding_target(
        self: KinesisService, ctx: RequestContext, params: dict[str, Any], operation: str
    ) -> Stream:
        stream = self.streams.find(ctx, params)
        if stream.mode == "ON_DEMAND":
            raise errors.validation(f"{operation} is not supported for streams in ON_DEMAND capacity mode.")
        return stream

    def _open_shard(self: KinesisService, stream: Stream, text: str) -> Shard:
        index = shard_index(text)
        shard = None if index is None else self.shards.get(stream, index, self.runtime.now())
        if shard is None:
            raise errors.could_not_find_shard(text, stream.name, stream.account)
        if not shard.is_open:
            raise errors.invalid(
                f"Shard {shard.id} in stream {stream.name} under account {stream.account} has already been "
                "merged or split, and thus is not eligible for merging or splitting."
            )
        return shard

    def split_shard(self: KinesisService, ctx: RequestContext, params: dict[str, Any]) -> None:
        stream = self._resharding_target(ctx, params, "SplitShard")
        shard = self._open_shard(stream, params["ShardToSplit"])
        if stream.status != "ACTIVE":
            raise errors.not_active(stream.name, stream.account, stream.status)
        self.streams.check_shard_limit(stream.account, stream.region, 1)
        with self.store.transaction():
            self.shards.split(stream, shard, int(params["NewStartingHashKey"]), self.runtime.now())
            self.streams.save(stream, "next_shard")
            self.streams.transition(stream, "UPDATING")
        self.records_arrived(stream.id)  # subscriptions of closed shards finish now

    def merge_shards(self: KinesisService, ctx: RequestContext, params: dict[str, Any]) -> None:
        stream = self._resharding_target(ctx, params, "MergeShards")
        shard = self._open_shard(stream, params["ShardToMerge"])
        adjacent = self._open_shard(stream, params["AdjacentShardToMerge"])
        if shard.idx == adjacent.idx:
            raise errors.invalid(
                f"ShardToMerge and AdjacentShardToMerge must be different shards; both are {shard.id}."
            )
        if stream.status != "ACTIVE":
            raise errors.not_active(stream.name, stream.account, stream.status)
        with self.store.transaction():
            self.shards.merge(stream, shard, adjacent, self.runtime.now())
            self.streams.save(stream, "next_shard")
            self.streams.transition(stream, "UPDATING")
        self.records_arrived(stream.id)  # subscriptions of closed shards finish now

    def update_shard_count(
        self: KinesisService, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        stream = self._resharding_target(ctx, params, "UpdateShardCount")
        if stream.status != "ACTIVE":
            raise errors.not_active(stream.name, stream.account, stream.status)
        target = params["TargetShardCount"]
        current = self.shards.open_count(stream.id)
        counts = f"Current open shard count: {current}, Target shard count: {target}"
        if target > MAX_SHARDS_PER_STREAM:
            raise errors.limit(
                f"Target shard count or number of open shards cannot be greater than "
                f"{MAX_SHARDS_PER_STREAM}. {counts}"
            )
        if target > current * 2:
            raise errors.limit(
                f"UpdateShardCount cannot scale up over double your current open shard count. {counts}"
            )
        if target * 2 < current:
            raise errors.limit(
                f"UpdateShardCount cannot scale down below half your current open shard count. {counts}"
            )
        if target == current:
            raise errors.invalid(f"Target shard count is the same as the current open shard count. {counts}")
        self.streams.check_shard_limit(stream.account, stream.region, max(0, target - current))
        now = self.runtime.now()
        if not self.streams.record_event(stream, "scale", now, MAX_SCALINGS_PER_DAY):
            raise errors.limit(
                f"Exceeded the limit of {MAX_SCALINGS_PER_DAY} UpdateShardCount calls "
                "in a rolling 24 hour period "
                f"for stream {stream.name} under account {stream.account}."
            )
        with self.store.transaction():
            self.shards.rescale(stream, target, now)
            self.streams.save(stream, "next_shard", "history")
            self.streams.transition(stream, "UPDATING")
        self.records_arrived(stream.id)  # subscriptions of closed shards finish now
        return {
            "StreamName": stream.name,
            "CurrentShardCount": current,
            "TargetShardCount": target,
            "StreamARN": stream.arn,
        }
