"""SigV4: read the credential scope from the Authorization header or a presigned URL.

Parsing happens on every request (the scope names the region and the access key the account);
verification happens only with `--auth strict` (see `verify.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

from gondwana.server.messages import Request

ALGORITHM = "AWS4-HMAC-SHA256"


@dataclass(slots=True, frozen=True)
class SigV4Credential:
    """What the signature's scope says (the signature itself is checked by `verify.py`, which
    reads it again): shared between requests with the same scope, so immutable."""

    access_key: str
    date: str  # YYYYMMDD from the scope
    region: str
    service: str
    signed_headers: tuple[str, ...]
    presigned: bool = False
    # The raw scope pieces were well-formed; False when the header was present but malformed.
    complete: bool = True


def parse_sigv4(request: Request) -> SigV4Credential | None:
    """The credential a request carries, or None when it carries none."""
    header = request.headers.get("authorization")
    if header is not None:
        return _from_header(header)
    if "X-Amz-Credential" in request.query_string:
        return _from_query(request.query)
    return None


def _scope(text: str) -> tuple[str, str, str, str, bool]:
    parts = text.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        return (parts[0] if parts else "", "", "", "", False)
    return parts[0], parts[1], parts[2], parts[3], True


# The header's part before the signature repeats from request to request (same key, day, region,
# service and signed headers): parsed once, kept in a small cache.
_scopes: dict[str, SigV4Credential] = {}


def _from_header(header: str) -> SigV4Credential:
    head, sep, signature = header.rpartition("Signature=")
    if not sep or "," in signature or " " in signature.strip():
        return _parse_header(header)
    known = _scopes.get(head)
    if known is None:
        known = _parse_header(header)
        if len(_scopes) >= 1024:
            _scopes.clear()
        _scopes[head] = known
    return known


def _parse_header(header: str) -> SigV4Credential:
    algorithm, _, rest = header.strip().partition(" ")
    fields: dict[str, str] = {}
    for item in rest.split(","):
        key, sep, value = item.strip().partition("=")
        if sep:
            fields[key] = value
    access_key, date, region, service, ok = _scope(fields.get("Credential", ""))
    return SigV4Credential(
        access_key=access_key,
        date=date,
        region=region,
        service=service,
        signed_headers=tuple(h for h in fields.get("SignedHeaders", "").split(";") if h),
        complete=ok and algorithm == ALGORITHM and "SignedHeaders" in fields and "Signature" in fields,
    )


def _from_query(query: dict[str, str]) -> SigV4Credential:
    access_key, date, region, service, ok = _scope(query.get("X-Amz-Credential", ""))
    return SigV4Credential(
        access_key=access_key,
        date=date,
        region=region,
        service=service,
        signed_headers=tuple(h for h in query.get("X-Amz-SignedHeaders", "").split(";") if h),
        presigned=True,
        complete=ok and query.get("X-Amz-Algorithm") == ALGORITHM and "X-Amz-Signature" in query,
    )
