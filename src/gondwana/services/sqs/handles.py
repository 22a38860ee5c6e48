"""Receipt handles: `<queue id>:<message seq>:<token>:<message id>` in base64. A receive hides its
messages under a new token, so a handle is the latest only while its token is the message's."""

from __future__ import annotations

import binascii
import itertools
import random
from typing import Any

from gondwana.storage.base import Row


def new_token() -> str:
    """A receipt token (one per receive: the handle also names the message); unguessable enough,
    and no system call."""
    return f"{random.getrandbits(64):016x}"


def receipt_handle(queue_id: int, seq: int, token: str, message_id: str) -> str:
    return _b2a(f"{queue_id}:{seq}:{token}:{message_id}".encode(), newline=False).decode()


def plain_results(queue_id: int, token: str, rows: list[Row]) -> list[dict[str, Any]]:
    """ReceiveMessage's entries of messages received under `token`, from (seq, message_id,
    md5_body, body) rows."""
    return [
        {
            "MessageId": message_id,
            "ReceiptHandle": receipt_handle(queue_id, seq, token, message_id),
            "MD5OfBody": md5_body,
            "Body": body,
        }
        for seq, message_id, md5_body, body in rows
    ]


def parse_handle(handle: str) -> tuple[int, int, str] | None:
    """(queue id, message seq, token) of a receipt handle we issued, or None."""
    try:
        queue_id, seq, token, _ = _a2b(handle, strict_mode=True).split(b":")
        return int(queue_id), int(seq), token.decode()
    except (ValueError, binascii.Error, UnicodeError):
        return None


def parse_handles(queue_id: int, handles: list[str]) -> list[tuple[int, str]] | None:
    """(message seq, token) of each handle when every one is a handle we issued for this queue,
    read as `parse_handle` reads them but field by field for all at once; else None (then
    `parse_handle` tells them apart)."""
    try:
        raws = [_a2b(handle, strict_mode=True) for handle in handles]
        if set(map(bytes.count, raws, itertools.repeat(b":", len(raws)))) != {3}:
            return None
        fields = b":".join(raws).split(b":")
        if fields[0::4].count(b"%d" % queue_id) != len(raws):
            return None
        return list(zip(map(int, fields[1::4]), map(bytes.decode, fields[2::4]), strict=True))
    except (ValueError, binascii.Error):
        return None


_a2b = binascii.a2b_base64
_b2a = binascii.b2a_base64
