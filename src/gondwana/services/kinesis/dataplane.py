"""PutRecord, PutRecords, GetShardIterator and GetRecords."""

from __future__ import annotations

import hashlib
import random
from bisect import bisect_right
from collections.abc import Sequence
from itertools import count
from typing import TYPE_CHECKING, Any

from gondwana.protocols.errors import ServiceError
from gondwana.server.context import RequestContext
from gondwana.services.kinesis import errors, records, timeline
from gondwana.services.kinesis.iterators import (
    ITERATOR_TTL,
    decode_iterator,
    encode_iterator,
    expired_message,
)
from gondwana.services.kinesis.shards import MAX_HASH, Shard, hash_of, shard_id, shard_index
from gondwana.services.kinesis.streams import Stream

if TYPE_CHECKING:
    from gondwana.services.kinesis.provider import KinesisService

MAX_PUT_RECORDS_BYTES = 10 * 1024 * 1024
_NEEDS_SEQUENCE = ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER")


class DataPlane:
    def _hash_key(self: KinesisService, stream: Stream, entry: dict[str, Any], path: str) -> int:
        if stream.distribution == "AUTO":  # keys ignored: spread evenly (on-demand shards are uniform)
            return random.getrandbits(128)
        explicit = entry.get("ExplicitHashKey")
        if explicit is not None:
            value = int(explicit)
            if value > MAX_HASH:
                raise errors.invalid(
                    "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. "
                    f"Specified value was {explicit}"
                )
            return value
        if entry.get("PartitionKey") is None:
            raise errors.missing_field(path + "partitionKey")
        return hash_of(entry["PartitionKey"])

    def _check_size(self: KinesisService, stream: Stream, entry: dict[str, Any]) -> int:
        size = len(entry["Data"]) + len((entry.get("PartitionKey") or "").encode("utf-8"))  # null: absent
        if size > stream.max_record_kib * 1024:
            raise errors.validation(
                f"Record size {size} bytes exceeds the maximum record size of {stream.max_record_kib} KiB "
                f"of stream {stream.name} under account {stream.account}."
            )
        return size

    def _result_extra(self, stream: Stream) -> dict[str, Any]:
        return {"EncryptionType": "KMS"} if stream.encryption == "KMS" else {}

    def put_record(self: KinesisService, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        stream = self.streams.find_writable(ctx, params)
        data = params["Data"]
        key = params.get("PartitionKey")
        if key is None or params.get("ExplicitHashKey") is not None or stream.distribution is not None:
            hash_key = self._hash_key(stream, params, "")
            size = self._check_size(stream, params)
            key = params.get("PartitionKey", "")
        else:  # the common case: the key is hashed and measured from one encoding
            encoded = key.encode("utf-8")
            hash_key = int.from_bytes(hashlib.md5(encoded, usedforsecurity=False).digest(), "big")
            size = len(data) + len(encoded)
            if size > stream.max_record_kib * 1024:
                self._check_size(stream, params)  # raises, in AWS's words
        ordering = params.get("SequenceNumberForOrdering")
        if ordering is not None:
            parsed = records.parse_seq(ordering)
            if parsed is None or parsed[0] > stream.seq:
                raise errors.invalid(
                    f"ExclusiveMinimumSequenceNumber {ordering} used in PutRecord on stream {stream.name} "
                    f"under account {stream.account} is invalid."
                )
        errors.dry_run_check(params)
        routes = self.shards.routes(stream.id)
        position = routes.position(hash_key)
        shard = routes.shards[position]
        now = self.runtime.now()
        if self.throttle.enabled:
            self.throttle.admit_write(stream, shard, len(data), now)
        counter = stream.seq = stream.seq + 1
        records.append_one(self.store, stream.id, shard, counter, key, data, size, now)
        self.records_arrived(stream.id)
        suffix, name = routes.labels[position]
        result = {"ShardId": name, "SequenceNumber": f"{records.SEQ_PREFIX}{counter:036d}{suffix}"}
        if stream.encryption == "KMS":
            result["EncryptionType"] = "KMS"
        return result

    def deliver(self: KinesisService, arn: str, entries: Sequence[tuple[str, bytes]]) -> bool:
        """Records written on behalf of another service (DynamoDB's Kinesis streaming destinations)
        as PutRecord writes them, in order, in the caller's unit of change; False (and nothing
        written) when no stream of that ARN takes writes."""
        stream = self.streams.writable_by_arn(arn)
        if stream is None:
            return False
        routes = self.shards.routes(stream.id)
        now = self.runtime.now()
        for key, data in entries:
            shard = routes.shards[routes.position(hash_of(key))]
            counter = stream.seq = stream.seq + 1
            size = len(data) + len(key.encode("utf-8"))
            records.append_one(self.store, stream.id, shard, counter, key, data, size, now)
        self.records_arrived(stream.id)
        return True

    def _measure(
        self: KinesisService, stream: Stream, entries: list[dict[str, Any]]
    ) -> tuple[list[str], list[int], list[int]]:
        """The partition key, hash key and size of each PutRecords entry, checked in order as AWS
        does. The common case (partition keys only, every record within the size limit) runs as
        list comprehensions, as this is done for every record."""
        keys = [entry.get("PartitionKey") for entry in entries]
        explicit = [entry.get("ExplicitHashKey") for entry in entries]
        if None in keys or explicit.count(None) != len(entries) or stream.distribution is not None:
            hashes, sizes = [], []
            for i, entry in enumerate(entries):
                hashes.append(self._hash_key(stream, entry, f"records.{i + 1}.member."))
                sizes.append(self._check_size(stream, entry))
            return [entry.get("PartitionKey") or "" for entry in entries], hashes, sizes
        md5 = hashlib.md5
        encoded = [key.encode("utf-8") for key in keys]
        hashes = [int.from_bytes(md5(key, usedforsecurity=False).digest(), "big") for key in encoded]
        sizes = [len(entry["Data"]) + len(key) for entry, key in zip(entries, encoded, strict=True)]
        if max(sizes, default=0) > stream.max_record_kib * 1024:
            for entry in entries:
                self._check_size(stream, entry)  # raises at the first one too large, in AWS's words
        return keys, hashes, sizes  # type: ignore[return-value]  # no None left

    def put_records(self: KinesisService, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        stream = self.streams.find_writable(ctx, params)
        entries = params["Records"]
        keys, hashes, sizes = self._measure(stream, entries)
        if sum(sizes) > MAX_PUT_RECORDS_BYTES:
            raise errors.invalid(
                f"Records size exceeds {MAX_PUT_RECORDS_BYTES // (1024 * 1024)} MB limit "
                "for the PutRecords request."
            )
        errors.dry_run_check(params)
        routes = self.shards.routes(stream.id)
        if len(routes.shards) == 1:
            positions = [0] * len(entries)
        else:
            starts = routes.starts
            positions = [bisect_right(starts, h) - 1 for h in hashes]
        targets = list(map(routes.shards.__getitem__, positions))
        data = [entry["Data"] for entry in entries]
        now = self.runtime.now()
        failed = 0
        accepted: list[bool] = []
        stored = targets
        if self.throttle.enabled:
            accepted = self.throttle.admit_batch(stream, targets, [len(d) for d in data], now)
            failed = accepted.count(False)
            if failed:
                kept = [i for i, ok in enumerate(accepted) if ok]
                stored = [targets[i] for i in kept]
                positions = [positions[i] for i in kept]
                keys, data, sizes = [keys[i] for i in kept], [data[i] for i in kept], [sizes[i] for i in kept]
        first = stream.seq + 1
        prefix = records.SEQ_PREFIX
        results: list[dict[str, Any]] = [
            {"SequenceNumber": f"{prefix}{counter:036d}{suffix}", "ShardId": name}
            for counter, (suffix, name) in zip(count(first), map(routes.labels.__getitem__, positions))
        ]
        if stored:
            stream.seq = first + len(stored) - 1
            with self.store.transaction():
                records.append(self.store, stream.id, records.group(first, stored, keys, data, sizes), now)
            self.records_arrived(stream.id)
        if failed:
            done = iter(results)
            results = [
                next(done) if ok else self._rate_exceeded(stream, shard)
                for ok, shard in zip(accepted, targets, strict=True)
            ]
        return {"FailedRecordCount": failed, "Records": results, **self._result_extra(stream)}

    def _rate_exceeded(self, stream: Stream, shard: int) -> dict[str, Any]:
        return {
            "ErrorCode": "ProvisionedThroughputExceededException",
            "ErrorMessage": f"Rate exceeded for shard {shard_id(shard)} in stream {stream.name} "
            f"under account {stream.account}.",
        }

    # ---- reading -------------------------------------------------------------------------------

    def _shard(self: KinesisService, stream: Stream, text: str, now: float) -> Shard:
        index = shard_index(text)
        shard = None if index is None else self.shards.hot_get(stream, index, now)
        if shard is None:
            raise errors.shard_not_found(
                text if index is None else shard_id(index), stream.name, stream.account
            )
        return shard

    def get_shard_iterator(
        self: KinesisService, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        stream = self.streams.find_writable(ctx, params)
        now = self.runtime.now()
        shard = self._shard(stream, params["ShardId"], now)
        self.throttle.admit_iterator(stream, shard.idx, now)
        after = self.start_after(
            stream,
            shard,
            params["ShardIteratorType"],
            params.get("StartingSequenceNumber"),
            params.get("Timestamp"),
            now,
        )
        errors.dry_run_check(params)
        return {"ShardIterator": encode_iterator(self.secret, stream.id, shard.idx, after, now)}

    def start_after(
        self: KinesisService,
        stream: Stream,
        shard: Shard,
        kind: str,
        start: str | None,
        at: float | None,
        now: float,
    ) -> int:
        """The counter a reader starting at this position reads after (shared with SubscribeToShard)."""
        if kind in _NEEDS_SEQUENCE or (start is not None and kind != "AT_TIMESTAMP"):
            return self._after_sequence(stream, shard, kind, start)
        if kind == "TRIM_HORIZON":
            return shard.start_seq
        if kind == "LATEST":
            return stream.seq if shard.end_seq is None else shard.end_seq
        if at is None:
            raise errors.invalid(
                "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. "
                "Current request has no timestamp parameter."
            )
        if at > now:
            raise errors.invalid(
                "The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. "
                f"timestampInMillis: {int(at * 1000)}, currentTimestampInMillis: {int(now * 1000)}"
            )
        first = timeline.first_at(self.store, stream.id, shard.idx, at)
        after = (first - 1) if first is not None else max(stream.seq, shard.start_seq)
        return after if shard.end_seq is None else min(after, shard.end_seq)

    def _after_sequence(self, stream: Stream, shard: Shard, kind: str, start: str | None) -> int:
        if start is None or kind not in _NEEDS_SEQUENCE:
            raise errors.invalid(
                "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and "
                "StartingSequenceNumber or "
                "(2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. "
                f"Request specified {kind} and {'also a' if start is not None else 'no'} "
                "StartingSequenceNumber."
            )
        parsed = records.parse_seq(start)
        where = (
            f"used in GetShardIterator on shard {shard.id} in stream {stream.name} "
            f"under account {stream.account}"
        )
        if parsed is None:
            raise errors.invalid(f"StartingSequenceNumber {start} {where} is invalid.")
        counter, index, tag = parsed
        if not records.belongs(stream.id, tag):
            raise errors.invalid(
                f"StartingSequenceNumber {start} {where} is invalid because it did not come from this stream."
            )
        if index != shard.idx:
            raise errors.invalid(
                f"Invalid StartingSequenceNumber. It encodes {shard_id(index)}, "
                "while it was used in a call to a "
                f"shard with {shard.id}"
            )
        return counter - 1 if kind == "AT_SEQUENCE_NUMBER" else counter

    def get_records(self: KinesisService, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        position = decode_iterator(self.secret, params["ShardIterator"])
        if position is None:
            raise errors.invalid_iterator()
        now = self.runtime.now()
        if now - position.issued > ITERATOR_TTL:
            raise ServiceError("ExpiredIteratorException", expired_message(position.issued, now))
        stream = self.streams.hot_id(position.stream_id)
        if (
            stream is None
            or stream.status == "DELETING"
            or stream.account != ctx.account
            or stream.region != ctx.region
        ):
            raise errors.not_found("Requested resource not found: Shard does not exist")
        if params.get("StreamARN") is not None and params["StreamARN"] != stream.arn:
            raise errors.invalid("StreamARN does not match the stream of the ShardIterator.")
        shard = self.shards.hot_get(stream, position.shard, now)
        if shard is None:
            raise errors.not_found("Requested resource not found: Shard does not exist")
        errors.dry_run_check(params)
        limit = params.get("Limit") or records.MAX_RECORDS
        self.throttle.admit_read(stream, shard.idx, now)
        out, after, millis, at_end = self.read_batch(stream, shard, position.after, limit, now)
        if self.throttle.enabled:
            self.throttle.charge_read(
                stream, shard.idx, sum(len(r["Data"]) + len(r["PartitionKey"]) for r in out), now
            )
        result: dict[str, Any] = {"Records": out, "MillisBehindLatest": millis}
        if at_end:  # a closed shard, read to its end
            result["ChildShards"] = [c.child_view() for c in self.shards.children(stream.id, shard.idx)]
        else:
            result["NextShardIterator"] = encode_iterator(self.secret, stream.id, shard.idx, after, now)
        return result

    def read_batch(
        self: KinesisService, stream: Stream, shard: Shard, after: int, limit: int, now: float
    ) -> tuple[list[dict[str, Any]], int, int, bool]:
        """Records after `after` within retention, up to `limit` and 10 MiB: (records, new position,
        MillisBehindLatest, whether a closed shard is now read to its end)."""
        cutoff = now - stream.retention * 3600
        out, after, unread = records.read(self.store, stream.id, shard.idx, after, limit, cutoff)
        if stream.encryption == "KMS":
            for record in out:
                record["EncryptionType"] = "KMS"
        millis = 0 if unread is None else max(0, int((now - unread) * 1000))
        return out, after, millis, unread is None and shard.end_seq is not None
