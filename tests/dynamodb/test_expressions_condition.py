"""ConditionExpression / FilterExpression: grammar, precedence, functions, evaluation and errors."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gondwana.services.dynamodb.expressions import evaluate, parse_condition
from tests.dynamodb.expr_helpers import N, S, error, ph

ITEM = {
    "id": S("x1"),
    "title": S("héllo wörld"),
    "age": N(42),
    "price": N("9.50"),
    "flag": {"BOOL": True},
    "nothing": {"NULL": True},
    "bin": {"B": b"\x00\xffabc"},
    "tags": {"SS": ["red", "green"]},
    "nums": {"NS": ["1", "2.5"]},
    "bins": {"BS": [b"\x01", b"\x02"]},
    "lst": {"L": [S("a"), N(1), {"M": {"deep": S("d")}}]},
    "mp": {"M": {"inr": {"M": {"x": N(7)}}, "s": S("str")}},
}


def check(
    text: str,
    values: dict | None = None,
    names: dict | None = None,
    item: dict | None = ITEM,
    strict: bool = True,
) -> bool:
    p = ph(values, names)
    cond = parse_condition(text, p)
    if strict:
        p.check_unused()
    return evaluate(cond, item)


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("age = :v", {":v": N(42)}, True),
        ("age = :v", {":v": N("42.000")}, True),  # numbers compare by value
        ("age = :v", {":v": S("42")}, False),  # different types are never equal
        ("age <> :v", {":v": S("42")}, True),
        ("age < :v", {":v": N(43)}, True),
        ("age <= :v", {":v": N(42)}, True),
        ("age > :v", {":v": N(42)}, False),
        ("age >= :v", {":v": N("41.99")}, True),
        ("age > :v", {":v": S("1")}, False),  # mixed types: false, not an error
        ("price = :v", {":v": N("9.5")}, True),
        ("title < :v", {":v": S("z")}, True),
        ("bin < :v", {":v": {"B": b"\x01"}}, True),  # binary compares as unsigned bytes
        ("tags = :v", {":v": {"SS": ["green", "red"]}}, True),  # sets ignore order
        ("nums = :v", {":v": {"NS": ["2.50", "1"]}}, True),
        ("lst = :v", {":v": {"L": [S("a"), N(1), {"M": {"deep": S("d")}}]}}, True),
        ("absent = :v", {":v": N(1)}, False),
        ("absent <> :v", {":v": N(1)}, True),
        ("absent < :v", {":v": N(1)}, False),
        ("age BETWEEN :a AND :b", {":a": N(40), ":b": N(42)}, True),
        ("age BETWEEN :a AND :b", {":a": N(43), ":b": N(50)}, False),
        ("title BETWEEN :a AND :b", {":a": S("a"), ":b": S("i")}, True),
        ("age IN (:a, :b)", {":a": N(1), ":b": N(42)}, True),
        ("age IN (:a)", {":a": N(1)}, False),
        ("mp.inr.x = :v", {":v": N(7)}, True),
        ("lst[2].deep = :v", {":v": S("d")}, True),
        ("lst[0] = :v", {":v": S("a")}, True),
        ("lst[9] = :v", {":v": S("a")}, False),
        ("mp[0] = :v", {":v": S("a")}, False),  # index into a map: no value
        ("lst.x = :v", {":v": S("a")}, False),
        ("age = price", None, False),
        ("size(tags) = :v", {":v": N(2)}, True),
        ("size(title) = :v", {":v": N(13)}, True),  # UTF-8 bytes: "héllo wörld"
        ("size(bin) = :v", {":v": N(5)}, True),
        ("size(lst) = :v", {":v": N(3)}, True),
        ("size(mp) = :v", {":v": N(2)}, True),
        ("size(age) = :v", {":v": N(2)}, False),  # size of a number: no value
        ("size(age) <> :v", {":v": N(2)}, True),
        ("size(absent) > :v", {":v": N(0)}, False),
        ("(size(lst)) > :v", {":v": N(2)}, True),
    ],
)
def test_comparisons(text: str, values: dict | None, expected: bool) -> None:
    assert check(text, values) is expected


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("attribute_exists(age)", None, True),
        ("attribute_exists(mp.inr.x)", None, True),
        ("attribute_exists(mp.inr.y)", None, False),
        ("attribute_not_exists(absent)", None, True),
        ("attribute_not_exists(lst[5])", None, True),
        ("attribute_type(age, :t)", {":t": S("N")}, True),
        ("attribute_type(tags, :t)", {":t": S("SS")}, True),
        ("attribute_type(nothing, :t)", {":t": S("NULL")}, True),
        ("attribute_type(age, :t)", {":t": S("S")}, False),
        ("attribute_type(:t, :t)", {":t": S("S")}, True),  # the first operand may be a value
        ("begins_with(title, :p)", {":p": S("hé")}, True),
        ("begins_with(title, :p)", {":p": S("x")}, False),
        ("begins_with(bin, :p)", {":p": {"B": b"\x00\xff"}}, True),
        ("begins_with(age, :p)", {":p": S("4")}, False),
        ("contains(title, :p)", {":p": S("wör")}, True),
        ("contains(tags, :p)", {":p": S("red")}, True),
        ("contains(tags, :p)", {":p": S("blue")}, False),
        ("contains(nums, :p)", {":p": N("2.50")}, True),
        ("contains(bins, :p)", {":p": {"B": b"\x02"}}, True),
        ("contains(lst, :p)", {":p": N(1)}, True),
        ("contains(lst, :p)", {":p": S("zz")}, False),
        ("contains(bin, :p)", {":p": {"B": b"ab"}}, True),
        ("contains(mp.s, :p)", {":p": S("tr")}, True),
        ("contains(absent, :p)", {":p": S("x")}, False),
        ("begins_with(title, mp.s)", None, False),
    ],
)
def test_functions(text: str, values: dict | None, expected: bool) -> None:
    assert check(text, values) is expected


def test_precedence_not_and_or() -> None:
    values = {":t": {"BOOL": True}, ":f": {"BOOL": False}}
    # AND binds tighter than OR: true OR (false AND false)
    assert check("flag = :t OR flag = :f AND flag = :f", values)
    assert not check("(flag = :t OR flag = :f) AND flag = :f", values)
    # NOT binds tighter than AND
    assert not check("NOT flag = :t AND flag = :t", values, strict=False)
    assert check("NOT (flag = :f AND flag = :t)", values)
    assert check("NOT NOT flag = :t", values, strict=False)
    assert check("flag = :t and flag <> :f or nothing = :f", values)  # keywords are case-insensitive
    assert check("attribute_exists(age) AND (begins_with(title, :p) OR age > :n)", {":p": S("h"), ":n": N(1)})


def test_names_and_values_substitution() -> None:
    names = {"#s": "status", "#m": "map", "#i": "inner", "#dot": "a.b"}
    item = {"status": S("on"), "map": {"M": {"inner": {"M": {"x": N(7)}}}}, "a.b": N(1)}
    assert check(
        "#s = :v AND #m.#i.x = :n AND #dot = :one", {":v": S("on"), ":n": N(7), ":one": N(1)}, names, item
    )
    assert check("attribute_not_exists(#s)", None, {"#s": "status"}, None)  # no item at all


def test_attribute_names_reports_top_level_paths() -> None:
    cond = parse_condition(
        "a.b = :v AND (size(c[1]) > :v OR contains(#d, :v))", ph({":v": N(1)}, {"#d": "dd"})
    )
    assert cond.attribute_names() == {"a", "c", "dd"}


def test_whitespace_and_placeholder_tokens() -> None:
    assert check("  age=:v  ", {":v": N(42)})
    assert check("age = :1", {":1": N(42)})
    assert check("#1a = :_", {":_": N(42)}, {"#1a": "age"})
    assert check("A_1 = :v", {":v": N(1)}, item={"A_1": N(1)})


# ---- errors -------------------------------------------------------------------------------------

C = "Invalid ConditionExpression: "


@pytest.mark.parametrize(
    ("text", "token", "near"),
    [
        ("foo", "<EOF>", "foo"),
        ("a = :v AND", "<EOF>", "AND"),
        ("a = ", "<EOF>", "="),
        ("_a = :v", "_", "_a"),
        ("a == :v", "=", "== :v"),
        ("a = :v b = :v", "b", ":v b ="),
        ("a IN () ", ")", "()"),
        ("a BETWEEN :v", "<EOF>", ":v"),
        ("a[-1] = :v", "-", "[-1"),
        ("a = :v AND OR b = :v", "OR", "AND OR b"),
        ("(a = :v", "<EOF>", ":v"),
        ("a.and = :v", "and", ".and ="),
    ],
)
def test_syntax_errors(text: str, token: str, near: str) -> None:
    assert (
        error(parse_condition, text, ph({":v": N(1)})) == f'{C}Syntax error; token: "{token}", near: "{near}"'
    )


def test_filter_kind_names_the_parameter() -> None:
    assert error(parse_condition, "a =", ph(), kind="FilterExpression").startswith(
        "Invalid FilterExpression: "
    )


def test_empty_and_oversize() -> None:
    assert error(parse_condition, "", ph()) == C + "The expression can not be empty;"
    long = "a" * 4097 + " = :v"
    assert error(parse_condition, long, ph({":v": N(1)})) == (
        C + f"Expression size has exceeded the maximum allowed size; expression size: {len(long)}"
    )
    fits = "a" * 4091 + " = :v"
    parse_condition(fits, ph({":v": N(1)}))


def test_reserved_words() -> None:
    assert error(parse_condition, "status = :v", ph({":v": N(1)})) == (
        C + "Attribute name is a reserved keyword; reserved keyword: status"
    )
    assert error(parse_condition, "a.Count = :v", ph({":v": N(1)})) == (
        C + "Attribute name is a reserved keyword; reserved keyword: Count"
    )
    check("#s = :v", {":v": N(1)}, {"#s": "status"})


def test_undefined_placeholders() -> None:
    assert error(parse_condition, "#n = :v", ph({":v": N(1)})) == (
        C + "An expression attribute name used in the document path is not defined; attribute name: #n"
    )
    assert error(parse_condition, "a = :v", ph({":w": N(1)})) == (
        C + "An expression attribute value used in expression is not defined; attribute value: :v"
    )
    # the reserved word outranks the undefined placeholder, whatever the order in the text
    assert "reserved keyword: name" in error(parse_condition, "#n = :v AND name = :v", ph())


def test_unused_placeholders() -> None:
    p = ph({":a": N(1), ":b": N(2), ":c": N(3)}, {"#x": "x"})
    parse_condition(":a = :a", p)
    assert (
        error(p.check_unused)
        == "Value provided in ExpressionAttributeNames unused in expressions: keys: {#x}"
    )
    p = ph({":a": N(1), ":b": N(2), ":c": N(3)})
    parse_condition("a = :a", p)
    assert (
        error(p.check_unused)
        == "Value provided in ExpressionAttributeValues unused in expressions: keys: {:b, :c}"
    )


@pytest.mark.parametrize(
    ("text", "values", "message"),
    [
        ("((a = :n))", None, "The expression has redundant parentheses;"),
        ("((a)) = :n", None, "The expression has redundant parentheses;"),
        ("foo(a)", None, "Invalid function name; function: foo"),
        ("Attribute_Exists(a)", None, "Invalid function name; function: Attribute_Exists"),
        (
            "if_not_exists(a, :n) = :n",
            None,
            "The function is not allowed in a condition expression; function: if_not_exists",
        ),
        ("size(a)", None, "The function is not allowed to be used this way in an expression; function: size"),
        (
            "attribute_exists(a) = :n",
            None,
            "The function is not allowed to be used this way in an expression; function: attribute_exists",
        ),
        (
            "attribute_exists(a, b)",
            None,
            "Incorrect number of operands for operator or function; operator or function: attribute_exists, "
            "number of operands: 2",
        ),
        (
            "attribute_exists(:n)",
            None,
            "Operator or function requires a document path; operator or function: attribute_exists",
        ),
        (
            "a = a",
            None,
            "The first operand must be distinct from the remaining operands for this operator or function; "
            "operator: =, first operand: [a]",
        ),
        (
            "begins_with(a.b[1], a.b[1])",
            None,
            "The first operand must be distinct from the remaining operands for this operator or function; "
            "operator: begins_with, first operand: [a, b, [1]]",
        ),
        (
            "a < :x",
            {":x": {"BOOL": True}},
            "Incorrect operand type for operator or function; operator or function: <, operand type: BOOL",
        ),
        (
            ":x >= a",
            {":x": {"SS": ["a"]}},
            "Incorrect operand type for operator or function; operator or function: >=, operand type: SS",
        ),
        (
            "a BETWEEN :x AND :n",
            {":x": {"M": {}}},
            "Incorrect operand type for operator or function; operator or function: BETWEEN, operand type: M",
        ),
        (
            "a BETWEEN :n AND :s",
            {":s": S("x")},
            "The BETWEEN operator requires same data type for lower and upper bounds; "
            "lower bound operand: AttributeValue: {N:5}, upper bound operand: AttributeValue: {S:x}",
        ),
        (
            "a BETWEEN :n AND :one",
            {":one": N(1)},
            "The BETWEEN operator requires upper bound to be greater than or equal to lower bound; "
            "lower bound operand: AttributeValue: {N:5}, upper bound operand: AttributeValue: {N:1}",
        ),
        (
            "begins_with(a, :n)",
            None,
            "Incorrect operand type for operator or function; "
            "operator or function: begins_with, operand type: N",
        ),
        (
            "size(:n) > :n",
            None,
            "Incorrect operand type for operator or function; operator or function: size, operand type: N",
        ),
        (
            "attribute_type(a, :n)",
            None,
            "Incorrect operand type for operator or function; "
            "operator or function: attribute_type, operand type: N",
        ),
        (
            "attribute_type(a, b)",
            None,
            "Incorrect operand type for operator or function; operator or function: attribute_type, "
            "operand type: {NS,SS,L,BS,N,M,B,BOOL,NULL,S}",
        ),
        (
            "attribute_type(a, :s)",
            {":s": S("STRING")},
            "Invalid attribute type name found; type: STRING, valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}",
        ),
    ],
)
def test_semantic_errors(text: str, values: dict | None, message: str) -> None:
    assert error(parse_condition, text, ph({":n": N(5), **(values or {})})) == C + message


def test_in_operand_limit() -> None:
    # the left operand counts: 99 options at most
    values = {f":v{i}": N(i) for i in range(100)}
    text = "a IN (" + ", ".join(values) + ")"
    assert error(parse_condition, text, ph(values)) == (
        C + "The IN operator is provided with too many operands; number of operands: 101"
    )
    del values[":v99"]
    parse_condition("a IN (" + ", ".join(values) + ")", ph(values))


def test_operator_limit() -> None:
    text = " OR ".join(["a = :v"] * 151)  # 151 comparisons + 150 ORs
    assert error(parse_condition, text, ph({":v": N(1)})) == (
        C + "The expression contains too many operators; operator count: 301"
    )
    parse_condition(" OR ".join(["a = :v"] * 150), ph({":v": N(1)}))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("(" * 4096, 'Syntax error; token: "<EOF>", near: "("'),
        ("(" * 2000 + "a < :v" + ")" * 2000, "The expression has redundant parentheses;"),
        ("NOT " * 1000 + "a < :v", "The expression contains too many operators; operator count: 1001"),
        (
            "a < " + "f(" * 1300 + "b" + ")" * 1300,
            "The expression contains too many operators; operator count: 1301",
        ),
        (
            "a < :v " + "AND (a < :v " * 300 + ")" * 300,
            "The expression contains too many operators; operator count: 601",
        ),
    ],
)
def test_deep_nesting_is_refused_cleanly(text: str, message: str) -> None:
    assert len(text.encode()) <= 4096
    assert error(parse_condition, text, ph({":v": N(1)})) == C + message


def test_reasonable_nesting_works() -> None:
    values = {":v": N(1)}
    assert check("NOT " * 150 + "age > :v", values)
    assert check("(age > :v AND " * 60 + "age > :v" + ")" * 60, values)


# A random boolean formula evaluates as Python evaluates it: both bind NOT tighter than AND, AND than OR.
ATOMS = st.sampled_from(
    [("flag = :t", "True"), ("flag = :f", "False"), ("attribute_exists(absent)", "False")]
)


def _combine(children: st.SearchStrategy) -> st.SearchStrategy:
    def join(parts: tuple, word: str) -> tuple[str, str]:
        (a, pa), (b, pb) = parts
        return f"{a} {word} {b}", f"{pa} {word.lower()} {pb}"

    def paren(part: tuple) -> tuple[str, str]:
        text, py = part
        return (text, py) if text.startswith("(") and text.endswith(")") else (f"({text})", f"({py})")

    return st.one_of(
        st.tuples(children, children).map(lambda p: join(p, "AND")),
        st.tuples(children, children).map(lambda p: join(p, "OR")),
        children.map(lambda p: (f"NOT {p[0]}", f"not {p[1]}")),
        children.map(paren),
    )


@settings(max_examples=300, deadline=None)
@given(st.recursive(ATOMS, _combine, max_leaves=12))
def test_precedence_matches_python(formula: tuple[str, str]) -> None:
    text, python = formula
    values = {":t": {"BOOL": True}, ":f": {"BOOL": False}}
    assert check(text, values, strict=False) is eval(python)  # a formula of True/False only
