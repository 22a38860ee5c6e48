"""Items to and from their stored form (JSON, with binary values base64-encoded)."""

from __future__ import annotations

import base64
import json
from typing import Any

_b64 = base64.b64encode


def _out(value: dict[str, Any]) -> dict[str, Any]:
    ((kind, raw),) = value.items()
    if kind == "B":
        return {"B": _b64(raw).decode()}
    if kind == "BS":
        return {"BS": [_b64(b).decode() for b in raw]}
    if kind == "M":
        return {"M": {k: _out(v) for k, v in raw.items()}}
    if kind == "L":
        return {"L": [_out(v) for v in raw]}
    return value


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
    return json.dumps({k: _out(v) for k, v in item.items()}, separators=(",", ":"))


def loads(text: str) -> dict[str, Any]:
    return {k: _in(v) for k, v in json.loads(text).items()}
