"""PartiQL's language end to end: WHERE (IN, BETWEEN, IS [NOT] MISSING / NULL, the functions, OR,
NOT, parentheses, nested paths), projections, every literal, UPDATE's SET / REMOVE forms and
RETURNING, EXISTS as a transaction's condition check, and the statements that are not well formed."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.dynamodb.conftest import error

ITEMS = [
    {
        "id": {"S": "p"},
        "r": {"N": "1"},
        "name": {"S": "alpha"},
        "tags": {"SS": ["a", "b"]},
        "l": {"L": [{"N": "1"}, {"S": "x"}]},
        "m": {"M": {"k": {"S": "v"}, "n": {"N": "2"}}},
        "flag": {"BOOL": True},
    },
    {"id": {"S": "p"}, "r": {"N": "2"}, "name": {"S": "beta"}, "nothing": {"NULL": True}},
    {"id": {"S": "p"}, "r": {"N": "3"}, "name": {"S": "alps"}},
    {"id": {"S": "q"}, "r": {"N": "1"}, "name": {"S": "gamma"}},
]


@pytest.fixture
def table(ddb: Any, make_table: Any) -> str:
    name = make_table(range_key=("r", "N"))
    for item in ITEMS:
        ddb.put_item(TableName=name, Item=item)
    return name


def keys_where(ddb: Any, table: str, where: str, **extra: Any) -> list[tuple[str, int]]:
    items = ddb.execute_statement(Statement=f'SELECT * FROM "{table}" WHERE {where}', **extra)["Items"]
    return sorted((i["id"]["S"], int(i["r"]["N"])) for i in items)


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("id = 'p' AND r BETWEEN 2 AND 3", [("p", 2), ("p", 3)]),
        ("id IN ['p', 'q'] AND r = 1", [("p", 1), ("q", 1)]),
        ("id IN ('q') AND r = 1", [("q", 1)]),
        ("id = 'p' AND (r = 1 OR r = 3)", [("p", 1), ("p", 3)]),
        ("id = 'p' AND NOT r = 2", [("p", 1), ("p", 3)]),
        ("id = 'p' AND r <> 2 AND r != 3", [("p", 1)]),
        ("id = 'p' AND r > 1 AND r <= 3", [("p", 2), ("p", 3)]),
        ("begins_with(name, 'al')", [("p", 1), ("p", 3)]),
        ("contains(tags, 'b')", [("p", 1)]),
        ("attribute_type(nothing, 'NULL')", [("p", 2)]),
        ("nothing IS NULL", [("p", 2)]),
        ("id = 'p' AND name IS NOT NULL AND tags IS MISSING", [("p", 2), ("p", 3)]),
        ("flag IS NOT MISSING", [("p", 1)]),
        ("size(l) = 2", [("p", 1)]),
        ("m.k = 'v' AND m['n'] = 2 AND l[1] = 'x' AND flag = true", [("p", 1)]),
        ("\"name\" = 'gamma'", [("q", 1)]),
    ],
)
def test_where(ddb: Any, table: str, where: str, expected: list[tuple[str, int]]) -> None:
    assert keys_where(ddb, table, where) == expected


def test_where_with_parameters(ddb: Any, table: str) -> None:
    params = [{"S": "p"}, {"N": "2"}, {"S": "al"}]
    assert keys_where(ddb, table, "id = ? AND r <> ? AND begins_with(name, ?)", Parameters=params) == [
        ("p", 1),
        ("p", 3),
    ]


def test_projection_of_nested_paths(ddb: Any, table: str) -> None:
    out = ddb.execute_statement(Statement=f"SELECT m.k, l[0], name FROM \"{table}\" WHERE id = 'p' AND r = 1")
    assert out["Items"] == [{"m": {"M": {"k": {"S": "v"}}}, "l": {"L": [{"N": "1"}]}, "name": {"S": "alpha"}}]


def test_insert_with_every_literal(ddb: Any, table: str) -> None:
    ddb.execute_statement(
        Statement=f"INSERT INTO \"{table}\" VALUE {{'id': 'z', 'r': 9, 's': <<'a', 'b'>>, 'ns': <<1, 2.5>>, "
        "'l': [1, 'two', [3], {}], 'm': {'a': {'b': -1}}, 'yes': TRUE, 'no': false, 'nil': NULL, "
        "'quote': 'it''s'}"
    )
    item = ddb.get_item(TableName=table, Key={"id": {"S": "z"}, "r": {"N": "9"}})["Item"]
    assert sorted(item["s"]["SS"]) == ["a", "b"] and sorted(item["ns"]["NS"]) == ["1", "2.5"]
    assert item["l"] == {"L": [{"N": "1"}, {"S": "two"}, {"L": [{"N": "3"}]}, {"M": {}}]}
    assert item["m"] == {"M": {"a": {"M": {"b": {"N": "-1"}}}}}
    assert (item["yes"], item["no"], item["nil"]) == ({"BOOL": True}, {"BOOL": False}, {"NULL": True})
    assert item["quote"] == {"S": "it's"}


def test_update_forms_and_returning(ddb: Any, table: str) -> None:
    where = "WHERE id = 'p' AND r = 1"
    out = ddb.execute_statement(
        Statement=f"UPDATE \"{table}\" SET name = 'A', cnt = if_not_exists(cnt, 0) + 2, "
        f"l = list_append(l, [5]) REMOVE flag, tags {where} RETURNING MODIFIED OLD *"
    )
    assert out["Items"] == [
        {
            "name": {"S": "alpha"},
            "l": {"L": [{"N": "1"}, {"S": "x"}]},
            "flag": {"BOOL": True},
            "tags": {"SS": ["a", "b"]},
        }
    ]
    out = ddb.execute_statement(
        Statement=f'UPDATE "{table}" SET cnt = cnt - 1 SET m.n = m.n + 1 {where} RETURNING MODIFIED NEW *'
    )
    assert out["Items"] == [{"cnt": {"N": "1"}, "m": {"M": {"n": {"N": "3"}}}}]
    out = ddb.execute_statement(Statement=f"UPDATE \"{table}\" SET name = 'B' {where} RETURNING ALL OLD *")
    assert out["Items"][0]["name"] == {"S": "A"} and "flag" not in out["Items"][0]
    item = ddb.get_item(TableName=table, Key={"id": {"S": "p"}, "r": {"N": "1"}})["Item"]
    assert item["name"] == {"S": "B"} and item["l"]["L"][-1] == {"N": "5"} and "tags" not in item


def test_exists_is_a_transactions_condition_check(ddb: Any, table: str) -> None:
    insert = {"Statement": f"INSERT INTO \"{table}\" VALUE {{'id': 'new', 'r': 1}}"}

    def check(where: str) -> dict[str, str]:
        return {"Statement": f'EXISTS(SELECT * FROM "{table}" WHERE {where})'}

    update = {"Statement": f"UPDATE \"{table}\" SET name = 'x' WHERE id = 'p' AND r = 2"}
    with pytest.raises(ClientError) as exc:  # a check and a write of one item, as with ConditionCheck
        ddb.execute_transaction(TransactStatements=[check("id = 'p' AND r = 2 AND nothing IS NULL"), update])
    assert error(exc) == (
        "ValidationException",
        "Transaction request cannot include multiple operations on one item",
    )
    for where in ("id = 'p' AND r = 9", "id = 'p' AND r = 1 AND name = 'nope'"):
        with pytest.raises(ClientError) as exc:
            ddb.execute_transaction(TransactStatements=[check(where), insert])
        assert error(exc)[0] == "TransactionCanceledException"
        assert [r["Code"] for r in exc.value.response["CancellationReasons"]] == [
            "ConditionalCheckFailed",
            "None",
        ]
    assert keys_where(ddb, table, "id = 'new'") == []
    assert (
        ddb.execute_transaction(TransactStatements=[check("id = 'p' AND r = 1 AND name = 'alpha'"), insert])[
            "Responses"
        ]
        == []
    )
    assert keys_where(ddb, table, "id = 'new'") == [("new", 1)]
    for statement, message in [
        (
            check("id = 'p'")["Statement"],
            "Where clause does not contain a mandatory equality on all key attributes",
        ),
        (check("id = 'p' AND r = 1")["Statement"], "EXISTS can only be used within ExecuteTransaction"),
    ]:
        with pytest.raises(ClientError) as exc:
            ddb.execute_statement(Statement=statement)
        assert error(exc) == ("ValidationException", message)


@pytest.mark.parametrize(
    "statement",
    [
        'DROP TABLE "{t}"',
        '"EXISTS"(SELECT * FROM "{t}" WHERE id = \'p\' AND r = 1)',  # a quoted name, not the function
        "UPDATE \"{t}\" WHERE id = 'p' AND r = 1",
        'SELECT * FROM "{t}" WHERE name IS EMPTY',
        "SELECT * FROM \"{t}\" WHERE id IN 'p'",
        'SELECT * FROM "{t}" WHERE l[x] = 1',
        'SELECT * FROM "{t}" WHERE r =',
        "SELECT * FROM \"{t}\" WHERE id = 'p' trailing",
        'SELECT * FROM "{t}" WHERE r BETWEEN 1 OR 2',
        'SELECT * FROM "{t}" WHERE r ~ 1',
        "INSERT INTO \"{t}\" VALUE 'x'",
        "INSERT INTO \"{t}\" VALUES {{'id': 'x', 'r': 1}}",
        "INSERT INTO \"{t}\" VALUE {{1: 'x'}}",
        "INSERT INTO \"{t}\" VALUE {{'id': 'x', 'r': 1, 's': <<'a', 1>>}}",
        "UPDATE \"{t}\" SET name = 'n' WHERE id = 'p' AND r = 1 RETURNING SOME OLD *",
    ],
)
def test_statements_not_well_formed(ddb: Any, table: str, statement: str) -> None:
    with pytest.raises(ClientError) as exc:
        ddb.execute_statement(Statement=statement.format(t=table))
    code, message = error(exc)
    assert code == "ValidationException"
    assert message.startswith("Statement wasn't well formed, can't be processed: "), message
    assert ddb.scan(TableName=table)["Count"] == len(ITEMS)  # nothing written


def test_parameters_must_match_the_placeholders(ddb: Any, table: str) -> None:
    for params, got in (([{"S": "p"}, {"S": "extra"}], 2), (None, 0)):
        with pytest.raises(ClientError) as exc:
            ddb.execute_statement(
                Statement=f'SELECT * FROM "{table}" WHERE id = ?',
                **({"Parameters": params} if params else {}),
            )
        assert error(exc) == (
            "ValidationException",
            f"Number of parameters in request and statement don't match. Expected 1, got {got}",
        )


def test_batch_and_transaction_refusals(ddb: Any, table: str) -> None:
    read = {"Statement": f"SELECT * FROM \"{table}\" WHERE id = 'p' AND r = 1"}
    write = {"Statement": f"UPDATE \"{table}\" SET name = 'w' WHERE id = 'q' AND r = 1"}
    partial = {"Statement": f"SELECT * FROM \"{table}\" WHERE id = 'p'"}
    cases = [
        (
            ddb.batch_execute_statement,
            {"Statements": [read, write]},
            "Batch must consist of either all read statements or all write statements",
        ),
        (
            ddb.batch_execute_statement,
            {"Statements": [partial]},
            "Select statements within BatchExecuteStatement must specify the full primary key",
        ),
        (
            ddb.execute_transaction,
            {"TransactStatements": [read, write]},
            "Transaction must consist of either all read statements or all write statements",
        ),
        (
            ddb.execute_transaction,
            {"TransactStatements": [partial]},
            "Select statements within ExecuteTransaction must specify the full primary key",
        ),
        (
            ddb.execute_statement,
            {"Statement": read["Statement"], "NextToken": "not a token"},
            "Invalid NextToken",
        ),
        (
            ddb.execute_statement,
            {  # (a statement is at most 8,192 characters: the value comes as a parameter)
                "Statement": f"INSERT INTO \"{table}\" VALUE {{'id': 'big', 'r': 1, 'pad': ?}}",
                "Parameters": [{"S": "x" * 410_000}],
            },
            "Item size has exceeded the maximum allowed size",
        ),
    ]
    for call, request, message in cases:
        with pytest.raises(ClientError) as exc:
            call(**request)
        assert error(exc) == ("ValidationException", message), request
    assert ddb.get_item(TableName=table, Key={"id": {"S": "q"}, "r": {"N": "1"}})["Item"]["name"] == {
        "S": "gamma"
    }


def test_a_missing_table_fails_only_its_statement_in_a_batch(ddb: Any, table: str) -> None:
    out = ddb.batch_execute_statement(
        Statements=[
            {"Statement": "INSERT INTO \"no-such-table\" VALUE {'id': 'x', 'r': 1}"},
            {"Statement": f"INSERT INTO \"{table}\" VALUE {{'id': 'x', 'r': 1}}"},
        ]
    )
    assert out["Responses"][0]["Error"] == {
        "Code": "ResourceNotFound",
        "Message": "Requested resource not found",
    }
    assert out["Responses"][1] == {"TableName": table}


def test_the_item_that_failed_a_condition(ddb: Any, table: str) -> None:
    """ReturnValuesOnConditionCheckFailure=ALL_OLD: the item as it is, with the failure."""
    statement = f"UPDATE \"{table}\" SET name = 'n' WHERE id = 'q' AND r = 1 AND name = 'other'"
    with pytest.raises(ClientError) as exc:
        ddb.execute_statement(Statement=statement, ReturnValuesOnConditionCheckFailure="ALL_OLD")
    assert error(exc)[0] == "ConditionalCheckFailedException"
    assert exc.value.response["Item"] == ITEMS[3]
    out = ddb.batch_execute_statement(
        Statements=[{"Statement": statement, "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}]
    )
    assert out["Responses"][0]["Error"]["Code"] == "ConditionalCheckFailed"
    assert out["Responses"][0]["Error"]["Item"] == ITEMS[3]
