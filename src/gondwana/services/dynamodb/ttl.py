"""The TTL sweeper: background passes that delete expired items as the DynamoDB service would.

Runs every `--ttl-interval` seconds (default 1, `storage/passes.every`) against the runtime clock; skips
items whose TTL is more than five years in the past (AWS ignores those); deletions go through the
ordinary write path, so indexes follow and the stream record carries the service identity. It also
trims stream records older than 24 hours and point-in-time recovery's records older than 35 days
(recovery.py), a chunk a pass, pass after pass while a backlog lasts, and expired SYSTEM backups.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gondwana.services.dynamodb import backups, codec, expiry_index, recovery
from gondwana.services.dynamodb.replication import replicas
from gondwana.services.dynamodb.transactions import TOKEN_LIFETIME
from gondwana.services.dynamodb.writes import SERVICE_IDENTITY, expiry
from gondwana.storage.passes import every

if TYPE_CHECKING:
    from gondwana.services.dynamodb.provider import DynamoDBService

FIVE_YEARS = 5 * 365 * 86400.0
RETENTION = 86400.0
BATCH = 500


# Items past their TTL, found by the expiry index; not a deleted table's, whose rows wait to be
# reclaimed (`+tid`: checked per row, as an index on tid would read every item of every table).
EXPIRED = (
    "SELECT tid, item, origin FROM dynamodb_items WHERE expires IS NOT NULL AND expires <= ? AND "
    "expires >= ? AND +tid IN (SELECT tid FROM dynamodb_tables) LIMIT ?"
)


class TtlSweeper:
    def __init__(self, svc: DynamoDBService) -> None:
        self.svc = svc
        self.interval = svc.runtime.settings.ttl_interval
        self.stop: Callable[[], None] = lambda: None  # retires the chain of passes

    def start(self) -> None:
        """One chain of passes at a time (a reset starts a new one)."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        self.stop()
        runtime = self.svc.runtime
        self.stop = every(
            runtime.store, runtime.later, self._pass, "the TTL sweep", self.interval, self.interval
        )

    def _pass(self) -> bool:
        """Trim a chunk (True: more is due at once, the next pass follows once this one is
        committed), or, with no trimming due, delete expired items."""
        if self.trim():
            return True
        self.sweep()
        return False

    def trim(self) -> bool:
        """Forget stream records past their 24 hours (and the streams and shards closed as long
        ago) and the replication tombstones as old, point-in-time recovery's records no recovery
        period reaches, and transactions' tokens past their 10 minutes, up to `TRIM_CHUNK` of
        each; True when more may be due. In one statement, a day of stream records (a restart, a
        clock moved on) held up every request: 0.44 s for 100,000."""
        store = self.svc.runtime.store
        now = self.svc.runtime.now()
        cutoff = now - RETENTION
        streams = _oldest(store, "dynamodb_stream_records") < cutoff
        tokens = _oldest(store, "dynamodb_tokens") < now - TOKEN_LIFETIME
        shards = (
            min(_oldest(store, t, "closed") for t in ("dynamodb_stream_shards", "dynamodb_streams")) < cutoff
        )
        history = recovery.history_due(store, now)
        if not streams and not history and not tokens and not shards:
            return False
        more = False
        with store.transaction():
            if shards:  # streams and shards closed for 24 hours: no call shows them any more
                more |= store.execute(_TRIM_SHARDS, (cutoff, TRIM_CHUNK)) == TRIM_CHUNK
                gone = store.query(_OLD_STREAMS, (cutoff, TRIM_CHUNK))
                store.executemany("DELETE FROM dynamodb_stream_shards WHERE arn = ?", gone)
                store.executemany("DELETE FROM dynamodb_streams WHERE arn = ?", gone)
                more |= len(gone) == TRIM_CHUNK
            if history:
                more |= recovery.trim_history(store, now, TRIM_CHUNK)
            if tokens:  # transactions' ClientRequestTokens (boto3 sends one with every call)
                more |= store.execute(_TRIM_TOKENS, (now - TOKEN_LIFETIME, TRIM_CHUNK)) == TRIM_CHUNK
            if streams:
                more |= store.execute(_TRIM_RECORDS, (cutoff, TRIM_CHUNK)) == TRIM_CHUNK
                # Replication tombstones guard against late writes for as long as streams keep them.
                tombstones = store.query(_OLD_TOMBSTONES, (cutoff, TRIM_CHUNK))
                store.executemany(_FORGET_TOMBSTONE, tombstones)
                more |= len(tombstones) == TRIM_CHUNK
        return more

    def sweep(self) -> int:
        runtime = self.svc.runtime
        now = runtime.now()
        store = runtime.store
        backups.forget_expired(store, runtime.reclaimer, now)
        rows = store.query(EXPIRED, (now, now - FIVE_YEARS, BATCH))
        if not rows:
            return 0
        tables = {tid: self.svc.table_store.by_tid(tid) for tid in {row[0] for row in rows}}
        deleted = 0
        with store.transaction():
            for tid, text, origin in rows:
                table = tables[tid]
                if table is None:
                    continue
                if origin != table.region and origin in replicas.regions(table):
                    continue  # a global table's item expires where it was written; the delete replicates
                old = codec.loads(text)
                due = expiry(table, old)
                if due is None or not now - FIVE_YEARS <= due <= now:  # set before the TTL setting changed
                    where = table.encode_key(old)
                    store.execute(expiry_index.SET_EXPIRY, (due, tid, *where))  # (its walk gets there too)
                    continue
                self.svc.writer.apply(
                    table, old, None, now=now, region=table.region, identity=SERVICE_IDENTITY
                )
                deleted += 1
        return deleted


def _oldest(store: Any, table: str, column: str = "created") -> float:
    """The least `column` of a table's rows (through its index), or +inf when there is none."""
    first = store.query_one(f"SELECT MIN({column}) FROM {table}")
    return math.inf if first is None or first[0] is None else first[0]


TRIM_CHUNK = 1000  # rows of each kind forgotten per pass: a few milliseconds


def _forget_sql(table: str, column: str) -> str:
    """Delete up to ?2 of a rowid table's rows whose `column` is before ?1, oldest first (its index
    on `column` finds them)."""
    return (
        f"DELETE FROM {table} WHERE rowid IN "
        f"(SELECT rowid FROM {table} WHERE {column} < ?1 ORDER BY {column} LIMIT ?2)"
    )


_TRIM_RECORDS = _forget_sql("dynamodb_stream_records", "created")
_TRIM_TOKENS = _forget_sql("dynamodb_tokens", "created")
_TRIM_SHARDS = _forget_sql("dynamodb_stream_shards", "closed")
_OLD_STREAMS = "SELECT arn FROM dynamodb_streams WHERE closed < ? ORDER BY closed LIMIT ?"
# Tombstones have no rowid: read by age, then deleted by key, a seek each.
_OLD_TOMBSTONES = (
    "SELECT tid, spread, hk, rk FROM dynamodb_repl_tombstones WHERE written < ? ORDER BY written LIMIT ?"
)
_FORGET_TOMBSTONE = "DELETE FROM dynamodb_repl_tombstones WHERE tid = ? AND spread = ? AND hk = ? AND rk = ?"
