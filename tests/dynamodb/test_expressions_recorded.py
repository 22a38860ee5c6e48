"""Condition cases whose answers were recorded from DynamoDB (as published by other emulators' suites).

When an expression has several problems DynamoDB names one: syntax first, then redundant parentheses,
function names, misused functions and reserved words across the expression; after that the problems
of the first faulty simple condition, in the order: undefined placeholder, operand count, distinctness,
operand types.
"""

from __future__ import annotations

import pytest

from gondwana.services.dynamodb.expressions import parse_condition, parse_key_condition, parse_projection
from tests.dynamodb.expr_helpers import N, S, error, ph

F = "Invalid FilterExpression: "


def filter_error(text: str, values: dict | None = None, names: dict | None = None) -> str:
    return error(parse_condition, text, ph(values, names), kind="FilterExpression")


@pytest.mark.parametrize(
    "text",
    [
        "things are not gonna be ok",
        "a > 4",
        "attribute_exists(Pictures-RearView)",
        'attribute_exists("Pictures.RearView")',
        "attribute_exists(Pictures..RearView)",
        "attribute_exists(Pi#ctures.RearView)",
        "attribute_exists(asdf[a])",
        "a > between",
        "a in b, c",
        "a in b",
        "a in (b,c,)",
        "(a)between(b.(c.d))and(c)",
        "(a)between(b.c.d)and((c)",
        "#$.b > a",
        "a > :things.stuff",
        "b[:a] > a",
        "b[#_] > a",
        "ü > a",
        "(a)between(b.c[4.5].#d)and(:a)",
        "size(a).b > a",
        "(size(a)).b > a",
        "size(a)[0] > a",
        "(size(a))[0] > a",
    ],
)
def test_syntax_errors(text: str) -> None:
    assert filter_error(text).startswith(F + "Syntax error; ")


@pytest.mark.parametrize(
    "text",
    [
        "a=a and a > ((views))",
        "(a)between(((b.c)).d)and(c)",
        "a > whatever((:things), ((a)))",
        "a=a AND ((a=a AND a=a)) AND a=a",
        "a=a OR ((a=a OR a=a)) OR a=a",
        "a=a AND ((a=a AND (a=a AND a=a)))",
        "a=a OR ((a=a OR (a=a OR a=a)))",
    ],
)
def test_redundant_parentheses(text: str) -> None:
    assert filter_error(text) == F + "The expression has redundant parentheses;"


def test_parenthesised_path_prefix() -> None:
    cond = parse_condition("(a.b).c = :v", ph({":v": N(1)}))
    assert [str(p) for p in cond.paths()] == ["[a, b, c]"]


@pytest.mark.parametrize(
    ("text", "function"),
    [("a=a and whatever((:things)) > a", "whatever"), ("attRIbute_exIsts((views), #a)", "attRIbute_exIsts")],
)
def test_invalid_function_names(text: str, function: str) -> None:
    assert filter_error(text) == F + f"Invalid function name; function: {function}"


@pytest.mark.parametrize(
    ("text", "function"),
    [
        ("a=a and attribute_exists((views), (#a)) > b", "attribute_exists"),
        ("attribute_not_exists(things) > b", "attribute_not_exists"),
        ("attribute_type(things, :a) > b", "attribute_type"),
        ("begins_with(things, a) > b", "begins_with"),
        ("contains(:things, c) > b", "contains"),
        ("size(contains(a, b)) > a", "contains"),
        ("size(things)", "size"),
        ("a between b and attribute_exists(things)", "attribute_exists"),
        ("a in (b, attribute_exists(things))", "attribute_exists"),
    ],
)
def test_misused_functions(text: str, function: str) -> None:
    assert filter_error(text) == (
        F + f"The function is not allowed to be used this way in an expression; function: {function}"
    )


@pytest.mark.parametrize(
    ("text", "word"), [("attribute_exists(views, #a)", "views"), (":a < abOrT", "abOrT")]
)
def test_reserved_words(text: str, word: str) -> None:
    assert filter_error(text) == F + f"Attribute name is a reserved keyword; reserved keyword: {word}"


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("attribute_exists(#Pictures.RearView, :a) and a=a", "#Pictures"),
        ("begins_with(Pictures.#RearView)", "#RearView"),
        ("(#P between :lo and :hi) and (#PC in (:cat1, :cat2))", "#P"),
        ("#4g > a", "#4g"),
        ("#_ > a", "#_"),
        ("(a)between(b.c[45].#d)and(:a)", "#d"),
    ],
)
def test_undefined_names(text: str, name: str) -> None:
    assert filter_error(text) == (
        F + f"An expression attribute name used in the document path is not defined; attribute name: {name}"
    )


@pytest.mark.parametrize(
    ("text", "value"), [("begins_with(:hello, #a, #b)", ":hello"), (":a < :b", ":a"), (":_ > a", ":_")]
)
def test_undefined_values(text: str, value: str) -> None:
    assert filter_error(text) == (
        F + f"An expression attribute value used in expression is not defined; attribute value: {value}"
    )


@pytest.mark.parametrize(
    ("text", "function", "count"),
    [
        ("attribute_exists(things, a) and a=a", "attribute_exists", 2),
        ("attribute_not_exists(things, b)", "attribute_not_exists", 2),
        ("attribute_type(things)", "attribute_type", 1),
        ("begins_with(things)", "begins_with", 1),
        ("begins_with(things, size(a), b)", "begins_with", 3),
        ("contains(things)", "contains", 1),
        ("size(things, a) > b", "size", 2),
    ],
)
def test_operand_counts(text: str, function: str, count: int) -> None:
    assert filter_error(text) == (
        F + "Incorrect number of operands for operator or function; "
        f"operator or function: {function}, number of operands: {count}"
    )


TYPED = [{"N": "1"}, {"B": b"a"}, {"BOOL": True}, {"NULL": True}, {"L": []}, {"M": {}},
         {"SS": ["1"]}, {"NS": ["1"]}, {"BS": [b"a"]}]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "function", "value"),
    [("attribute_type(a, size(a)) and a=a and a=:a", "attribute_type", N(1))]
    + [("attribute_type(a, :a)", "attribute_type", v) for v in TYPED]
    + [("begins_with(a, size(a)) and a=:a", "begins_with", N(1))]
    + [("begins_with(a, :a)", "begins_with", v) for v in TYPED if "B" not in v]
    + [("begins_with(:a, a)", "begins_with", v) for v in TYPED if "B" not in v]
    + [
        ("size(size(a)) > :a", "size", N(1)),
        ("attribute_not_exists(size(:a))", "size", N(1)),
        ("size(:a) > a", "size", {"BOOL": True}),
        ("size(:a) > a", "size", {"NULL": True}),
    ],
)
def test_operand_types(text: str, function: str, value: dict) -> None:
    kind = next(iter(value))
    assert filter_error(text, {":a": value}) == (
        F + "Incorrect operand type for operator or function; "
        f"operator or function: {function}, operand type: {kind}"
    )


def test_attribute_type_names_and_paths() -> None:
    assert filter_error("attribute_type(a, :a)", {":a": S("1")}) == (
        F + "Invalid attribute type name found; type: 1, valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}"
    )
    for text in ("attribute_exists(:a) and a=a", "attribute_not_exists(size(:a))"):
        function = text.split("(")[0]
        assert filter_error(text, {":a": S("1")}) == (
            F + f"Operator or function requires a document path; operator or function: {function}"
        )


@pytest.mark.parametrize(
    ("text", "operator", "first"),
    [
        ("a = a AND #a = b AND :views > a", "=", "[a]"),
        ("#a <> a", "<>", "[a]"),
        ("a > #a", ">", "[a]"),
        ("((a=a) OR (a=a))", "=", "[a]"),
        ("((a=a) AND (a=a))", "=", "[a]"),
        ("contains(ab.bc[1].a, ab.bc[1].#a)", "contains", "[ab, bc, [1], a]"),
        ("attribute_type(ab.bc[1].#a, ab.bc[1].a)", "attribute_type", "[ab, bc, [1], a]"),
        ("begins_with(ab.bc[1].a, ab.bc[1].#a)", "begins_with", "[ab, bc, [1], a]"),
    ],
)
def test_non_distinct_operands(text: str, operator: str, first: str) -> None:
    assert filter_error(text, names={"#a": "a"}) == (
        F + "The first operand must be distinct from the remaining operands for this operator or function; "
        f"operator: {operator}, first operand: {first}"
    )


def test_values_may_repeat() -> None:
    parse_condition(":a > :a", ph({":a": N(1)}))


def test_first_faulty_condition_wins() -> None:
    # the second condition's undefined value would outrank a type problem, but the first condition fails first
    assert filter_error("begins_with(a, :n) AND b = :zz", {":n": N(1)}) == (
        F + "Incorrect operand type for operator or function; "
        "operator or function: begins_with, operand type: N"
    )


# ---- KeyConditionExpression ------------------------------------------------------------------------------

K = "Invalid KeyConditionExpression: "


def key_error(text: str, values: dict | None = None) -> str:
    return error(parse_key_condition, text, ph(values), ("a",), ("b",))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a > b and size(b) > c or a > c", "Invalid operator used in KeyConditionExpression: OR"),
        ("a in (b, size(c), d)", "Invalid operator used in KeyConditionExpression: IN"),
        ("attribute_exists(a)", "Invalid operator used in KeyConditionExpression: attribute_exists"),
        ("attribute_not_exists(a)", "Invalid operator used in KeyConditionExpression: attribute_not_exists"),
        ("contains(a.d, b)", "Invalid operator used in KeyConditionExpression: contains"),
        ("not a > b", "Invalid operator used in KeyConditionExpression: NOT"),
        ("a <> b", "Invalid operator used in KeyConditionExpression: <>"),
        ("size(b) > a AND a.b > b AND b > c", "KeyConditionExpressions cannot contain nested operations"),
        ("a > size(b.d)", "KeyConditionExpressions cannot contain nested operations"),
        ("a between size(b) and size(a)", "KeyConditionExpressions cannot contain nested operations"),
        (
            "b > a.b",
            "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition",
        ),
        (
            "b between c[1] and d",
            "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition",
        ),
        (
            "a between b and size(a)",
            "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition",
        ),
        (
            "begins_with(a, b)",
            "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition",
        ),
        ("b.d > a AND c.d > e.f", "KeyConditionExpressions cannot have conditions on nested attributes"),
        ("a.d > c", "KeyConditionExpressions cannot have conditions on nested attributes"),
        ("b[0] > a", "KeyConditionExpressions cannot have conditions on nested attributes"),
    ],
)
def test_key_condition_structure(text: str, message: str) -> None:
    assert key_error(text) == K + message


def test_key_condition_recorded_value_cases() -> None:
    one = {":a": N(1), ":b": N(1)}
    for text in (":b > :a AND a < :b", ":a > b AND :a < :b"):
        assert (
            key_error(text, one)
            == K + "Invalid condition in KeyConditionExpression: No key attribute specified"
        )
    for text in ("b > :a AND b < :a and c = :a and d = :a", "(a > :a and b > :a) and (b > :a and c > :a)"):
        assert (
            key_error(text, {":a": N(1)})
            == K + "KeyConditionExpressions must only contain one condition per key"
        )
    strings = {":a": S("1"), ":b": S("1")}
    assert key_error(":a between size(b) and size(a) and b > :b", strings) == (
        K + "Invalid condition in KeyConditionExpression: BETWEEN operator must have the key attribute "
        "as its first operand"
    )
    assert key_error("begins_with(:a, b) and a > :b", strings) == (
        K + "Invalid condition in KeyConditionExpression: begins_with operator must have the key attribute "
        "as its first operand"
    )
    assert key_error("attribute_type(a, :a)", {":a": S("S")}) == (
        K + "Invalid operator used in KeyConditionExpression: attribute_type"
    )
    assert key_error("a between :b and :a", {":a": S("a"), ":b": N(1)}) == (
        K + "The BETWEEN operator requires same data type for lower and upper bounds; "
        "lower bound operand: AttributeValue: {N:1}, upper bound operand: AttributeValue: {S:a}"
    )
    assert key_error("attribute_type(a, b)").startswith(
        K + "Incorrect operand type for operator or function; "
        "operator or function: attribute_type, operand type:"
    )


# ---- ProjectionExpression ---------------------------------------------------------------------------------

P = "Invalid ProjectionExpression: "


@pytest.mark.parametrize(
    "text",
    ["whatever(stuff)", ":a", "abort,", "a,,b", "a..b", "a[b]", "(a.b).c", "(a)", "(a),(b)", "(a,b)", "a-b"],
)
def test_projection_syntax_errors(text: str) -> None:
    assert error(parse_projection, text, ph()).startswith(P + "Syntax error; ")


def test_projection_precedence() -> None:
    assert (
        error(parse_projection, "a.abORt", ph())
        == P + "Attribute name is a reserved keyword; reserved keyword: abORt"
    )
    assert error(parse_projection, "#a,ABSoLUTE", ph()) == (
        P + "Attribute name is a reserved keyword; reserved keyword: ABSoLUTE"
    )
    assert error(parse_projection, "a,b,a,#a", ph()) == (  # the undefined name outranks the overlap
        P + "An expression attribute name used in the document path is not defined; attribute name: #a"
    )
