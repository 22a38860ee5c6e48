"""Stream records and replication tombstones past their 24 hours, point-in-time recovery's
records past 35 days and transactions' tokens past 10 minutes (never forgotten before) are
forgotten a chunk a pass, the passes following each other while a backlog lasts (a restart, a
clock moved on), never all in one statement that would hold up every request."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from gondwana.runtime import Runtime
from gondwana.services.dynamodb import recovery, ttl
from gondwana.services.dynamodb.transactions import TOKEN_LIFETIME
from tests.support.inprocess import dynamodb_table, in_process, request_context


def backlog(runtime: Runtime, old: int, fresh: int) -> None:
    """`old` stream records, tombstones and recovery records past their retention, and `fresh`
    ones within it."""
    now = runtime.now()
    ages = [now - ttl.RETENTION - 10] * old + [now - 10] * fresh
    with runtime.store.transaction():
        runtime.store.executemany(
            "INSERT INTO dynamodb_pitr_changes (tid, at, spread, hk, rk, old) VALUES (1, ?, 0, x'', x'', NULL)",
            [(now - recovery.LONGEST_RECOVERY - 10,)] * old + [(now - 10,)] * fresh,
        )
        runtime.store.executemany(
            "INSERT INTO dynamodb_stream_records (arn, shard_id, created, record) VALUES ('a', 's', ?, 'r')",
            [(age,) for age in ages],
        )
        runtime.store.executemany(
            "INSERT INTO dynamodb_repl_tombstones (tid, spread, hk, rk, written, origin) "
            "VALUES (1, 0, ?, x'', ?, 'us-east-1')",
            [(str(k).encode(), age) for k, age in enumerate(ages)],
        )
        runtime.store.executemany(
            "INSERT INTO dynamodb_tokens (account, region, token, digest, created) VALUES ('a', 'r', ?, 'd', ?)",
            [(str(k), now - (TOKEN_LIFETIME + 10 if k < old else 10)) for k in range(old + fresh)],
        )


def left(runtime: Runtime) -> tuple[int, ...]:
    tables = (
        "dynamodb_stream_records",
        "dynamodb_repl_tombstones",
        "dynamodb_pitr_changes",
        "dynamodb_tokens",
    )
    return tuple(runtime.store.query_one(f"SELECT COUNT(*) FROM {table}")[0] for table in tables)


def test_a_pass_forgets_a_chunk_and_says_whether_more_is_due(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(ttl, "TRIM_CHUNK", 100)

    async def scenario(runtime: Runtime, ddb: Any) -> list[Any]:
        ddb.ttl.stop()  # driven by hand here
        backlog(runtime, old=250, fresh=30)
        await runtime.store.flushed()
        seen = []
        for _ in range(4):
            seen.append((ddb.ttl.trim(), left(runtime)))
            await runtime.store.flushed()
        return seen

    assert in_process(tmp_path, "dynamodb", scenario) == [
        (True, (180, 180, 180, 180)),
        (True, (80, 80, 80, 80)),
        (False, (30, 30, 30, 30)),
        (False, (30, 30, 30, 30)),  # nothing is due: nothing deleted
    ]


def test_the_sweeper_clears_a_backlog_pass_after_pass(tmp_path: Path, monkeypatch: Any) -> None:
    """Ten chunks are gone by the first sweep's end, not one a sweep interval."""
    monkeypatch.setattr(ttl, "TRIM_CHUNK", 100)

    async def scenario(runtime: Runtime, ddb: Any) -> tuple[int, ...]:
        backlog(runtime, old=1000, fresh=5)
        await asyncio.sleep(runtime.settings.ttl_interval * 1.8)
        return left(runtime)

    assert in_process(tmp_path, "dynamodb", scenario) == (5, 5, 5, 5)


@pytest.mark.parametrize(
    ("sql", "index"),
    [
        (ttl._TRIM_RECORDS, "dynamodb_stream_records_by_age"),
        (ttl._OLD_TOMBSTONES, "dynamodb_repl_tombstones_by_age"),
        (ttl._TRIM_TOKENS, "dynamodb_tokens_by_age"),
        (ttl._TRIM_SHARDS, "dynamodb_stream_shards_by_close"),
        (ttl._OLD_STREAMS, "dynamodb_streams_by_close"),
    ],
)
def test_the_trims_read_an_age_index(tmp_path: Path, sql: str, index: str) -> None:
    async def scenario(runtime: Runtime, ddb: Any) -> list[str]:
        return [row[-1] for row in runtime.store.query("EXPLAIN QUERY PLAN " + sql, (0.0, 10))]

    plan = in_process(tmp_path, "dynamodb", scenario)
    assert any(step.startswith("SEARCH") and index in step for step in plan)
    assert not any(step.startswith("SCAN") for step in plan)


def test_streams_and_shards_closed_for_a_day_are_forgotten(tmp_path: Path, monkeypatch: Any) -> None:
    """A shard closes every four hours and a stream with its table: kept for good, they made every
    DescribeStream and ListStreams read more. Those closed 24 hours ago go (a stream with all its
    shards); open ones and those closed since stay."""
    monkeypatch.setattr(ttl, "TRIM_CHUNK", 100)

    async def scenario(runtime: Runtime, ddb: Any) -> list[Any]:
        ddb.ttl.stop()
        now = runtime.now()
        old, recent = now - ttl.RETENTION - 10, now - 10
        streams = [(f"old{k}", old) for k in range(150)] + [("recent", recent), ("open", None)]
        shards = [(f"old{k}", "s0", old) for k in range(150)] + [(f"old{k}", "s1", None) for k in range(150)]
        shards += [("open", f"s{k}", old) for k in range(150)] + [
            ("open", "now", None),
            ("recent", "s", recent),
        ]
        with runtime.store.transaction():
            runtime.store.executemany(
                "INSERT INTO dynamodb_streams (arn, account, region, table_name, tid, label, view_type, "
                "key_schema, created, closed) VALUES (?, 'a', 'r', 't', 1, 'l', 'KEYS_ONLY', '[]', 0, ?)",
                streams,
            )
            runtime.store.executemany(
                "INSERT INTO dynamodb_stream_shards (arn, shard_id, created, closed) VALUES (?, ?, 0, ?)",
                shards,
            )
        await runtime.store.flushed()
        passes = 0
        while ddb.ttl.trim():
            passes += 1
            await runtime.store.flushed()
        return [
            passes,
            runtime.store.query("SELECT arn FROM dynamodb_streams ORDER BY arn"),
            runtime.store.query("SELECT arn, shard_id FROM dynamodb_stream_shards ORDER BY arn, shard_id"),
        ]

    passes, streams, shards = in_process(tmp_path, "dynamodb", scenario)
    assert passes >= 2  # a chunk a pass
    assert streams == [("open",), ("recent",)]
    assert shards == [("open", "now"), ("recent", "s")]


def test_disabling_recovery_puts_its_history_out_of_reach_without_deleting_it(tmp_path: Path) -> None:
    """The call deletes nothing (35 days of a busy table's changes would hold up every request):
    enabled again, the window starts afresh and a restore reads none of the earlier records,
    which go with the rest once 35 days old."""

    async def scenario(runtime: Runtime, ddb: Any) -> list[Any]:
        ctx = request_context()
        dynamodb_table(ddb, ctx, "hist")
        recovery_on = {
            "TableName": "hist",
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        }
        recovery_off = {
            "TableName": "hist",
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": False},
        }
        ddb.update_continuous_backups(ctx, recovery_on)
        for n in range(3):  # three changes of one item: three records
            ddb.put_item(ctx, {"TableName": "hist", "Item": {"id": {"S": "a"}, "n": {"N": str(n)}}})
        ddb.update_continuous_backups(ctx, recovery_off)
        kept = left(runtime)[2]  # (the recovery records)
        runtime.clock.offset += 1
        ddb.update_continuous_backups(ctx, recovery_on)
        runtime.clock.offset += 301  # the latest restorable time lags five minutes
        ddb.restore_table_to_point_in_time(
            ctx, {"SourceTableName": "hist", "TargetTableName": "back", "UseLatestRestorableTime": True}
        )
        await runtime.store.flushed()
        items = runtime.store.query(
            "SELECT i.item FROM dynamodb_items i JOIN dynamodb_tables t ON t.tid = i.tid WHERE t.name = 'back'"
        )
        return [kept, [json.loads(text)["n"] for (text,) in items]]

    assert in_process(tmp_path, "dynamodb", scenario) == [3, [{"N": "2"}]]
