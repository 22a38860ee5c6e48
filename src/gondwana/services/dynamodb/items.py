"""PutItem, GetItem, UpdateItem, DeleteItem: validation, conditions, ReturnValues, capacity."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gondwana.services.dynamodb import capacity, codec
from gondwana.services.dynamodb.errors import condition_failed, invalid, validation
from gondwana.services.dynamodb.params import (
    check_mixed,
    condition,
    ex,
    finish,
    parse,
    placeholders,
    projection,
)
from gondwana.services.dynamodb.types import check_item_sized, item_size
from gondwana.services.dynamodb.writes import Change

if TYPE_CHECKING:
    from gondwana.services.dynamodb.provider import DynamoDBService
    from gondwana.services.dynamodb.schema import Table
    from gondwana.services.dynamodb.types import Item

_COND = ["ConditionExpression"]
# A GetItem or PutItem with none of the other members has no projection, condition or expression
# maps to check.
_PLAIN_GET = frozenset(("TableName", "Key", "ConsistentRead", "ReturnConsumedCapacity"))
_PLAIN_PUT = frozenset(
    ("TableName", "Item", "ReturnValues", "ReturnConsumedCapacity", "ReturnItemCollectionMetrics")
)


def check_return_values(p: dict[str, Any], allowed: tuple[str, ...]) -> str:
    rv = p.get("ReturnValues") or "NONE"
    if rv not in allowed:
        raise validation("ReturnValues can only be ALL_OLD or NONE")
    return rv


def collection_metrics(
    p: dict[str, Any], table: Table, key: Item, svc: DynamoDBService
) -> dict[str, Any] | None:
    """ItemCollectionMetrics when asked for and the table has an LSI; `key` may be the whole item."""
    if p.get("ReturnItemCollectionMetrics") != "SIZE" or not any(
        not i.is_global for i in table.indexes.values()
    ):
        return None
    hash_value = key[table.hash_key]
    size = svc.writer.collection_size(table, hash_value)
    gb = size / (1024**3)
    return {"ItemCollectionKey": {table.hash_key: hash_value}, "SizeEstimateRangeGB": [gb, gb + 1.0]}


def failed(p: dict[str, Any], old: Item | None) -> Exception:
    if p.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and old is not None:
        return condition_failed(old)
    return condition_failed()


def put_item(svc: DynamoDBService, ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    table = svc.tables.require(ctx, p["TableName"])
    plain = p.keys() <= _PLAIN_PUT
    if not plain:
        check_mixed(p, ["Expected"], _COND)
    rv = check_return_values(p, ("NONE", "ALL_OLD"))
    ph = None if plain else placeholders(p, _COND)
    item, size = check_item_sized(p["Item"])
    table.check_item_keys(item)
    if table.too_large(item, size):
        raise validation("Item size has exceeded the maximum allowed size")
    cond = None if plain else condition(p, ph)
    finish(ph)
    where = table.encode_key(item)
    if svc.locks.held:  # a transaction in progress holds some item
        svc.locks.check(table.tid, where)
    writer, now = svc.writer, svc.runtime.now()
    with svc.writer.unit(table):  # read, check and write as one unit (a failure writes nothing)
        # Without a condition, a new item needs no read: the insert tells whether one was there.
        done, old = None, None
        if cond is None:
            done = writer.put_new(table, item, where, size, now=now, region=ctx.region)
        if done is None:
            old, old_size = writer.read(table, where)
            if cond is not None and not ex().evaluate(cond, old):
                raise failed(p, old)
            change = Change(old, item, where, old_size, size)
            done = writer.apply_many(table, (change,), now=now, region=ctx.region, last=True)
    units, idx = done
    out: dict[str, Any] = {}
    if rv == "ALL_OLD" and old is not None:
        out["Attributes"] = old
    cc = capacity.consumed(p.get("ReturnConsumedCapacity"), table, units, idx)
    if cc:
        out["ConsumedCapacity"] = cc
    icm = collection_metrics(p, table, item, svc)
    if icm:
        out["ItemCollectionMetrics"] = icm
    return out


def get_item(svc: DynamoDBService, ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    table = svc.tables.require(ctx, p["TableName"])
    plain = p.keys() <= _PLAIN_GET
    ph = None
    if not plain:
        check_mixed(p, ["AttributesToGet"], ["ProjectionExpression"])
        ph = placeholders(p, ["ProjectionExpression"])
    _, where = table.checked_key(p["Key"])
    proj = None if plain else projection(p, ph)
    finish(ph)
    out: dict[str, Any] = {}
    if proj is None and codec.wire(ctx):  # the whole item: its stored text is its wire form
        text, size = svc.writer.read_text(table, where)
        if text is not None:
            out["Item"] = codec.raw(text)
    else:
        item, size = svc.writer.read(table, where)
        if item is not None:
            out["Item"] = ex().project(proj, item) if proj is not None else item
    mode = p.get("ReturnConsumedCapacity")
    if mode is not None:
        units = capacity.read_units(size, bool(p.get("ConsistentRead")))
        cc = capacity.consumed(mode, table, units, read=True)
        if cc:
            out["ConsumedCapacity"] = cc
    return out


def delete_item(svc: DynamoDBService, ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    table = svc.tables.require(ctx, p["TableName"])
    check_mixed(p, ["Expected"], _COND)
    rv = check_return_values(p, ("NONE", "ALL_OLD"))
    ph = placeholders(p, _COND)
    key, where = table.checked_key(p["Key"])
    cond = condition(p, ph)
    finish(ph)
    if svc.locks.held:  # a transaction in progress holds some item
        svc.locks.check(table.tid, where)
    old, old_size = svc.writer.read(table, where)
    if cond is not None and not ex().evaluate(cond, old):
        raise failed(p, old)
    idx: dict[str, float] = {}
    if old is not None:
        with svc.writer.unit(table):
            change = Change(old, None, where, old_size)
            now = svc.runtime.now()
            idx = svc.writer.apply_many(table, (change,), now=now, region=ctx.region, last=True)[1]
    out: dict[str, Any] = {}
    if rv == "ALL_OLD" and old is not None:
        out["Attributes"] = old
    cc = capacity.consumed(p.get("ReturnConsumedCapacity"), table, capacity.write_units(old_size), idx)
    if cc:
        out["ConsumedCapacity"] = cc
    icm = collection_metrics(p, table, key, svc)
    if icm:
        out["ItemCollectionMetrics"] = icm
    return out


def updated(update: Any, old: Item | None, new: Item) -> tuple[Item, Item]:
    """What the update wrote, path by path (a.b, not all of a): (old values, new values)."""
    if update is None:
        return {}, {}
    written = update.updated_projection()
    return ex().project(written, old or {}), ex().project(written, new)


def build_update(table: Table, p: dict[str, Any], ph: Any) -> Any:
    update = None
    if p.get("UpdateExpression") is not None:
        update = parse("parse_update", p["UpdateExpression"], ph)
    elif p.get("AttributeUpdates"):
        update = ex().update_from_attribute_updates(p["AttributeUpdates"])
    if update is not None:
        for name in table.key_names:
            if name in update.modified_attributes():
                raise invalid(f"Cannot update attribute {name}. This attribute is part of the key")
    return update


def new_image(table: Table, key: Item, old: Item | None, update: Any) -> tuple[Item, int]:
    """The item after the update, and its size."""
    base = old if old is not None else dict(key)
    new = ex().apply_update(update, base, exists=old is not None) if update is not None else dict(base)
    for name in table.key_names:
        if new.get(name) != key[name]:
            raise invalid(f"Cannot update attribute {name}. This attribute is part of the key")
    table.check_item_keys(new)
    size = item_size(new)
    if table.too_large(new, size):
        raise validation("Item size to update has exceeded the maximum allowed size")
    return new, size


def update_item(svc: DynamoDBService, ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    table = svc.tables.require(ctx, p["TableName"])
    check_mixed(p, ["AttributeUpdates", "Expected"], ["UpdateExpression", "ConditionExpression"])
    rv = p.get("ReturnValues") or "NONE"
    ph = placeholders(p, ["UpdateExpression", "ConditionExpression"])
    key, where = table.checked_key(p["Key"])
    update = build_update(table, p, ph)
    cond = condition(p, ph)
    finish(ph)
    if svc.locks.held:  # a transaction in progress holds some item
        svc.locks.check(table.tid, where)
    with svc.writer.unit(table):  # read, check and write as one unit (a failure writes nothing)
        old, old_size = svc.writer.read(table, where)
        if cond is not None and not ex().evaluate(cond, old):
            raise failed(p, old)
        new, new_size = new_image(table, key, old, update)
        change = Change(old, new, where, old_size, new_size)
        now = svc.runtime.now()
        units, idx = svc.writer.apply_many(table, (change,), now=now, region=ctx.region, last=True)
    out: dict[str, Any] = {}
    if rv == "ALL_OLD" and old is not None:
        out["Attributes"] = old
    elif rv == "ALL_NEW":
        out["Attributes"] = new
    elif rv in ("UPDATED_OLD", "UPDATED_NEW"):
        before, after = updated(update, old, new)
        chosen = before if rv == "UPDATED_OLD" else after
        if chosen:
            out["Attributes"] = chosen
    cc = capacity.consumed(p.get("ReturnConsumedCapacity"), table, units, idx)
    if cc:
        out["ConsumedCapacity"] = cc
    icm = collection_metrics(p, table, key, svc)
    if icm:
        out["ItemCollectionMetrics"] = icm
    return out
