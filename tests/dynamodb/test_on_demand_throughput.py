"""OnDemandThroughput (the read and write request maxima of a PAY_PER_REQUEST table and of its GSIs):
kept and described, changed by UpdateTable, lifted with -1, dropped by a switch to PROVISIONED,
and refused on PROVISIONED tables, in the words published probes of real DynamoDB recorded."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.dynamodb.conftest import create, error

INVALID = "One or more parameter values were invalid: "
PT = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}


def _gsi(**extra: Any) -> dict[str, Any]:
    return {
        "IndexName": "by-a",
        "KeySchema": [{"AttributeName": "a", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "KEYS_ONLY"},
        **extra,
    }


def _maxima(read: int, write: int) -> dict[str, int]:
    return {"MaxReadRequestUnits": read, "MaxWriteRequestUnits": write}


def _described(ddb: Any, name: str) -> tuple[Any, Any]:
    table = ddb.describe_table(TableName=name)["Table"]
    return table.get("OnDemandThroughput"), table["GlobalSecondaryIndexes"][0].get("OnDemandThroughput")


def test_maxima_are_kept_changed_lifted_and_dropped(ddb: Any) -> None:
    name = create(
        ddb,
        more_attrs={"a": "S"},
        OnDemandThroughput={"MaxReadRequestUnits": 100},
        GlobalSecondaryIndexes=[_gsi(OnDemandThroughput=_maxima(6000, 5000))],
    )
    assert _described(ddb, name) == (_maxima(100, -1), _maxima(6000, 5000))
    ddb.update_table(TableName=name, OnDemandThroughput={"MaxWriteRequestUnits": 50})
    update = {"Update": {"IndexName": "by-a", "OnDemandThroughput": {"MaxReadRequestUnits": -1}}}
    ddb.update_table(TableName=name, GlobalSecondaryIndexUpdates=[update])
    assert _described(ddb, name) == (_maxima(100, 50), _maxima(-1, 5000))
    faster = {"Update": {"IndexName": "by-a", "ProvisionedThroughput": PT}}
    ddb.update_table(
        TableName=name,
        BillingMode="PROVISIONED",
        ProvisionedThroughput=PT,
        GlobalSecondaryIndexUpdates=[faster],
    )
    assert _described(ddb, name) == (None, None)


def test_maxima_outside_their_range_or_on_provisioned_tables_are_refused(ddb: Any) -> None:
    with pytest.raises(ClientError) as exc:
        create(ddb, OnDemandThroughput={"MaxReadRequestUnits": 0})
    assert error(exc) == (
        "ValidationException",
        f"{INVALID}Requested MaxReadRequestUnits for OnDemandThroughput for table is outside of valid range",
    )
    with pytest.raises(ClientError) as exc:
        create(ddb, more_attrs={"a": "S"}, GlobalSecondaryIndexes=[_gsi(OnDemandThroughput=_maxima(-1, 10))])
    assert error(exc) == (
        "ValidationException",
        f"{INVALID}Requested MaxReadRequestUnits for OnDemandThroughput for index : by-a is outside of valid range",
    )
    name = create(
        ddb,
        more_attrs={"a": "S"},
        BillingMode="PROVISIONED",
        ProvisionedThroughput=PT,
        GlobalSecondaryIndexes=[_gsi(ProvisionedThroughput=PT)],
    )
    with pytest.raises(ClientError) as exc:
        ddb.update_table(TableName=name, OnDemandThroughput={"MaxReadRequestUnits": 10})
    assert error(exc) == (
        "ValidationException",
        f"{INVALID}MaxReadRequestUnits for OnDemandThroughput cannot be specified when the table BillingMode is "
        "PROVISIONED",
    )
    update = {"Update": {"IndexName": "by-a", "OnDemandThroughput": {"MaxWriteRequestUnits": 10}}}
    with pytest.raises(ClientError) as exc:
        ddb.update_table(TableName=name, GlobalSecondaryIndexUpdates=[update])
    assert error(exc) == (
        "ValidationException",
        f"{INVALID}MaxWriteRequestUnits for OnDemandThroughput for index : by-a cannot be specified when the "
        "table BillingMode is PROVISIONED",
    )
