"""Per-shard throughput limits, enforced only when the server runs with --kinesis-throttle,
so nobody is throttled unless they ask: 1,000 records/s and 1 MiB/s in; 5 GetRecords/s and 2 MiB/s
out, where a large read borrows ahead (after a 10 MiB response, reads fail for the next 5 s); 5
GetShardIterator calls/s per shard."""

from __future__ import annotations

from gondwana.protocols.errors import ServiceError
from gondwana.services.kinesis.shards import shard_id
from gondwana.services.kinesis.streams import Stream

WRITE_RECORDS = 1000
WRITE_BYTES = 1024 * 1024
READ_CALLS = 5
ITERATOR_CALLS = 5  # GetShardIterator per open shard per second
READ_BYTES_PER_SECOND = 2 * 1024 * 1024


def _exceeded(stream: Stream, shard: int) -> ServiceError:
    return ServiceError(
        "ProvisionedThroughputExceededException",
        f"Rate exceeded for shard {shard_id(shard)} in stream {stream.name} under account {stream.account}.",
    )


class Throttle:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        # (stream id, shard) -> [second, records, bytes] and [second, calls]
        self._writes: dict[tuple[int, int], list[int]] = {}
        self._reads: dict[tuple[int, int], list[int]] = {}
        self._read_until: dict[tuple[int, int], float] = {}  # no reads before this instant
        self._iterators: dict[tuple[int, int], list[int]] = {}

    def reset(self) -> None:
        self._writes.clear()
        self._reads.clear()
        self._read_until.clear()
        self._iterators.clear()

    def _window(
        self, table: dict[tuple[int, int], list[int]], key: tuple[int, int], now: float, width: int
    ) -> list[int]:
        second = int(now)
        window = table.get(key)
        if window is None or window[0] != second:
            window = [second] + [0] * width
            table[key] = window
        return window

    def _fits(self, stream: Stream, shard: int, size: int, now: float) -> bool:
        window = self._window(self._writes, (stream.id, shard), now, 2)
        if window[1] + 1 > WRITE_RECORDS or window[2] + size > WRITE_BYTES:
            return False
        window[1] += 1
        window[2] += size
        return True

    def admit_write(self, stream: Stream, shard: int, size: int, now: float) -> None:
        if self.enabled and not self._fits(stream, shard, size, now):
            raise _exceeded(stream, shard)

    def admit_batch(self, stream: Stream, shards: list[int], sizes: list[int], now: float) -> list[bool]:
        if not self.enabled:
            return [True] * len(shards)
        return [self._fits(stream, shard, size, now) for shard, size in zip(shards, sizes, strict=True)]

    def admit_read(self, stream: Stream, shard: int, now: float) -> None:
        if not self.enabled:
            return
        if now < self._read_until.get((stream.id, shard), 0.0):
            raise _exceeded(stream, shard)
        window = self._window(self._reads, (stream.id, shard), now, 1)
        if window[1] >= READ_CALLS:
            raise _exceeded(stream, shard)
        window[1] += 1

    def charge_read(self, stream: Stream, shard: int, size: int, now: float) -> None:
        """Bytes returned by a read use up the shard's 2 MiB/s for size / 2 MiB seconds."""
        if self.enabled and size > READ_BYTES_PER_SECOND:
            self._read_until[(stream.id, shard)] = now + size / READ_BYTES_PER_SECOND

    def admit_iterator(self, stream: Stream, shard: int, now: float) -> None:
        if not self.enabled:
            return
        window = self._window(self._iterators, (stream.id, shard), now, 1)
        if window[1] >= ITERATOR_CALLS:
            raise _exceeded(stream, shard)
        window[1] += 1
