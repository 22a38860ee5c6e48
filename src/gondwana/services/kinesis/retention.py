"""Retention in storage: the Kinesis sweep deletes records past their stream's retention period,
and forgets closed shards once they expire, as AWS's go from CLOSED to EXPIRED (every record in
them past retention, no call lists, describes or reads them any more).

Both go in passes of a few milliseconds (the sweep runs every minute, and at the loop's next turn
while a pass says more is due: `storage/passes.every`), each a unit of change. A pass forgets up to
`FORGET_CHUNK` expired shards, the longest closed first, found through the index on close time
(what is still expired is itself the place a restart goes on from), with whatever records are left
in them; or else trims the records of up to `WALK_CHUNK` shards, walking stream after stream from
where the last pass stopped. A stream is walked only once its oldest record may have expired: the
earliest arrival of its records is kept from its last walk (in memory: a restart walks them all
once). Sweeps used to read every shard row ever made, one query each: 52 ms at 11,000.
"""

from __future__ import annotations

import math

from gondwana.services.kinesis import timeline
from gondwana.services.kinesis.memo import Memo
from gondwana.services.kinesis.streams import Stream
from gondwana.storage import Store

FORGET_CHUNK = 200  # expired shards forgotten per pass
WALK_CHUNK = 1000  # shards whose records a pass trims (one seek each when none has expired)

# Streams with a shard closed for longer than their retention period: a seek each into the index
# on close time (the second comparison is the very one `Shard.expired` makes).
_EXPIRING = (
    "SELECT t.id, t.retention * 3600 FROM kinesis_streams t WHERE EXISTS (SELECT 1 FROM kinesis_shards s "
    "WHERE s.stream_id = t.id AND s.closed <= ?1 - t.retention * 3600 "
    "AND s.closed + t.retention * 3600 <= ?1)"
)
_EXPIRED = (
    "SELECT idx FROM kinesis_shards WHERE stream_id = ?1 AND closed <= ?3 - ?2 AND closed + ?2 <= ?3 "
    "ORDER BY closed LIMIT ?4"
)
_FORGET = "DELETE FROM kinesis_shards WHERE stream_id = ? AND idx = ?"
_STREAMS = "SELECT id, retention * 3600 FROM kinesis_streams WHERE id >= ? ORDER BY id"
_SHARDS = "SELECT idx FROM kinesis_shards WHERE stream_id = ? AND idx > ? ORDER BY idx LIMIT ?"

Place = tuple[int, int, float]  # a walk under way: stream id, last shard trimmed, earliest arrival seen


class Retention:
    def __init__(self, store: Store, memo: Memo) -> None:
        self.store = store
        self.memo = memo
        self.generation = 0
        self.reset()

    def reset(self) -> None:
        """Forget what was learned (the store was wiped: stream ids start again)."""
        self.generation += 1
        self.earliest: dict[int, float] = {}  # stream id -> none of its records arrived before then
        self.place: Place | None = None

    def run_pass(self, now: float, budget: int) -> bool:
        """Forget expired shards, else trim the records of a chunk of shards, deleting about `budget`
        bytes of records in all; True when more is due at once."""
        with self.store.transaction():
            left = FORGET_CHUNK
            for stream_id, period in self.store.query(_EXPIRING, (now,)):
                expired = [i for (i,) in self.store.query(_EXPIRED, (stream_id, period, now, left))]
                budget -= self._forget(stream_id, expired, budget)
                left -= len(expired)
                if budget <= 0 or left <= 0:
                    return True
            return self._walk(now, budget)

    def expire(self, stream: Stream, now: float) -> None:
        """All of a stream's expired records and shards at once, before its retention period grows
        (that would bring them back): the sweeps leave about a minute's worth."""
        period = stream.retention * 3600
        expired = self.store.query(_EXPIRED, (stream.id, period, now, -1))
        self._forget(stream.id, [i for (i,) in expired], None)
        for (index,) in self.store.query(_SHARDS, (stream.id, -1, -1)):
            timeline.trim(self.store, stream.id, index, now - period)

    def _forget(self, stream_id: int, indexes: list[int], budget: int | None) -> int:
        """Delete these expired shards with their records (`timeline.trim` keeps the stream's counter);
        a shard whose records outlast the budget waits for the next pass. Returns the bytes spent."""
        spent = 0
        for index in indexes:
            left = None if budget is None else budget - spent
            spent += timeline.trim(self.store, stream_id, index, math.inf, left)
            if budget is not None and spent >= budget:
                break
            self.store.execute(_FORGET, (stream_id, index))
        if indexes:
            self.memo.drop()
        return spent

    def _walk(self, now: float, budget: int) -> bool:
        """Trim the records of up to `WALK_CHUNK` shards from the walk's place on; True when it
        stopped short of the last stream."""
        visits = WALK_CHUNK
        place = self.place
        learned: dict[int, float] = {}
        for stream_id, period in self.store.query(_STREAMS, (0 if place is None else place[0],)):
            cutoff = now - period
            if place is None or place[0] != stream_id:
                if self.earliest.get(stream_id, -math.inf) >= cutoff:
                    continue  # none of its records can have expired yet
                place = (stream_id, -1, now)  # records written from now on arrive after now
            _, after, earliest = place
            shards = self.store.query(_SHARDS, (stream_id, after, visits))
            for (index,) in shards:
                first = timeline.oldest(self.store, stream_id, index)
                if first is not None and first < cutoff:
                    budget -= timeline.trim(self.store, stream_id, index, cutoff, budget)
                    if budget <= 0:
                        self._go_on((stream_id, after, earliest), learned)  # this shard again
                        return True
                    first = timeline.oldest(self.store, stream_id, index)
                if first is not None:
                    earliest = min(earliest, first)
                after = index
            visits -= len(shards)
            if visits <= 0:
                self._go_on((stream_id, after, earliest), learned)
                return True
            learned[stream_id] = earliest
            place = None
        self._go_on(None, learned)
        return False

    def _go_on(self, place: Place | None, learned: dict[int, float]) -> None:
        """Once the pass is committed: where the next goes on, and the earliest arrivals the walks
        it completed found (a pass undone is walked again)."""
        generation = self.generation

        def keep(error: BaseException | None) -> None:
            if error is None and generation == self.generation:
                self.place = place
                self.earliest.update(learned)

        self.store.after_commit(keep)
