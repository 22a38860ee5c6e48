"""The page cache wrapper (storage/_pagecache.c): SQLite takes it when gondwana.storage is imported
first, the server's own imports leave it first, and with it the database reads exactly as a
model of it says through every way a cache must drop pages (a transaction or savepoint rolled
back after the file grew, VACUUM shrinking the file, another connection's writes) while B-tree
splits move pages through the spare page number that made every commit walk the whole cache."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("gondwana.storage._pagecache", reason="the C extension is not built")


def _run(script: str, *args: str) -> str:
    """Run `script` in a fresh interpreter (SQLite not initialized yet); its output."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *args], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_servers_imports_leave_sqlite_uninitialized_until_the_cache_is_in() -> None:
    # Every module the server loads, then the check: had any of them imported sqlite3 before
    # gondwana.storage, SQLite would have refused the cache.
    out = _run(
        """
        import importlib, pkgutil
        import gondwana, gondwana.cli
        for info in pkgutil.walk_packages(gondwana.__path__, "gondwana."):
            if not info.name.endswith("__main__"):  # that one runs the command line
                importlib.import_module(info.name)
        from gondwana.storage import _pagecache
        print(_pagecache.installed())
        """
    )
    assert out.split() == ["True"]


def test_sqlite_already_initialized_keeps_its_own_cache() -> None:
    out = _run(
        """
        import sqlite3
        sqlite3.connect(":memory:").execute("SELECT 1")
        from gondwana.storage import _pagecache
        print(_pagecache.installed())
        """
    )
    assert out.split() == ["False"]


MODEL_CHECK = """
    from gondwana.storage import _pagecache
    import json, os, random, sqlite3, sys, tempfile
    assert _pagecache.installed()
    rng = random.Random(int(sys.argv[1]))
    path = os.path.join(tempfile.mkdtemp(), "t.db")
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA cache_size=-8192")
    db.execute("CREATE TABLE t (k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID")
    db.execute("CREATE INDEX t_v ON t (v)")
    other = sqlite3.connect(path, isolation_level=None)
    model = {}

    def rows(n):
        return [(rng.randbytes(12), rng.randbytes(rng.choice((40, 600, 3000)))) for _ in range(n)]

    def check(conn):
        got = dict(conn.execute("SELECT k, v FROM t"))
        assert got == model, (len(got), len(model))

    for step in range(400):
        action = rng.random()
        if action < 0.55:  # a commit of writes in random key order: page splits
            new = rows(rng.randint(5, 60))
            db.execute("BEGIN")
            db.executemany("INSERT OR REPLACE INTO t VALUES (?, ?)", new)
            gone = rng.sample(sorted(model), min(len(model), rng.randint(0, 10)))
            db.executemany("DELETE FROM t WHERE k = ?", [(k,) for k in gone])
            db.execute("COMMIT")
            model.update(new)
            for k in gone:
                model.pop(k, None)
        elif action < 0.7:  # the file grows, then the transaction is undone
            db.execute("BEGIN")
            db.executemany("INSERT OR REPLACE INTO t VALUES (?, ?)", rows(rng.randint(50, 300)))
            db.execute("ROLLBACK")
        elif action < 0.8:  # the same inside a savepoint, and the outer work kept
            new = rows(10)
            db.execute("BEGIN")
            db.executemany("INSERT OR REPLACE INTO t VALUES (?, ?)", new)
            db.execute("SAVEPOINT s")
            db.executemany("INSERT OR REPLACE INTO t VALUES (?, ?)", rows(rng.randint(50, 300)))
            db.execute("ROLLBACK TO s")
            db.execute("RELEASE s")
            db.execute("COMMIT")
            model.update(new)
        elif action < 0.85:  # most rows go and the file shrinks
            gone = rng.sample(sorted(model), len(model) * 3 // 4)
            db.executemany("DELETE FROM t WHERE k = ?", [(k,) for k in gone])
            for k in gone:
                del model[k]
            db.execute("VACUUM")
        elif action < 0.95:  # another connection writes: this one's cache must forget
            new = rows(20)
            other.executemany("INSERT OR REPLACE INTO t VALUES (?, ?)", new)
            model.update(new)
        else:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        check(db)
    check(other)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    print(json.dumps(_pagecache.counts()))
"""


@pytest.mark.parametrize("seed", [1, 2])
def test_the_database_reads_as_its_model_through_every_way_pages_leave(seed: int) -> None:
    counts = json.loads(_run(MODEL_CHECK, str(seed)))
    # Both paths ran: truncations answered from the bound, and truncations SQLite's cache ran.
    assert counts["answered"] > 100 and counts["forwarded"] > 10, counts
