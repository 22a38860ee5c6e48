"""The control plane: CreateTable/DescribeTable/ListTables/UpdateTable/DeleteTable and their errors."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.dynamodb.conftest import all_tables, create, error, unique

KEYS = [{"AttributeName": "id", "KeyType": "HASH"}]
ATTRS = [{"AttributeName": "id", "AttributeType": "S"}]
PT = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}


def test_table_crud_shapes(ddb: Any) -> None:
    name = unique()
    created = ddb.create_table(
        TableName=name, KeySchema=KEYS, AttributeDefinitions=ATTRS, ProvisionedThroughput=PT
    )
    desc = created["TableDescription"]
    assert desc["TableStatus"] == "CREATING"
    assert desc["ProvisionedThroughput"] == {
        "NumberOfDecreasesToday": 0,
        "ReadCapacityUnits": 5,
        "WriteCapacityUnits": 5,
    }
    assert desc["TableArn"] == f"arn:aws:dynamodb:us-east-1:000000000000:table/{name}"
    assert (
        desc["ItemCount"] == 0 and desc["TableSizeBytes"] == 0 and desc["DeletionProtectionEnabled"] is False
    )
    assert "WarmThroughput" not in desc and "BillingModeSummary" not in desc
    table = ddb.describe_table(TableName=name)["Table"]
    assert table["TableStatus"] == "ACTIVE"
    assert table["WarmThroughput"] == {"ReadUnitsPerSecond": 5, "WriteUnitsPerSecond": 5, "Status": "ACTIVE"}
    assert table["TableId"] == desc["TableId"]
    assert name in all_tables(ddb)
    deleted = ddb.delete_table(TableName=name)["TableDescription"]
    assert deleted["TableStatus"] == "DELETING"
    assert "KeySchema" not in deleted and "AttributeDefinitions" not in deleted
    with pytest.raises(ClientError) as exc:
        ddb.describe_table(TableName=name)
    assert error(exc) == (
        "ResourceNotFoundException",
        f"Requested resource not found: Table: {name} not found",
    )
    with pytest.raises(ClientError) as exc:
        ddb.delete_table(TableName="non-existent")
    assert error(exc) == (
        "ResourceNotFoundException",
        "Requested resource not found: Table: non-existent not found",
    )


def test_duplicate_table_and_case_sensitive_names(ddb: Any, make_table: Any) -> None:
    name = make_table(name=unique("Case"))
    with pytest.raises(ClientError) as exc:
        create(ddb, name=name)
    assert error(exc) == ("ResourceInUseException", f"Table already exists: {name}")
    lower = make_table(name=name.lower())  # a different table
    assert ddb.describe_table(TableName=lower)["Table"]["TableName"] == lower


def test_table_arn_accepted_as_name(ddb: Any, make_table: Any) -> None:
    name = make_table()
    arn = ddb.describe_table(TableName=name)["Table"]["TableArn"]
    assert ddb.describe_table(TableName=arn)["Table"]["TableName"] == name
    ddb.put_item(TableName=arn, Item={"id": {"S": "x"}})
    assert ddb.get_item(TableName=name, Key={"id": {"S": "x"}})["Item"] == {"id": {"S": "x"}}


def test_pay_per_request(ddb: Any, make_table: Any) -> None:
    with pytest.raises(ClientError) as exc:
        ddb.create_table(
            TableName=unique(),
            KeySchema=KEYS,
            AttributeDefinitions=ATTRS,
            BillingMode="PAY_PER_REQUEST",
            ProvisionedThroughput=PT,
        )
    assert error(exc) == (
        "ValidationException",
        "One or more parameter values were invalid: Neither "
        "ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST",
    )
    name = make_table()
    table = ddb.describe_table(TableName=name)["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["ProvisionedThroughput"]["ReadCapacityUnits"] == 0
    assert table["WarmThroughput"] == {
        "ReadUnitsPerSecond": 12000,
        "WriteUnitsPerSecond": 4000,
        "Status": "ACTIVE",
    }


def _gsi(name: str, key: str, **extra: Any) -> dict[str, Any]:
    return {
        "IndexName": name,
        "KeySchema": [{"AttributeName": key, "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "ALL"},
        **extra,
    }


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"KeySchema": KEYS, "AttributeDefinitions": ATTRS},
            "One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must "
            "both be "
            "specified when BillingMode is PROVISIONED",
        ),
        (
            {
                "KeySchema": KEYS,
                "AttributeDefinitions": [{"AttributeName": "x", "AttributeType": "S"}],
                "ProvisionedThroughput": PT,
            },
            "One or more parameter values were invalid: Some index key attributes are not defined in "
            "AttributeDefinitions. Keys: [id], AttributeDefinitions: [x]",
        ),
        (
            {
                "KeySchema": KEYS,
                "AttributeDefinitions": [*ATTRS, {"AttributeName": "x", "AttributeType": "S"}],
                "ProvisionedThroughput": PT,
            },
            "One or more parameter values were invalid: Number of attributes in KeySchema does not "
            "exactly match "
            "number of attributes defined in AttributeDefinitions",
        ),
        (
            {
                "KeySchema": [{"AttributeName": "id", "KeyType": "RANGE"}],
                "AttributeDefinitions": ATTRS,
                "ProvisionedThroughput": PT,
            },
            "Invalid KeySchema: The first KeySchemaElement is not a HASH key type",
        ),
        (
            {
                "KeySchema": KEYS,
                "AttributeDefinitions": [*ATTRS, {"AttributeName": "s", "AttributeType": "S"}],
                "ProvisionedThroughput": PT,
                "LocalSecondaryIndexes": [
                    {
                        "IndexName": "lsi",
                        "KeySchema": [
                            {"AttributeName": "id", "KeyType": "HASH"},
                            {"AttributeName": "s", "KeyType": "RANGE"},
                        ],
                        "Projection": {"ProjectionType": "ALL"},
                    }
                ],
            },
            "One or more parameter values were invalid: Table KeySchema does not have a range key, which is "
            "required when specifying a LocalSecondaryIndex",
        ),
        (
            {
                "KeySchema": [*KEYS, {"AttributeName": "id", "KeyType": "RANGE"}],
                "AttributeDefinitions": ATTRS,
                "ProvisionedThroughput": PT,
            },
            "Invalid KeySchema: Some index key attribute have no definition",
        ),
        (
            {
                "KeySchema": KEYS,
                "AttributeDefinitions": ATTRS,
                "ProvisionedThroughput": PT,
                "StreamSpecification": {"StreamEnabled": False, "StreamViewType": "KEYS_ONLY"},
            },
            "One or more parameter values were invalid: Table is being created with a stream disabled, "
            "UpdateViewType should not be specified",
        ),
        # Found by the wire fuzzer (500 KeyError): both are optional in the current model.
        (
            {"AttributeDefinitions": ATTRS, "ProvisionedThroughput": PT},
            "1 validation error detected: Value null at 'keySchema' failed to satisfy constraint: "
            "Member must not be null",
        ),
        ({"KeySchema": KEYS, "ProvisionedThroughput": PT}, "No defined Attribute schema."),
        # As published probes of real DynamoDB worded them (an unused definition beside indexes lists
        # the keys as a java.util.HashSet prints them).
        (
            {
                "KeySchema": [*KEYS, {"AttributeName": "sk", "KeyType": "RANGE"}],
                "AttributeDefinitions": [
                    {"AttributeName": a, "AttributeType": "S"} for a in ("sk", "a", "b", "id", "c")
                ],
                "ProvisionedThroughput": PT,
                "GlobalSecondaryIndexes": [_gsi("g-a", "a", ProvisionedThroughput=PT)],
            },
            "One or more parameter values were invalid: Some AttributeDefinitions are not used. "
            "AttributeDefinitions: [sk, a, b, id, c], keys used: [a, sk, id]",
        ),
        (
            {"KeySchema": KEYS, "AttributeDefinitions": [*ATTRS, *ATTRS], "ProvisionedThroughput": PT},
            "Attribute Name is duplicated: id",
        ),
        (
            {
                "KeySchema": KEYS,
                "AttributeDefinitions": [*ATTRS, {"AttributeName": "a", "AttributeType": "S"}],
                "ProvisionedThroughput": PT,
                "GlobalSecondaryIndexes": [_gsi("g-a", "a")],
            },
            "One or more parameter values were invalid: ProvisionedThroughput is not specified for index: g-a",
        ),
        (
            {
                "KeySchema": KEYS,
                "AttributeDefinitions": ATTRS,
                "ProvisionedThroughput": PT,
                "OnDemandThroughput": {"MaxWriteRequestUnits": 10},
            },
            "One or more parameter values were invalid: MaxWriteRequestUnits for OnDemandThroughput cannot be "
            "specified when table BillingMode is PROVISIONED.",
        ),
        (
            {
                "KeySchema": KEYS,
                "AttributeDefinitions": [*ATTRS, {"AttributeName": "a", "AttributeType": "S"}],
                "BillingMode": "PAY_PER_REQUEST",
                "GlobalSecondaryIndexes": [
                    {
                        **_gsi("g-a", "a"),
                        "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["x", "x"]},
                    }
                ],
            },
            "One or more parameter values were invalid: Duplicate element in NonKeyAttributes: x",
        ),
    ],
)
def test_create_table_validation(ddb: Any, kwargs: dict[str, Any], message: str) -> None:
    name = unique()
    with pytest.raises(ClientError) as exc:
        ddb.create_table(TableName=name, **kwargs)
    assert error(exc) == ("ValidationException", message)
    assert name not in all_tables(ddb)


def test_model_validation_is_coral(raw: Any) -> None:
    with pytest.raises(ClientError) as exc:
        raw.describe_table(TableName="ab")
    assert error(exc) == (
        "ValidationException",
        "1 validation error detected: Value 'ab' at 'tableName' failed to "
        "satisfy constraint: Member must have length greater than or equal to 3",
    )


def test_list_tables_pagination(client: Any) -> None:
    ddb = client("dynamodb", region="ap-south-2")  # a region of its own
    names = sorted(create(ddb, name=f"page-{i}") for i in range(5))
    first = ddb.list_tables(Limit=2)
    assert first["TableNames"] == names[:2] and first["LastEvaluatedTableName"] == names[1]
    rest = ddb.list_tables(ExclusiveStartTableName=first["LastEvaluatedTableName"])
    assert rest["TableNames"] == names[2:] and "LastEvaluatedTableName" not in rest
    assert client("dynamodb", region="ap-south-1").list_tables()["TableNames"] == [] or all(
        not n.startswith("page-") for n in client("dynamodb", region="ap-south-1").list_tables()["TableNames"]
    )
    for name in names:
        ddb.delete_table(TableName=name)


def test_update_table_capacity_and_billing(ddb: Any, make_table: Any) -> None:
    name = make_table(BillingMode="PROVISIONED", ProvisionedThroughput=PT)
    with pytest.raises(ClientError) as exc:
        ddb.update_table(TableName=name, ProvisionedThroughput=PT)
    assert error(exc)[1].startswith("The provisioned throughput for the table will not change.")
    out = ddb.update_table(
        TableName=name, ProvisionedThroughput={"ReadCapacityUnits": 2, "WriteCapacityUnits": 7}
    )
    pt = out["TableDescription"]["ProvisionedThroughput"]
    assert (pt["ReadCapacityUnits"], pt["WriteCapacityUnits"], pt["NumberOfDecreasesToday"]) == (2, 7, 1)
    out = ddb.update_table(TableName=name, BillingMode="PAY_PER_REQUEST")
    assert out["TableDescription"]["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    with pytest.raises(ClientError) as exc:
        ddb.update_table(TableName=name)
    assert error(exc)[0] == "ValidationException"
    ddb.update_table(TableName=name, DeletionProtectionEnabled=True)
    with pytest.raises(ClientError) as exc:
        ddb.delete_table(TableName=name)
    assert error(exc) == (
        "ValidationException",
        "Resource cannot be deleted as it is currently protected against "
        "deletion. Disable deletion protection first.",
    )
    ddb.update_table(TableName=name, DeletionProtectionEnabled=False)


def test_state_delay_passes_through_creating_and_deleting(fresh_server: Any) -> None:
    from tests.conftest import make_client

    proc = fresh_server("--state-delay", "60000", in_memory=True)
    ddb = make_client(proc.url, "dynamodb")
    name = create(ddb)
    assert ddb.describe_table(TableName=name)["Table"]["TableStatus"] == "CREATING"
    with pytest.raises(ClientError) as exc:
        ddb.put_item(TableName=name, Item={"id": {"S": "a"}})
    assert error(exc) == ("ResourceNotFoundException", "Requested resource not found")
    with pytest.raises(ClientError) as exc:
        create(ddb, name=name)
    assert error(exc) == (
        "ResourceInUseException",
        f"Attempt to change a resource which is still in use: Table is being created: {name}",
    )
    proc.advance_clock(61)
    assert ddb.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE"
    with pytest.raises(ClientError) as exc:
        create(ddb, name=name)
    assert error(exc) == ("ResourceInUseException", f"Table already exists: {name}")
    ddb.put_item(TableName=name, Item={"id": {"S": "a"}})
    ddb.delete_table(TableName=name)
    assert ddb.describe_table(TableName=name)["Table"]["TableStatus"] == "DELETING"
    proc.advance_clock(61)
    with pytest.raises(ClientError):
        ddb.describe_table(TableName=name)
    # waiters work against the same lifecycle
    name2 = create(ddb)
    proc.advance_clock(61)
    ddb.get_waiter("table_exists").wait(TableName=name2, WaiterConfig={"Delay": 0.1, "MaxAttempts": 5})


def test_sse_table_class_and_billing_summary(ddb: Any, make_table: Any) -> None:
    name = make_table(SSESpecification={"Enabled": True}, TableClass="STANDARD_INFREQUENT_ACCESS")
    table = ddb.describe_table(TableName=name)["Table"]
    sse = table["SSEDescription"]
    assert sse["Status"] == "ENABLED" and sse["SSEType"] == "KMS"
    assert sse["KMSMasterKeyArn"].startswith("arn:aws:kms:us-east-1:000000000000:key/")
    assert table["TableClassSummary"]["TableClass"] == "STANDARD_INFREQUENT_ACCESS"
    assert "LastUpdateToPayPerRequestDateTime" in table["BillingModeSummary"]
    out = ddb.update_table(TableName=name, SSESpecification={"Enabled": True})
    assert out["TableDescription"]["SSEDescription"]["KMSMasterKeyArn"] == sse["KMSMasterKeyArn"]


def test_failed_update_table_changes_nothing(ddb: Any, make_table: Any) -> None:
    name = make_table(BillingMode="PROVISIONED", ProvisionedThroughput=PT)
    with pytest.raises(ClientError):  # the throughput change is valid, the stream request is not
        ddb.update_table(
            TableName=name,
            ProvisionedThroughput={"ReadCapacityUnits": 9, "WriteCapacityUnits": 9},
            StreamSpecification={"StreamEnabled": False},
        )
    table = ddb.describe_table(TableName=name)["Table"]
    assert table["ProvisionedThroughput"]["ReadCapacityUnits"] == 5


def test_tables_in_transition_refuse_changes(fresh_server: Any) -> None:
    from tests.conftest import make_client

    proc = fresh_server("--state-delay", "60000", in_memory=True)
    ddb = make_client(proc.url, "dynamodb")
    name = create(ddb, BillingMode="PROVISIONED", ProvisionedThroughput=PT)
    with pytest.raises(ClientError) as exc:
        ddb.delete_table(TableName=name)
    assert error(exc) == (
        "ResourceInUseException",
        f"Attempt to change a resource which is still in use: Table is being created: {name}",
    )
    proc.advance_clock(61)
    ddb.update_table(TableName=name, ProvisionedThroughput={"ReadCapacityUnits": 6, "WriteCapacityUnits": 6})
    assert ddb.describe_table(TableName=name)["Table"]["TableStatus"] == "UPDATING"
    ddb.put_item(TableName=name, Item={"id": {"S": "still-writable"}})
    with pytest.raises(ClientError) as exc:
        ddb.update_table(
            TableName=name, ProvisionedThroughput={"ReadCapacityUnits": 7, "WriteCapacityUnits": 7}
        )
    assert error(exc) == (
        "ResourceInUseException",
        f"Attempt to change a resource which is still in use: Table IOPS are currently being updated. Table: {name}",
    )
    ddb.update_table(TableName=name, DeletionProtectionEnabled=False)  # admitted meanwhile
    with pytest.raises(ClientError) as exc:
        ddb.update_table(TableName=name, TableClass="STANDARD_INFREQUENT_ACCESS")
    assert error(exc) == (
        "ResourceInUseException",
        f"Attempt to change a resource which is still in use: Table is being updated: {name}",
    )
    with pytest.raises(ClientError) as exc:
        ddb.delete_table(TableName=name)
    assert error(exc) == (
        "ResourceInUseException",
        f"Attempt to change a resource which is still in use: Table: {name} is in the process of being updated.",
    )


def test_capacity_decreases_are_rationed_per_utc_day(fresh_server: Any) -> None:
    from tests.conftest import make_client

    proc = fresh_server(in_memory=True)
    # Start at 01:00 UTC (the day after), so that the hour this test advances stays in one UTC
    # day whenever it runs (it failed when run after 23:00 UTC).
    proc.advance_clock(86400 - time.time() % 86400 + 3600)
    ddb = make_client(proc.url, "dynamodb")
    name = create(
        ddb,
        BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": 100, "WriteCapacityUnits": 100},
    )
    for units in (90, 80, 70, 60):  # the first four decreases of a day are free
        ddb.update_table(
            TableName=name, ProvisionedThroughput={"ReadCapacityUnits": units, "WriteCapacityUnits": 5}
        )
    with pytest.raises(ClientError) as exc:
        ddb.update_table(
            TableName=name, ProvisionedThroughput={"ReadCapacityUnits": 50, "WriteCapacityUnits": 5}
        )
    code, message = error(exc)
    assert code == "LimitExceededException"
    moment = (
        r"[A-Z][a-z]+day, [A-Z][a-z]+ [1-9]\d?, \d{4} at [1-9]\d?:\d\d:\d\d [AP]M Coordinated Universal Time"
    )
    assert re.fullmatch(
        "Subscriber limit exceeded: Provisioned throughput decreases are limited within a given UTC day. After "
        "the first 4 decreases, each subsequent decrease in the same UTC day can be performed at most once every "
        f"3600 seconds. Number of decreases today: 4. Last decrease at {moment}. Next decrease can be made at "
        f"{moment}",
        message,
    ), message
    ddb.update_table(
        TableName=name, ProvisionedThroughput={"ReadCapacityUnits": 500, "WriteCapacityUnits": 5}
    )
    proc.advance_clock(3601)  # then one an hour
    ddb.update_table(TableName=name, ProvisionedThroughput={"ReadCapacityUnits": 50, "WriteCapacityUnits": 5})
    pt = ddb.describe_table(TableName=name)["Table"]["ProvisionedThroughput"]
    assert pt["NumberOfDecreasesToday"] == 5
    proc.advance_clock(86400)
    assert ddb.describe_table(TableName=name)["Table"]["ProvisionedThroughput"]["NumberOfDecreasesToday"] == 0
