"""Storage: the contract (`Store`) and its embedded SQLite implementation."""

from __future__ import annotations

from pathlib import Path

from gondwana.storage.base import Store
from gondwana.storage.sqlite import SqliteStore


def open_store(data_dir: Path | None, durability: str = "normal") -> Store:
    """The store for a data directory, or an in-memory one when data_dir is None."""
    return SqliteStore(None if data_dir is None else data_dir / "gondwana.db", durability)


__all__ = ["SqliteStore", "Store", "open_store"]
