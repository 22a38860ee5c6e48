"""TransactWriteItems and TransactGetItems: all-or-nothing in one store transaction, per-action
CancellationReasons, and ClientRequestToken idempotency for 10 minutes. With --transaction-duration a
write transaction stays in progress that long, holding its items (see locks.py)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable
from typing import TYPE_CHECKING, Any

from gondwana.protocols.errors import ServiceError
from gondwana.services.dynamodb import capacity, items
from gondwana.services.dynamodb.errors import not_found, validation
from gondwana.services.dynamodb.locks import CONFLICT_REASON
from gondwana.services.dynamodb.params import check_mixed, condition, ex, finish, placeholders, projection
from gondwana.services.dynamodb.replication import strong
from gondwana.services.dynamodb.types import check_item, item_size

if TYPE_CHECKING:
    from gondwana.services.dynamodb.provider import DynamoDBService
    from gondwana.services.dynamodb.schema import Table
    from gondwana.services.dynamodb.types import Item

TOKEN_LIFETIME = 600.0
MAX_ACTIONS = 100
MAX_BYTES = 4 * 1024 * 1024
_KINDS = ("ConditionCheck", "Put", "Delete", "Update")


def digest(request: Any) -> str:
    """A fingerprint of a transaction's parameters, to tell a replay from a different request."""

    def default(o: Any) -> Any:
        return o.hex() if isinstance(o, bytes) else str(o)

    body = json.dumps(request, sort_keys=True, default=default)
    return hashlib.sha256(body.encode()).hexdigest()


def replayed(svc: DynamoDBService, ctx: Any, token: str | None, fingerprint: str) -> bool:
    """True when `token` was used by the same request within 10 minutes (so it must not run again)."""
    if not token:
        return False
    row = svc.runtime.store.query_one(
        "SELECT digest, created FROM dynamodb_tokens WHERE account = ? AND region = ? AND token = ?",
        (ctx.account, ctx.region, token),
    )
    if row is None or svc.runtime.now() - row[1] >= TOKEN_LIFETIME:
        return False
    if row[0] != fingerprint:
        raise ServiceError(
            "IdempotentParameterMismatchException",
            "The request uses the same client token as a previous, but non-identical request.",
        )
    return True


def remember(svc: DynamoDBService, ctx: Any, token: str | None, fingerprint: str) -> None:
    """Record a completed transaction's token (inside the transaction's own store unit)."""
    if token:
        svc.runtime.store.execute(
            "INSERT INTO dynamodb_tokens (account, region, token, digest, created) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (account, region, token) DO UPDATE SET digest = excluded.digest, "
            "created = excluded.created",
            (ctx.account, ctx.region, token, fingerprint, svc.runtime.now()),
        )


class _Action:
    """One validated action: its table, key, parsed condition and (for writes) how to make the new image."""

    def __init__(self, svc: DynamoDBService, ctx: Any, kind: str, a: dict[str, Any]) -> None:
        self.kind, self.params = kind, a
        self.table: Table = svc.tables.require(ctx, a["TableName"])
        exprs = ["ConditionExpression"] + (["UpdateExpression"] if kind == "Update" else [])
        ph = placeholders(a, exprs)
        self.item = None
        if kind == "Put":
            self.item = check_item(a["Item"])
            self.table.check_item_keys(self.item)
            if self.table.too_large(self.item):
                raise validation("Item size has exceeded the maximum allowed size")
            self.key = self.table.key_of(self.item)
        else:
            self.key = check_item(a["Key"])
            self.table.check_key(self.key)
        self.update = ex().parse_update(a["UpdateExpression"], ph) if kind == "Update" else None
        self.cond = condition(a, ph)
        if kind == "ConditionCheck" and self.cond is None:
            raise validation("The ConditionExpression parameter is required for a ConditionCheck action")
        finish(ph)


_Plan = tuple[_Action, "Table", "Item | None", "Item | None"]  # action, table, old, new


def cancelled(reasons: list[dict[str, Any]]) -> ServiceError:
    codes = ", ".join(r["Code"] for r in reasons)
    return ServiceError(
        "TransactionCanceledException",
        f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]",
        fields={"CancellationReasons": reasons},
    )


def distinct_items(items: Iterable[tuple[Any, ...]]) -> dict[tuple[Any, ...], None]:
    """A transaction's items (table id and encoded key), in order; an item named twice is refused."""
    seen: dict[tuple[Any, ...], None] = {}
    for where in items:
        if where in seen:
            raise validation("Transaction request cannot include multiple operations on one item")
        seen[where] = None
    return seen


def refuse_held(svc: DynamoDBService, seen: Collection[tuple[Any, ...]]) -> None:
    """Cancel a read transaction one of whose items a write transaction in progress holds."""
    held = svc.locks.held
    if held and any(where in held for where in seen):
        raise cancelled([CONFLICT_REASON if where in held else {"Code": "None"} for where in seen])


def _image(action: _Action, table: Table, old: Item | None) -> Item | None:
    """The item after `action` (raises ServiceError when an update cannot apply)."""
    if action.kind == "Put":
        return action.item
    if action.kind == "Delete":
        return None
    if action.kind == "Update":
        return items.new_image(table, action.key, old, action.update)[0]
    return old


def transact_write(svc: DynamoDBService, ctx: Any, p: dict[str, Any]) -> Any:
    """The result, or (with --transaction-duration) an awaitable of it: the transaction is prepared
    now (validated, conditions checked, its items held) and committed when the duration is over."""
    token = p.get("ClientRequestToken")
    fingerprint = digest(p["TransactItems"])
    svc.locks.in_progress(ctx, token, fingerprint)
    if replayed(svc, ctx, token, fingerprint):
        return {}
    actions = []
    for entry in p["TransactItems"]:
        kinds = [k for k in _KINDS if entry.get(k) is not None]
        if len(kinds) != 1:
            raise validation("TransactItems can only contain one of Check, Put, Update or Delete")
        actions.append(_Action(svc, ctx, kinds[0], entry[kinds[0]]))

    def item_of(action: _Action) -> tuple[Any, ...]:
        strong.refuse_transaction(action.table)
        return (action.table.tid, *action.table.encode_key(action.key))

    seen = distinct_items(map(item_of, actions))  # lazily: each action refused or named in turn
    held = svc.locks.held
    reasons: list[dict[str, Any]] = []
    plans: list[_Plan] = []
    total = 0
    for action, where in zip(actions, seen, strict=True):
        old = svc.writer.get(action.table, action.key)
        reason: dict[str, Any] = {"Code": "None"}
        new = old
        if held and where in held:  # another transaction is preparing or committing this item
            reason = CONFLICT_REASON
        elif action.cond is not None and not ex().evaluate(action.cond, old):
            reason = {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"}
            if action.params.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and old is not None:
                reason["Item"] = old
        else:
            try:
                new = _image(action, action.table, old)
            except ServiceError as err:
                reason = {"Code": "ValidationError", "Message": err.message or err.code}
        total += item_size(new) if new else 0
        reasons.append(reason)
        plans.append((action, action.table, old, new))
    if any(r["Code"] != "None" for r in reasons):
        raise cancelled(reasons)
    if total > MAX_BYTES:
        raise validation("Transaction request size exceeds the maximum allowed size")
    duration = svc.runtime.transaction_duration
    if not duration:
        return _commit(svc, ctx, p, plans, token, fingerprint)
    # Conditions were checked when prepared; held items cannot change before the commit (only a
    # replicated or TTL write can), so the commit applies the actions to the items as they are then.
    return svc.locks.hold(
        seen,
        ctx,
        token,
        fingerprint,
        duration,
        lambda: _commit(svc, ctx, p, [_replan(svc, ctx, plan) for plan in plans], token, fingerprint),
    )


def still_there(svc: DynamoDBService, ctx: Any, name: str, table: Table) -> Table:
    """The table as it is now, if it is the one a transaction prepared against (not deleted, not
    replaced by a namesake) while the transaction was in progress."""
    now = svc.tables.require(ctx, name)
    if now.tid != table.tid:
        raise not_found()
    return now


def _replan(svc: DynamoDBService, ctx: Any, plan: _Plan) -> _Plan:
    """A prepared action against its table and item as they are at commit time (the table may have
    been deleted, or changed by UpdateTable, while the transaction was in progress)."""
    action = plan[0]
    table = still_there(svc, ctx, action.params["TableName"], action.table)
    old = svc.writer.get(table, action.key)
    return action, table, old, _image(action, table, old)


def _commit(
    svc: DynamoDBService,
    ctx: Any,
    p: dict[str, Any],
    plans: list[_Plan],
    token: str | None,
    fingerprint: str,
) -> dict[str, Any]:
    now = svc.runtime.now()
    per_table: dict[str, tuple[Any, float, dict[str, float]]] = {}
    with svc.runtime.store.transaction():
        for action, table, old, new in plans:
            idx: dict[str, float] = {}
            if action.kind != "ConditionCheck":
                idx = svc.writer.apply(table, old, new, now=now, region=ctx.region)
            size = max(item_size(new) if new else 0, item_size(old) if old else 0)
            _, units, per_index = per_table.get(table.name, (table, 0.0, {}))
            for k, v in idx.items():
                per_index[k] = per_index.get(k, 0.0) + v * 2
            per_table[table.name] = (table, units + capacity.write_units(size, transactional=True), per_index)
        remember(svc, ctx, token, fingerprint)
    out: dict[str, Any] = {}
    consumed = [
        cc
        for table, units, per_index in per_table.values()
        if (
            cc := capacity.consumed(
                p.get("ReturnConsumedCapacity"), table, units, per_index, transactional=True
            )
        )
    ]
    if consumed:
        out["ConsumedCapacity"] = consumed
    if p.get("ReturnItemCollectionMetrics") == "SIZE":
        out["ItemCollectionMetrics"] = {}
    return out


def transact_get(svc: DynamoDBService, ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    plans = []
    for entry in p["TransactItems"]:
        a = entry["Get"]
        table = svc.tables.require(ctx, a["TableName"])
        check_mixed(a, [], ["ProjectionExpression"])
        ph = placeholders(a, ["ProjectionExpression"])
        proj = projection(a, ph)
        finish(ph)
        key = check_item(a["Key"])
        table.check_key(key)
        plans.append((table, key, proj))
    refuse_held(svc, distinct_items((table.tid, *table.encode_key(key)) for table, key, _ in plans))
    responses = []
    per_table: dict[str, tuple[Any, float]] = {}
    for table, key, proj in plans:
        item = svc.writer.get(table, key)
        size = item_size(item) if item else 0
        t, units = per_table.get(table.name, (table, 0.0))
        per_table[table.name] = (t, units + capacity.read_units(size, True, transactional=True))
        responses.append({"Item": ex().project(proj, item) if proj is not None else item} if item else {})
    out: dict[str, Any] = {"Responses": responses}
    consumed = [
        cc
        for table, units in per_table.values()
        if (
            cc := capacity.consumed(
                p.get("ReturnConsumedCapacity"), table, units, read=True, transactional=True
            )
        )
    ]
    if consumed:
        out["ConsumedCapacity"] = consumed
    return out
