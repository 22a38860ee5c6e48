"""ExecuteStatement, BatchExecuteStatement and ExecuteTransaction on top of the PartiQL translation."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

from gondwana.protocols.errors import ServiceError
from gondwana.services.dynamodb import codec, items, keys
from gondwana.services.dynamodb.errors import condition_failed, validation
from gondwana.services.dynamodb.locks import CONFLICT_REASON
from gondwana.services.dynamodb.params import ex
from gondwana.services.dynamodb.partiql import parse
from gondwana.services.dynamodb.partiql_tokens import Statement
from gondwana.services.dynamodb.query import PAGE_BYTES
from gondwana.services.dynamodb.replication import strong
from gondwana.services.dynamodb.transactions import (
    cancelled,
    digest,
    distinct_items,
    refuse_held,
    remember,
    replayed,
    still_there,
)
from gondwana.services.dynamodb.types import check_item

if TYPE_CHECKING:
    from gondwana.services.dynamodb.provider import DynamoDBService
    from gondwana.services.dynamodb.schema import Table
    from gondwana.services.dynamodb.types import Item


class Plan:
    """One parsed statement bound to its table, with its condition/update/projection objects."""

    def __init__(self, svc: DynamoDBService, ctx: Any, text: str, parameters: list[Any] | None) -> None:
        self.st: Statement = parse(text, parameters)
        self.table: Table = svc.tables.require(ctx, self.st.table)
        st = self.st
        ph = ex().Placeholders(st.names or None, st.values or None)
        self.cond = ex().parse_condition(st.where, ph) if st.where else None
        self.proj = ex().parse_projection(", ".join(st.projection), ph) if st.projection else None
        self.update = ex().parse_update(st.update, ph) if st.update else None
        if st.index is not None:
            self._check_index()
        self.key: Item | None = None
        if st.kind == "INSERT":
            item = check_item(st.item or {})
            self.table.check_item_keys(item)
            if self.table.too_large(item):
                raise validation("Item size has exceeded the maximum allowed size")
            self.item = item
            self.key = self.table.key_of(item)
        elif st.kind in ("UPDATE", "DELETE", "EXISTS"):
            self.key = self.full_key()
            if self.key is None:
                raise validation("Where clause does not contain a mandatory equality on all key attributes")
            self.table.check_key(self.key)

    def _check_index(self) -> None:
        index = self.table.indexes.get(self.st.index or "")
        if index is None:
            raise validation("The table does not have the specified index")
        if index.projection == "ALL":
            return
        projected = {*self.table.key_names, *index.key_names, *index.include}
        if self.cond is not None:
            missing = sorted(self.cond.attribute_names() - projected)
            if missing:
                raise validation(
                    f"One or more parameter values were invalid: Secondary index {index.name} does not "
                    f"project "
                    f"one or more filter attributes: [{', '.join(missing)}]"
                )
        if self.proj is not None:
            wanted = [self.st.names[p.split(".")[0].split("[")[0]] for p in self.st.projection or []]
            missing = [w for w in dict.fromkeys(wanted) if w not in projected]
            if missing:
                kind = "Global" if index.is_global else "Local"
                raise validation(
                    f"One or more parameter values were invalid: {kind} secondary index {index.name} "
                    f"does not "
                    f"project [{', '.join(missing)}]"
                )

    def full_key(self) -> Item | None:
        eq = self.st.key_equalities
        if all(k in eq for k in self.table.key_names):
            return {k: eq[k] for k in self.table.key_names}
        return None

    def outcome(self, svc: DynamoDBService) -> tuple[Item | None, Item | None]:
        """(old, new) for a write; raises the error AWS reports when it cannot apply."""
        assert self.key is not None
        old = svc.writer.get(self.table, self.key)
        if self.st.kind == "INSERT":
            if old is not None:
                raise ServiceError("DuplicateItemException", "Duplicate primary key exists in table")
            return None, self.item
        if old is None and self.st.kind == "DELETE":
            return None, None  # nothing to delete: no error, and the WHERE is not evaluated
        if old is None or (self.cond is not None and not ex().evaluate(self.cond, old)):
            raise condition_failed()  # UPDATE is no upsert: it needs the item
        if self.st.kind == "EXISTS":
            return None, None  # the check held: nothing to write
        if self.st.kind == "DELETE":
            return old, None
        return old, items.new_image(self.table, self.key, old, self.update)[0]

    def returned(self, old: Item | None, new: Item | None) -> list[Item]:
        which = self.st.returning
        if which is None:
            return []
        if which == "ALL_OLD":
            return [old] if old else []
        if which == "ALL_NEW":
            return [new] if new else []
        before, after = items.updated(self.update, old, new or {})
        return [before if which == "UPDATED_OLD" else after]


def _token(position: tuple[Any, ...]) -> str:
    raw = [p.hex() if isinstance(p, bytes) else p for p in position]
    return base64.b64encode(json.dumps(raw).encode()).decode()


def _position(token: str) -> list[Any]:
    try:
        raw = json.loads(base64.b64decode(token))
        return [raw[0], *(bytes.fromhex(p) for p in raw[1:])]
    except (ValueError, TypeError, IndexError):
        raise validation("Invalid NextToken") from None


def _select(svc: DynamoDBService, plan: Plan, limit: int | None, token: str | None) -> dict[str, Any]:
    table, st = plan.table, plan.st
    index = table.indexes.get(st.index) if st.index else None
    hash_keys = index.hash_keys if index else (table.hash_key,)
    columns = "spread, hk, rk" if index is None else "spread, hk, rk, bhk, brk"
    where, args = ["tid = ?"], [table.tid]
    if index is not None:
        where.append("idx = ?")
        args.append(index.key)
    if all(name in st.key_equalities for name in hash_keys):  # one partition: read it alone
        hk = keys.encode_parts([st.key_equalities[name] for name in hash_keys])
        where += ["spread = ?", "hk = ?"]
        args += [keys.spread(hk), hk]
    if token:
        marks = ", ".join("?" * len(columns.split(", ")))
        where.append(f"({columns}) > ({marks})")
        args += _position(token)
    source = "dynamodb_items" if index is None else "dynamodb_index_items"
    sql = f"SELECT item, size, {columns} FROM {source} WHERE {' AND '.join(where)} ORDER BY {columns}"
    found: list[Item] = []
    total = 0
    last = None
    for scanned, row in enumerate(svc.runtime.store.iterate(sql, args)):
        if (limit is not None and scanned >= limit) or total >= PAGE_BYTES:
            return {"Items": found, "NextToken": _token(last)}  # type: ignore[arg-type]
        item = codec.loads(row[0])
        total += row[1]
        last = tuple(row[2:])
        if plan.cond is None or ex().evaluate(plan.cond, item):
            found.append(ex().project(plan.proj, item) if plan.proj is not None else item)
    return {"Items": found}


def _outside_transactions(plan: Plan) -> Plan:
    if plan.st.kind == "EXISTS":
        raise validation("EXISTS can only be used within ExecuteTransaction")
    return plan


def execute_statement(svc: DynamoDBService, ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    plan = _outside_transactions(Plan(svc, ctx, p["Statement"], p.get("Parameters")))
    if plan.st.kind == "SELECT":
        index = plan.table.indexes.get(plan.st.index or "")
        if p.get("ConsistentRead") and index is not None and index.is_global:
            raise validation("Strongly consistent read is not supported on Global Secondary Indexes")
        return _select(svc, plan, p.get("Limit"), p.get("NextToken"))
    if svc.locks.held and plan.key is not None:  # a transaction in progress holds some item
        svc.locks.check(plan.table.tid, plan.table.encode_key(plan.key))
    try:
        old, new = plan.outcome(svc)
    except ServiceError as err:
        if (
            err.code == "ConditionalCheckFailedException"
            and p.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD"
        ):
            current = svc.writer.get(plan.table, plan.key) if plan.key else None
            if current is not None:
                raise condition_failed(current) from None
        raise
    with svc.runtime.store.transaction():
        svc.writer.apply(plan.table, old, new, now=svc.runtime.now(), region=ctx.region)
    return {"Items": plan.returned(old, new)}


def _error(err: ServiceError) -> dict[str, Any]:
    return {"Code": err.code.removesuffix("Exception"), "Message": err.message or err.code}


def batch_execute_statement(svc: DynamoDBService, ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    statements = p["Statements"]
    plans: list[Plan | ServiceError] = []
    for s in statements:
        try:
            plans.append(_outside_transactions(Plan(svc, ctx, s["Statement"], s.get("Parameters"))))
        except ServiceError as err:
            if err.code != "ResourceNotFoundException":
                raise
            plans.append(err)
    kinds = {pl.st.kind == "SELECT" for pl in plans if isinstance(pl, Plan)}
    if len(kinds) > 1:
        raise validation("Batch must consist of either all read statements or all write statements")
    responses: list[dict[str, Any]] = []
    for s, plan in zip(statements, plans, strict=True):
        if isinstance(plan, ServiceError):
            responses.append({"Error": _error(plan)})
            continue
        entry: dict[str, Any] = {"TableName": plan.table.name}
        if plan.st.kind == "SELECT":
            key = plan.full_key()
            if key is None:
                raise validation(
                    "Select statements within BatchExecuteStatement must specify the full primary key"
                )
            item = svc.writer.get(plan.table, key)
            if item is not None and (plan.cond is None or ex().evaluate(plan.cond, item)):
                entry["Item"] = ex().project(plan.proj, item) if plan.proj is not None else item
        elif plan.key is not None and svc.locks.is_held(plan.table.tid, plan.table.encode_key(plan.key)):
            entry["Error"] = dict(CONFLICT_REASON)
        else:
            try:
                old, new = plan.outcome(svc)
            except ServiceError as err:
                entry["Error"] = _error(err)
                if s.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and plan.key is not None:
                    current = svc.writer.get(plan.table, plan.key)
                    if current is not None:
                        entry["Error"]["Item"] = current
            else:
                with svc.runtime.store.transaction():
                    svc.writer.apply(plan.table, old, new, now=svc.runtime.now(), region=ctx.region)
        responses.append(entry)
    return {"Responses": responses}


def execute_transaction(svc: DynamoDBService, ctx: Any, p: dict[str, Any]) -> Any:
    """Like TransactWriteItems / TransactGetItems, held for --transaction-duration when it writes."""
    token = p.get("ClientRequestToken")
    fingerprint = digest(p["TransactStatements"])
    plans = [Plan(svc, ctx, s["Statement"], s.get("Parameters")) for s in p["TransactStatements"]]
    for n, plan in enumerate(plans):
        if plan.st.returning is not None:
            raise validation(
                f"Validation failed in TransactStatements[{n}]: RETURNING clause is not supported in "
                f"ExecuteTransaction."
            )
        if plan.st.index is not None:
            raise validation(
                f"Validation failed in TransactStatements[{n}]: Reads on indices are not supported "
                f"within transactions."
            )
    reads = {pl.st.kind == "SELECT" for pl in plans}
    if len(reads) > 1:
        raise validation("Transaction must consist of either all read statements or all write statements")

    def item_of(plan: Plan) -> tuple[Any, ...]:
        strong.refuse_transaction(plan.table)
        key = plan.key if plan.st.kind != "SELECT" else plan.full_key()
        if key is None:
            raise validation("Select statements within ExecuteTransaction must specify the full primary key")
        return (plan.table.tid, *plan.table.encode_key(key))

    seen = distinct_items(map(item_of, plans))  # lazily: each statement refused or named in turn
    if reads == {True}:
        refuse_held(svc, seen)
        out = []
        for plan in plans:
            item = svc.writer.get(plan.table, plan.full_key())  # type: ignore[arg-type]
            ok = item is not None and (plan.cond is None or ex().evaluate(plan.cond, item))
            out.append(
                {"Item": ex().project(plan.proj, item) if plan.proj is not None else item} if ok else {}
            )
        return {"Responses": out}
    svc.locks.in_progress(ctx, token, fingerprint)
    if replayed(svc, ctx, token, fingerprint):
        return {"Responses": []}
    reasons, outcomes = [], []
    held = svc.locks.held
    for plan, where in zip(plans, seen, strict=True):
        if held and where in held:
            outcomes.append((None, None))
            reasons.append(CONFLICT_REASON)
            continue
        try:
            outcomes.append(plan.outcome(svc))
            reasons.append({"Code": "None"})
        except ServiceError as err:
            outcomes.append((None, None))
            reasons.append(_error(err))
    if any(r["Code"] != "None" for r in reasons):
        raise cancelled(reasons)

    def commit(outcomes: list[tuple[Item | None, Item | None]]) -> dict[str, Any]:
        now = svc.runtime.now()
        with svc.runtime.store.transaction():
            for plan, (old, new) in zip(plans, outcomes, strict=True):
                svc.writer.apply(plan.table, old, new, now=now, region=ctx.region)
            remember(svc, ctx, token, fingerprint)
        return {"Responses": []}

    duration = svc.runtime.transaction_duration
    if not duration:
        return commit(outcomes)

    def late() -> dict[str, Any]:  # the statements against their tables and items at commit time
        for plan in plans:
            plan.table = still_there(svc, ctx, plan.st.table, plan.table)
        return commit([plan.outcome(svc) for plan in plans])

    return svc.locks.hold(seen, ctx, token, fingerprint, duration, late)
