"""SigV4's arithmetic: the canonical request, the string to sign and the (cached) signing key.

Kept apart from `verify.py`, which decides what to check and how to answer.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import quote, unquote

from gondwana.auth.sigv4 import ALGORITHM

_keys: dict[tuple[str, str, str, str], bytes] = {}


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """HMAC chain secret -> date -> region -> service -> "aws4_request", computed once per scope."""
    cache_key = (secret, date, region, service)
    key = _keys.get(cache_key)
    if key is None:
        if len(_keys) > 4096:  # a day's keys for many regions and services; never grows unbounded
            _keys.clear()
        key = ("AWS4" + secret).encode()
        for part in (date, region, service, "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        _keys[cache_key] = key
    return key


def canonical_path(path: str, service: str) -> str:
    """S3 signs the path as sent; every other service signs it with dot segments and duplicate
    slashes removed, percent-encoded once more (so `%2F` is signed as `%252F`)."""
    if service == "s3":
        return path or "/"
    kept: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if kept:
                kept.pop()
        elif segment and segment != ".":
            kept.append(segment)
    normal = "/" + "/".join(kept)
    if path.endswith("/") and kept:
        normal += "/"
    return quote(normal, safe="/~")


def canonical_query(query_string: str, drop_signature: bool) -> str:
    """Every name and value decoded, re-encoded the RFC 3986 way, and sorted."""
    if not query_string:
        return ""
    pairs = []
    for item in query_string.split("&"):
        if not item:
            continue
        name, _, value = item.partition("=")
        name = unquote(name)
        if drop_signature and name == "X-Amz-Signature":
            continue
        pairs.append((quote(name, safe="-_.~"), quote(unquote(value), safe="-_.~")))
    pairs.sort()
    return "&".join(f"{n}={v}" for n, v in pairs)


def canonical_headers(headers: dict[str, str], names: list[str]) -> str:
    """`name:value` lines, each value trimmed and its inner whitespace runs collapsed to one space."""
    lines = []
    for name in names:
        value = headers.get(name, "")
        if not value.isascii():  # the server decodes headers as latin-1; SDKs sign their UTF-8 text
            value = value.encode("latin-1").decode("utf-8", "surrogateescape")
        lines.append(f"{name}:{' '.join(value.split())}\n")
    return "".join(lines)


def string_to_sign(canonical_request: str, amz_date: str, scope: str) -> str:
    digest = hashlib.sha256(canonical_request.encode("utf-8", "surrogateescape")).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"
