"""Query and Scan: key order, ExclusiveStartKey/LastEvaluatedKey, Limit and the 1 MB page (both
counted before filtering), Select, projections, and parallel scan segments."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from gondwana.services.dynamodb import capacity, codec, keys
from gondwana.services.dynamodb.errors import invalid, validation
from gondwana.services.dynamodb.params import check_mixed, ex, finish, parse, placeholders, projection
from gondwana.services.dynamodb.types import check_item

if TYPE_CHECKING:
    from gondwana.services.dynamodb.provider import DynamoDBService
    from gondwana.services.dynamodb.schema import Index, Table
    from gondwana.services.dynamodb.types import Item

PAGE_BYTES = 1024 * 1024
_QUERY_EXPR = ["KeyConditionExpression", "FilterExpression", "ProjectionExpression"]
_SCAN_EXPR = ["FilterExpression", "ProjectionExpression"]


def _index(table: Table, p: dict[str, Any], consistent: bool) -> Index | None:
    name = p.get("IndexName")
    if name is None:
        return None
    index = table.indexes.get(name)
    if index is None:
        raise validation(f"The table does not have the specified index: {name}")
    if index.is_global and consistent:
        raise validation("Consistent reads are not supported on global secondary indexes")
    if index.status == "CREATING":
        raise validation(f"Cannot read from backfilling global secondary index: {name}")
    return index


def _select(p: dict[str, Any], index: Index | None, proj: Any) -> str:
    select = p.get("Select")
    attrs = "AttributesToGet" if p.get("AttributesToGet") is not None else "ProjectionExpression"
    if select is None:
        if proj is not None:
            return "SPECIFIC_ATTRIBUTES"
        return "ALL_PROJECTED_ATTRIBUTES" if index is not None else "ALL_ATTRIBUTES"
    if select == "ALL_PROJECTED_ATTRIBUTES" and index is None:
        raise validation("ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName")
    if select == "SPECIFIC_ATTRIBUTES" and proj is None:
        raise validation(
            "Must specify the AttributesToGet or ProjectionExpression "
            "when choosing to get SPECIFIC_ATTRIBUTES"
        )
    if select != "SPECIFIC_ATTRIBUTES" and proj is not None:
        what = "only the Count" if select == "COUNT" else select
        raise validation(f"Cannot specify the {attrs} when choosing to get {what}")
    if select == "ALL_ATTRIBUTES" and index is not None and index.is_global and index.projection != "ALL":
        raise invalid(
            f"Select type ALL_ATTRIBUTES is not supported for global secondary index {index.name} "
            f"because its "
            "projection type is not ALL"
        )
    return select


def _key_schema(table: Table, index: Index | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The HASH and RANGE attributes that order what a Query or Scan reads."""
    if index is not None:
        return index.hash_keys, index.range_keys
    return (table.hash_key,), (table.range_key,) if table.range_key else ()


def _start(table: Table, index: Index | None, p: dict[str, Any]) -> tuple[Any, ...] | None:
    """ExclusiveStartKey as a position: (spread, hk, rk) for the table, plus (bhk, brk) for an index."""
    raw = p.get("ExclusiveStartKey")
    if raw is None:
        return None
    esk = check_item(raw)
    wanted = _key_names(table, index)
    if set(esk) != set(wanted) or any(next(iter(esk[k])) != table.attr_types[k] for k in wanted):
        raise validation(
            "The provided starting key is invalid: The provided key element does not match the schema"
        )
    spread, bhk, brk = table.encode_key(esk)
    if index is None:
        return spread, bhk, brk
    return *index.locate(esk), bhk, brk  # type: ignore[misc]


def _key_names(table: Table, index: Index | None) -> list[str]:
    """What a LastEvaluatedKey holds: the table's key, and the index's key attributes."""
    names = list(table.key_names)
    if index is not None:
        names += [k for k in index.key_names if k not in names]
    return names


def _lek(table: Table, index: Index | None, item: Item) -> Item:
    return {k: item[k] for k in _key_names(table, index)}


def _take(rows: Iterator[tuple[str, int]], limit: int | None) -> tuple[list[str], int, bool]:
    """The stored items a page reads: up to Limit, stopping once 1 MB is read (both counted before
    any filter). Returns their texts, their total size and whether the range was exhausted."""
    cap = limit if limit is not None else -1
    texts: list[str] = []
    total = 0
    for text, size in rows:
        if len(texts) == cap or total >= PAGE_BYTES:
            return texts, total, False
        texts.append(text)
        total += size
    return texts, total, True


def _page(
    svc: DynamoDBService,
    table: Table,
    index: Index | None,
    rows: Iterator[tuple[str, int]],
    p: dict[str, Any],
    filt: Any,
    proj: Any,
    select: str,
    consistent: bool,
    raw: bool,
) -> dict[str, Any]:
    texts, total, exhausted = _take(rows, p.get("Limit"))
    scanned = len(texts)
    fetch = index is not None and not index.is_global and index.projection != "ALL"
    fetch = fetch and select == "ALL_ATTRIBUTES"  # an LSI lacking attributes reads the table's item
    found: Any
    if filt is None and proj is None and not fetch:
        # Whole items, none dropped: a JSON response takes their stored text as it is, and only the
        # last is decoded (for LastEvaluatedKey).
        found = codec.raw(f"[{','.join(texts)}]") if raw else list(map(codec.loads, texts))
        last = codec.loads(texts[-1]) if texts and not exhausted else None
        count = scanned
    else:
        found = list(map(codec.loads, texts))
        last = found[-1] if found else None
        if filt is not None:
            evaluate = ex().evaluate
            found = [item for item in found if evaluate(filt, item)]
        count = len(found)
        if fetch:
            found = [svc.writer.get(table, table.key_of(item)) or item for item in found]
        if proj is not None:
            project = ex().project
            found = [project(proj, item) for item in found]
    out: dict[str, Any] = {"Count": count, "ScannedCount": scanned}
    if select != "COUNT":
        out["Items"] = found
    if not exhausted and last is not None:
        out["LastEvaluatedKey"] = _lek(table, index, last)
    units = capacity.read_units(total, consistent)
    mode = p.get("ReturnConsumedCapacity")
    if index is None:
        cc = capacity.consumed(mode, table, units, read=True)
    else:  # reads of an index are charged to the index
        cc = capacity.consumed(mode, table, 0.0, {index.name: units}, read=True)
    if cc:
        out["ConsumedCapacity"] = cc
    return out


def query(svc: DynamoDBService, ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    table = svc.tables.require(ctx, p["TableName"])
    consistent = bool(p.get("ConsistentRead"))
    index = _index(table, p, consistent)
    check_mixed(p, ["KeyConditions", "QueryFilter", "AttributesToGet"], _QUERY_EXPR)
    if p.get("KeyConditions") is None and p.get("KeyConditionExpression") is None:
        raise validation(
            "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request."
        )
    ph = placeholders(p, _QUERY_EXPR)
    hash_keys, range_keys = _key_schema(table, index)
    if p.get("KeyConditionExpression") is not None:
        kc = parse("parse_key_condition", p["KeyConditionExpression"], ph, hash_keys, range_keys)
    else:
        kc = ex().key_condition_from_legacy(p["KeyConditions"], hash_keys, range_keys)
    filt = None
    if p.get("FilterExpression") is not None:
        filt = parse("parse_condition", p["FilterExpression"], ph, "FilterExpression")
    else:
        ex().check_conditional_operator(p.get("QueryFilter"), p.get("ConditionalOperator"))
    if filt is None and p.get("QueryFilter"):
        filt = ex().condition_from_filter(p["QueryFilter"], p.get("ConditionalOperator"))
    proj = projection(p, ph)
    finish(ph)
    if filt is not None:
        for name in (*hash_keys, *range_keys):
            if name in filt.attribute_names():
                if p.get("QueryFilter"):
                    raise validation(
                        f"QueryFilter can only contain non-key attributes: Primary key attribute: {name}"
                    )
                raise validation(
                    f"Filter Expression can only contain non-primary key attributes: Primary key "
                    f"attribute: {name}"
                )
    select = _select(p, index, proj)
    conditioned = list(zip(hash_keys, kc.hash_values, strict=True))
    conditioned += [(name, value) for name, _, values in kc.ranges for value in values]
    if any(next(iter(value)) != table.attr_types[name] for name, value in conditioned):
        raise invalid("Condition parameter type does not match schema type")
    hk = keys.encode_parts(list(kc.hash_values))
    spread = keys.spread(hk)
    forward = p.get("ScanIndexForward", True)
    where = ["tid = ?", "spread = ?", "hk = ?"]
    args: list[Any] = [table.tid, spread, hk]
    if index is not None:
        where.insert(1, "idx = ?")
        args.insert(1, index.key)
    bounds = keys.sort_bounds(kc.ranges, len(range_keys))
    low, low_in, high, high_in = bounds
    if low is not None:
        where.append(f"rk {'>=' if low_in else '>'} ?")
        args.append(low)
    if high is not None:
        where.append(f"rk {'<=' if high_in else '<'} ?")
        args.append(high)
    start = _start(table, index, p)
    order = "rk" if index is None else "rk, bhk, brk"
    if start is not None:
        if start[1] != hk or not keys.within(bounds, start[2]):
            raise validation(
                "The provided starting key is outside query boundaries based on provided conditions"
            )
        cmp = ">" if forward else "<"
        if index is None:
            where.append(f"rk {cmp} ?")
            args.append(start[2])
        else:
            where.append(f"(rk, bhk, brk) {cmp} (?, ?, ?)")
            args += [start[2], start[3], start[4]]
    if not forward:
        order = ", ".join(f"{c} DESC" for c in order.split(", "))
    source = "dynamodb_items" if index is None else "dynamodb_index_items"
    sql = f"SELECT item, size FROM {source} WHERE {' AND '.join(where)} ORDER BY {order}"
    rows = svc.runtime.store.iterate(sql, args)
    return _page(svc, table, index, rows, p, filt, proj, select, consistent, codec.wire(ctx))


def scan(svc: DynamoDBService, ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    table = svc.tables.require(ctx, p["TableName"])
    consistent = bool(p.get("ConsistentRead"))
    index = _index(table, p, consistent)
    segment, total = p.get("Segment"), p.get("TotalSegments")
    if segment is not None and total is None:
        raise validation(
            "The TotalSegments parameter is required but was not present in the request when "
            "Segment parameter is present"
        )
    if total is not None and segment is None:
        raise validation(
            "The Segment parameter is required but was not present in the request when parameter "
            "TotalSegments is present"
        )
    if segment is not None and segment >= total:
        raise validation(
            f"The Segment parameter is zero-based and must be less than parameter TotalSegments: "
            f"Segment: {segment} is not less than TotalSegments: {total}"
        )
    check_mixed(p, ["ScanFilter", "AttributesToGet"], _SCAN_EXPR)
    ph = placeholders(p, _SCAN_EXPR)
    filt = None
    if p.get("FilterExpression") is not None:
        filt = parse("parse_condition", p["FilterExpression"], ph, "FilterExpression")
    else:
        ex().check_conditional_operator(p.get("ScanFilter"), p.get("ConditionalOperator"))
    if filt is None and p.get("ScanFilter"):
        filt = ex().condition_from_filter(p["ScanFilter"], p.get("ConditionalOperator"))
    proj = projection(p, ph)
    finish(ph)
    select = _select(p, index, proj)
    where = ["tid = ?"]
    args: list[Any] = [table.tid]
    if index is not None:
        where.append("idx = ?")
        args.append(index.key)
    if total is not None:
        lo, hi = keys.segment_bounds(segment, total)
        where.append("spread >= ? AND spread < ?")
        args += [lo, hi]
    start = _start(table, index, p)
    if start is not None and total is not None and not lo <= start[0] < hi:
        raise validation(
            "The provided Exclusive start key does not map to the provided Segment and TotalSegments values."
        )
    if start is not None:
        if index is None:
            where.append("(spread, hk, rk) > (?, ?, ?)")
        else:
            where.append("(spread, hk, rk, bhk, brk) > (?, ?, ?, ?, ?)")
        args += list(start)
    order = "spread, hk, rk" if index is None else "spread, hk, rk, bhk, brk"
    source = "dynamodb_items" if index is None else "dynamodb_index_items"
    sql = f"SELECT item, size FROM {source} WHERE {' AND '.join(where)} ORDER BY {order}"
    rows = svc.runtime.store.iterate(sql, args)
    return _page(svc, table, index, rows, p, filt, proj, select, consistent, codec.wire(ctx))
