"""Kinesis tables. Records are stored in blocks (see records.py) keyed by (stream, shard, counter of
the block's last record), so a read is one index range scan whose cost does not depend on how long
the stream is; AT_TIMESTAMP iterators and retention trimming bisect that same key (timeline.py), so
a write updates no second index."""

from __future__ import annotations

import os

from gondwana.services.kinesis.records import to_blocks
from gondwana.storage import Store

SCHEMA = """
CREATE TABLE kinesis_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE kinesis_streams (
    id INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    settle_at REAL,
    mode TEXT NOT NULL,
    created REAL NOT NULL,
    retention INTEGER NOT NULL,
    encryption TEXT NOT NULL,
    key_id TEXT,
    metrics TEXT NOT NULL,
    max_record_kib INTEGER NOT NULL,
    warm INTEGER,
    next_shard INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    history TEXT NOT NULL,
    UNIQUE (account, region, name)
);
CREATE INDEX kinesis_streams_settle ON kinesis_streams (settle_at);
CREATE TABLE kinesis_shards (
    stream_id INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    parent INTEGER,
    adjacent INTEGER,
    start_hash TEXT NOT NULL,
    end_hash TEXT NOT NULL,
    start_seq INTEGER NOT NULL,
    end_seq INTEGER,
    created REAL NOT NULL,
    closed REAL,
    PRIMARY KEY (stream_id, idx)
);
CREATE TABLE kinesis_records (
    stream_id INTEGER NOT NULL,
    shard INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    arrival REAL NOT NULL,
    pkey TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (stream_id, shard, seq)
);
CREATE INDEX kinesis_records_arrival ON kinesis_records (stream_id, shard, arrival, seq);
CREATE TABLE kinesis_consumers (
    stream_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    arn TEXT NOT NULL,
    status TEXT NOT NULL,
    settle_at REAL,
    created REAL NOT NULL,
    PRIMARY KEY (stream_id, name)
);
CREATE INDEX kinesis_consumers_arn ON kinesis_consumers (arn);
CREATE INDEX kinesis_consumers_settle ON kinesis_consumers (settle_at);
CREATE TABLE kinesis_tags (
    arn TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (arn, key)
);
CREATE TABLE kinesis_policies (arn TEXT PRIMARY KEY, policy TEXT NOT NULL);
CREATE TABLE kinesis_accounts (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    status TEXT NOT NULL,
    started REAL,
    ended REAL,
    PRIMARY KEY (account, region)
)
"""


BLOCKS = """
CREATE TABLE kinesis_blocks (
    stream_id INTEGER NOT NULL,
    shard INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    first_seq INTEGER NOT NULL,
    arrival REAL NOT NULL,
    size INTEGER NOT NULL,
    seqs BLOB NOT NULL,
    offsets BLOB NOT NULL,
    pkeys BLOB NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (stream_id, shard, last_seq)
);
CREATE INDEX kinesis_blocks_arrival ON kinesis_blocks (stream_id, shard, arrival, first_seq)
"""

# Shards by close time: the sweep finds the expired ones (retention.py) and calls count the open
# ones without reading the closed; and by parent, for a closed shard's ChildShards.
SHARD_INDEXES = """
CREATE INDEX kinesis_shards_closed ON kinesis_shards (stream_id, closed);
CREATE INDEX kinesis_shards_parent ON kinesis_shards (stream_id, parent);
CREATE INDEX kinesis_shards_adjacent ON kinesis_shards (stream_id, adjacent)
"""


def register(store: Store) -> None:
    store.register(
        "kinesis",
        [
            SCHEMA,
            seed_secret,
            BLOCKS,
            to_blocks,
            "DROP INDEX kinesis_blocks_arrival",
            # an on-demand stream's RecordDistributionStrategy: NULL for USER_PARTITION_KEY
            "ALTER TABLE kinesis_streams ADD COLUMN distribution TEXT",
            SHARD_INDEXES,
        ],
    )


def seed_secret(store: Store) -> None:
    if meta_get(store, "secret") is None:
        meta_put(store, "secret", os.urandom(32).hex())


def meta_get(store: Store, key: str) -> str | None:
    row = store.query_one("SELECT value FROM kinesis_meta WHERE key = ?", (key,))
    return None if row is None else row[0]


def meta_put(store: Store, key: str, value: str) -> None:
    store.execute(
        "INSERT INTO kinesis_meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def secret(store: Store) -> bytes:
    """The per-data-directory key that signs iterators and tokens (kept so they survive restart)."""
    value = meta_get(store, "secret")
    if value is None:  # wiped by a reset
        with store.transaction():
            seed_secret(store)
        value = meta_get(store, "secret")
    assert value is not None
    return bytes.fromhex(value)


def next_stream_id(store: Store) -> int:
    """Stream ids are never reused, so a record or iterator of a deleted stream cannot leak into a
    new stream of the same name."""
    value = int(meta_get(store, "next_stream_id") or "1")
    meta_put(store, "next_stream_id", str(value + 1))
    return value
