"""The one way an item changes: its row, its index entries, the table's counters, its stream record.

Callers wrap `apply` (one or many) in `store.transaction()`, so a change and everything derived
from it commit together or not at all.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from gondwana.services.dynamodb import codec, keys
from gondwana.services.dynamodb.capacity import write_units
from gondwana.services.dynamodb.schema import Index, Table
from gondwana.services.dynamodb.shards import append
from gondwana.services.dynamodb.storage import TableStore
from gondwana.services.dynamodb.types import Item, item_size
from gondwana.storage import Store

SERVICE_IDENTITY = {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}


class Writer:
    def __init__(self, store: Store, tables: TableStore) -> None:
        self.store = store
        self.tables = tables
        self.replication: Any = None  # told of every local change to a global table

    # ---- reads -------------------------------------------------------------------------------

    def get(self, table: Table, key: Item) -> Item | None:
        row = self.store.query_one(
            "SELECT item FROM dynamodb_items WHERE tid = ? AND spread = ? AND hk = ? AND rk = ?",
            (table.tid, *table.encode_key(key)),
        )
        return codec.loads(row[0]) if row else None

    def collection_size(self, table: Table, hash_value: dict[str, Any]) -> int:
        """Bytes stored under one partition key (an item collection)."""
        hk = keys.encode(hash_value)
        row = self.store.query_one(
            "SELECT COALESCE(SUM(size), 0) FROM dynamodb_items WHERE tid = ? AND spread = ? AND hk = ?",
            (table.tid, keys.spread(hk), hk),
        )
        return row[0] if row else 0

    # ---- the change --------------------------------------------------------------------------

    def apply(
        self,
        table: Table,
        old: Item | None,
        new: Item | None,
        *,
        now: float,
        region: str,
        identity: dict[str, str] | None = None,
        replicated: bool = False,
    ) -> dict[str, float]:
        """Replace `old` with `new` (either may be None) for the item whose key they share.

        `replicated` marks a change arriving from another replica (not to be sent on again).
        Returns the write units each secondary index consumed."""
        if old is None and new is None:
            return {}
        key = table.key_of(new if new is not None else old)  # type: ignore[arg-type]
        if not replicated and "_replicas" in table.desc and self.replication is not None:
            self.replication.local_change(table, key, new, now, region)
        spread, hk, rk = table.encode_key(key)
        old_size = item_size(old) if old is not None else 0
        new_size = item_size(new) if new is not None else 0
        if new is None:
            self.store.execute(
                "DELETE FROM dynamodb_items WHERE tid = ? AND spread = ? AND hk = ? AND rk = ?",
                (table.tid, spread, hk, rk),
            )
        else:
            self.store.execute(
                "INSERT INTO dynamodb_items (tid, spread, hk, rk, item, size, written, origin, expires) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tid, spread, hk, rk) DO UPDATE SET "
                "item = excluded.item, size = excluded.size, written = excluded.written, origin = "
                "excluded.origin, "
                "expires = excluded.expires",
                (table.tid, spread, hk, rk, codec.dumps(new), new_size, now, region, expiry(table, new)),
            )
        self.tables.count(table, (new is not None) - (old is not None), new_size - old_size)
        units = {}
        for index in table.indexes.values():
            used = self._index(table, index, hk, rk, old, new)
            if used:
                units[index.name] = used
        if old != new:
            self._stream(table, key, old, new, now, region, identity)
        return units

    def _index(
        self, table: Table, index: Index, bhk: bytes, brk: bytes, old: Item | None, new: Item | None
    ) -> float:
        old_key = index_key(index, old)
        new_key = index_key(index, new)
        old_view = index.project(old, table) if old is not None and old_key is not None else None
        new_view = index.project(new, table) if new is not None and new_key is not None else None
        if old_key == new_key and old_view == new_view:
            return 0.0  # what the index stores did not change: no index write, no charge
        units = 0.0
        if old_key is not None and old_key != new_key:
            units += write_units(item_size(old_view))  # type: ignore[arg-type]
            self.store.execute(
                "DELETE FROM dynamodb_index_items WHERE tid = ? AND idx = ? AND spread = ? AND hk = ? "
                "AND rk = ? AND bhk = ? AND brk = ?",
                (table.tid, index.name, *old_key, bhk, brk),
            )
        if new_key is not None and new_view is not None:
            self.store.execute(
                "INSERT INTO dynamodb_index_items (tid, idx, spread, hk, rk, bhk, brk, item, size) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tid, idx, spread, hk, rk, bhk, brk) "
                "DO UPDATE SET item = excluded.item, size = excluded.size",
                (table.tid, index.name, *new_key, bhk, brk, codec.dumps(new_view), item_size(new_view)),
            )
            units += write_units(item_size(new_view))
        return units

    def _stream(
        self,
        table: Table,
        key: Item,
        old: Item | None,
        new: Item | None,
        now: float,
        region: str,
        identity: dict[str, str] | None,
    ) -> None:
        spec = table.desc.get("StreamSpecification")
        if not spec or not spec.get("StreamEnabled"):
            return
        view = spec["StreamViewType"]
        event = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
        record: dict[str, Any] = {"id": uuid.uuid4().hex, "event": event, "region": region, "view": view}
        record["keys"] = codec.dumps(key)
        size = item_size(key)
        if new is not None and view in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES"):
            record["new"] = codec.dumps(new)
            size += item_size(new)
        if old is not None and view in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES"):
            record["old"] = codec.dumps(old)
            size += item_size(old)
        record["size"] = size
        if identity:
            record["identity"] = identity
        append(self.store, table.desc["LatestStreamArn"], now, json.dumps(record))


def index_key(index: Index, item: Item | None) -> tuple[int, bytes, bytes] | None:
    """Where `item` sits in `index`, or None when it lacks the index key (sparse indexes)."""
    if item is None or index.hash_key not in item:
        return None
    if index.range_key and index.range_key not in item:
        return None
    hk = keys.encode(item[index.hash_key])
    rk = keys.encode(item[index.range_key]) if index.range_key else b""
    return keys.spread(hk), hk, rk


def expiry(table: Table, item: Item) -> float | None:
    """The item's TTL in epoch seconds when the table has TTL on and the attribute is a Number."""
    ttl = table.desc.get("_ttl")
    if not ttl or ttl.get("TimeToLiveStatus") != "ENABLED":
        return None
    value = item.get(ttl["AttributeName"])
    if value is None or "N" not in value:
        return None
    return float(value["N"])
