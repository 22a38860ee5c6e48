"""ProjectionExpression, KeyConditionExpression, placeholders maps, value ordering and reserved words."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gondwana.services.dynamodb.expressions import (
    compare_values,
    parse_condition,
    parse_key_condition,
    parse_projection,
    parse_update,
    project,
    projection_from_attributes,
)
from gondwana.services.dynamodb.expressions.reserved import RESERVED_WORDS, is_reserved
from tests.dynamodb.expr_helpers import N, S, error, ph

ITEM = {
    "id": S("k"),
    "a": {"M": {"b": S("bv"), "c": S("cv"), "d": {"L": [N(0), N(1), N(2)]}}},
    "lst": {"L": [S("x"), {"M": {"y": S("yv"), "z": S("zv")}}, S("w")]},
    "dotted.name": N(1),
}
P = "Invalid ProjectionExpression: "


def test_projection_keeps_structure() -> None:
    proj = parse_projection(
        "a.b, a.d[2], lst[2], lst[1].y, #d, nope, a.nope", ph(names={"#d": "dotted.name"})
    )
    assert project(proj, ITEM) == {
        "a": {"M": {"b": S("bv"), "d": {"L": [N(2)]}}},
        "lst": {"L": [{"M": {"y": S("yv")}}, S("w")]},
        "dotted.name": N(1),
    }
    assert proj.attribute_names() == {"a", "lst", "dotted.name", "nope"}


def test_projection_of_missing_nested_parts_leaves_attribute_out() -> None:
    proj = parse_projection("a.zz, lst[7], id.x", ph())
    assert project(proj, ITEM) == {}


def test_projection_result_is_a_copy() -> None:
    result = project(parse_projection("a", ph()), ITEM)
    result["a"]["M"]["b"] = S("changed")
    assert ITEM["a"]["M"]["b"] == S("bv")


@pytest.mark.parametrize(
    ("text", "one", "two"),
    [
        ("a, a.b", "[a]", "[a, b]"),
        ("a.b, a", "[a, b]", "[a]"),
        ("a, a", "[a]", "[a]"),
        ("x, lst[0], lst", "[lst, [0]]", "[lst]"),
    ],
)
def test_projection_overlaps(text: str, one: str, two: str) -> None:
    assert error(parse_projection, text, ph()) == (
        P + f"Two document paths overlap with each other; must remove or rewrite one of these paths; "
        f"path one: {one}, path two: {two}"
    )


def test_projection_errors() -> None:
    assert error(parse_projection, "a.#u", ph()) == (
        P + "An expression attribute name used in the document path is not defined; attribute name: #u"
    )
    assert (
        error(parse_projection, "a, name", ph())
        == P + "Attribute name is a reserved keyword; reserved keyword: name"
    )
    assert error(parse_projection, "a,", ph()) == P + 'Syntax error; token: "<EOF>", near: ","'
    assert (
        error(parse_projection, "a" * 4097, ph())
        == P + "Expression size has exceeded the maximum allowed size;"
    )
    parse_projection("a" * 4096, ph())


def test_attributes_to_get() -> None:
    proj = projection_from_attributes(["id", "status", "a.b"])
    assert project(proj, {"id": S("1"), "status": S("s"), "a.b": N(1), "a": {"M": {"b": N(2)}}}) == {
        "id": S("1"),
        "status": S("s"),
        "a.b": N(1),
    }
    assert error(projection_from_attributes, ["x", "x"]) == (
        "One or more parameter values were invalid: Duplicate value in attribute name: x"
    )


# ---- key conditions ---------------------------------------------------------------------------------


def key(text: str, values: dict, names: dict | None = None, range_key: str | None = "sk"):
    return parse_key_condition(text, ph(values, names), ("pk",), (range_key,) if range_key else ())


@pytest.mark.parametrize(
    ("text", "op", "count"),
    [
        ("pk = :p", None, 0),
        ("pk = :p AND sk = :a", "=", 1),
        ("pk = :p AND sk < :a", "<", 1),
        ("pk = :p AND :a < sk", ">", 1),  # value first: the operator is mirrored
        ("pk = :p AND :a >= sk", "<=", 1),
        ("sk <= :a AND pk = :p", "<=", 1),
        ("(pk = :p) AND (sk > :a)", ">", 1),
        ("pk = :p AND sk BETWEEN :a AND :b", "BETWEEN", 2),
        ("pk = :p AND begins_with(sk, :a)", "begins_with", 1),
        (":p = pk", None, 0),
    ],
)
def test_key_conditions(text: str, op: str | None, count: int) -> None:
    values = {":p": S("h"), ":a": S("a"), ":b": S("b")}
    used = {k: v for k, v in values.items() if k in text}
    kc = key(text, used)
    assert kc.hash_values == (S("h"),)
    assert kc.range_op == op
    assert len(kc.range_values) == count
    if count:
        assert kc.range_values[0] == S("a")


def test_key_condition_with_names() -> None:
    kc = parse_key_condition(
        "#h = :p AND #r > :a",
        ph({":p": N(1), ":a": N(2)}, {"#h": "year", "#r": "month"}),
        ("year",),
        ("month",),
    )
    assert (kc.hash_values, kc.ranges) == ((N(1),), (("month", ">", [N(2)]),))


K = "Invalid KeyConditionExpression: "


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("pk = :p OR sk = :a", K + "Invalid operator used in KeyConditionExpression: OR"),
        ("pk = :p AND NOT sk = :a", K + "Invalid operator used in KeyConditionExpression: NOT"),
        ("pk IN (:p)", K + "Invalid operator used in KeyConditionExpression: IN"),
        ("pk <> :p", K + "Invalid operator used in KeyConditionExpression: <>"),
        (
            "pk = :p AND attribute_exists(sk)",
            K + "Invalid operator used in KeyConditionExpression: attribute_exists",
        ),
        ("pk = :p AND contains(sk, :a)", K + "Invalid operator used in KeyConditionExpression: contains"),
        ("pk = :p AND size(sk) > :a", K + "KeyConditionExpressions cannot contain nested operations"),
        ("pk.x = :p", K + "KeyConditionExpressions cannot have conditions on nested attributes"),
        ("pk = :p AND sk[0] = :a", K + "KeyConditionExpressions cannot have conditions on nested attributes"),
        (
            "pk = sk",
            K + "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition",
        ),
        (":p = :a", K + "Invalid condition in KeyConditionExpression: No key attribute specified"),
        ("pk = :p AND pk = :a", K + "KeyConditionExpressions must only contain one condition per key"),
        (
            "pk = :p AND :a BETWEEN sk AND :b",
            K + "Invalid condition in KeyConditionExpression: BETWEEN operator must have the key attribute "
            "as its first operand",
        ),
        ("sk = :a", "Query condition missed key schema element: pk"),
        ("foo = :a", "Query condition missed key schema element: pk"),
        ("pk = :p AND foo = :a", "Query condition missed key schema element: sk"),
        ("pk > :p", "Query key condition not supported"),
        ("pk = :p AND sk = :a AND foo = :b", "Conditions can be of length 1 or 2 only"),
        (
            "pk = :p AND begins_with(sk, :n)",
            K + "Incorrect operand type for operator or function; operator or function: begins_with, "
            "operand type: N",
        ),
        ("status = :p", K + "Attribute name is a reserved keyword; reserved keyword: status"),
        ("pk = :p AND", K + 'Syntax error; token: "<EOF>", near: "AND"'),
    ],
)
def test_key_condition_errors(text: str, message: str) -> None:
    values = {":p": S("h"), ":a": S("a"), ":b": S("b"), ":n": N(1)}
    assert error(parse_key_condition, text, ph(values), ("pk",), ("sk",)) == message


def test_key_condition_on_hash_only_table() -> None:
    assert error(key, "pk = :p AND foo = :a", {":p": S("h"), ":a": S("a")}, range_key=None) == (
        "Query key condition not supported"
    )


# ---- placeholders maps ----------------------------------------------------------------------------------


def test_placeholder_map_validation() -> None:
    assert error(ph(names={}).validate) == "ExpressionAttributeNames must not be empty"
    assert error(ph(values={}).validate) == "ExpressionAttributeValues must not be empty"
    assert (
        error(ph(names={"n": "x"}).validate)
        == 'ExpressionAttributeNames contains invalid key: Syntax error; key: "n"'
    )
    assert error(ph(names={"#" + "n" * 255: "x"}).validate) == (
        "ExpressionAttributeNames contains invalid key: The expression attribute map contains a key that is "
        "too long; size of key: 256"
    )
    ph(names={"#" + "n" * 254: "x"}).validate()
    assert error(ph(names={"#n": ""}).validate) == (
        "ExpressionAttributeNames contains invalid value: Empty attribute name for key #n"
    )
    assert error(ph(values={":a-b": N(1)}).validate) == (
        'ExpressionAttributeValues contains invalid key: Syntax error; key: ":a-b"'
    )

    def checker(value: dict) -> dict:
        if "SS" in value and not value["SS"]:
            from gondwana.services.dynamodb.expressions.errors import validation

            raise validation("One or more parameter values were invalid: An string set  may not be empty")
        return {"N": "1"} if "N" in value else value

    assert error(ph(values={":s": {"SS": []}}).validate, checker) == (
        "ExpressionAttributeValues contains invalid value: One or more parameter values were invalid: "
        "An string set  may not be empty for key :s"
    )
    p = ph(values={":n": N("1.0")})
    p.validate(checker)
    assert p.value(":n") == N(1)  # the checker's normalised value is what expressions see


# ---- ordering and reserved words ---------------------------------------------------------------------------


def test_compare_values() -> None:
    assert compare_values(N("10"), N("9.99")) == 1
    assert compare_values(N("-1E+2"), N("-99")) == -1
    assert compare_values(N("1.0"), N("1")) == 0
    assert compare_values(S("Z"), S("a")) == -1
    assert compare_values(S("\uffff"), S("\U0001f600")) == -1  # UTF-8 byte order, not UTF-16
    assert compare_values({"B": b"\x7f"}, {"B": b"\x80"}) == -1  # unsigned bytes
    assert compare_values({"B": b"ab"}, {"B": b"a"}) == 1


def test_reserved_words() -> None:
    assert len(RESERVED_WORDS) == 573
    assert is_reserved("status") and is_reserved("Name") and is_reserved("ZONE") and is_reserved("abort")
    assert not is_reserved("title") and not is_reserved("age")


def test_document_path_depth_limit() -> None:
    deep = ".".join(["a"] * 32)
    parse_projection(deep, ph())
    assert error(parse_projection, deep + "[0]", ph()) == (
        P + "The document path has too many nesting levels; nesting levels: 33"
    )
    assert "nesting levels: 33" in error(parse_update, "SET " + deep + ".b = :v", ph({":v": N(1)}))
    assert "nesting levels: 34" in error(parse_condition, "attribute_exists(" + deep + ".b.c)", ph())


# ---- properties --------------------------------------------------------------------------------------------

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)))  # what JSON can carry
NUMBERS = st.decimals(allow_nan=False, allow_infinity=False, places=6, min_value=-(10**20), max_value=10**20)


@settings(max_examples=200, deadline=None)
@given(NUMBERS, NUMBERS)
def test_number_order_is_numeric(a: Decimal, b: Decimal) -> None:
    expected = (a > b) - (a < b)
    assert compare_values(N(str(a)), N(str(b))) == expected
    assert compare_values(N(f"{a:E}"), N(str(b))) == expected  # any spelling of the same number


@settings(max_examples=200, deadline=None)
@given(TEXT, TEXT)
def test_string_order_is_utf8_bytes(a: str, b: str) -> None:
    x, y = a.encode("utf-8"), b.encode("utf-8")
    assert compare_values(S(a), S(b)) == (x > y) - (x < y)


@settings(max_examples=200, deadline=None)
@given(st.binary(), st.binary())
def test_binary_order_is_unsigned_bytes(a: bytes, b: bytes) -> None:
    assert compare_values({"B": a}, {"B": b}) == (a > b) - (a < b)
