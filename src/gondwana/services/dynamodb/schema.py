"""A table's shape as the data plane needs it: keys, attribute types, indexes and projections."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from gondwana.services.dynamodb import keys
from gondwana.services.dynamodb.errors import invalid, key_mismatch, validation
from gondwana.services.dynamodb.types import (
    MAX_HASH_KEY,
    MAX_ITEM_SIZE,
    MAX_RANGE_KEY,
    Item,
    check_item,
    item_size,
)


@dataclass(slots=True)
class Index:
    name: str
    is_global: bool
    hash_keys: tuple[str, ...]  # one attribute, or up to four for a GSI (multi-attribute keys)
    range_keys: tuple[str, ...]  # none, one, or up to four for a GSI, in key schema order
    projection: str  # ALL, KEYS_ONLY, INCLUDE
    include: tuple[str, ...] = ()
    status: str = "ACTIVE"
    status_until: float = 0.0
    # While a new GSI is backfilled: the key (spread, hk, rk) of the last item it has reached;
    # writes keep the index for items up to there (backfill.py indexes the rest)
    backfill_after: tuple[int, bytes, bytes] | None = None
    # What the index's entries are stored under (their `idx`): see `entries_key`
    key: str = ""
    key_names: tuple[str, ...] = ()  # hash_keys + range_keys

    def __post_init__(self) -> None:
        self.key_names = self.hash_keys + self.range_keys
        self.key = self.key or self.name

    def project(self, item: Item, table: Table) -> Item:
        if self.projection == "ALL":
            return item
        wanted = {*table.key_names, *self.key_names, *self.include}
        return {k: v for k, v in item.items() if k in wanted}

    def locate(self, item: Item | None) -> keys.Where | None:
        """Where `item` sits in the index, or None when it lacks a key attribute (sparse index)."""
        if item is None:
            return None
        names = self.key_names
        if len(names) <= 2 and len(self.hash_keys) == 1:  # one hash and at most one range attribute
            value = item.get(names[0])
            if value is None:
                return None
            rk = b""
            if len(names) == 2:
                other = item.get(names[1])
                if other is None:
                    return None
                rk = keys.encode(other)
            hk = keys.encode(value)
            return keys.spread(hk), hk, rk
        if any(name not in item for name in names):
            return None
        hk = keys.encode_parts([item[name] for name in self.hash_keys])
        rk = keys.encode_parts([item[name] for name in self.range_keys]) if self.range_keys else b""
        return keys.spread(hk), hk, rk

    def same_key(self, old: Item, new: Item) -> bool:
        """Whether two images have the same index key values (both lacking one counts as same)."""
        return all(old.get(name) == new.get(name) for name in self.key_names)

    def holds(self, item: Item) -> bool:
        """Whether `item` has every key attribute of the index (else it is not in this index)."""
        return all(name in item for name in self.key_names)


@dataclass(slots=True)
class Table:
    tid: int
    account: str
    region: str
    name: str
    desc: dict[str, Any]  # the stored, static part of the TableDescription
    status: str
    status_until: float
    item_count: int = 0
    size_bytes: int = 0
    hash_key: str = ""
    range_key: str | None = None
    attr_types: dict[str, str] = field(default_factory=dict)
    indexes: dict[str, Index] = field(default_factory=dict)
    # (index, attribute, type) for the index key attributes that are not table keys, in the order
    # AWS checks them (indexes by name): what check_item_keys checks beyond the table's keys
    index_keys: list[tuple[str, str, str, int]] = field(default_factory=list)  # ..., size limit
    key_names: tuple[str, ...] = ()  # (hash key, range key) or (hash key,)
    key_specs: tuple[tuple[str, str, int], ...] = ()  # per key attribute: (name, type, size limit)

    def __post_init__(self) -> None:
        self.refresh()

    def refresh(self) -> None:
        d = self.desc
        self.attr_types = {a["AttributeName"]: a["AttributeType"] for a in d["AttributeDefinitions"]}
        self.hash_key, self.range_key = split_schema(d["KeySchema"])
        self.key_names = (self.hash_key, self.range_key) if self.range_key else (self.hash_key,)
        self.key_specs = tuple(
            (name, self.attr_types[name], MAX_HASH_KEY if name == self.hash_key else MAX_RANGE_KEY)
            for name in self.key_names
        )
        self.indexes = {}
        for is_global, key in ((False, "LocalSecondaryIndexes"), (True, "GlobalSecondaryIndexes")):
            for spec in d.get(key, []):
                if spec.get("IndexStatus") == "DELETING":
                    continue  # neither read nor kept by writes: its entries are being reclaimed
                proj = spec["Projection"]
                self.indexes[spec["IndexName"]] = Index(
                    spec["IndexName"],
                    is_global,
                    *split_keys(spec["KeySchema"]),
                    proj.get("ProjectionType", "ALL"),
                    tuple(proj.get("NonKeyAttributes", ())),
                    spec.get("IndexStatus", "ACTIVE"),
                    spec.get("_until", 0.0),
                    None if spec.get("_backfill") is None else keys.position(spec["_backfill"]),
                    entries_key(spec),
                )
        self.index_keys = [
            (
                index.name,
                name,
                self.attr_types[name],
                MAX_HASH_KEY if name in index.hash_keys else MAX_RANGE_KEY,
            )
            for index in sorted(self.indexes.values(), key=lambda i: i.name)
            for name in index.key_names
            if name not in self.key_names and name in self.attr_types
        ]

    @property
    def arn(self) -> str:
        return self.desc["TableArn"]

    def key_of(self, item: Item) -> Item:
        return {k: item[k] for k in self.key_names}

    def encode_key(self, key: Item) -> tuple[int, bytes, bytes]:
        hk = keys.encode(key[self.hash_key])
        rk = keys.encode(key[self.range_key]) if self.range_key else b""
        return keys.spread(hk), hk, rk

    def stored_size(self, item: Item, size: int | None = None) -> int:
        """What counts against the 400 KB limit: the item (of `size`, when known) plus its
        projections into the table's LSIs."""
        if size is None:
            size = item_size(item)
        for index in self.indexes.values():
            if not index.is_global and index.range_keys[-1] in item:
                size += item_size(index.project(item, self))
        return size

    def too_large(self, item: Item, size: int | None = None) -> bool:
        return self.stored_size(item, size) > MAX_ITEM_SIZE

    def check_key(self, key: Item) -> None:
        """A Key parameter: exactly the key attributes, of the declared types."""
        if len(key) != len(self.key_names):
            raise key_mismatch()
        for name in self.key_names:
            value = key.get(name)
            if value is None or next(iter(value)) != self.attr_types[name]:
                raise key_mismatch()
            check_key_value(name, value, name == self.hash_key)

    def checked_key(self, key: dict[str, Any]) -> tuple[Item, tuple[int, bytes, bytes]]:
        """A Key parameter validated (`check_item`, then `check_key`) and encoded. The common shape,
        exactly the key attributes as non-empty S or B values of their declared types within their
        size limits, takes one pass; any other goes through the full checks, which word its errors."""
        if len(key) == len(self.key_names):
            parts = []
            for name, kind, limit in self.key_specs:
                value = key.get(name)
                if kind == "N" or type(value) is not dict or len(value) != 1:
                    break
                raw = value.get(kind)
                if not raw:  # missing or empty
                    break
                encoded = raw.encode("utf-8", "surrogatepass") if kind == "S" else bytes(raw)
                if len(encoded) > limit:
                    break
                parts.append(encoded)
            else:
                hk = parts[0]
                return key, (keys.spread(hk), hk, parts[1] if len(parts) > 1 else b"")
        key = check_item(key)
        self.check_key(key)
        return key, self.encode_key(key)

    def check_item_keys(self, item: Item, *, batch: bool = False) -> None:
        """An Item parameter: key attributes present and typed; index keys typed when present.

        BatchWriteItem words a missing or mistyped key as a schema mismatch."""
        for name, expected, limit in self.key_specs:
            value = item.get(name)
            raw = value.get(expected) if value is not None else None
            if not raw or (expected != "N" and _key_size(expected, raw) > limit):
                self._check_item_key(item, name, batch)  # missing, mistyped, empty or too large: raises
        for index_name, name, expected, limit in self.index_keys:
            if name in item:
                actual = next(iter(item[name]))
                if actual != expected:
                    raise invalid(
                        f"Type mismatch for Index Key {name} Expected: {expected} Actual: {actual} "
                        f"IndexName: {index_name}"
                    )
                if actual != "N" and (size := _key_size(actual, item[name][actual])) > limit:
                    raise invalid(
                        f"Size limit exceeded for Index Key {name} Actual Size: {size} bytes Max Size: "
                        f"{limit} bytes IndexName: {index_name}"
                    )
                if len(item[name][actual]) == 0:
                    raise validation(
                        "One or more parameter values are not valid. A value specified for a secondary "
                        "index key is not supported. The AttributeValue for a key attribute cannot "
                        f"contain an empty {_WORD[actual]} value. "
                        f"IndexName: {index_name}, IndexKey: {name}"
                    )

    def _check_item_key(self, item: Item, name: str, batch: bool) -> None:
        if name not in item:
            raise key_mismatch() if batch else invalid(f"Missing the key {name} in the item")
        actual = next(iter(item[name]))
        if actual != self.attr_types[name]:
            expected = self.attr_types[name]
            raise (
                key_mismatch()
                if batch
                else invalid(f"Type mismatch for key {name} expected: {expected} actual: {actual}")
            )
        check_key_value(name, item[name], name == self.hash_key)


_WORD = {"S": "string", "B": "binary", "N": "number"}


def _key_size(kind: str, raw: Any) -> int:
    """The bytes a key's S or B value counts against its size limit."""
    if kind == "S" and not raw.isascii():
        return len(raw.encode("utf-8", "surrogatepass"))
    return len(raw)


def check_key_value(name: str, value: dict[str, Any], is_hash: bool) -> None:
    ((kind, raw),) = value.items()
    if kind in ("S", "B") and len(raw) == 0:
        raise validation(
            f"One or more parameter values are not valid. The AttributeValue for a key attribute cannot "
            f"contain an "
            f"empty {_WORD[kind]} value. Key: {name}"
        )
    if kind == "S":
        size = len(raw) if raw.isascii() else len(raw.encode("utf-8", "surrogatepass"))
    else:
        size = len(raw) if kind == "B" else 0
    if is_hash and size > MAX_HASH_KEY:
        raise invalid("Size of hashkey has exceeded the maximum size limit of2048 bytes")
    if not is_hash and size > MAX_RANGE_KEY:
        raise invalid("Aggregated size of all range keys has exceeded the size limit of 1024 bytes")


def split_schema(schema: list[dict[str, str]]) -> tuple[str, str | None]:
    hash_key = next(k["AttributeName"] for k in schema if k["KeyType"] == "HASH")
    range_key = next((k["AttributeName"] for k in schema if k["KeyType"] == "RANGE"), None)
    return hash_key, range_key


def split_keys(schema: list[dict[str, str]]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A key schema's HASH attributes and RANGE attributes, each in schema order."""
    hashes = tuple(k["AttributeName"] for k in schema if k["KeyType"] == "HASH")
    return hashes, tuple(k["AttributeName"] for k in schema if k["KeyType"] == "RANGE")


def entries_key(spec: dict[str, Any]) -> str:
    """What an index's entries are stored under: its name, or for a GSI that UpdateTable added,
    the name and a random suffix (`_key`). A deleted GSI's entries are deleted in the background,
    and one of the same name may be created meanwhile; its entries must not mix with those."""
    return spec.get("_key") or spec["IndexName"]


def new_entries_key(name: str) -> str:
    """A key for a new GSI's entries: `/` cannot occur in an index name."""
    return f"{name}/{secrets.token_urlsafe(6)}"
