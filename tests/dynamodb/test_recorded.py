"""Answers recorded from real DynamoDB (shared/aws-recorded/dynamodb/test_dynamodb.snapshot.json)."""

from __future__ import annotations

from typing import Any

from tests.dynamodb.conftest import unique

KEYS = [{"AttributeName": "id", "KeyType": "HASH"}]
ATTRS = [{"AttributeName": "id", "AttributeType": "S"}]
PT = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}


def ready(ddb: Any, name: str) -> dict[str, Any]:
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 50})
    return ddb.describe_table(TableName=name)["Table"]


def test_provisioned_by_name_has_no_billing_summary(ddb: Any) -> None:
    # test_gsi_with_billing_mode[PROVISIONED]: no BillingModeSummary, in CreateTable's answer or later.
    name = unique()
    gsi = {
        "IndexName": "TransactionRecordID",
        "KeySchema": [{"AttributeName": "TRID", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "ALL"},
        "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
    }
    created = ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "TID", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "TID", "AttributeType": "S"},
            {"AttributeName": "TRID", "AttributeType": "S"},
        ],
        BillingMode="PROVISIONED",
        ProvisionedThroughput=PT,
        GlobalSecondaryIndexes=[gsi],
    )["TableDescription"]
    assert "BillingModeSummary" not in created
    table = ready(ddb, name)
    assert "BillingModeSummary" not in table
    assert table["WarmThroughput"] == {"ReadUnitsPerSecond": 5, "WriteUnitsPerSecond": 5, "Status": "ACTIVE"}
    assert table["GlobalSecondaryIndexes"][0]["WarmThroughput"] == {
        "ReadUnitsPerSecond": 1,
        "WriteUnitsPerSecond": 1,
        "Status": "ACTIVE",
    }
    # Switched to on-demand and back, the table keeps a summary (the last switch's time with it).
    ddb.update_table(TableName=name, BillingMode="PAY_PER_REQUEST")
    ready(ddb, name)
    ddb.update_table(
        TableName=name,
        BillingMode="PROVISIONED",
        ProvisionedThroughput=PT,
        GlobalSecondaryIndexUpdates=[
            {"Update": {"IndexName": "TransactionRecordID", "ProvisionedThroughput": PT}}
        ],
    )
    summary = ready(ddb, name)["BillingModeSummary"]
    assert summary["BillingMode"] == "PROVISIONED" and "LastUpdateToPayPerRequestDateTime" in summary


def test_warm_throughput_is_updating_while_the_table_is_created(ddb: Any) -> None:
    # test_table_warm_throughput: UPDATING in CreateTable's answer, ACTIVE once the table is.
    name = unique()
    warm = {"ReadUnitsPerSecond": 1000, "WriteUnitsPerSecond": 1200}
    created = ddb.create_table(
        TableName=name,
        KeySchema=KEYS,
        AttributeDefinitions=ATTRS,
        ProvisionedThroughput=PT,
        WarmThroughput=warm,
    )["TableDescription"]
    assert created["TableStatus"] == "CREATING"
    assert created["WarmThroughput"] == {**warm, "Status": "UPDATING"}
    assert ready(ddb, name)["WarmThroughput"] == {**warm, "Status": "ACTIVE"}


def test_update_table_answers_the_encryption_being_changed(ddb: Any) -> None:
    # test_dynamodb_create_table_with_partial_sse_specification / update-table-disable-sse-spec:
    # UpdateTable's answer shows the KMS encryption going away as UPDATING.
    name = unique()
    created = ddb.create_table(
        TableName=name,
        KeySchema=KEYS,
        AttributeDefinitions=ATTRS,
        BillingMode="PAY_PER_REQUEST",
        SSESpecification={"Enabled": True},
    )["TableDescription"]
    sse = created["SSEDescription"]
    assert (sse["Status"], sse["SSEType"]) == ("ENABLED", "KMS")
    ready(ddb, name)
    out = ddb.update_table(TableName=name, SSESpecification={"Enabled": False})["TableDescription"]
    assert out["SSEDescription"] == {**sse, "Status": "UPDATING"}
    assert "SSEDescription" not in ready(ddb, name)
    # test_dynamodb_update_table_without_sse_specification_change: other updates leave it alone.
    ddb.update_table(TableName=name, SSESpecification={"Enabled": True})
    sse = ready(ddb, name)["SSEDescription"]
    out = ddb.update_table(TableName=name, BillingMode="PROVISIONED", ProvisionedThroughput=PT)
    assert out["TableDescription"]["SSEDescription"] == sse
