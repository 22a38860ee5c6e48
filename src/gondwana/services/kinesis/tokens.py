"""Pagination tokens (ListStreams, ListShards, ListStreamConsumers): signed, expiring after 300 s."""

from __future__ import annotations

import json
from typing import Any

from gondwana.protocols.errors import ServiceError
from gondwana.services.kinesis import errors
from gondwana.services.kinesis.iterators import seal, unseal

TOKEN_TTL = 300.0


def make_token(secret: bytes, purpose: str, now: float, **state: Any) -> str:
    return seal(secret, json.dumps({"k": purpose, "t": now, **state}, separators=(",", ":")).encode())


def read_token(secret: bytes, token: str, purpose: str, now: float) -> dict[str, Any]:
    payload = unseal(secret, token)
    state: Any = None
    if payload is not None:
        try:
            state = json.loads(payload)
        except ValueError:
            state = None
    if not isinstance(state, dict) or state.get("k") != purpose:
        raise errors.invalid(f"Invalid NextToken: {token}")
    if now - state["t"] > TOKEN_TTL:
        raise ServiceError("ExpiredNextTokenException", f"The NextToken {token} has expired.")
    return state
