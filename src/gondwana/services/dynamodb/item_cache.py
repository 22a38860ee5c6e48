"""Items recently read by key, as stored (text and size), so repeated point reads skip SQLite.

An entry is filled by a read made while no write is pending (what the store then holds is
committed), or by a write over an existing item that only a failed commit group can undo (a `last`
write: see Writer.apply_many), whose entries are dropped again if its group fails. Every write of
an item drops its entry first, so a hit is always the item's current state (what the store's own
connection reads too) and a group that fails leaves nothing stale. Every change to an item row
goes through `Writer`; dropping a table leaves only unreachable entries (table ids are never
reused), and a reset clears everything.
Bounded in bytes, oldest entries out first; large items are not kept.
"""

from __future__ import annotations

from collections import OrderedDict

from gondwana.services.dynamodb.keys import Where

Key = tuple[int, Where]  # (table id, encoded key)

LIMIT = 8 * 1024 * 1024  # bytes of item text
LARGEST = 16 * 1024  # items larger than this are read from the store each time


class ItemCache:
    def __init__(self, limit: int = LIMIT) -> None:
        self.limit = limit
        self._entries: OrderedDict[Key, tuple[str, int]] = OrderedDict()  # oldest first
        self._bytes = 0

    def get(self, key: Key) -> tuple[str, int] | None:
        return self._entries.get(key)

    def keep(self, key: Key, text: str, size: int) -> None:
        self.drop(key)
        if len(text) > LARGEST:
            return
        self._entries[key] = (text, size)
        self._bytes += len(text)
        while self._bytes > self.limit:
            self._bytes -= len(self._entries.popitem(last=False)[1][0])

    def drop(self, key: Key) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= len(entry[0])

    def clear(self) -> None:
        self._entries.clear()
        self._bytes = 0
