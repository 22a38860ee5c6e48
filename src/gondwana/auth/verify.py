"""SigV4 verification for `--auth strict`: the checks AWS's front end makes, in its order, with its answers.

Order (as AWS answers when several things are wrong): the request carries a signature at all (an
Authorization header, or X-Amz-Algorithm in the query) -> its parameters are
well-formed `key=value` pairs and all there -> the date is well-formed and within 15 minutes (or, for
a presigned URL, not past X-Amz-Expires) -> `host` is signed -> the algorithm -> the credential has
five parts -> its scope (region, service, terminator, date) -> the access key is known -> the
signature itself. JSON services answer Coral's `com.amazon.coral.service#...Exception` (400,
REST JSON ones 403); query and REST XML services answer the legacy codes
(MissingAuthenticationToken, InvalidClientTokenId and SignatureDoesNotMatch are 403,
IncompleteSignature 400). Two front ends differ, as dynalite and
kinesalite recorded from AWS: DynamoDB takes an Authorization header not starting "AWS4-" for no
token at all, and Kinesis answers bare `__type` names and "Missing Authentication Token".
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import time
from calendar import timegm
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from gondwana.auth.signing import (
    canonical_headers,
    canonical_path,
    canonical_query,
    signing_key,
    string_to_sign,
)
from gondwana.auth.sigv4 import ALGORITHM
from gondwana.config import Settings
from gondwana.protocols.errors import CORAL_SERVICE, ServiceError
from gondwana.server.context import REGION_LABEL, RequestContext, region_from_host

SKEW = 15 * 60  # seconds a signature's date may differ from the server's clock
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNSIGNED = "UNSIGNED-PAYLOAD"
_ISO_BASIC = re.compile(r"^\d{8}T\d{6}Z$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_AUTH_FIELDS = re.compile(r"[,\s]+")
_PRESIGN_PARAMS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-SignedHeaders",
    "X-Amz-Date",
)

SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)

# kind -> (JSON exception name, query code, query HTTP status)
_ERRORS = {
    "missing": ("MissingAuthenticationTokenException", "MissingAuthenticationToken", 403),
    "incomplete": ("IncompleteSignatureException", "IncompleteSignature", 400),
    "unknown_key": ("UnrecognizedClientException", "InvalidClientTokenId", 403),
    "signature": ("InvalidSignatureException", "SignatureDoesNotMatch", 403),
}


def auth_error(ctx: RequestContext, kind: str, message: str) -> ServiceError:
    """The error as the request's protocol words it: JSON RPC answers Coral's names with 400, REST
    JSON the same names with 403, query and REST XML the legacy codes. (Kinesis's bare `__type`
    names come from its service's `bare_error_types`, applied by the JSON serializer.)"""
    json_name, query_code, query_status = _ERRORS[kind]
    protocol = ctx.protocol.name if ctx.protocol is not None else ""
    legacy = protocol in ("query", "rest-xml")
    return ServiceError(
        query_code if legacy else json_name,
        message,
        status=query_status if legacy else 403 if protocol == "rest-json" else 400,
        type_name=CORAL_SERVICE + json_name,
        query_code=query_code,
        sender_fault=True,
    )


def _signing_name(ctx: RequestContext) -> str:
    return ctx.service.signing_name if ctx.service is not None else ""


def _missing_token(ctx: RequestContext) -> ServiceError:
    rest_json = ctx.protocol is not None and ctx.protocol.name == "rest-json"
    if rest_json or (ctx.service is not None and ctx.service.bare_error_types):
        return auth_error(ctx, "missing", "Missing Authentication Token")
    return auth_error(ctx, "missing", "Request is missing Authentication Token")


@dataclass(slots=True)
class _Signed:
    """What the client claims: its signature, the scope, and what it signed."""

    algorithm: str
    credential: str
    signed_headers: str
    signature: str
    amz_date: str  # ISO-8601 basic, as it enters the string to sign
    presigned: bool
    expires: int | None = None


# ---- the checks ---------------------------------------------------------------------------------


def verify_request(ctx: RequestContext, settings: Settings, now: float) -> None:
    """Raise the error AWS would answer unless the request is signed by a configured credential."""
    request = ctx.request
    header = request.headers.get("authorization")
    presigned = "X-Amz-" in request.query_string and "X-Amz-Algorithm" in request.query
    if header is not None and presigned:
        raise auth_error(
            ctx,
            "signature",
            "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.",
        )
    if header is not None and not _no_token(ctx, header):
        signed = _from_header(ctx, header)
    elif presigned:
        signed = _from_query(ctx)
    else:
        raise _missing_token(ctx)
    _check_time(ctx, signed, now)
    names = [h.strip().lower() for h in signed.signed_headers.split(";") if h.strip()]
    if "host" not in names:
        raise auth_error(ctx, "signature", "'Host' must be a 'SignedHeader' in the AWS Authorization.")
    if signed.algorithm != ALGORITHM:
        raise auth_error(
            ctx,
            "incomplete",
            f"Unsupported AWS 'algorithm': '{signed.algorithm}' (only {ALGORITHM} for now). ",
        )
    parts = signed.credential.rstrip("/").split("/")
    if len(parts) != 5:
        raise auth_error(
            ctx,
            "incomplete",
            "Credential must have exactly 5 slash-delimited elements, "
            f"e.g. keyid/date/region/service/term, got '{signed.credential}'",
        )
    access_key, date, region, service, terminator = parts
    _check_scope(ctx, signed, date, region, service, terminator)
    known = settings.credentials.get(access_key)
    if known is None:
        raise auth_error(ctx, "unknown_key", "The security token included in the request is invalid.")
    key = signing_key(known[1], date, region, service)
    scope = f"{date}/{region}/{service}/{terminator}"
    head = "\n".join(
        (
            request.method,
            canonical_path(request.path, service),
            canonical_query(request.query_string, signed.presigned),
            canonical_headers(request.headers, names),
            ";".join(names),
        )
    )
    claimed = signed.signature.encode("utf-8", "replace")  # bytes: compare_digest takes any
    for payload in _payload_hashes(ctx, signed):
        to_sign = string_to_sign(f"{head}\n{payload}", signed.amz_date, scope)
        expected = hmac.new(key, to_sign.encode("utf-8", "surrogateescape"), hashlib.sha256)
        if hmac.compare_digest(expected.hexdigest().encode(), claimed):
            return
    raise auth_error(ctx, "signature", SIGNATURE_MISMATCH)


def _no_token(ctx: RequestContext, header: str) -> bool:
    """Whether an Authorization header counts as none. Most front ends read whatever it holds as
    SigV4 (JWTs, SigV2 ... get IncompleteSignature); DynamoDB's ignores one not starting "AWS4-"."""
    return _signing_name(ctx) == "dynamodb" and not header.strip().startswith("AWS4-")


def _from_header(ctx: RequestContext, header: str) -> _Signed:
    algorithm, _, rest = header.strip().partition(" ")
    fields: dict[str, str] = {}
    for item in _AUTH_FIELDS.split(rest):
        if not item:
            continue
        name, sep, value = item.partition("=")
        if not sep:
            raise auth_error(
                ctx,
                "incomplete",
                f"'{item}' not a valid key=value pair (missing equal-sign) in Authorization header: "
                f"'{header}'.",
            )
        fields[name] = value
    headers = ctx.request.headers
    missing = "".join(
        f"Authorization header requires '{name}' parameter. "
        for name in ("Credential", "Signature", "SignedHeaders")
        if not fields.get(name)
    )
    date = headers.get("x-amz-date") or headers.get("date")
    if not date:
        missing += "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
    if missing:
        raise auth_error(ctx, "incomplete", f"{missing}Authorization={header}")
    assert date is not None
    return _Signed(
        algorithm,
        fields["Credential"],
        fields["SignedHeaders"],
        fields["Signature"],
        _iso_basic(ctx, date, from_http_date="x-amz-date" not in headers),
        presigned=False,
    )


def _from_query(ctx: RequestContext) -> _Signed:
    query = ctx.request.query
    missing = "".join(
        f"AWS query-string parameters must include '{name}'. "
        for name in _PRESIGN_PARAMS
        if not query.get(name)
    )
    if missing:
        raise auth_error(ctx, "incomplete", missing + "Re-examine the query-string parameters.")
    expires_text = query.get("X-Amz-Expires")
    expires = None
    if expires_text is not None:
        if not expires_text.isdigit():
            raise auth_error(ctx, "incomplete", "X-Amz-Expires should be a number")
        expires = int(expires_text)
    return _Signed(
        query["X-Amz-Algorithm"],
        query["X-Amz-Credential"],
        query["X-Amz-SignedHeaders"],
        query["X-Amz-Signature"],
        _iso_basic(ctx, query["X-Amz-Date"], from_http_date=False),
        presigned=True,
        expires=expires,
    )


def _iso_basic(ctx: RequestContext, text: str, from_http_date: bool) -> str:
    """X-Amz-Date as sent (it must be ISO-8601 basic), or an HTTP `Date` header converted to it."""
    if from_http_date:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            parsed = None
        if parsed is not None:
            if parsed.tzinfo is None:  # "-0000": UTC with no claim about the local zone
                parsed = parsed.replace(tzinfo=dt.UTC)
            return _stamp(parsed.timestamp())
    elif _ISO_BASIC.match(text) and _epoch(text) is not None:
        return text
    raise auth_error(
        ctx,
        "incomplete",
        f"Date must be in ISO-8601 'basic format'. Got '{text}'. See http://en.wikipedia.org/wiki/ISO_8601",
    )


def _epoch(amz_date: str) -> int | None:
    """Seconds since the epoch of a `YYYYMMDDTHHMMSSZ` stamp (sliced by hand: strptime is slow)."""
    try:
        fields = (
            amz_date[0:4],
            amz_date[4:6],
            amz_date[6:8],
            amz_date[9:11],
            amz_date[11:13],
            amz_date[13:15],
        )
        year, month, day, hour, minute, second = map(int, fields)
    except ValueError:
        return None
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 61):
        return None
    return timegm((year, month, day, hour, minute, second, 0, 0, 0))


def _stamp(seconds: float) -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(seconds))


def _check_time(ctx: RequestContext, signed: _Signed, now: float) -> None:
    signed_at = _epoch(signed.amz_date)
    assert signed_at is not None
    if signed_at > now + SKEW:
        raise auth_error(
            ctx,
            "signature",
            f"Signature not yet current: {signed.amz_date} is still later than "
            f"{_stamp(now + SKEW)} ({_stamp(now)} + 15 min.)",
        )
    if signed.presigned and signed.expires is not None:
        if now > signed_at + signed.expires:
            raise auth_error(ctx, "signature", "Request has expired")
    elif signed_at < now - SKEW:
        raise auth_error(
            ctx,
            "signature",
            f"Signature expired: {signed.amz_date} is now earlier than "
            f"{_stamp(now - SKEW)} ({_stamp(now)} - 15 min.)",
        )


def _check_scope(
    ctx: RequestContext, signed: _Signed, date: str, region: str, service: str, terminator: str
) -> None:
    problems = []
    # A region is valid when it is spelled like one and agrees with the endpoint the request
    # reached: a region's own listener port, else a regional host name.
    endpoint_region = getattr(ctx.request, "listener_region", None) or region_from_host(ctx.request.host)
    if not REGION_LABEL.match(region) or (endpoint_region is not None and region != endpoint_region):
        problems.append(f"Credential should be scoped to a valid region, not '{region}'. ")
    expected = ctx.service.signing_name if ctx.service is not None else service
    if service != expected:
        problems.append(f"Credential should be scoped to correct service: '{expected}'. ")
    if terminator != "aws4_request":
        problems.append(
            f"Credential should be scoped with a valid terminator: 'aws4_request', not '{terminator}'. "
        )
    if date != signed.amz_date[:8]:
        problems.append(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            f"'{date}' != '{signed.amz_date[:8]}', from '{signed.amz_date}'."
        )
    if problems:
        raise auth_error(ctx, "signature", "".join(problems).rstrip())


def _payload_hashes(ctx: RequestContext, signed: _Signed) -> list[str]:
    """The payload hash(es) the client may have signed.

    A header request signs `x-amz-content-sha256` when it sends one (it must then be the body's
    hash, UNSIGNED-PAYLOAD or a streaming marker), else the body's SHA-256. A presigned URL signs
    UNSIGNED-PAYLOAD (S3, and SDKs that follow it) or the hash of its (usually empty) body.
    """
    body = ctx.request.body
    actual = hashlib.sha256(body).hexdigest() if body else EMPTY_SHA256
    if signed.presigned:
        claimed = ctx.request.query.get("X-Amz-Content-Sha256")
        return [claimed] if claimed else [UNSIGNED, actual]
    claimed = ctx.request.headers.get("x-amz-content-sha256")
    if claimed is None:
        return [actual]
    if _HEX64.match(claimed) and claimed != actual:
        raise auth_error(ctx, "signature", SIGNATURE_MISMATCH)
    return [claimed]
