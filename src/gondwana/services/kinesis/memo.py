"""Data-plane lookups (a stream by name or id, its shards, its routing table) kept in memory
between changes, so PutRecord and GetRecords do not re-read and re-decode rows that rarely change.

Every change to streams or shards drops everything, at once and again after the current loop
iteration, that is after the group commit: a change that was rolled back (its savepoint or the
whole group) can therefore never leave a value behind that the store does not hold. The stream's
record counter is the one exception: writers advance it on the cached stream itself, and a rolled
back write only leaves a gap in the counters (they stay unique and increasing).
"""

from __future__ import annotations

import asyncio
from typing import Any


class Memo(dict[Any, Any]):
    def drop(self) -> None:
        self.clear()
        try:
            asyncio.get_running_loop().call_soon(self.clear)
        except RuntimeError:  # no loop (start-up, tools): nothing runs concurrently
            pass
