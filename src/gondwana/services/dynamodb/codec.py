"""Items to and from their stored form (JSON, with binary values base64-encoded).

The stored form is the wire form too (AWS's JSON sends binary values as base64 and numbers as
strings), so a read that returns whole items can send the stored text as it is (`wire`).
"""

from __future__ import annotations

import base64
from typing import Any

from gondwana.protocols import json_codec
from gondwana.protocols.json_codec import RawJson


def _in(value: dict[str, Any]) -> dict[str, Any]:
    ((kind, raw),) = value.items()
    if kind == "B":
        return {"B": base64.b64decode(raw)}
    if kind == "BS":
        return {"BS": [base64.b64decode(b) for b in raw]}
    if kind == "M":
        return {"M": {k: _in(v) for k, v in raw.items()}}
    if kind == "L":
        return {"L": [_in(v) for v in raw]}
    return value


def dumps(item: dict[str, Any]) -> str:
    """The stored text: the wire's JSON (binary values, only ever under "B"/"BS", as base64; lone
    surrogates as escapes), so it can be told apart on load and sent back as it is."""
    return json_codec.dumps(item).decode()


def loads(text: str) -> dict[str, Any]:
    item = json_codec.loads(text)
    # No binary anywhere: nothing to decode (the common case). A one-letter search is a memchr,
    # several times faster than the two-letter one (which alone cost as much as parsing 1 KB).
    if "B" not in text or '"B' not in text:
        return item
    return {k: _in(v) for k, v in item.items()}


def wire(ctx: Any) -> bool:
    """Whether this response is JSON, so stored items can go out as their text (`raw`); a CBOR
    response needs them decoded."""
    protocol = getattr(ctx, "protocol", None)
    return protocol is not None and protocol.name.startswith("json")


def raw(text: str) -> RawJson:
    """A stored item (or a JSON list of them), to be written into a JSON response unchanged."""
    return RawJson(text)
