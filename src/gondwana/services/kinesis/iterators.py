"""Shard iterators and pagination tokens: opaque, tamper-evident, and short-lived.

A token is a packed position plus its issue time, signed with an HMAC under a secret kept in the
data directory, so tokens issued before a restart still verify afterwards, and a client cannot
forge or alter one (any change fails the signature and reads as "Invalid ShardIterator.").
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
import time
from dataclasses import dataclass

ITERATOR_TTL = 300.0  # seconds: AWS's tolerated delay of 300000 milliseconds
_ITERATOR = struct.Struct(">BQIqd")  # version, stream id, shard index, read-after counter, issued at
_VERSION = 1
_MAC_BYTES = 16


@dataclass(frozen=True, slots=True)
class Position:
    stream_id: int
    shard: int
    after: int  # the next record returned is the first whose counter exceeds this
    issued: float


def _sign(secret: bytes, payload: bytes) -> bytes:
    return hmac.new(secret, payload, hashlib.sha256).digest()[:_MAC_BYTES]


def seal(secret: bytes, payload: bytes) -> str:
    return base64.urlsafe_b64encode(payload + _sign(secret, payload)).decode("ascii")


def unseal(secret: bytes, token: str) -> bytes | None:
    """The payload of a token this server signed, or None for anything else."""
    try:
        raw = base64.urlsafe_b64decode(token.encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return None
    payload, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
    if len(raw) <= _MAC_BYTES or not hmac.compare_digest(mac, _sign(secret, payload)):
        return None
    return payload


def encode_iterator(secret: bytes, stream_id: int, shard: int, after: int, issued: float) -> str:
    return seal(secret, _ITERATOR.pack(_VERSION, stream_id, shard, after, issued))


def decode_iterator(secret: bytes, token: str) -> Position | None:
    payload = unseal(secret, token)
    if payload is None or len(payload) != _ITERATOR.size or payload[0] != _VERSION:
        return None
    _, stream_id, shard, after, issued = _ITERATOR.unpack(payload)
    return Position(stream_id, shard, after, issued)


def amz_time(epoch: float) -> str:
    """AWS's rendering of instants in ExpiredIteratorException messages: `Fri Nov 27 05:09:33 UTC 2026`."""
    return time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime(epoch))


def expired_message(issued: float, now: float) -> str:
    return (
        f"Iterator expired. The iterator was created at time {amz_time(issued)} while right now it is "
        f"{amz_time(now)} which is further in the future than the tolerated delay of 300000 milliseconds."
    )
