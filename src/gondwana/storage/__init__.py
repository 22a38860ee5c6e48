"""Storage: the contract (`Store`) and its embedded SQLite implementation."""

from __future__ import annotations

import contextlib
from pathlib import Path

# First: SQLite takes this page cache only before the sqlite3 module initializes it (_pagecache.c).
with contextlib.suppress(ImportError):  # not built: SQLite's own cache
    from gondwana.storage import _pagecache  # noqa: F401

from gondwana.storage.base import Store
from gondwana.storage.sqlite import SqliteStore


def open_store(data_dir: Path | None, durability: str = "normal") -> Store:
    """The store for a data directory, or an in-memory one when data_dir is None."""
    return SqliteStore(None if data_dir is None else data_dir / "gondwana.db", durability)


__all__ = ["SqliteStore", "Store", "open_store"]
