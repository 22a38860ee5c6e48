"""PartiQL: ExecuteStatement, BatchExecuteStatement and ExecuteTransaction."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.dynamodb.conftest import error


def test_statements_roundtrip(ddb: Any, make_table: Any) -> None:
    name = make_table(hash_key=("Username", "S"))
    ddb.execute_statement(
        Statement=f"INSERT INTO \"{name}\" VALUE {{'Username': 'Alice123', 'FirstName': 'Alice'}}"
    )
    ddb.execute_statement(
        Statement=f"INSERT INTO \"{name}\" VALUE {{'Username': ?, 'Age': ?}}",
        Parameters=[{"S": "Bob"}, {"N": "20"}],
    )
    with pytest.raises(ClientError) as exc:
        ddb.execute_statement(Statement=f"INSERT INTO \"{name}\" VALUE {{'Username': 'Bob'}}")
    assert error(exc) == ("DuplicateItemException", "Duplicate primary key exists in table")
    got = ddb.execute_statement(Statement=f'SELECT * FROM "{name}" WHERE FirstName IS NOT MISSING')["Items"]
    assert got == [{"FirstName": {"S": "Alice"}, "Username": {"S": "Alice123"}}]
    got = ddb.execute_statement(Statement=f"SELECT Age FROM \"{name}\" WHERE Username = 'Bob'")["Items"]
    assert got == [{"Age": {"N": "20"}}]
    out = ddb.execute_statement(
        Statement=f"UPDATE \"{name}\" SET Age = Age + 1 SET Tags = <<'a', 'b'>> WHERE Username = 'Bob' "
        "RETURNING ALL NEW *"
    )
    assert out["Items"][0]["Age"] == {"N": "21"} and sorted(out["Items"][0]["Tags"]["SS"]) == ["a", "b"]
    with pytest.raises(ClientError) as exc:
        ddb.execute_statement(Statement=f"UPDATE \"{name}\" SET Age = 1 WHERE Username = 'Nobody'")
    assert error(exc)[0] == "ConditionalCheckFailedException"
    with pytest.raises(ClientError) as exc:
        ddb.execute_statement(Statement=f'DELETE FROM "{name}" WHERE Age = 21')
    assert error(exc) == (
        "ValidationException",
        "Where clause does not contain a mandatory equality on all key attributes",
    )
    ddb.execute_statement(Statement=f"DELETE FROM \"{name}\" WHERE Username = 'Bob' AND Age = 21")
    assert ddb.scan(TableName=name)["Count"] == 1
    with pytest.raises(ClientError) as exc:
        ddb.execute_statement(Statement=f'SELEKT * FROM "{name}"')
    assert error(exc)[0] == "ValidationException"
    with pytest.raises(ClientError) as exc:
        ddb.execute_statement(Statement='SELECT * FROM "no-such-table"')
    assert error(exc) == ("ResourceNotFoundException", "Requested resource not found")


def test_select_pagination(ddb: Any, make_table: Any) -> None:
    name = make_table(range_key=("r", "N"))
    for i in range(7):
        ddb.put_item(TableName=name, Item={"id": {"S": "h"}, "r": {"N": str(i)}})
    seen, token = [], None
    while True:
        out = ddb.execute_statement(
            Statement=f"SELECT r FROM \"{name}\" WHERE id = 'h'",
            Limit=3,
            **({"NextToken": token} if token else {}),
        )
        seen += [int(i["r"]["N"]) for i in out["Items"]]
        token = out.get("NextToken")
        if not token:
            break
    assert seen == list(range(7))


def test_batch_execute_statement(ddb: Any, make_table: Any) -> None:
    name = make_table(hash_key=("Username", "S"))
    out = ddb.batch_execute_statement(
        Statements=[
            {"Statement": f"INSERT INTO \"{name}\" VALUE {{'Username': 'user01'}}"},
            {"Statement": f"INSERT INTO \"{name}\" VALUE {{'Username': 'user02', 'Age': 20}}"},
        ]
    )
    assert out["Responses"] == [{"TableName": name}, {"TableName": name}]
    out = ddb.batch_execute_statement(
        Statements=[
            {"Statement": f"INSERT INTO \"{name}\" VALUE {{'Username': 'user01'}}"},
            {"Statement": f"UPDATE \"{name}\" SET Age = 30 WHERE Username = 'user02'"},
        ]
    )
    assert out["Responses"][0]["Error"]["Code"] == "DuplicateItem" and "Error" not in out["Responses"][1]
    out = ddb.batch_execute_statement(
        Statements=[
            {"Statement": f"SELECT * FROM \"{name}\" WHERE Username = 'user02'"},
            {"Statement": f"SELECT * FROM \"{name}\" WHERE Username = 'nobody'"},
        ]
    )
    assert out["Responses"][0]["Item"] == {"Username": {"S": "user02"}, "Age": {"N": "30"}}
    assert out["Responses"][1] == {"TableName": name}


def test_execute_transaction(ddb: Any, make_table: Any) -> None:
    name = make_table(hash_key=("Username", "S"))
    out = ddb.execute_transaction(
        TransactStatements=[
            {"Statement": f"INSERT INTO \"{name}\" VALUE {{'Username': 'user01'}}"},
            {"Statement": f"INSERT INTO \"{name}\" VALUE {{'Username': 'user02'}}"},
        ]
    )
    assert out["Responses"] == []
    assert ddb.scan(TableName=name)["Count"] == 2
    with pytest.raises(ClientError) as exc:
        ddb.execute_transaction(
            TransactStatements=[
                {"Statement": f"INSERT INTO \"{name}\" VALUE {{'Username': 'user03'}}"},
                {"Statement": f"INSERT INTO \"{name}\" VALUE {{'Username': 'user01'}}"},
            ]
        )
    assert error(exc)[0] == "TransactionCanceledException"
    assert [r["Code"] for r in exc.value.response["CancellationReasons"]] == ["None", "DuplicateItem"]
    assert ddb.scan(TableName=name)["Count"] == 2
    out = ddb.execute_transaction(
        TransactStatements=[{"Statement": f"SELECT * FROM \"{name}\" WHERE Username = 'user01'"}]
    )
    assert out["Responses"] == [{"Item": {"Username": {"S": "user01"}}}]


def test_empty_parameters_rejected_by_model(raw: Any, make_table: Any) -> None:
    name = make_table()
    with pytest.raises(ClientError) as exc:
        raw.execute_statement(Statement=f'SELECT * FROM "{name}"', Parameters=[])
    assert error(exc) == (
        "ValidationException",
        "1 validation error detected: Value '[]' at 'parameters' failed to "
        "satisfy constraint: Member must have length greater than or equal to 1",
    )


def test_partiql_rejections(ddb: Any) -> None:
    from tests.dynamodb.conftest import create

    name = create(
        ddb,
        range_key=("sk", "S"),
        more_attrs={"g": "S"},
        GlobalSecondaryIndexes=[
            {
                "IndexName": "gsi-keys",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
    )
    cases = [
        (
            f"DELETE FROM \"{name}\" WHERE id = 'x' AND sk = 'y' RETURNING MODIFIED OLD *",
            "Invalid returning clause: RETURNING MODIFIED OLD *. Only RETURNING ALL OLD * is allowed in "
            "DELETE "
            "statements.",
        ),
        (f'SELECT * FROM "{name}"."nope" WHERE id = \'p\'', "The table does not have the specified index"),
        (
            f'SELECT * FROM "{name}"."gsi-keys"."x"',
            "A path may contain at most 2 components in the FROM clause",
        ),
        ("SELECT * FROM \"\" WHERE id = 'p'", "Path component cannot be an empty string"),
        (
            f"SELECT id FROM \"{name}\".\"gsi-keys\" WHERE g = 'y' AND other = 'z'",
            "One or more parameter values were invalid: Secondary index gsi-keys does not project one "
            "or more "
            "filter attributes: [other]",
        ),
        (
            f'SELECT other FROM "{name}"."gsi-keys" WHERE g = \'y\'',
            "One or more parameter values were invalid: Global secondary index gsi-keys does not "
            "project [other]",
        ),
    ]
    for statement, message in cases:
        with pytest.raises(ClientError) as exc:
            ddb.execute_statement(Statement=statement)
        assert error(exc) == ("ValidationException", message), statement
    with pytest.raises(ClientError) as exc:
        ddb.execute_statement(
            Statement=f'SELECT * FROM "{name}"."gsi-keys" WHERE g = \'x\'', ConsistentRead=True
        )
    assert error(exc) == (
        "ValidationException",
        "Strongly consistent read is not supported on Global Secondary Indexes",
    )
    with pytest.raises(ClientError) as exc:
        ddb.execute_transaction(
            TransactStatements=[
                {
                    "Statement": f"UPDATE \"{name}\" SET a = 'v' WHERE id = 'x' AND sk = 'y' RETURNING "
                    f"ALL NEW *"
                }
            ]
        )
    assert error(exc) == (
        "ValidationException",
        "Validation failed in TransactStatements[0]: RETURNING clause is "
        "not supported in ExecuteTransaction.",
    )
    with pytest.raises(ClientError) as exc:
        ddb.execute_transaction(
            TransactStatements=[{"Statement": f'SELECT * FROM "{name}"."gsi-keys" WHERE g = \'x\''}]
        )
    assert error(exc) == (
        "ValidationException",
        "Validation failed in TransactStatements[0]: Reads on indices are not supported within transactions.",
    )
    ddb.delete_table(TableName=name)


def test_execute_transaction_client_request_token(ddb: Any, make_table: Any) -> None:
    name = make_table()
    statements = [{"Statement": f"UPDATE \"{name}\" SET n = n + 1 WHERE id = 'c'"}]
    ddb.put_item(TableName=name, Item={"id": {"S": "c"}, "n": {"N": "0"}})
    ddb.execute_transaction(TransactStatements=statements, ClientRequestToken="partiql-token")
    ddb.execute_transaction(TransactStatements=statements, ClientRequestToken="partiql-token")
    assert ddb.get_item(TableName=name, Key={"id": {"S": "c"}})["Item"]["n"] == {"N": "1"}
    with pytest.raises(ClientError) as exc:
        ddb.execute_transaction(
            TransactStatements=[{"Statement": f"UPDATE \"{name}\" SET n = 5 WHERE id = 'c'"}],
            ClientRequestToken="partiql-token",
        )
    assert error(exc)[0] == "IdempotentParameterMismatchException"


def test_delete_of_a_missing_item_is_a_no_op_and_update_is_not_an_upsert(ddb: Any, make_table: Any) -> None:
    name = make_table()
    out = ddb.execute_statement(Statement=f"DELETE FROM \"{name}\" WHERE id = 'gone' AND n = 1")
    assert out["Items"] == []
    with pytest.raises(ClientError) as exc:
        ddb.execute_statement(Statement=f"UPDATE \"{name}\" SET n = 1 WHERE id = 'gone'")
    assert error(exc) == ("ConditionalCheckFailedException", "The conditional request failed")
    assert "Item" not in ddb.get_item(TableName=name, Key={"id": {"S": "gone"}})
    ddb.put_item(TableName=name, Item={"id": {"S": "here"}, "n": {"N": "2"}})
    with pytest.raises(ClientError) as exc:  # present, and the rest of the WHERE is false
        ddb.execute_statement(Statement=f"DELETE FROM \"{name}\" WHERE id = 'here' AND n = 1")
    assert error(exc)[0] == "ConditionalCheckFailedException"
    ddb.execute_statement(Statement=f"DELETE FROM \"{name}\" WHERE id = 'here' AND n = 2")
    assert "Item" not in ddb.get_item(TableName=name, Key={"id": {"S": "here"}})
