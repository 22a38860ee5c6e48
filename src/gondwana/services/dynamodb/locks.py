"""Items held by write transactions in progress (`--transaction-duration` > 0), and the conflicts
they cause.

AWS prepares a transaction (checks its conditions and marks its items), then commits it; meanwhile
a PutItem/UpdateItem/DeleteItem on one of its items fails with TransactionConflictException and a
transaction touching one is cancelled with reason TransactionConflict. By default our transactions
are instantaneous, `held` stays empty, and the single-item write path pays one falsy-dict test.

A transaction's conditions are evaluated when it is prepared, before the wait, and not again at
commit: its items are held, so no client write can change them meanwhile (AWS: prepare, then
commit). A retry with the same ClientRequestToken while it is in progress gets
TransactionInProgressException (with other parameters: IdempotentParameterMismatchException, as
after completion). BatchWriteItem leaves writes to held items unprocessed; reads (GetItem, Query,
Scan, BatchGetItem) see the last committed state. Conflict rules: the developer guide's
"Transaction conflict handling in DynamoDB" (transaction-apis).

Held items are keyed by (table id, *encoded key): a table belongs to one account and region, so the
key is per (account, region) by construction. Replicated and TTL writes are not client requests and
never look here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from gondwana.protocols.errors import ServiceError
from gondwana.services.dynamodb.errors import not_found

T = TypeVar("T")
Held = tuple[Any, ...]  # (tid, spread, hk, rk)

# The TransactionConflict cancellation reason's message, as the model's TransactionCanceledException
# documentation lists it (AWS sends it without the final period, like "The conditional request
# failed"); AWS answers a single-item write with the same text (as users' logs from real DynamoDB show),
# where the model's documentation of TransactionConflictException paraphrases it as "Operation was
# rejected because there is an ongoing transaction for the item."
ONGOING = "Transaction is ongoing for the item"
CONFLICT_REASON = {"Code": "TransactionConflict", "Message": ONGOING}
# A retry of a transaction still in progress (same ClientRequestToken): the text AWS SDK users
# report (aws/aws-sdk-java-v2#2518); the model's documentation words it "The transaction with the
# given request token is already in progress."
IN_PROGRESS = "Transaction from previous request is still in progress"


def conflict() -> ServiceError:
    return ServiceError("TransactionConflictException", ONGOING)


class Locks:
    def __init__(self) -> None:
        self.held: dict[Held, object] = {}  # item -> the transaction holding it
        self.tokens: dict[tuple[str, str, str], tuple[object, str]] = {}  # token -> (owner, digest)
        self.epoch = 0  # bumped by reset: a transaction in progress across it has lost its tables

    def check(self, tid: int, where: tuple[Any, ...]) -> None:
        """Raise TransactionConflictException if a transaction holds the item (callers test
        `held` first, so this costs nothing while no transaction is in progress)."""
        if (tid, *where) in self.held:
            raise conflict()

    def is_held(self, tid: int, where: tuple[Any, ...]) -> bool:
        return bool(self.held) and (tid, *where) in self.held

    def in_progress(self, ctx: Any, token: str | None, fingerprint: str) -> None:
        """Refuse a retry of a transaction that is still in progress (its token is held)."""
        if not token or not self.tokens:
            return
        found = self.tokens.get(_token_key(ctx, token))
        if found is None:
            return
        if found[1] != fingerprint:
            raise ServiceError(
                "IdempotentParameterMismatchException",
                "The request uses the same client token as a previous, but non-identical request.",
            )
        raise ServiceError("TransactionInProgressException", IN_PROGRESS)

    def hold(
        self,
        items: Iterable[Held],
        ctx: Any,
        token: str | None,
        fingerprint: str,
        duration: float,
        commit: Callable[[], T],
    ) -> Awaitable[T]:
        """Hold `items` (and the ClientRequestToken, if any) at once, while the caller still runs
        (a request served before the returned awaitable starts must already see them), then after
        `duration` seconds commit."""
        owner, epoch = object(), self.epoch
        mine = list(items)
        for item in mine:
            self.held[item] = owner
        key = _token_key(ctx, token) if token else None
        if key is not None:
            self.tokens[key] = (owner, fingerprint)
        return self._later(owner, epoch, mine, key, duration, commit)

    async def _later(
        self,
        owner: object,
        epoch: int,
        mine: list[Held],
        token: tuple[str, str, str] | None,
        duration: float,
        commit: Callable[[], T],
    ) -> T:
        """Wait, commit, and release whatever happens (error, cancellation on shutdown). Only
        entries this transaction owns are released: after a reset another may hold the same keys."""
        try:
            await asyncio.sleep(duration)
            if self.epoch != epoch:  # the server was reset meanwhile (a table id may be reused)
                raise not_found()
            return commit()
        finally:
            for item in mine:
                if self.held.get(item) is owner:
                    del self.held[item]
            if token is not None and self.tokens.get(token, (None,))[0] is owner:
                del self.tokens[token]

    def clear(self) -> None:
        self.epoch += 1
        self.held.clear()
        self.tokens.clear()


def _token_key(ctx: Any, token: str) -> tuple[str, str, str]:
    """Tokens are per account and region."""
    return (ctx.account, ctx.region, token)
