"""Throughput settings and quotas: OnDemandThroughput (the request maxima of a PAY_PER_REQUEST table
and of its GSIs) kept and described, changed by UpdateTable, lifted with -1, dropped by a switch to
PROVISIONED and refused on PROVISIONED tables; provisioned capacity against the per-table, per-index
and per-account quotas. In the words published probes of real DynamoDB recorded."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import make_client
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


def test_provisioned_capacity_quotas(fresh_server: Any) -> None:
    ddb = make_client(fresh_server(in_memory=True).url, "dynamodb")
    refer = (
        "Refer to the Amazon DynamoDB Developer Guide for current limits and how to request higher limits."
    )

    def provisioned(rcu: int, gsi_rcu: int | None = None) -> Any:
        extra: dict[str, Any] = {
            "BillingMode": "PROVISIONED",
            "ProvisionedThroughput": {**PT, "ReadCapacityUnits": rcu},
        }
        if gsi_rcu is not None:
            extra["GlobalSecondaryIndexes"] = [
                _gsi(ProvisionedThroughput={**PT, "ReadCapacityUnits": gsi_rcu})
            ]
            extra["more_attrs"] = {"a": "S"}
        return create(ddb, **extra)

    with pytest.raises(ClientError) as exc:
        provisioned(40001)
    assert error(exc) == (
        "LimitExceededException",
        "The requested ReadCapacityUnits, 40001, is above the per table maximum for the account in us-east-1. "
        f"Per table maximum: 40000. {refer}",
    )
    with pytest.raises(ClientError) as exc:
        provisioned(1, 40001)
    assert error(exc) == (
        "LimitExceededException",
        "The requested ReadCapacityUnits for index by-a, 40001, is above the per index maximum for the account in "
        f"us-east-1. Per table maximum: 40000. {refer}",
    )
    first = provisioned(39900, 200)  # a table's cap does not count its indexes
    with pytest.raises(ClientError) as exc:
        provisioned(40000)
    assert error(exc) == (
        "LimitExceededException",
        "This request would have caused the ReadCapacityUnits limit to be exceeded for the account in us-east-1. "
        "Current ReadCapacityUnits reserved by the account: 40100. Limit: 80000. Requested: 40000",
    )
    with pytest.raises(ClientError) as exc:
        ddb.update_table(TableName=first, ProvisionedThroughput={**PT, "ReadCapacityUnits": 40001})
    assert error(exc)[0] == "LimitExceededException"
    assert ddb.describe_table(TableName=first)["Table"]["ProvisionedThroughput"]["ReadCapacityUnits"] == 39900
    # The account quota is per region: another region's reservations do not count against it.
    west = make_client(ddb.meta.endpoint_url, "dynamodb", "us-west-2")
    create(west, BillingMode="PROVISIONED", ProvisionedThroughput={**PT, "ReadCapacityUnits": 40000})
    create(west, BillingMode="PROVISIONED", ProvisionedThroughput={**PT, "ReadCapacityUnits": 40000})


def _warm(ddb: Any, name: str) -> tuple[int, int]:
    warm = ddb.describe_table(TableName=name)["Table"]["WarmThroughput"]
    return warm["ReadUnitsPerSecond"], warm["WriteUnitsPerSecond"]


def test_warm_throughput_keeps_its_high_water_mark(ddb: Any) -> None:
    name = create(ddb, BillingMode="PROVISIONED", ProvisionedThroughput=PT)
    assert _warm(ddb, name) == (5, 5)
    ddb.update_table(
        TableName=name, ProvisionedThroughput={"ReadCapacityUnits": 10, "WriteCapacityUnits": 10}
    )
    ddb.update_table(TableName=name, ProvisionedThroughput={"ReadCapacityUnits": 2, "WriteCapacityUnits": 2})
    assert _warm(ddb, name) == (10, 10)  # never lowered
    on_demand = create(ddb)
    assert _warm(ddb, on_demand) == (12000, 4000)
    ddb.update_table(TableName=on_demand, BillingMode="PROVISIONED", ProvisionedThroughput=PT)
    assert _warm(ddb, on_demand) == (12000, 4000)  # kept after the switch
    ddb.update_table(TableName=on_demand, WarmThroughput={"WriteUnitsPerSecond": 4500})
    assert _warm(ddb, on_demand) == (12000, 4500)  # a member not given stays
    with pytest.raises(ClientError) as exc:
        ddb.update_table(TableName=on_demand, WarmThroughput={"ReadUnitsPerSecond": 100})
    assert error(exc) == (
        "ValidationException",
        f"{INVALID}Requested ReadUnitsPerSecond for WarmThroughput for table is lower than current WarmThroughput, "
        "decreasing WarmThroughput is not supported",
    )


def test_warm_throughput_at_create_and_for_indexes(raw: Any) -> None:
    with pytest.raises(ClientError) as exc:
        create(
            raw,
            BillingMode="PROVISIONED",
            ProvisionedThroughput=PT,
            WarmThroughput={"WriteUnitsPerSecond": 4},
        )
    assert error(exc) == (
        "ValidationException",
        f"{INVALID}Requested WriteUnitsPerSecond for WarmThroughput for table is lower than WriteCapacityUnits of "
        "ProvisionedThroughput",
    )
    with pytest.raises(ClientError) as exc:
        create(raw, WarmThroughput={"ReadUnitsPerSecond": 1, "WriteUnitsPerSecond": 1})
    assert error(exc) == (
        "ValidationException",
        f"{INVALID}Requested ReadUnitsPerSecond for WarmThroughput for table is lower than initial throughput for "
        "OnDemand. See: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/on-demand-capacity-mode.html"
        "#on-demand-capacity-mode-initial",
    )
    name = create(raw, more_attrs={"a": "S"}, GlobalSecondaryIndexes=[_gsi()])
    for wanted, message in (
        ({}, "WarmThroughput must have at least one of ReadUnitsPerSecond or WriteUnitsPerSecond specified for index: by-a"),
        ({"ReadUnitsPerSecond": 100}, "Requested ReadUnitsPerSecond for WarmThroughput for index by-a is lower than current WarmThroughput, decreasing WarmThroughput is not supported"),
    ):  # fmt: skip
        with pytest.raises(ClientError) as exc:
            raw.update_table(
                TableName=name,
                GlobalSecondaryIndexUpdates=[{"Update": {"IndexName": "by-a", "WarmThroughput": wanted}}],
            )
        assert error(exc) == ("ValidationException", INVALID + message)
    update = {"Update": {"IndexName": "by-a", "WarmThroughput": {"ReadUnitsPerSecond": 13000}}}
    raw.update_table(TableName=name, GlobalSecondaryIndexUpdates=[update])
    gsi = raw.describe_table(TableName=name)["Table"]["GlobalSecondaryIndexes"][0]["WarmThroughput"]
    assert (gsi["ReadUnitsPerSecond"], gsi["WriteUnitsPerSecond"]) == (13000, 4000)


def test_an_index_added_later_takes_its_warm_throughput(raw: Any) -> None:
    name = create(raw)
    attrs = [{"AttributeName": "a", "AttributeType": "S"}]
    low = _gsi(WarmThroughput={"ReadUnitsPerSecond": 100})
    with pytest.raises(ClientError) as exc:
        raw.update_table(
            TableName=name, AttributeDefinitions=attrs, GlobalSecondaryIndexUpdates=[{"Create": low}]
        )
    assert error(exc)[1].startswith(
        f"{INVALID}Requested ReadUnitsPerSecond for WarmThroughput for index by-a is lower than initial throughput "
        "for OnDemand."
    )
    high = _gsi(WarmThroughput={"ReadUnitsPerSecond": 13000})
    raw.update_table(
        TableName=name, AttributeDefinitions=attrs, GlobalSecondaryIndexUpdates=[{"Create": high}]
    )
    gsi = raw.describe_table(TableName=name)["Table"]["GlobalSecondaryIndexes"][0]["WarmThroughput"]
    assert (gsi["ReadUnitsPerSecond"], gsi["WriteUnitsPerSecond"]) == (13000, 4000)
