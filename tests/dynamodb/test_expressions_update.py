"""UpdateExpression: SET (arithmetic, if_not_exists, list_append, list indexes), REMOVE, ADD, DELETE."""

from __future__ import annotations

import copy

import pytest

from gondwana.services.dynamodb.expressions import apply_update, parse_update
from tests.dynamodb.expr_helpers import N, S, error, ph

U = "Invalid UpdateExpression: "
ITEM = {
    "id": S("k"),
    "cnt": N(5),
    "price": N("1.50"),
    "title": S("t"),
    "lst": {"L": [S("a"), S("b"), S("c"), S("d")]},
    "mp": {"M": {"x": N(1), "sb": {"M": {"y": N(2)}}}},
    "tags": {"SS": ["red", "green"]},
    "nums": {"NS": ["1", "2"]},
    "bins": {"BS": [b"\x01"]},
}


def run(text: str, values: dict | None = None, names: dict | None = None, item: dict | None = None) -> dict:
    p = ph(values, names)
    update = parse_update(text, p)
    p.check_unused()
    source = copy.deepcopy(ITEM if item is None else item)
    before = copy.deepcopy(source)
    result = apply_update(update, source)
    assert source == before  # the input item is never modified
    return result


def test_set_top_level_and_nested() -> None:
    new = run("SET a = :v, mp.x = :v, mp.sb.z = :v, lst[1] = :v", {":v": S("new")})
    assert new["a"] == S("new")
    assert new["mp"]["M"]["x"] == S("new")
    assert new["mp"]["M"]["sb"]["M"] == {"y": N(2), "z": S("new")}
    assert new["lst"]["L"][1] == S("new")


def test_set_past_the_end_of_a_list_appends() -> None:
    new = run("SET lst[10] = :v", {":v": S("e")})
    assert new["lst"]["L"] == [S("a"), S("b"), S("c"), S("d"), S("e")]


def test_arithmetic_is_exact_and_normalised() -> None:
    new = run("SET price = price + :one, cnt = cnt - :two", {":one": N(1), ":two": N("7.25")})
    assert new["price"] == N("2.5")
    assert new["cnt"] == N("-2.25")
    new = run("SET a = :x + :y", {":x": N("0.1"), ":y": N("0.2")})
    assert new["a"] == N("0.3")
    big = "9" * 38
    new = run("SET a = :x - :x", {":x": N(big)})
    assert new["a"] == N(0)
    assert run("SET a = :x + :one", {":x": N(big), ":one": N(1)})["a"] == N("1" + "0" * 38)
    # DynamoDB calls a result too precise for 38 digits an overflow
    overflow = "Number overflow. Attempting to store a number with magnitude larger than supported range"
    assert error(run, "SET a = :x + :tenth", {":x": N("1" * 38), ":tenth": N("0.1")}) == overflow
    assert error(run, "SET a = :x - :one", {":x": N("1E+50"), ":one": N(1)}) == overflow
    assert run("SET a = :x + :y", {":x": N("9E+125"), ":y": N("9E+124")})["a"] == N("99" + "0" * 124)
    assert error(run, "SET a = :x + :x", {":x": N("9.9999999999999999999999999999999999999E+125")}) == (
        "Number overflow. Attempting to store a number with magnitude larger than supported range"
    )


def test_integer_arithmetic_answers_as_decimal_arithmetic() -> None:
    """Plain integers (counters) are added and compared as ints: the same answers as decimals."""
    from gondwana.services.dynamodb.expressions import values

    def by_decimals(a: str, b: str, subtract: bool) -> str:
        x, y = values.decimal_of(a), values.decimal_of(b)
        exact = values._EXACT
        result = (exact.subtract(x, y) if subtract else exact.add(x, y)).normalize(exact)
        return "overflow" if len(result.as_tuple().digits) > 38 else values.format_number(result)

    def by_ints(a: str, b: str, subtract: bool) -> str:
        try:
            return values.add_numbers(a, b, subtract)
        except Exception as error:
            assert "Number overflow" in str(error)
            return "overflow"

    cases = ["0", "-0", "1", "-1", "10", "-120", "9" * 38, "-" + "9" * 38, "1" + "0" * 37, "1" * 38]
    cases += ["5" * 19 + "1", "-" + "1" * 37 + "9", "1" + "0" * 38, "1.5", "-2.5", "1E+3"]
    for a in cases:
        for b in cases:
            for subtract in (False, True):
                assert by_ints(a, b, subtract) == by_decimals(a, b, subtract), (a, b, subtract)
    assert by_ints("9" * 38, "2", False) == "overflow"  # 1000...001: 39 significant digits
    for a in cases:  # and compare as decimals do
        for b in cases:
            x, y = values.decimal_of(a), values.decimal_of(b)
            assert values.compare_values({"N": a}, {"N": b}) == (x > y) - (x < y), (a, b)


def test_if_not_exists_and_list_append() -> None:
    new = run(
        "SET cnt = if_not_exists(cnt, :z) + :one, fresh = if_not_exists(fresh, :z)",
        {":z": N(0), ":one": N(1)},
    )
    assert new["cnt"] == N(6)
    assert new["fresh"] == N(0)
    new = run("SET lst = list_append(lst, :more), l2 = list_append(:more, lst)", {":more": {"L": [S("z")]}})
    assert new["lst"]["L"][-1] == S("z")
    assert new["l2"]["L"][0] == S("z")
    assert len(new["l2"]["L"]) == 5


def test_right_hand_sides_read_the_old_item() -> None:
    new = run("SET title = :v, cp = title", {":v": S("changed")})
    assert new["cp"] == S("t")
    assert error(run, "SET a = :v, b = a", {":v": N(1)}) == (
        "The provided expression refers to an attribute that does not exist in the item"
    )


def test_runtime_type_errors() -> None:
    bad = "An operand in the update expression has an incorrect data type"
    assert error(run, "SET a = title + :one", {":one": N(1)}) == bad
    assert error(run, "SET a = list_append(title, :l)", {":l": {"L": []}}) == bad
    assert error(run, "ADD title :one", {":one": N(1)}) == bad
    assert error(run, "ADD tags :n", {":n": {"NS": ["1"]}}) == bad
    assert error(run, "DELETE tags :n", {":n": {"NS": ["1"]}}) == bad
    assert (
        error(run, "SET a = nope")
        == "The provided expression refers to an attribute that does not exist in the item"
    )


def test_invalid_document_paths() -> None:
    bad = "The document path provided in the update expression is invalid for update"
    assert error(run, "SET nope.x = :v", {":v": N(1)}) == bad
    assert error(run, "SET title.x = :v", {":v": N(1)}) == bad
    assert error(run, "SET mp[0] = :v", {":v": N(1)}) == bad
    assert error(run, "SET lst.x = :v", {":v": N(1)}) == bad
    assert error(run, "REMOVE nope.x") == bad


def test_remove() -> None:
    new = run("REMOVE title, mp.sb.y, nope, mp.nope")
    assert "title" not in new
    assert new["mp"]["M"]["sb"]["M"] == {}
    # indexes name the original elements; the rest shift down
    new = run("REMOVE lst[0], lst[2], lst[9]")
    assert new["lst"]["L"] == [S("b"), S("d")]


def test_add_numbers_and_sets() -> None:
    new = run(
        "ADD cnt :n, fresh :n, tags :s, nums :ns, bins :bs, newset :s",
        {
            ":n": N("-1.5"),
            ":s": {"SS": ["blue", "red"]},
            ":ns": {"NS": ["2.0", "3"]},
            ":bs": {"BS": [b"\x02"]},
        },
    )
    assert new["cnt"] == N("3.5")
    assert new["fresh"] == N("-1.5")
    assert new["tags"] == {"SS": ["red", "green", "blue"]}
    assert new["nums"] == {"NS": ["1", "2", "3"]}
    assert new["bins"] == {"BS": [b"\x01", b"\x02"]}
    assert new["newset"] == {"SS": ["blue", "red"]}
    assert run("ADD mp.x :n", {":n": N(2)})["mp"]["M"]["x"] == N(3)


def test_delete_from_sets() -> None:
    new = run("DELETE tags :s, nums :n, nope :s", {":s": {"SS": ["red", "pink"]}, ":n": {"NS": ["1", "2"]}})
    assert new["tags"] == {"SS": ["green"]}
    assert "nums" not in new  # an emptied set disappears
    assert "nope" not in new


def test_clauses_in_any_order_and_case() -> None:
    new = run("remove title add cnt :n set a = :n delete tags :s", {":n": N(1), ":s": {"SS": ["red"]}})
    assert "title" not in new and new["cnt"] == N(6) and new["a"] == N(1) and new["tags"] == {"SS": ["green"]}


def test_paths_and_modified_attributes() -> None:
    update = parse_update("SET a.b = c + :n, #d[1] = :n REMOVE e ADD f :n", ph({":n": N(1)}, {"#d": "dd"}))
    assert update.modified_attributes() == {"a", "dd", "e", "f"}
    assert update.attribute_names() == {"a", "c", "dd", "e", "f"}
    assert [str(p) for p in update.paths()] == ["[a, b]", "[dd, [1]]", "[e]", "[f]"]


# ---- parse-time errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("SET a = :n SET b = :n", 'The "SET" section can only be used once in an update expression;'),
        ("REMOVE a ADD b :n REMOVE c", 'The "REMOVE" section can only be used once in an update expression;'),
        (
            "SET a = :n, a.b = :n",
            "Two document paths overlap with each other; must remove or rewrite one of these paths; "
            "path one: [a], path two: [a, b]",
        ),
        (
            "SET a.b = :n REMOVE a",
            "Two document paths overlap with each other; must remove or rewrite one of these paths; "
            "path one: [a, b], path two: [a]",
        ),
        (
            "SET a[0] = :n REMOVE a.b",
            "Two document paths conflict with each other; must remove or rewrite one of these paths; "
            "path one: [a, [0]], path two: [a, b]",
        ),
        ("ADD a :s", "Incorrect operand type for operator or function; operator: ADD, operand type: STRING"),
        ("ADD a :l", "Incorrect operand type for operator or function; operator: ADD, operand type: LIST"),
        (
            "DELETE a :n",
            "Incorrect operand type for operator or function; operator: DELETE, operand type: NUMBER",
        ),
        (
            "SET a = :s + :n",
            "Incorrect operand type for operator or function; operator or function: +, operand type: S",
        ),
        (
            "SET a = list_append(:n, b)",
            "Incorrect operand type for operator or function; "
            "operator or function: list_append, operand type: N",
        ),
        (
            "SET a = if_not_exists(:n, :n)",
            "Operator or function requires a document path; operator or function: if_not_exists",
        ),
        (
            "SET a = list_append(b)",
            "Incorrect number of operands for operator or function; operator or function: list_append, "
            "number of operands: 1",
        ),
        ("SET a = size(b)", "The function is not allowed in an update expression; function: size"),
        ("SET a = nope(b)", "Invalid function name; function: nope"),
        (
            "SET #x = :n",
            "An expression attribute name used in the document path is not defined; attribute name: #x",
        ),
        (
            "SET a = :zz",
            "An expression attribute value used in expression is not defined; attribute value: :zz",
        ),
        ("SET year = :n", "Attribute name is a reserved keyword; reserved keyword: year"),
        ("", "The expression can not be empty;"),
    ],
)
def test_parse_errors(text: str, message: str) -> None:
    values = {":n": N(1), ":s": S("x"), ":l": {"L": []}}
    assert error(parse_update, text, ph(values)) == U + message


@pytest.mark.parametrize(
    ("text", "token", "near"),
    [
        ("SET _123 = :n", "_", "SET _123"),
        ("a = :n", "a", "a ="),
        ("SET a = :n,", "<EOF>", ","),
        ("SET a :n", ":n", "a :n"),
        ("SET a = :n + :n + :n", "+", ":n + :n"),
        ("REMOVE a = :n", "=", "a = :n"),
        ("SET a = b c", "c", "b c"),
        ("UPDATE a = :n", "UPDATE", "UPDATE a"),
        ("SET a = :n REMOVE", "<EOF>", "REMOVE"),
    ],
)
def test_syntax_errors(text: str, token: str, near: str) -> None:
    assert error(parse_update, text, ph({":n": N(1)})) == f'{U}Syntax error; token: "{token}", near: "{near}"'


def test_size_limit_has_no_size_suffix() -> None:
    text = "SET " + "a" * 4097 + " = :n"
    assert (
        error(parse_update, text, ph({":n": N(1)}))
        == U + "Expression size has exceeded the maximum allowed size;"
    )


def test_operator_limit() -> None:
    sets = ",".join(f"a{i}=b+:n" for i in range(301))
    assert error(parse_update, "SET " + sets, ph({":n": N(1)})) == (
        U + "The expression contains too many operators; operator count: 301"
    )


def test_several_appends_go_in_index_order() -> None:
    values = {":a": S("a1"), ":b": S("a2"), ":c": S("a3"), ":d": S("a4")}
    new = run("SET lst[84] = :a, lst[37] = :b, lst[17] = :c, lst[50] = :d", values)
    assert new["lst"]["L"][4:] == [S("a3"), S("a2"), S("a4"), S("a1")]


def test_remove_and_set_use_original_indexes() -> None:
    item = {"a": {"L": [N(2), N(3), N(4), N(5), N(6), N(7)]}}
    for text in ("REMOVE a[1] SET a[3] = :v", "SET a[3] = :v REMOVE a[1]"):
        assert run(text, {":v": N(17)}, item=item)["a"]["L"] == [N(2), N(4), N(17), N(6), N(7)]


def test_remove_nested_path_of_a_missing_item_is_ignored() -> None:
    update = parse_update("REMOVE x.y, z[0]", ph())
    assert apply_update(update, {"id": S("k")}, exists=False) == {"id": S("k")}
    assert error(apply_update, update, {"id": S("k")}) == (
        "The document path provided in the update expression is invalid for update"
    )


def test_function_nesting() -> None:
    new = run("SET a = if_not_exists(b, if_not_exists(c, :v)), d = if_not_exists(e, :v) + :v", {":v": N(3)})
    assert new["a"] == N(3) and new["d"] == N(6)
    assert error(parse_update, "SET a = list_append(list_append(:l, :l), :l)", ph({":l": {"L": []}})) == (
        U + "The function is not allowed to be used this way in an expression; function: list_append"
    )
    assert error(parse_update, "SET c = if_not_exists(c, :v + :v)", ph({":v": N(1)})) == (
        U + 'Syntax error; token: "+", near: ":v + :v"'
    )
    assert run("SET a = (:v + :v), b = (:v) - (cnt)", {":v": N(1)})["b"] == N(-4)


def test_updated_projection_gives_updated_old_and_new() -> None:
    from gondwana.services.dynamodb.expressions import project

    item = {"p": S("k"), "a": {"M": {"b": S("dog"), "c": {"L": [N(1), N(2), N(3)]}}}, "d": S("cat")}

    def returned(text: str, values: dict | None = None) -> tuple[dict, dict]:
        nonlocal item
        update = parse_update(text, ph(values))
        new = apply_update(update, item)
        old, item = item, new
        return project(update.updated_projection(), old), project(update.updated_projection(), new)

    old, new = returned("SET a.b = :v, a.c[1] = :n", {":v": S("hi"), ":n": N(7)})
    assert old == {"a": {"M": {"b": S("dog"), "c": {"L": [N(2)]}}}}
    assert new == {"a": {"M": {"b": S("hi"), "c": {"L": [N(7)]}}}}
    old, new = returned("SET a.x = :n", {":n": N(8)})
    assert old == {} and new == {"a": {"M": {"x": N(8)}}}
    old, new = returned("SET a.c[100] = :n", {":n": N(70)})  # appended, but not at [100]
    assert new == {}
    old, new = returned("REMOVE a.c[1], a.c[9]")
    assert old == {"a": {"M": {"c": {"L": [N(7)]}}}}
    assert new == {"a": {"M": {"c": {"L": [N(3)]}}}}  # the element that moved into [1]


# ---- cases whose answers were recorded from DynamoDB -------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "whatever",
        "set a",
        "add a",
        "delete a",
        "set a=set",
        "remove a = b",
        "add a = b",
        "delete a = b",
        "delete a b",
        "delete a if_not_exist(b)",
        "add abort b",
        "add a if_not_exist(b)",
        "remove a b",
        "set a b",
        "set :a = b",
        "add :a b",
        "delete :a b",
        "remove :a",
        "set a = b / c",
        "set a = b * c",
        'set a[1] = "eight"',
        "set a[1] = 1",
        "SET a = if_not_exist(a, 100)",
        "SET if_not_exist(a, b) = a",
        "set (a = (b + c))",
        "set a = (b.c).d + e",
        "set a = (b.c)[0] + e",
        "set a = b + c + d",
    ],
)
def test_recorded_syntax_errors(text: str) -> None:
    assert error(parse_update, text, ph()).startswith(U + "Syntax error; ")


@pytest.mark.parametrize(
    "text", ["set a = (b + c)", "SET a = if_not_exists(a, b) + b", "set a = ((b.c.d)+(e))"]
)
def test_recorded_valid_forms(text: str) -> None:
    parse_update(text, ph())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (" set #c = :c set abOrt = true ", "Attribute name is a reserved keyword; reserved keyword: abOrt"),
        (" remove Absolute ", "Attribute name is a reserved keyword; reserved keyword: Absolute"),
        ("set #c = if_not_exist(:c) set c = d", "Invalid function name; function: if_not_exist"),
        ("set a = #c set c = :d", 'The "SET" section can only be used once in an update expression;'),
        ("add #d :e set a = b add e :f", 'The "ADD" section can only be used once in an update expression;'),
        (
            "SET #c = if_not_exists(:c)",
            "An expression attribute name used in the document path is not defined; attribute name: #c",
        ),
        (
            "set d[1] = a, d.b = a, c[1].a = a, #x = if_not_exists(a)",
            "Two document paths overlap with each other; must remove or rewrite one of these paths; "
            "path one: [c, [1], a], path two: [c]",
        ),
        (
            "set #x[3].#d = a, #x.#d[3] = if_not_exists(a)",
            "Two document paths conflict with each other; must remove or rewrite one of these paths; "
            "path one: [c, [3], [3]], path two: [c, [3], [3]]",
        ),
        (
            "remove a.#x set a[1] = #d",
            "Two document paths conflict with each other; must remove or rewrite one of these paths; "
            "path one: [a, c], path two: [a, [1]]",
        ),
        (
            "set b = list_append(:s, a), c = if_not_exists(a) add a.b :s",
            "Incorrect operand type for operator or function; operator: ADD, operand type: STRING",
        ),
        (
            "set a = if_not_exists(if_not_exists(a, b), c)",
            "Operator or function requires a document path; operator or function: if_not_exists",
        ),
        (
            "set a = :s - :b",
            "Incorrect operand type for operator or function; operator or function: -, operand type: S",
        ),
        (
            "set a = a + :l",
            "Incorrect operand type for operator or function; operator or function: +, operand type: L",
        ),
        (
            "set a = list_append(:m, a)",
            "Incorrect operand type for operator or function; operator or function: list_append, "
            "operand type: M",
        ),
    ],
)
def test_recorded_errors(text: str, message: str) -> None:
    names = {"#x": "c", "#d": "[3]"}
    values = {":s": S("a"), ":b": {"B": b"a"}, ":l": {"L": []}, ":m": {"M": {}}}
    p = ph(values, names) if "#c" not in text else ph(values)
    assert error(parse_update, text, p) == U + message


@pytest.mark.parametrize(
    "text",
    [
        "set b.a = :a",
        "set b[1] = :a",
        "set y.a = :a",
        "set y[1] = :a",
        "set c[1] = :a",
        "set d.#1 = :a",
        "remove b.a",
        "remove b[1]",
        "remove y.a",
        "remove y[1]",
        "remove c[1]",
        "remove d.#1",
        "delete b.a :a",
        "delete b[1] :a",
        "delete y.a :a",
        "delete y[1] :a",
        "delete c[1] :a",
        "delete d.#1 :a",
        "add b.a :a",
        "add b[1] :a",
        "add y.a :a",
        "add y[1] :a",
        "add c[1] :a",
        "add d.#1 :a",
    ],
)
def test_recorded_invalid_document_paths(text: str) -> None:
    item = {"a": S("k"), "b": S("k"), "c": {"M": {"1": S("a")}}, "d": {"L": [S("a"), S("b")]}}
    p = ph({":a": {"SS": ["a"]}}, {"#1": "1"} if "#1" in text else None)
    assert error(apply_update, parse_update(text, p), item) == (
        "The document path provided in the update expression is invalid for update"
    )


def test_recorded_runtime_type_errors() -> None:
    item = {"a": S("k"), "b": {"M": {"a": {"SS": ["1"]}}}, "c": N(1), "d": {"NS": ["1"]}}
    for text, value in [
        ("delete d :a", {"SS": ["1"]}),
        ("delete b :a", {"NS": ["1"]}),
        ("delete b.a :a", {"NS": ["1"]}),
        ("delete c :a", {"NS": ["1"]}),
        ("add b :a", {"NS": ["1"]}),
        ("add d :a", N(1)),
        ("set e = a + :a", N(1)),
        ("set e = b - :a", N(1)),
        ("set e = list_append(d, if_not_exists(f, :a))", {"L": []}),
    ]:
        update = parse_update(text, ph({":a": value}))
        assert (
            error(apply_update, update, item)
            == "An operand in the update expression has an incorrect data type"
        )
    for text in ("set c = zz", "set e = list_append(zz, c)"):
        assert error(apply_update, parse_update(text, ph()), item) == (
            "The provided expression refers to an attribute that does not exist in the item"
        )
