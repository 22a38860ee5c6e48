"""What the fuzzer sends: every implemented operation of every service, in each protocol it
speaks, as botocore would serialize it, plus hypothesis strategies for type-correct input.

Valid input is generated from the botocore input shapes (right types, lengths and enums, with
resource names biased towards the resources conftest.seed() created, so the services' semantics see the
odd data, not only the validator); mutations of it live in `mutations.py`.
"""

from __future__ import annotations

import copy
import datetime
import re
import urllib.parse
from dataclasses import dataclass
from functools import cache
from typing import Any

from botocore.model import OperationModel, ServiceModel, Shape
from botocore.serialize import create_serializer
from hypothesis import strategies as st

from gondwana.services import load_service_classes
from gondwana.services.base import snake_case

REGION = "us-east-1"
ACCOUNT = "000000000000"
QUEUE = "fuzz-queue"
FIFO = "fuzz-queue.fifo"
TABLE = "fuzz-table"
STREAM = "fuzz-stream"
# Operations that would hold the connection (event streams, long polls) are not fuzzed here.
SKIPPED = {("kinesis", "SubscribeToShard")}


@dataclass(frozen=True)
class Endpoint:
    """One service in one protocol: "json" (1.0 or 1.1 by the model), "cbor" or "query"."""

    service: str
    protocol: str

    def __str__(self) -> str:
        return f"{self.service}-{self.protocol}"


ENDPOINTS = [
    Endpoint("sqs", "json"),
    Endpoint("sqs", "query"),
    Endpoint("kinesis", "json"),
    Endpoint("kinesis", "cbor"),
    Endpoint("dynamodb", "json"),
    Endpoint("dynamodbstreams", "json"),
    Endpoint("sts", "query"),
]


@cache
def provider(service: str) -> Any:
    return load_service_classes([service], [])[0]


@cache
def model(endpoint: Endpoint) -> ServiceModel:
    """botocore's model as the server reads it (its patches applied), in the endpoint's protocol."""
    cls = provider(endpoint.service)
    raw = copy.deepcopy(cls.load_model(cls.__new__(cls)))
    if endpoint.protocol == "query":
        raw["metadata"]["protocol"] = "query"
        raw["metadata"]["protocols"] = ["query"]
    return ServiceModel(raw, endpoint.service)


@cache
def operations(endpoint: Endpoint) -> list[str]:
    cls = provider(endpoint.service)
    names = model(endpoint).operation_names
    return [n for n in names if hasattr(cls, snake_case(n)) and (endpoint.service, n) not in SKIPPED]


def signing_name(service: str) -> str:
    return "dynamodb" if service == "dynamodbstreams" else service


def authorization(service: str, region: str = REGION) -> str:
    """A well-formed SigV4 header (the server does not verify signatures by default)."""
    return (
        f"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/{region}/"
        f"{signing_name(service)}/aws4_request, SignedHeaders=host;x-amz-date, "
        "Signature=" + "0" * 64
    )


# ---- strategies from shapes ----------------------------------------------------------------------

BASE = "http://localhost"  # replaced by the server's address when sending (see wire.py)


def _known(member: str, service: str) -> list[Any]:
    """Values of the seeded resources for members that name one."""
    queue_url = f"{BASE}/{ACCOUNT}/"
    stream_arn = f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{STREAM}"
    table_arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{TABLE}"
    known: dict[str, list[Any]] = {
        "QueueUrl": [queue_url + QUEUE, queue_url + FIFO],
        "QueueName": [QUEUE, FIFO],
        "TableName": [TABLE],
        "StreamName": [STREAM],
        "StreamARN": [stream_arn],
        "ResourceARN": [stream_arn, table_arn],
        "ResourceArn": [table_arn, stream_arn],
        "ShardId": ["shardId-000000000000", "shardId-000000000001"],
        "PartitionKey": ["a", "b"],
        "MessageGroupId": ["g1", "g2"],
    }
    return known.get(member, [])


ALWAYS = {"QueueUrl", "TableName", "StreamName"}
_WILD = st.text(max_size=12)


def _string(shape: Shape) -> st.SearchStrategy[str]:
    if shape.enum:
        return st.sampled_from(shape.enum)
    low = shape.metadata.get("min", 0)
    high = shape.metadata.get("max", 40)
    plain = st.text(
        st.characters(codec="ascii", categories=["L", "N"]), min_size=low, max_size=min(high, low + 24)
    )
    wild = _WILD.filter(lambda s: low <= len(s) <= high)
    pattern = shape.metadata.get("pattern")
    if pattern:
        try:
            re.compile(pattern)
        except re.error:  # a Java-only construct
            pass
        else:
            matching = st.from_regex(pattern, fullmatch=True).filter(
                lambda s: low <= len(s) <= min(high, 200)
            )
            return st.one_of(matching, matching, plain, wild)
    return st.one_of(plain, plain, wild)


def _number(shape: Shape, integral: bool) -> st.SearchStrategy[Any]:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if integral:
        return st.integers(
            min_value=int(low) if low is not None else -5, max_value=int(high) if high is not None else 1000
        )
    return st.floats(min_value=low, max_value=high, allow_nan=False, allow_infinity=False)


# DynamoDB expressions and PartiQL statements: token soups from their grammars, so the parsers
# and evaluators see near-misses, not only text they reject at the first character.
_EXPRESSION_TOKENS = [
    "#a",
    "#b",
    ":v",
    ":n",
    ":l",
    "pk",
    "n",
    "l",
    "a.b",
    "l[0]",
    "l[99999999999]",
    "=",
    "<>",
    "<",
    "<=",
    ">",
    ">=",
    "AND",
    "OR",
    "NOT",
    "(",
    ")",
    ",",
    ".",
    "SET",
    "REMOVE",
    "ADD",
    "DELETE",
    "+",
    "-",
    "BETWEEN",
    "IN",
    "attribute_exists(",
    "attribute_not_exists(",
    "attribute_type(",
    "begins_with(",
    "contains(",
    "size(",
    "if_not_exists(",
    "list_append(",
    ":missing",
    "#missing",
]
_PARTIQL_TOKENS = [
    "SELECT",
    "*",
    "FROM",
    '"fuzz-table"',
    "WHERE",
    "pk",
    "=",
    "'a'",
    "?",
    "INSERT",
    "INTO",
    "VALUE",
    "{",
    "}",
    "'pk'",
    ":",
    "UPDATE",
    "SET",
    "DELETE",
    "EXISTS",
    "(",
    ")",
    "[",
    "]",
    ".",
    "<<",
    ">>",
    ",",
    "AND",
    "OR",
    "NOT",
    "MISSING",
    "NULL",
    "IS",
    "1",
    "-1.5e400",
    '"fuzz-table"."index"',
    "RETURNING",
    "ALL",
    "OLD",
    "NEW",
    "*",
    "REMOVE",
]


def _soup(tokens: list[str]) -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(tokens), min_size=1, max_size=12).map(" ".join)


_ATTRIBUTE_VALUES = st.sampled_from(
    [{"S": "a"}, {"N": "1"}, {"L": [{"S": "x"}]}, {"M": {"b": {"BOOL": True}}}, {"SS": ["x"]}, {"NULL": True}]
)
SPECIAL: dict[str, st.SearchStrategy[Any]] = {
    **dict.fromkeys(
        [
            "ConditionExpression",
            "FilterExpression",
            "KeyConditionExpression",
            "ProjectionExpression",
            "UpdateExpression",
        ],
        _soup(_EXPRESSION_TOKENS),
    ),
    "Statement": _soup(_PARTIQL_TOKENS),
    "ExpressionAttributeNames": st.dictionaries(
        st.sampled_from(["#a", "#b", "#missing"]), st.sampled_from(["pk", "n", "l", "a"]), max_size=3
    ),
    "ExpressionAttributeValues": st.dictionaries(
        st.sampled_from([":v", ":n", ":l", ":missing"]), _ATTRIBUTE_VALUES, max_size=4
    ),
}


def strategy(shape: Shape, service: str, depth: int = 0, member: str = "") -> st.SearchStrategy[Any]:
    """Random but type-correct values of `shape` (deep recursion cut short)."""
    if service == "dynamodb" and member in SPECIAL:
        return st.one_of(SPECIAL[member], SPECIAL[member], _typed(shape, service, depth))
    known = _known(member, service)
    base = _typed(shape, service, depth)
    return st.one_of(st.sampled_from(known), st.sampled_from(known), base) if known else base


def _typed(shape: Shape, service: str, depth: int) -> st.SearchStrategy[Any]:
    kind = shape.type_name
    if kind == "structure":
        members = shape.members
        required = set(shape.required_members)
        union = shape.metadata.get("union") or shape.name == "AttributeValue"
        if depth > 4 and not union:
            members = {k: v for k, v in members.items() if k in required}
        if shape.is_document_type:
            return st.just({})
        if union:
            names = sorted(members)
            if depth > 4:
                names = [n for n in names if members[n].type_name not in ("structure", "list", "map")]
            return st.sampled_from(names).flatmap(
                lambda n: strategy(members[n], service, depth + 1, n).map(lambda v: {n: v})
            )
        # Members that name a seeded resource are always sent (SQS's QueueUrl is optional in the
        # model only because query clients may put it in the path).
        required |= {k for k in members if k in ALWAYS}
        fields = {k: strategy(v, service, depth + 1, k) for k, v in members.items()}
        return st.fixed_dictionaries(
            {k: s for k, s in fields.items() if k in required},
            optional={k: s for k, s in fields.items() if k not in required},
        )
    if kind == "list":
        low = shape.metadata.get("min", 0)
        size = 0 if depth > 4 else 3
        return st.lists(
            strategy(shape.member, service, depth + 1), min_size=min(low, 3), max_size=max(size, min(low, 3))
        )
    if kind == "map":
        size = 0 if depth > 4 else 3
        return st.dictionaries(
            strategy(shape.key, service, depth + 1), strategy(shape.value, service, depth + 1), max_size=size
        )
    if kind == "string":
        return _string(shape)
    if kind in ("integer", "long"):
        return _number(shape, True)
    if kind in ("float", "double"):
        return _number(shape, False)
    if kind == "boolean":
        return st.booleans()
    if kind == "blob":
        low = shape.metadata.get("min", 0)
        return st.binary(min_size=low, max_size=max(low, 24))
    if kind == "timestamp":
        return st.datetimes(
            min_value=datetime.datetime(2000, 1, 1), max_value=datetime.datetime(2040, 1, 1)
        ).map(lambda d: d.replace(tzinfo=datetime.UTC))
    raise AssertionError(f"unknown shape type {kind}")


def inputs(endpoint: Endpoint, operation: str) -> st.SearchStrategy[dict[str, Any]]:
    op = model(endpoint).operation_model(operation)
    if op.input_shape is None:
        return st.just({})
    return strategy(op.input_shape, endpoint.service).map(lambda p: _tame(endpoint, operation, p))


@cache
def member_names(endpoint: Endpoint, operation: str) -> list[str]:
    """Every member name the operation's input can carry, at any depth (for mutations that add
    a member where it was absent, with a wrong type)."""
    found: set[str] = set()
    seen: set[str] = set()

    def walk(shape: Shape | None) -> None:
        if shape is None or shape.name in seen:
            return
        seen.add(shape.name)
        if shape.type_name == "structure":
            for name, member in shape.members.items():
                found.add(name)
                walk(member)
        elif shape.type_name == "list":
            walk(shape.member)
        elif shape.type_name == "map":
            walk(shape.value)

    walk(model(endpoint).operation_model(operation).input_shape)
    return sorted(found) or ["x"]


def _tame(endpoint: Endpoint, operation: str, params: dict[str, Any]) -> dict[str, Any]:
    """Keep a valid request from holding the connection (long polls)."""
    if operation == "ReceiveMessage":
        params["WaitTimeSeconds"] = 0
    return params


# ---- serialization ---------------------------------------------------------------------------


@dataclass
class Raw:
    """One HTTP request, as parts the mutators can change."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def encode(self, host: str) -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {self.headers.get('Host', host)}"]
        lines += [f"{k}: {v}" for k, v in self.headers.items() if k.lower() not in ("host", "content-length")]
        lines.append(f"Content-Length: {len(self.body)}")
        lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body


@cache
def _serializer(protocol: str) -> Any:
    return create_serializer(protocol, include_validation=False)


def serialize(endpoint: Endpoint, operation: str, params: dict[str, Any]) -> Raw:
    """The request botocore would send (unsigned; a fixed-scope SigV4 header instead)."""
    op: OperationModel = model(endpoint).operation_model(operation)
    headers = {"Authorization": authorization(endpoint.service), "X-Amz-Date": "20260101T000000Z"}
    if endpoint.protocol == "cbor":
        import cbor2

        target = f"{op.metadata['targetPrefix']}.{operation}"
        body = cbor2.dumps(cbor_ready(params))
        headers.update({"X-Amz-Target": target, "Content-Type": "application/x-amz-cbor-1.1"})
        return Raw("POST", "/", headers, body)
    request = _serializer(endpoint.protocol if endpoint.protocol == "query" else "json").serialize_to_request(
        params, op
    )
    body = request["body"]
    if isinstance(body, dict):
        body = urllib.parse.urlencode(body)
        headers["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
    for name, value in request["headers"].items():
        headers[name] = value
    return Raw("POST", "/", headers, body.encode() if isinstance(body, str) else body)


def cbor_ready(value: Any) -> Any:
    """Timestamps as tag 1 epoch milliseconds, as the Java SDKs send them."""
    import cbor2

    if isinstance(value, dict):
        return {k: cbor_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [cbor_ready(v) for v in value]
    if isinstance(value, datetime.datetime):
        return cbor2.CBORTag(1, int(value.timestamp() * 1000))
    return value
