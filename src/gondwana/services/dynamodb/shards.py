"""Stream shards: each stream writes to one open shard; after four hours the shard closes and a
child shard, naming it as parent, takes over, as DynamoDB Streams rotates its shards.

Sequence numbers are one global, increasing counter (the records table's key). A shard learns its
first sequence number from its first record; its last is fixed when it closes.
"""

from __future__ import annotations

import uuid

from gondwana.storage import Store

SHARD_LIFETIME = 4 * 3600.0


def next_seq(store: Store) -> int:
    """A lower bound for the next sequence number (trimming may have removed the highest ones)."""
    row = store.query_one("SELECT COALESCE(MAX(seq), 0) FROM dynamodb_stream_records")
    return (row[0] if row else 0) + 1


def open_shard(store: Store, arn: str, now: float, parent: str | None = None) -> str:
    shard = f"shardId-{int(now * 1000):020d}-{uuid.uuid4().hex[:8]}"
    store.execute(
        "INSERT INTO dynamodb_stream_shards (arn, shard_id, parent, created) VALUES (?, ?, ?, ?)",
        (arn, shard, parent, now),
    )
    return shard


def close_shard(store: Store, arn: str, when: float) -> str | None:
    """Close the stream's open shard (if any) as of `when`; returns its id."""
    row = store.query_one(
        "SELECT shard_id FROM dynamodb_stream_shards WHERE arn = ? AND closed IS NULL", (arn,)
    )
    if row is None:
        return None
    last = store.query_one(
        "SELECT MAX(seq) FROM dynamodb_stream_records WHERE arn = ? AND shard_id = ?", (arn, row[0])
    )
    store.execute(
        "UPDATE dynamodb_stream_shards SET end_seq = ?, closed = ? WHERE arn = ? AND shard_id = ?",
        (last[0] if last else None, when, arn, row[0]),
    )
    return str(row[0])


def append_many(store: Store, arn: str, now: float, records: list[str]) -> None:
    """Write records, in order, to the stream's current shard, rotating an expired shard first."""
    row = store.query_one(
        "SELECT shard_id, created, start_seq FROM dynamodb_stream_shards WHERE arn = ? AND closed IS NULL",
        (arn,),
    )
    if row is None:
        shard, start = open_shard(store, arn, now), None
    elif now - row[1] >= SHARD_LIFETIME:
        close_shard(store, arn, row[1] + SHARD_LIFETIME)  # it closed when its time was up
        shard, start = open_shard(store, arn, now, parent=row[0]), None
    else:
        shard, start = row[0], row[2]
    sql = "INSERT INTO dynamodb_stream_records (arn, shard_id, created, record) VALUES (?, ?, ?, ?)"
    seq = store.insert(sql, (arn, shard, now, records[0]))
    if len(records) > 1:
        store.executemany(sql, [(arn, shard, now, record) for record in records[1:]])
    if start is None:
        store.execute(
            "UPDATE dynamodb_stream_shards SET start_seq = ? WHERE arn = ? AND shard_id = ?",
            (seq, arn, shard),
        )
