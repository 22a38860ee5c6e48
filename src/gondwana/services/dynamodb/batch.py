"""BatchGetItem and BatchWriteItem: limits, duplicates, unprocessed leftovers, capacity."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gondwana.services.dynamodb import capacity, codec
from gondwana.services.dynamodb.errors import validation
from gondwana.services.dynamodb.params import check_mixed, ex, finish, placeholders, projection
from gondwana.services.dynamodb.types import check_item, check_item_sized
from gondwana.services.dynamodb.writes import Change

if TYPE_CHECKING:
    from gondwana.services.dynamodb.provider import DynamoDBService
    from gondwana.services.dynamodb.schema import Table
    from gondwana.services.dynamodb.types import Item
    from gondwana.services.dynamodb.writes import Where

MAX_GET = 100
MAX_WRITE = 25
MAX_RESPONSE = 16 * 1024 * 1024


def batch_get(svc: DynamoDBService, ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    requests = p["RequestItems"]
    if sum(len(r.get("Keys", [])) for r in requests.values()) > MAX_GET:
        raise validation("Too many items requested for the BatchGetItem call")
    # one request may not mix the legacy and the expression projection, even across tables
    merged = {
        k: True for r in requests.values() for k in ("AttributesToGet", "ProjectionExpression") if k in r
    }
    check_mixed(merged, ["AttributesToGet"], ["ProjectionExpression"])
    plans = []
    for name, req in requests.items():
        table = svc.tables.require(ctx, name)
        check_mixed(req, ["AttributesToGet"], ["ProjectionExpression"])
        ph = placeholders(req, ["ProjectionExpression"])
        proj = projection(req, ph)
        finish(ph)
        keys = [check_item(k) for k in req["Keys"]]
        seen: dict[Where, None] = {}  # the encoded keys, in request order
        for key in keys:
            table.check_key(key)
            where = table.encode_key(key)
            if where in seen:
                raise validation("Provided list of item keys contains duplicates")
            seen[where] = None
        plans.append((name, table, keys, list(seen), proj, req))
    responses: dict[str, list[Any]] = {}
    unprocessed: dict[str, Any] = {}
    consumed = []
    total = 0
    raw = codec.wire(ctx)
    for name, table, keys, wheres, proj, req in plans:
        found = responses.setdefault(name, [])
        whole = raw and proj is None
        units = 0.0
        for n, where in enumerate(wheres):
            if total >= MAX_RESPONSE:
                left = {k: v for k, v in req.items() if k != "Keys"}
                unprocessed[name] = {**left, "Keys": keys[n:]}
                break
            if whole:  # its stored text is its wire form
                text, size = svc.writer.read_text(table, where)
                item = None if text is None else codec.raw(text)
            else:
                item, size = svc.writer.read(table, where)
            units += capacity.read_units(size, bool(req.get("ConsistentRead")))  # a miss costs a read too
            if item is None:
                continue
            total += size
            found.append(ex().project(proj, item) if proj is not None else item)
        cc = capacity.consumed(p.get("ReturnConsumedCapacity"), table, units, read=True)
        if cc:
            consumed.append(cc)
    out: dict[str, Any] = {"Responses": responses, "UnprocessedKeys": unprocessed}
    if consumed:
        out["ConsumedCapacity"] = consumed
    return out


_Planned = list[tuple["Where", "Item | None", "int | None"]]


def _unheld(
    svc: DynamoDBService,
    requests: dict[str, list[Any]],
    plans: list[tuple[Table, _Planned]],
    unprocessed: dict[str, list[Any]],
) -> list[tuple[Table, _Planned]]:
    """The writes no transaction holds; the others are not applied and come back in
    UnprocessedItems. Each write of a batch is serializable with transactions, and BatchWriteItem has
    no TransactionConflictException: a write that cannot go ahead is left for the caller to resend."""
    kept = []
    for (name, writes), (table, planned) in zip(requests.items(), plans, strict=True):
        free = []
        for write, plan in zip(writes, planned, strict=True):
            if svc.locks.is_held(table.tid, plan[0]):
                unprocessed.setdefault(name, []).append(write)
            else:
                free.append(plan)
        kept.append((table, free))
    return kept


def batch_write(svc: DynamoDBService, ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    requests = p["RequestItems"]
    if sum(len(r) for r in requests.values()) > MAX_WRITE:
        raise validation("Too many items requested for the BatchWriteItem call")
    plans: list[tuple[Table, _Planned]] = []
    for name, writes in requests.items():
        table = svc.tables.require(ctx, name)
        planned = []
        seen = set()
        for write in writes:
            put, delete = write.get("PutRequest"), write.get("DeleteRequest")
            if (put is None) == (delete is None):
                raise validation("A WriteRequest must contain exactly one of PutRequest or DeleteRequest")
            if put is not None:
                item, size = check_item_sized(put["Item"])
                table.check_item_keys(item, batch=True)
                if table.too_large(item, size):
                    raise validation("Item size has exceeded the maximum allowed size")
                where = table.encode_key(item)
            else:
                item, size = None, None
                key = check_item(delete["Key"])
                table.check_key(key)
                where = table.encode_key(key)
            if where in seen:
                raise validation("Provided list of item keys contains duplicates")
            seen.add(where)
            planned.append((where, item, size))
        plans.append((table, planned))
    unprocessed: dict[str, list[Any]] = {}
    if svc.locks.held:  # a transaction in progress holds some item
        plans = _unheld(svc, requests, plans, unprocessed)
    units: dict[str, tuple[Table, float, dict[str, float]]] = {}  # by name: a name and an ARN may meet
    now = svc.runtime.now()
    with svc.runtime.store.transaction():
        for table, planned in plans:
            if not planned:
                continue
            stored = svc.writer.read_many(table, [where for where, _, _ in planned])
            changes = []
            for where, new, size in planned:
                old, old_size = stored.get(where, (None, 0))
                changes.append(Change(old, new, where, old_size, size))
            last = len(plans) == 1  # one table: nothing can fail after its writes
            used, idx = svc.writer.apply_many(table, changes, now=now, region=ctx.region, last=last)
            _, total, per_index = units.get(table.name, (table, 0.0, {}))
            for k, v in idx.items():
                per_index[k] = per_index.get(k, 0.0) + v
            units[table.name] = (table, total + used, per_index)
    out: dict[str, Any] = {"UnprocessedItems": unprocessed}
    consumed = [
        cc
        for table, total, per_index in units.values()
        if (cc := capacity.consumed(p.get("ReturnConsumedCapacity"), table, total, per_index))
    ]
    if consumed:
        out["ConsumedCapacity"] = consumed
    if p.get("ReturnItemCollectionMetrics") == "SIZE":
        out["ItemCollectionMetrics"] = {}
    return out
