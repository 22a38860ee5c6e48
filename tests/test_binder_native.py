"""The binders' fast pass in C (`protocols/_binder.c`) against the Python closures it stands in for.

For values drawn from real input shapes (valid ones, and ones with wrong types, nulls, missing
members, values outside every kind of constraint, bad base64, deep nesting), the C node and the
closure must agree: the same result and the same converted input, or the same exception with the
same text. Python is the reference: the C pass may only ever be faster.
"""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gondwana.protocols import shapes
from gondwana.protocols.model import load_botocore_model
from gondwana.protocols.shapes import CBOR_INPUT, JSON_INPUT, InputCodec, NeedPaths
from tests.plugins import echo

pytestmark = pytest.mark.skipif(shapes._binder is None, reason="the C binder is not built")

CASES = [
    ("dynamodb", "PutItemInput"),
    ("dynamodb", "TransactWriteItemsInput"),
    ("dynamodb", "QueryInput"),
    ("sqs", "SendMessageBatchRequest"),
    ("sqs", "ReceiveMessageRequest"),
    ("kinesis", "PutRecordsInput"),
    ("kinesis", "GetShardIteratorInput"),
    ("kinesis", "ListShardsInput"),
    ("echo", "EchoRequest"),
    ("limits", "Limits"),
]
# Every kind of limit, small enough for the values drawn here to cross it.
LIMITS = {
    "Limits": {
        "type": "structure",
        "required": ["Blob"],
        "members": {m: {"shape": m} for m in ("Blob", "Few", "Pairs", "Code", "Level", "Nested")},
    },
    "Blob": {"type": "blob", "min": 2, "max": 4},
    "Few": {"type": "list", "member": {"shape": "Level"}, "min": 1, "max": 2},
    "Pairs": {"type": "map", "key": {"shape": "Code"}, "value": {"shape": "Blob"}, "min": 1, "max": 2},
    "Code": {"type": "string", "min": 2, "max": 3, "pattern": "^[A-C]+$"},
    "Level": {"type": "long", "min": -1, "max": 1},
    "Nested": {"type": "structure", "members": {"Inner": {"shape": "Limits"}, "Flag": {"shape": "Flag"}}},
    "Flag": {"type": "boolean"},
}
_MODELS: dict[str, dict[str, Any]] = {"echo": echo._SHAPES, "limits": LIMITS}


def _shapes(service: str) -> dict[str, Any]:
    if service not in _MODELS:
        _MODELS[service] = load_botocore_model(service)["shapes"]
    return _MODELS[service]


ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=6,
)
B64 = st.binary(max_size=12).map(lambda b: base64.b64encode(b).decode())
CONTAINERS = ("structure", "list", "map")


def _valid_string(shape: dict[str, Any]) -> st.SearchStrategy[str]:
    lo, hi = shape.get("min", 0), min(shape.get("max", 12), 12)
    if "enum" in shape:
        return st.sampled_from(shape["enum"])
    regex = shapes._pattern(shape)
    if regex is None:
        return st.text(min_size=lo, max_size=max(lo, hi))
    return st.from_regex(regex, fullmatch=True).filter(lambda v: lo <= len(v) <= shape.get("max", 1e9))


def _fault(draw: st.DrawFn, table: dict[str, Any], name: str, valid: Any) -> Any:
    """One thing wrong with a shape's otherwise valid value."""
    shape = table[name]
    kind, lo, hi = shape["type"], shape.get("min"), shape.get("max")
    options: list[Any] = [draw(ANY_JSON), None]
    if kind == "string":
        options += ["a" * (hi + 1) if hi is not None else "", "b" * max(lo - 1, 0) if lo else "NOT-IN-ENUM"]
        options += [valid + "\u00e9 #", "NOT_AN_ENUM_VALUE"]
    elif kind in ("integer", "long", "short", "byte"):
        options += [v for v in (lo and lo - 1, hi and hi + 1) if v is not None]
        options += [float(valid), valid + 0.5, True, str(valid), 2**80]
    elif kind == "list":
        item = _valid(draw, table, shape["member"]["shape"], [], 4)
        options += [{}, "text", [*valid, None], [item] * (hi + 1 if hi is not None else 4)]
        if lo:
            options.append([item] * (lo - 1))
    elif kind == "map":
        item = _valid(draw, table, shape["value"]["shape"], [], 4)
        options += [[], "text", {**valid, "extra": None}, {**valid, "": item}, {**valid, "é" * 300: item}]
        if hi is not None:
            options.append({f"k{i}": item for i in range(hi + 1)})
    elif kind == "structure":
        for member in shape.get("required", ()):
            options.append({k: v for k, v in valid.items() if k != member})
        options += [{**valid, "UnknownMember": draw(ANY_JSON)}, []]
    elif kind == "blob":
        options += [valid.rstrip("=") + " ", "not base64!", valid[:-1], b"raw", 12]
    elif kind == "boolean":
        options += [0, 1, "true"]
    return draw(st.sampled_from(options))


def _valid(draw: st.DrawFn, table: dict[str, Any], name: str, spots: list[Any], depth: int = 0) -> Any:
    """A valid value for a shape; every member, item and map value goes into `spots` as
    (its container, its key or index, its shape) for a fault to be put in its place."""
    shape = table[name]
    kind = shape["type"]
    if kind == "structure":
        members = shape.get("members", {})
        required = list(shape.get("required", ()))
        optional = [m for m in sorted(members) if m not in required]
        if depth >= 4:
            optional = [m for m in optional if table[members[m]["shape"]]["type"] not in CONTAINERS]
        more = draw(st.lists(st.sampled_from(optional), unique=True, max_size=4)) if optional else []
        out: dict[str, Any] = {}
        for member in draw(st.permutations(required + more)):
            out[member] = _valid(draw, table, members[member]["shape"], spots, depth + 1)
            spots.append((out, member, members[member]["shape"]))
        return out
    if kind in ("list", "map"):
        lo = shape.get("min", 0)
        size = draw(st.integers(lo, max(lo, min(shape.get("max", 3), 3 if depth < 4 else lo))))
        inner = shape["member" if kind == "list" else "value"]["shape"]
        if kind == "list":
            items: list[Any] = []
            for i in range(size):
                items.append(_valid(draw, table, inner, spots, depth + 1))
                spots.append((items, i, inner))
            return items
        entries: dict[str, Any] = {}
        for _ in range(size):
            key = draw(_valid_string(table[shape["key"]["shape"]]))
            entries[key] = _valid(draw, table, inner, spots, depth + 1)
            spots.append((entries, key, inner))
        return entries
    if kind == "string":
        return draw(_valid_string(shape))
    if kind in ("integer", "long", "short", "byte"):
        return draw(st.integers(shape.get("min", -(2**40)), shape.get("max", 2**40)))
    if kind == "boolean":
        return draw(st.booleans())
    if kind == "blob":
        return draw(B64)
    if kind == "timestamp":
        return draw(st.integers(0, 2**31) | st.just("2026-11-27T10:00:00Z"))
    if kind in ("double", "float"):
        return draw(st.floats(allow_nan=False, allow_infinity=False))
    return draw(ANY_JSON)


@st.composite
def values(draw: st.DrawFn, table: dict[str, Any], name: str) -> Any:
    """A valid value for a shape with at most one fault, anywhere in it (so that the fault decides
    the outcome, and every kind of fault at every depth is reached)."""
    spots: list[Any] = []
    value = _valid(draw, table, name, spots)
    where = draw(st.integers(-1, len(spots)))
    if where == len(spots):
        return value  # no fault
    if where == -1:
        return _fault(draw, table, name, value)
    container, key, inner = spots[where]
    container[key] = _fault(draw, table, inner, container[key])
    return value


def _outcome(binder: Any, value: Any, path: str | None) -> tuple[str, Any]:
    errs: list[Any] = []
    try:
        result = binder(value, path, errs)
    except NeedPaths:
        return "NeedPaths", None
    except Exception as error:  # the closures' own errors: compared by type and text
        return type(error).__name__, (
            str(error),
            getattr(error, "code", None),
            getattr(error, "message", None),
        )
    return "ok", (result, value, errs)


@pytest.mark.parametrize("codec", [JSON_INPUT, CBOR_INPUT], ids=lambda c: c.name)
@pytest.mark.parametrize("service, shape", CASES)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_c_pass_answers_as_the_closures_do(
    service: str, shape: str, codec: InputCodec, data: st.DataObject
) -> None:
    table = _shapes(service)
    value = data.draw(values(table, shape))
    native = shapes._Compiler(table, codec).native(shape)
    closure = shapes._Compiler(table, codec).binder(shape)
    for path in (None, ""):
        expected = _outcome(closure, copy.deepcopy(value), path)
        assert _outcome(native, copy.deepcopy(value), path) == expected, (value, path)


def test_valid_input_is_bound_in_c_without_the_closures() -> None:
    """The point of it: a valid request never calls back into Python (the closures are poisoned)."""
    table = _shapes("dynamodb")

    def poisoned(*_: Any) -> Any:
        raise AssertionError("the closure was called")

    compiler = shapes._Compiler(table, JSON_INPUT)
    compiler.binder = lambda name: poisoned  # type: ignore[method-assign]
    node = compiler.native("PutItemInput")
    item = {"pk": {"S": "a"}, "n": {"N": "1"}, "m": {"M": {"l": {"L": [{"BOOL": True}, {"NULL": True}]}}}}
    request = {"TableName": "tab", "Item": item, "ReturnValues": "ALL_OLD"}
    assert node(request, None, []) is request
    with pytest.raises(AssertionError, match="closure was called"):
        node({"TableName": "tab", "Item": item, "ReturnValues": "SOME"}, None, [])  # not in the enum


def test_blobs_are_decoded_in_c_and_left_to_the_closure_when_only_it_takes_them() -> None:
    table = _shapes("kinesis")
    node = shapes._Compiler(table, JSON_INPUT).native("PutRecordInput")
    request = {"StreamName": "s", "PartitionKey": "k", "Data": "aGVsbG8="}
    assert node(request, None, [])["Data"] == b"hello"
    lenient = {"StreamName": "s", "PartitionKey": "k", "Data": "aGVsbG8"}  # no padding: AWS takes it
    assert node(lenient, None, [])["Data"] == b"hello"
    with pytest.raises(Exception, match="Base64"):
        node({"StreamName": "s", "PartitionKey": "k", "Data": 7}, None, [])


def test_deep_nesting_is_handed_to_the_closures() -> None:
    """Past the C pass's depth the closures carry on, and stop at Python's recursion limit as
    before (parse() answers that with SerializationException)."""
    table = _shapes("dynamodb")
    node = shapes._Compiler(table, JSON_INPUT).native("PutItemInput")
    value: dict[str, Any] = {"S": "x"}
    for _ in range(40):
        value = {"M": {"a": value}}
    assert node({"TableName": "tab", "Item": {"pk": value}}, None, [])["Item"]["pk"] is value
    for _ in range(2000):
        value = {"L": [value]}
    with pytest.raises(RecursionError):
        node({"TableName": "tab", "Item": {"pk": value}}, None, [])
