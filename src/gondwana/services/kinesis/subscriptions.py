"""SubscribeToShard: enhanced fan-out as an event stream of SubscribeToShardEvents.

A subscription lasts 5 minutes (of the server's clock). Subscribing again with the same consumer
and shard within 5 seconds is refused (ResourceInUseException); later, the new subscription takes
over and the old stream ends with ResourceInUseException. Events carry the records that arrived,
the ContinuationSequenceNumber to resume from, MillisBehindLatest, and, once a closed shard is read
to its end, its ChildShards (the stream then ends).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gondwana.protocols.errors import ServiceError
from gondwana.server.context import RequestContext
from gondwana.services.kinesis import errors, records

if TYPE_CHECKING:
    from gondwana.services.kinesis.provider import KinesisService

SUBSCRIPTION_SECONDS = 300.0
TAKEOVER_SECONDS = 5.0
HEARTBEAT_SECONDS = 5.0
WAKE_SECONDS = 1.0  # the longest an idle subscription sleeps before re-checking its deadline
EVENT_RECORDS = 10_000


@dataclass(slots=True)
class Subscription:
    started: float
    superseded: bool = False


class Subscriptions:
    def records_arrived(self: KinesisService, stream_id: int) -> None:
        """Wake the subscriptions of a stream (new records, a reshard, a takeover)."""
        event = self.arrivals.pop(stream_id, None)
        if event is not None:
            event.set()

    async def _wait_for_records(self: KinesisService, stream_id: int) -> None:
        event = self.arrivals.get(stream_id)
        if event is None:
            event = self.arrivals[stream_id] = asyncio.Event()
        try:
            await asyncio.wait_for(event.wait(), WAKE_SECONDS)
        except TimeoutError:
            pass

    def subscribe_to_shard(
        self: KinesisService, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        stream, row = self.consumer_by_arn(ctx, params["ConsumerARN"])
        if row[3] != "ACTIVE":
            raise errors.in_use(
                f"Consumer {row[1]} with creation timestamp {int(row[5])} under stream: {stream.name} , "
                f"account {ctx.account} is not in ACTIVE status."
            )
        if stream.status not in ("ACTIVE", "UPDATING"):
            raise errors.stream_not_found(stream.name, stream.account)
        now = self.runtime.now()
        shard = self._shard(stream, params["ShardId"], now)
        position = params["StartingPosition"]
        after = self.start_after(
            stream, shard, position["Type"], position.get("SequenceNumber"), position.get("Timestamp"), now
        )
        errors.dry_run_check(params)
        key = (row[2], stream.id, shard.idx)
        current = self.subscriptions.get(key)
        if current is not None and not current.superseded and now - current.started < TAKEOVER_SECONDS:
            raise errors.in_use(f"Another active subscription exists for this consumer: {row[2]}")
        if current is not None:
            current.superseded = True
            self.records_arrived(stream.id)
        subscription = self.subscriptions[key] = Subscription(now)
        events = self._events(ctx, key, subscription, after)
        return {"EventStream": events}

    async def _events(
        self: KinesisService,
        ctx: RequestContext,
        key: tuple[str, int, int],
        subscription: Subscription,
        after: int,
    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        consumer_arn, stream_id, index = key
        ends = subscription.started + SUBSCRIPTION_SECONDS
        last_event = None
        disconnected = ctx.request.disconnected
        try:
            while not self.runtime.shutting_down.is_set():
                if disconnected is not None and disconnected.done():
                    return
                if subscription.superseded:
                    raise ServiceError(
                        "ResourceInUseException",
                        f"Another subscription took over for this consumer: {consumer_arn}",
                    )
                now = self.runtime.now()
                if now >= ends:
                    return
                stream = self.streams.load_id(stream_id)
                shard = None if stream is None else self.shards.get(stream, index, now)
                if stream is None or stream.status == "DELETING" or shard is None:
                    raise ServiceError(
                        "ResourceNotFoundException", "Requested resource not found: Shard does not exist"
                    )
                out, after, millis, at_end = self.read_batch(stream, shard, after, EVENT_RECORDS, now)
                if out or at_end or last_event is None or now - last_event >= HEARTBEAT_SECONDS:
                    event: dict[str, Any] = {
                        "Records": out,
                        "ContinuationSequenceNumber": records.format_seq(stream.id, after, index),
                        "MillisBehindLatest": millis,
                    }
                    if at_end:
                        event["ChildShards"] = [
                            c.child_view() for c in self.shards.children(stream_id, index)
                        ]
                    last_event = now
                    yield "SubscribeToShardEvent", event
                    if at_end:
                        return
                if not out:
                    await self._wait_for_records(stream_id)
        finally:
            if self.subscriptions.get(key) is subscription:
                del self.subscriptions[key]
