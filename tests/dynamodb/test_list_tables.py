"""ListTables pages in SQL: a page reads its names and one more (which tells whether more remain),
and looks up only those, however many tables the region holds. Tables being created or deleted are
listed; one whose deletion is over is passed over, and the names after it fill the page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gondwana.runtime import Runtime
from gondwana.services.dynamodb import storage
from tests.conftest import make_client
from tests.dynamodb.conftest import create, loaded_tables
from tests.support.inprocess import dynamodb_table, in_process, request_context


def pages(ddb: Any, limit: int, start: str | None = None) -> list[tuple[list[str], str | None]]:
    """Each page's names and LastEvaluatedTableName, from `start` to the end."""
    got = []
    while True:
        page = ddb.list_tables(Limit=limit, **({"ExclusiveStartTableName": start} if start else {}))
        start = page.get("LastEvaluatedTableName")
        got.append((page["TableNames"], start))
        if start is None:
            return got


def test_pages_as_aws_gives_them_through_creates_and_deletes(fresh_server: Any) -> None:
    proc = fresh_server("--state-delay", "60000", in_memory=True)
    ddb = make_client(proc.url, "dynamodb")
    names = sorted(create(ddb, name=f"tbl-{i:02d}") for i in range(7))
    # Being created: listed.
    assert pages(ddb, 3) == [(names[:3], names[2]), (names[3:6], names[5]), (names[6:], None)]
    assert pages(ddb, 7) == [(names, None)]  # exactly a page: no more to evaluate
    assert pages(ddb, 6) == [(names[:6], names[5]), (names[6:], None)]
    whole = ddb.list_tables()  # (Limit 100)
    assert whole["TableNames"] == names and "LastEvaluatedTableName" not in whole
    assert pages(ddb, 2, "tbl-03a") == [(names[4:6], names[5]), (names[6:], None)]  # between two names
    assert pages(ddb, 100, names[-1]) == [([], None)]
    assert pages(ddb, 100, "aaa") == [(names, None)]
    assert make_client(proc.url, "dynamodb", "eu-west-1").list_tables()["TableNames"] == []
    proc.advance_clock(61)
    gone = [names[1], names[2], names[4]]
    for name in gone:
        ddb.delete_table(TableName=name)
    # Being deleted: still listed.
    assert pages(ddb, 4) == [(names[:4], names[3]), (names[4:], None)]
    proc.advance_clock(61)
    # Deleted: each goes as a page meets it, and the names past it fill the page.
    left = [n for n in names if n not in gone]
    assert pages(ddb, 2) == [(left[:2], left[1]), (left[2:], None)]
    assert pages(ddb, 1) == [([n], n if n != left[-1] else None) for n in left]


def test_a_page_looks_up_only_its_own_tables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def scenario(runtime: Runtime, ddb: Any) -> list[tuple[int, int]]:
        ctx = request_context()
        for n in range(300):
            dynamodb_table(ddb, ctx, f"t{n:03d}")
        await runtime.store.flushed()
        plan = runtime.store.query(f"EXPLAIN QUERY PLAN {storage._NAMES_AFTER}", ("a", "r", "n", 1))
        assert [row[-1] for row in plan] == [
            "SEARCH dynamodb_tables USING COVERING INDEX sqlite_autoindex_dynamodb_tables_1 "
            "(account=? AND region=? AND name>?)"
        ]  # an index walk from the start name, in name order (no sort)
        looked_up: list[str] = []
        find = ddb.tables.find

        def counted_find(account: str, region: str, name: str) -> Any:
            looked_up.append(name)
            return find(account, region, name)

        monkeypatch.setattr(ddb.tables, "find", counted_find)
        parsed = loaded_tables(monkeypatch)
        costs = []
        ddb.table_store.clear()  # nothing cached, as after a restart
        for _ in range(2):  # then again, all cached
            parsed.clear(), looked_up.clear()
            first = ddb.list_tables(ctx, {"Limit": 10})
            later = ddb.list_tables(
                ctx, {"Limit": 10, "ExclusiveStartTableName": first["LastEvaluatedTableName"]}
            )
            assert first["TableNames"] + later["TableNames"] == [f"t{n:03d}" for n in range(20)]
            costs.append((len(parsed), len(looked_up)))
        return costs

    # A page of 10 reads 11 names: the page's tables are read once, cold; nothing else ever is.
    assert in_process(tmp_path, "dynamodb", scenario) == [(21, 22), (0, 22)]


def test_insights_and_2017_global_tables_are_listed_from_their_marks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ListContributorInsights and ListGlobalTables read the tables marked for them in their rows,
    not every table of the region (ListContributorInsights read all 10,000 in 0.3 s, cold)."""

    async def scenario(runtime: Runtime, ddb: Any) -> list[Any]:
        ctx = request_context()
        for n in range(200):
            dynamodb_table(ddb, ctx, f"t{n:03d}")
        ddb.update_contributor_insights(ctx, {"TableName": "t150", "ContributorInsightsAction": "ENABLE"})
        await runtime.store.flushed()
        parsed = loaded_tables(monkeypatch)
        ddb.table_store.clear()  # nothing cached, as after a restart
        found = ddb.list_contributor_insights(ctx, {})["ContributorInsightsSummaries"]
        listed = ddb.list_global_tables(ctx, {})["GlobalTables"]
        return [[s["TableName"] for s in found], listed, len(parsed)]

    assert in_process(tmp_path, "dynamodb", scenario) == [["t150"], [], 1]
