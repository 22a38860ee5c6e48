"""BatchGetItem/BatchWriteItem and TransactWriteItems/TransactGetItems."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.dynamodb.conftest import error


def test_batch_write_and_get(ddb: Any, make_table: Any) -> None:
    a, b = make_table(), make_table()
    out = ddb.batch_write_item(
        RequestItems={
            a: [{"PutRequest": {"Item": {"id": {"S": str(i)}, "bin": {"B": b"\x90"}}}} for i in range(20)],
            b: [{"PutRequest": {"Item": {"id": {"S": "x"}}}}],
        },
        ReturnConsumedCapacity="TOTAL",
    )
    assert out["UnprocessedItems"] == {}
    assert {c["TableName"]: c["CapacityUnits"] for c in out["ConsumedCapacity"]} == {a: 20.0, b: 1.0}
    ddb.batch_write_item(RequestItems={a: [{"DeleteRequest": {"Key": {"id": {"S": "0"}}}}]})
    got = ddb.batch_get_item(
        RequestItems={
            a: {
                "Keys": [{"id": {"S": "0"}}, {"id": {"S": "1"}}, {"id": {"S": "2"}}],
                "ProjectionExpression": "id",
            },
            b: {"Keys": [{"id": {"S": "x"}}], "ConsistentRead": True},
        }
    )
    assert sorted(i["id"]["S"] for i in got["Responses"][a]) == ["1", "2"]
    assert all(set(i) == {"id"} for i in got["Responses"][a])
    assert got["Responses"][b] == [{"id": {"S": "x"}}] and got["UnprocessedKeys"] == {}


def test_batch_errors(ddb: Any, raw: Any, make_table: Any) -> None:
    name = make_table()
    with pytest.raises(ClientError) as exc:
        ddb.batch_write_item(
            RequestItems={
                name: [
                    {"PutRequest": {"Item": {"id": {"S": "a"}}}},
                    {"DeleteRequest": {"Key": {"id": {"S": "a"}}}},
                ]
            }
        )
    assert error(exc) == ("ValidationException", "Provided list of item keys contains duplicates")
    with pytest.raises(ClientError) as exc:
        ddb.batch_write_item(RequestItems={name: [{"PutRequest": {"Item": {"other": {"S": "a"}}}}]})
    assert error(exc) == (
        "ValidationException",
        "The provided key element does not match the schema",
    )
    with pytest.raises(ClientError) as exc:
        ddb.batch_write_item(RequestItems={name: [{"DeleteRequest": {"Key": {"id": {"N": "1"}}}}]})
    assert error(exc) == ("ValidationException", "The provided key element does not match the schema")
    with pytest.raises(ClientError) as exc:
        ddb.batch_write_item(RequestItems={"missing-table": [{"PutRequest": {"Item": {"id": {"S": "a"}}}}]})
    assert error(exc) == ("ResourceNotFoundException", "Requested resource not found")
    other = make_table()
    with pytest.raises(ClientError) as exc:
        raw.batch_write_item(
            RequestItems={
                name: [{"PutRequest": {"Item": {"id": {"S": str(i)}}}} for i in range(20)],
                other: [{"PutRequest": {"Item": {"id": {"S": str(i)}}}} for i in range(6)],
            }
        )
    assert error(exc) == ("ValidationException", "Too many items requested for the BatchWriteItem call")
    assert ddb.scan(TableName=name)["Count"] == 0  # nothing written by any failed batch
    with pytest.raises(ClientError) as exc:
        ddb.batch_get_item(RequestItems={name: {"Keys": [{"id": {"S": "a"}}, {"id": {"S": "a"}}]}})
    assert error(exc) == ("ValidationException", "Provided list of item keys contains duplicates")
    with pytest.raises(ClientError) as exc:
        raw.batch_get_item(
            RequestItems={
                name: {"Keys": [{"id": {"S": str(i)}} for i in range(60)]},
                other: {"Keys": [{"id": {"S": str(i)}} for i in range(41)]},
            }
        )
    assert error(exc) == ("ValidationException", "Too many items requested for the BatchGetItem call")


def test_transact_write_all_or_nothing(ddb: Any, make_table: Any) -> None:
    a, b = make_table(), make_table()
    ddb.put_item(TableName=a, Item={"id": {"S": "acct"}, "bal": {"N": "10"}})
    arn_b = ddb.describe_table(TableName=b)["Table"]["TableArn"]
    ddb.transact_write_items(
        TransactItems=[
            {
                "Update": {
                    "TableName": a,
                    "Key": {"id": {"S": "acct"}},
                    "UpdateExpression": "SET bal = bal - :v",
                    "ConditionExpression": "bal >= :v",
                    "ExpressionAttributeValues": {":v": {"N": "4"}},
                }
            },
            {"Put": {"TableName": arn_b, "Item": {"id": {"S": "ledger-1"}, "amount": {"N": "4"}}}},
        ]
    )
    assert ddb.get_item(TableName=a, Key={"id": {"S": "acct"}})["Item"]["bal"] == {"N": "6"}
    with pytest.raises(ClientError) as exc:
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": b, "Item": {"id": {"S": "ledger-2"}}}},
                {
                    "Update": {
                        "TableName": a,
                        "Key": {"id": {"S": "acct"}},
                        "UpdateExpression": "SET bal = bal - :v",
                        "ConditionExpression": "bal >= :v",
                        "ExpressionAttributeValues": {":v": {"N": "100"}},
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                },
            ]
        )
    code, message = error(exc)
    assert code == "TransactionCanceledException"
    assert message == (
        "Transaction cancelled, please refer cancellation reasons for specific reasons "
        "[None, ConditionalCheckFailed]"
    )
    reasons = exc.value.response["CancellationReasons"]
    assert reasons[0] == {"Code": "None"}
    assert reasons[1]["Code"] == "ConditionalCheckFailed" and reasons[1]["Item"]["bal"] == {"N": "6"}
    assert "Item" not in ddb.get_item(TableName=b, Key={"id": {"S": "ledger-2"}})  # nothing applied
    with pytest.raises(ClientError) as exc:
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": b, "Item": {"id": {"S": "same"}}}},
                {"Delete": {"TableName": b, "Key": {"id": {"S": "same"}}}},
            ]
        )
    assert error(exc) == (
        "ValidationException",
        "Transaction request cannot include multiple operations on one item",
    )
    with pytest.raises(ClientError) as exc:
        ddb.transact_write_items(
            TransactItems=[{"Put": {"TableName": "nope-table", "Item": {"id": {"S": "x"}}}}]
        )
    assert error(exc) == ("ResourceNotFoundException", "Requested resource not found")
    ddb.transact_write_items(
        TransactItems=[
            {
                "ConditionCheck": {
                    "TableName": a,
                    "Key": {"id": {"S": "acct"}},
                    "ConditionExpression": "attribute_exists(id)",
                }
            },
            {"Delete": {"TableName": b, "Key": {"id": {"S": "ledger-1"}}}},
        ]
    )
    assert "Item" not in ddb.get_item(TableName=b, Key={"id": {"S": "ledger-1"}})


def test_client_request_token_idempotency(ddb: Any, make_table: Any, server: Any) -> None:
    name = make_table()
    token = str(uuid.uuid4())
    update = {
        "Update": {
            "TableName": name,
            "Key": {"id": {"S": "c"}},
            "UpdateExpression": "ADD n :one",
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        }
    }
    ddb.transact_write_items(TransactItems=[update], ClientRequestToken=token)
    ddb.transact_write_items(TransactItems=[update], ClientRequestToken=token)
    assert ddb.get_item(TableName=name, Key={"id": {"S": "c"}})["Item"]["n"] == {"N": "1"}
    with pytest.raises(ClientError) as exc:
        ddb.transact_write_items(
            TransactItems=[{"Put": {"TableName": name, "Item": {"id": {"S": "d"}}}}], ClientRequestToken=token
        )
    assert error(exc)[0] == "IdempotentParameterMismatchException"


def test_token_expires_after_ten_minutes(fresh_server: Any) -> None:
    from tests.conftest import make_client
    from tests.dynamodb.conftest import create

    proc = fresh_server(in_memory=True)
    ddb = make_client(proc.url, "dynamodb")
    name = create(ddb)
    update = {
        "Update": {
            "TableName": name,
            "Key": {"id": {"S": "c"}},
            "UpdateExpression": "ADD n :one",
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        }
    }
    ddb.transact_write_items(TransactItems=[update], ClientRequestToken="tok")
    proc.advance_clock(601)
    ddb.transact_write_items(TransactItems=[update], ClientRequestToken="tok")
    assert ddb.get_item(TableName=name, Key={"id": {"S": "c"}})["Item"]["n"] == {"N": "2"}


def test_transact_get(ddb: Any, make_table: Any) -> None:
    name = make_table()
    ddb.put_item(TableName=name, Item={"id": {"S": "John"}, "age": {"N": "3"}})
    arn = ddb.describe_table(TableName=name)["Table"]["TableArn"]
    out = ddb.transact_get_items(
        TransactItems=[
            {"Get": {"TableName": name, "Key": {"id": {"S": "John"}}, "ProjectionExpression": "id"}},
            {"Get": {"TableName": arn, "Key": {"id": {"S": "Nobody"}}}},
        ],
        ReturnConsumedCapacity="TOTAL",
    )
    assert out["Responses"] == [{"Item": {"id": {"S": "John"}}}, {}]
    cc = out["ConsumedCapacity"][0]
    assert cc["CapacityUnits"] == 4.0 and cc["ReadCapacityUnits"] == 4.0  # 2 per item, a miss included
    out = ddb.transact_write_items(
        TransactItems=[{"Put": {"TableName": name, "Item": {"id": {"S": "w"}}}}],
        ReturnConsumedCapacity="INDEXES",
    )
    cc = out["ConsumedCapacity"][0]
    assert (cc["CapacityUnits"], cc["WriteCapacityUnits"], cc["Table"]["WriteCapacityUnits"]) == (
        2.0,
        2.0,
        2.0,
    )


def test_batch_get_rejects_mixed_projection_styles_across_tables(ddb: Any, make_table: Any) -> None:
    a, b = make_table(), make_table()
    with pytest.raises(ClientError) as exc:
        ddb.batch_get_item(
            RequestItems={
                a: {"Keys": [{"id": {"S": "x"}}], "ProjectionExpression": "id"},
                b: {"Keys": [{"id": {"S": "x"}}], "AttributesToGet": ["id"]},
            }
        )
    assert error(exc) == (
        "ValidationException",
        "Can not use both expression and non-expression parameters in the "
        "same request: Non-expression parameters: {AttributesToGet} Expression parameters: "
        "{ProjectionExpression}",
    )


def test_batch_get_charges_misses(ddb: Any, make_table: Any) -> None:
    name = make_table()
    ddb.put_item(TableName=name, Item={"id": {"S": "here"}})
    out = ddb.batch_get_item(
        RequestItems={name: {"Keys": [{"id": {"S": "here"}}, {"id": {"S": "gone"}}], "ConsistentRead": True}},
        ReturnConsumedCapacity="TOTAL",
    )
    assert len(out["Responses"][name]) == 1 and out["ConsumedCapacity"][0]["CapacityUnits"] == 2.0


def test_resource_batch_writer_and_paginator(resource: Any, ddb: Any, make_table: Any) -> None:
    from boto3.dynamodb.conditions import Key

    name = make_table(range_key=("n", "N"))
    table = resource.Table(name)
    with table.batch_writer(overwrite_by_pkeys=["id", "n"]) as writer:
        for i in range(60):  # more than one BatchWriteItem call
            writer.put_item(Item={"id": "p", "n": i, "blob": b"\x00\x01"})
        writer.delete_item(Key={"id": "p", "n": 59})
    pages = ddb.get_paginator("query").paginate(
        TableName=name,
        KeyConditionExpression="id = :p",
        ExpressionAttributeValues={":p": {"S": "p"}},
        PaginationConfig={"PageSize": 25},
    )
    numbers = [int(i["n"]["N"]) for page in pages for i in page["Items"]]
    assert numbers == list(range(59))
    got = table.query(KeyConditionExpression=Key("id").eq("p") & Key("n").gte(57))["Items"]
    assert [int(i["n"]) for i in got] == [57, 58] and got[0]["blob"].value == b"\x00\x01"
