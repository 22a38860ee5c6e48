"""Mutations of a valid request: of its decoded body (members dropped, added, renamed, retyped),
of its bytes (truncated, invalid UTF-8, garbage), of its form pairs and of its headers."""

from __future__ import annotations

import json
import math
import re
import urllib.parse
from typing import Any

from hypothesis import strategies as st

from tests.fuzz.catalog import Raw

# ---- odd values ------------------------------------------------------------------------------

_NUMBERS = st.one_of(
    st.sampled_from([0, -1, 2**31, -(2**31) - 1, 2**63, -(2**64), 10**30, 10**400, 1e308, -0.0, 0.5]),
    st.integers(),
    st.floats(),  # NaN and the infinities included
)
_STRINGS = st.one_of(
    st.sampled_from(["", " ", "\x00", "\ud800", "a\udfffb", "null", "true", "1e999", "-1", "%ZZ"]),
    st.sampled_from(
        ["NaN", "Infinity", "-0", "1e-400", "99999999999999999999", "0x10", "2026-13-45T99:00:00Z"]
    ),
    st.text(max_size=30),
    st.integers(min_value=1000, max_value=300_000).map(lambda n: "x" * n),
)
_SCALARS = st.one_of(st.none(), st.booleans(), _NUMBERS, _STRINGS)
ODD = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_STRINGS, inner, max_size=3)),
    max_leaves=6,
)


# Deep nesting is spliced into the encoded text (the encoders themselves would recurse).
DEEP = st.builds(
    lambda n, kind: f"\x00DEEP:{n}:{kind}", st.sampled_from([50, 200, 1000, 20_000]), st.sampled_from("lm")
)


def _splice_json(text: bytes) -> bytes:
    def nest(match: re.Match[bytes]) -> bytes:
        depth, kind = int(match[1]), match[2]
        return (
            (b"[" * depth + b"1" + b"]" * depth) if kind == b"l" else (b'{"a":' * depth + b"1" + b"}" * depth)
        )

    return re.sub(rb'"\\u0000DEEP:(\d+):([lm])"', nest, text)


def _deep_cbor(text: str) -> bytes:
    _, depth, kind = text.split(":")
    return (b"\x81" if kind == "l" else b"\xa1\x61a") * int(depth) + b"\x01"


# ---- structural mutations of a decoded body --------------------------------------------------


def _spots(value: Any, trail: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into `value` (the root is ())."""
    spots = [trail]
    if len(trail) > 40:
        return spots
    if isinstance(value, dict):
        for key, item in value.items():
            spots += _spots(item, (*trail, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            spots += _spots(item, (*trail, index))
    return spots


def _at(value: Any, trail: tuple[Any, ...]) -> Any:
    for step in trail:
        value = value[step]
    return value


def mutate_tree(data: st.DataObject, body: Any, names: list[str]) -> Any:
    """One to three structural changes at random places of the decoded body; added members are
    often ones the input shape has (absent until now, and given a wrong or odd value)."""
    new_key = st.one_of(st.sampled_from(names), st.sampled_from(names), _STRINGS)
    for _ in range(data.draw(st.integers(1, 3), label="changes")):
        spots = _spots(body)
        trail = data.draw(st.sampled_from(spots), label="at")
        kind = data.draw(st.sampled_from(["retype", "retype", "drop", "add", "rename", "deep"]), label="kind")
        if not trail:
            if kind in ("retype", "deep"):
                body = data.draw(ODD if kind == "retype" else DEEP)
            elif isinstance(body, dict) and kind == "add":
                body[data.draw(new_key, label="new key")] = data.draw(ODD, label="value")
            continue
        parent, key = _at(body, trail[:-1]), trail[-1]
        if kind == "retype":
            parent[key] = data.draw(ODD, label="value")
        elif kind == "deep":
            parent[key] = data.draw(DEEP, label="deep")
        elif kind == "drop":
            del parent[key]
        elif kind == "add" and isinstance(parent, dict):
            parent[data.draw(new_key, label="new key")] = data.draw(ODD, label="value")
        elif kind == "add":
            parent.insert(key, data.draw(ODD, label="value"))
        elif kind == "rename" and isinstance(parent, dict):
            new = data.draw(st.sampled_from([key.lower(), key.upper(), key + "s", key[:-1], " " + key]))
            parent[new] = parent.pop(key)
    return body


def json_bytes(data: st.DataObject, value: Any) -> bytes:
    """JSON text of `value`, sometimes with raw (invalid UTF-8) surrogates and NaN literals."""
    if data.draw(st.booleans(), label="ascii"):
        return _splice_json(json.dumps(value, allow_nan=True).encode())
    text = json.dumps(value, ensure_ascii=False, allow_nan=True).encode("utf-8", "surrogatepass")
    return _splice_json(text.replace(b"\x00DEEP", b"\\u0000DEEP"))


def cbor_bytes(data: st.DataObject, value: Any) -> bytes:
    import cbor2

    def clean(v: Any) -> Any:  # cbor2 cannot encode lone surrogates: as raw bytes in a text string
        if isinstance(v, dict):
            return {clean(k): clean(x) for k, x in v.items()}
        if isinstance(v, list):
            return [clean(x) for x in v]
        if isinstance(v, str) and v.startswith("\x00DEEP:"):
            return _Raw(_deep_cbor(v))
        if isinstance(v, str):
            try:
                v.encode()
            except UnicodeEncodeError:
                return v.encode("utf-8", "surrogatepass")
        if isinstance(v, int) and not -(2**64) < v < 2**64:
            return cbor2.CBORTag(2, v.to_bytes((v.bit_length() + 7) // 8, "big")) if v > 0 else -1
        return v

    canonical = data.draw(st.booleans(), label="canonical")
    return cbor2.dumps(clean(value), canonical=canonical, default=_encode_raw)


class _Raw:
    """Bytes written into the CBOR output as they are."""

    def __init__(self, data: bytes) -> None:
        self.data = data


def _encode_raw(encoder: Any, value: Any) -> None:
    encoder.write(value.data)


CBOR_ODDITIES = st.sampled_from(
    [
        b"\xf7",  # undefined
        b"\xc1\xfb\x7f\xf8\x00\x00\x00\x00\x00\x00",  # tag 1 NaN
        b"\xc1\x1b\xff\xff\xff\xff\xff\xff\xff\xff",  # tag 1 huge
        b"\xc1\x60",  # tag 1 around a string
        b"\xd8\x1e\x82\x01\x00",  # rational 1/0
        b"\xc4\x82\x21\x19\x6a\xb3",  # decimal fraction
        b"\x9f\x01\x02",  # unterminated indefinite array
        b"\x7f\x61a\xff",  # indefinite string
        b"\x62\xed\xa0",  # invalid UTF-8 in text
        b"\xfa\x7f\xc0\x00\x00",  # float NaN
        b"\xa1\x80\x01",  # a map keyed by a list
        b"\xdb\xff\xff\xff\xff\xff\xff\xff\xff\x01",  # unknown tag
        b"\xbf\x61a\x01",  # unterminated indefinite map
        b"\x5b\xff\xff\xff\xff\xff\xff\xff\xff",  # absurd byte string length
    ]
)


def mutate_cbor_map(data: st.DataObject, body: bytes) -> bytes:
    """Splice a raw CBOR oddity in as the value of a new member of a top-level map."""
    odd = data.draw(CBOR_ODDITIES, label="cbor oddity")
    key = data.draw(st.sampled_from([b"\x65Limit", b"\x69StreamARN", b"\x64Data", b"\x61x"]), label="key")
    if not body or body[0] & 0xE0 != 0xA0 or body[0] & 0x1F >= 23:
        return b"\xa1" + key + odd
    return bytes([body[0] + 1]) + key + odd + body[1:]


# ---- byte-level mutations --------------------------------------------------------------------


def mutate_bytes(data: st.DataObject, body: bytes) -> bytes:
    kind = data.draw(st.sampled_from(["truncate", "insert", "flip", "garbage", "empty", "whitespace"]))
    if kind == "empty":
        return b""
    if kind == "whitespace":
        return b" \r\n\t"
    if kind == "garbage":
        return data.draw(st.binary(max_size=64), label="garbage")
    at = data.draw(st.integers(0, len(body)), label="offset")
    if kind == "truncate":
        return body[:at]
    if kind == "insert":
        bad = data.draw(st.sampled_from([b"\xff", b"\xc3(", b"\xed\xa0\x80", b"\x00", b"\\u", b'"', b"{"]))
        return body[:at] + bad + body[at:]
    if not body:
        return b"\x80"
    at = min(at, len(body) - 1)
    return body[:at] + bytes([body[at] ^ data.draw(st.integers(1, 255))]) + body[at + 1 :]


# ---- form pairs ------------------------------------------------------------------------------

_ODD_KEYS = st.one_of(
    st.sampled_from(["Action", "Version", "", "Attribute.1.Name", "Attribute.0.Name", "Attribute.-1.Value"]),
    st.sampled_from(["MessageAttribute.99999999999999999999.Name", "Entry..Id", "Tag.1.Key.Extra"]),
    st.sampled_from(
        ["SendMessageBatchRequestEntry.1.Id", "AttributeName.1", "QueueUrl", "MaxNumberOfMessages"]
    ),
    st.text(max_size=10),
)
_ODD_FORM_VALUES = st.one_of(
    _STRINGS, st.sampled_from(["%", "%ZZ", "%C3%28", "%ED%A0%80", "%FF", "%00", "+", "&", "="])
)


def mutate_form(data: st.DataObject, body: bytes, names: list[str]) -> bytes:
    pairs = urllib.parse.parse_qsl(body.decode(), keep_blank_values=True)
    keys = st.one_of(st.sampled_from(names), _ODD_KEYS)
    for _ in range(data.draw(st.integers(1, 3), label="changes")):
        kind = data.draw(st.sampled_from(["drop", "add", "rename", "value", "raw"]), label="kind")
        index = data.draw(st.integers(0, max(len(pairs) - 1, 0)), label="pair")
        if kind == "drop" and pairs:
            del pairs[index]
        elif kind == "add" or not pairs:
            pairs.insert(index, (data.draw(keys, label="key"), data.draw(_ODD_FORM_VALUES, label="value")))
        elif kind == "rename":
            key, value = pairs[index]
            pairs[index] = (
                data.draw(st.sampled_from([key.lower(), key + ".1", key.replace("1", "0"), key[:-1]])),
                value,
            )
        elif kind == "value":
            pairs[index] = (pairs[index][0], data.draw(_ODD_FORM_VALUES))
        else:  # sent as is: percent escapes that do not decode
            pairs[index] = (pairs[index][0], "\x00RAW" + data.draw(_ODD_FORM_VALUES))
    text = "&".join(
        f"{urllib.parse.quote_plus(k)}="
        + (v[4:] if v.startswith("\x00RAW") else urllib.parse.quote_plus(v, errors="surrogatepass"))
        for k, v in pairs
    )
    return text.encode("utf-8", "surrogatepass")


# ---- request target -------------------------------------------------------------------------

PATHS = st.one_of(
    st.sampled_from(
        [
            "/000000000000/fuzz-queue",
            "/000000000000/fuzz-queue.fifo",
            "/000000000000/missing",
            "/x/y/z",
            "//",
            "/%ff%fe",
            "/%00",
            "/?Action=ListQueues",
            "/?Action=",
            "/?Action=GetQueueUrl&QueueName=fuzz-queue&Version=2012-11-05",
            "/?X-Amz-Credential=a%2Fb&X-Amz-Signature=0",
            "/?X-Amz-Credential=AKID%2F20260101%2F..%2Fsqs%2Faws4_request",
            "/?%",
            "*",
            "http://example.com/",
        ]
    ),
    st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=40).map(lambda t: "/" + t),
)


# ---- headers ---------------------------------------------------------------------------------

CONTENT_TYPES = [
    None,
    "",
    "application/x-amz-json-1.0",
    "application/x-amz-json-1.1",
    "application/json",
    "application/x-amz-cbor-1.1",
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=latin-1",
    "text/plain",
    "APPLICATION/X-AMZ-JSON-1.0; charset=utf-8",
    ";;;",
]
_HEADER_TEXT = st.text(
    st.characters(min_codepoint=32, max_codepoint=255, exclude_characters="\x7f"), max_size=80
)
AUTHORIZATIONS = st.one_of(
    st.sampled_from(
        [
            "",
            "AWS4-HMAC-SHA256",
            "AWS4-HMAC-SHA256 Credential=",
            "AWS4-HMAC-SHA256 Credential=a/b",
            "AWS4-HMAC-SHA256 Credential=////, SignedHeaders=, Signature=",
            "AWS4-HMAC-SHA256 Credential=AKID/20260101/../sqs/aws4_request, SignedHeaders=host, Signature=0",
            "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/kinesis/aws4_request/extra, Signature=0",
            "AWS4-HMAC-SHA256 Credential=AKID/x/"
            + "r" * 5000
            + "/sqs/aws4_request, SignedHeaders=host, Signature=0",
            "AWS4-HMAC-SHA256 Credential=\xff\xfe/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=0",
            "Basic dXNlcjpwYXNz",
            "AWS AKID:signature",
            "Signature=,,,",
        ]
    ),
    _HEADER_TEXT,
    _HEADER_TEXT.map(
        lambda t: (
            f"AWS4-HMAC-SHA256 Credential=AKID/20260101/{t}/sqs/aws4_request, SignedHeaders=host, Signature=0"
        )
    ),
)


def mutate_headers(data: st.DataObject, raw: Raw, targets: list[str]) -> None:
    kind = data.draw(st.sampled_from(["content-type", "target", "authorization", "date", "host", "extra"]))
    headers = raw.headers
    if kind == "content-type":
        value = data.draw(st.one_of(st.sampled_from(CONTENT_TYPES), _HEADER_TEXT), label="content-type")
        headers.pop("Content-Type", None)
        if value is not None:
            headers["Content-Type"] = value
    elif kind == "target":
        value = data.draw(
            st.one_of(
                st.none(),
                st.sampled_from(targets),
                st.sampled_from(["", ".", "AmazonSQS.", ".ListQueues", "Kinesis_20131202.Nope"]),
                st.sampled_from(targets).map(lambda t: t.lower()),
                _HEADER_TEXT,
            ),
            label="target",
        )
        headers.pop("X-Amz-Target", None)
        if value is not None:
            headers["X-Amz-Target"] = value
    elif kind == "authorization":
        headers["Authorization"] = data.draw(AUTHORIZATIONS, label="authorization")
    elif kind == "date":
        headers["X-Amz-Date"] = data.draw(_HEADER_TEXT, label="date")
    elif kind == "host":
        headers["Host"] = data.draw(_HEADER_TEXT, label="host")
    else:
        name = data.draw(
            st.sampled_from(
                [
                    "X-Amz-Security-Token",
                    "Content-Encoding",
                    "X-Amz-Content-Sha256",
                    "Expect",
                    "X-Amzn-Query-Mode",
                    "amz-sdk-request",
                ]
            )
        )
        headers[name] = data.draw(_HEADER_TEXT, label="value")


def is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)
