"""Tags, limits, endpoints, continuous backups, resource policies, regions and the CRC header."""

from __future__ import annotations

import json
import zlib
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.dynamodb.conftest import create, error, unique


def test_tags(ddb: Any, make_table: Any) -> None:
    name = make_table(Tags=[{"Key": "team", "Value": "a"}])
    arn = ddb.describe_table(TableName=name)["Table"]["TableArn"]
    assert ddb.list_tags_of_resource(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "a"}]
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "env", "Value": "dev"}, {"Key": "team", "Value": "b"}])
    tags = {t["Key"]: t["Value"] for t in ddb.list_tags_of_resource(ResourceArn=arn)["Tags"]}
    assert tags == {"team": "b", "env": "dev"}
    ddb.untag_resource(ResourceArn=arn, TagKeys=["team"])
    assert ddb.list_tags_of_resource(ResourceArn=arn)["Tags"] == [{"Key": "env", "Value": "dev"}]
    with pytest.raises(ClientError) as exc:
        ddb.list_tags_of_resource(ResourceArn=arn + "-gone")
    assert error(exc)[0] == "ResourceNotFoundException"


def test_limits_and_endpoints(ddb: Any) -> None:
    limits = ddb.describe_limits()
    assert limits["TableMaxReadCapacityUnits"] == 40000 and limits["AccountMaxWriteCapacityUnits"] == 80000
    endpoints = ddb.describe_endpoints()["Endpoints"]
    assert endpoints == [{"Address": "dynamodb.us-east-1.amazonaws.com", "CachePeriodInMinutes": 1440}]


def test_continuous_backups(ddb: Any, make_table: Any) -> None:
    name = make_table()
    desc = ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    assert desc == {
        "ContinuousBackupsStatus": "ENABLED",
        "PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": "DISABLED"},
    }
    out = ddb.update_continuous_backups(
        TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    pitr = out["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert pitr["PointInTimeRecoveryStatus"] == "ENABLED" and pitr["RecoveryPeriodInDays"] == 35
    assert "EarliestRestorableDateTime" in pitr and "LatestRestorableDateTime" in pitr
    described = ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    assert described["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    with pytest.raises(ClientError) as exc:
        ddb.describe_continuous_backups(TableName="no-such-table")
    assert error(exc) == ("TableNotFoundException", "Table not found: no-such-table")


def test_resource_policies(ddb: Any, make_table: Any) -> None:
    name = make_table()
    arn = ddb.describe_table(TableName=name)["Table"]["TableArn"]
    with pytest.raises(ClientError) as exc:
        ddb.get_resource_policy(ResourceArn=arn)
    assert error(exc)[0] == "PolicyNotFoundException"
    policy = json.dumps({"Version": "2012-10-17", "Statement": []})
    rev = ddb.put_resource_policy(ResourceArn=arn, Policy=policy)["RevisionId"]
    got = ddb.get_resource_policy(ResourceArn=arn)
    assert got["Policy"] == policy and got["RevisionId"] == rev
    assert ddb.delete_resource_policy(ResourceArn=arn)["RevisionId"] == rev
    with pytest.raises(ClientError):
        ddb.get_resource_policy(ResourceArn=arn)


def test_tables_belong_to_their_region(client: Any) -> None:
    east, west = client("dynamodb", region="us-east-2"), client("dynamodb", region="eu-west-3")
    name = create(east)
    assert name not in west.list_tables()["TableNames"]
    with pytest.raises(ClientError):
        west.describe_table(TableName=name)
    create(west, name=name)  # the same name is free in another region
    east.put_item(TableName=name, Item={"id": {"S": "only-east"}})
    assert west.scan(TableName=name)["Count"] == 0
    east.delete_table(TableName=name)
    west.delete_table(TableName=name)


def test_crc32_header_matches_body(ddb: Any, make_table: Any) -> None:
    name = make_table()
    ddb.put_item(TableName=name, Item={"id": {"S": "c"}, "v": {"S": "ü" * 50}})
    captured: dict[str, Any] = {}

    def grab(http_response: Any, **_: Any) -> None:
        captured["crc"] = http_response.headers["x-amz-crc32"]
        captured["body"] = http_response.content

    ddb.meta.events.register("after-call.dynamodb.GetItem", lambda **kw: grab(kw["http_response"]))
    ddb.get_item(TableName=name, Key={"id": {"S": "c"}})
    assert int(captured["crc"]) == zlib.crc32(captured["body"])


def test_item_collection_metrics(ddb: Any) -> None:
    name = create(
        ddb,
        range_key=("r", "S"),
        more_attrs={"l": "S"},
        LocalSecondaryIndexes=[
            {
                "IndexName": "lsi",
                "KeySchema": [
                    {"AttributeName": "id", "KeyType": "HASH"},
                    {"AttributeName": "l", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
    )
    out = ddb.put_item(
        TableName=name,
        Item={"id": {"S": "h"}, "r": {"S": "1"}, "l": {"S": "x"}},
        ReturnItemCollectionMetrics="SIZE",
        ReturnConsumedCapacity="INDEXES",
    )
    metrics = out["ItemCollectionMetrics"]
    assert metrics["ItemCollectionKey"] == {"id": {"S": "h"}} and len(metrics["SizeEstimateRangeGB"]) == 2
    assert out["ConsumedCapacity"]["LocalSecondaryIndexes"] == {"lsi": {"CapacityUnits": 1.0}}
    assert out["ConsumedCapacity"]["CapacityUnits"] == 2.0
    ddb.delete_table(TableName=name)


def test_contributor_insights_state(ddb: Any, make_table: Any) -> None:
    name = make_table()
    out = ddb.describe_contributor_insights(TableName=name)
    assert (out["TableName"], out["ContributorInsightsStatus"]) == (name, "DISABLED")
    ddb.update_contributor_insights(TableName=name, ContributorInsightsAction="ENABLE")
    out = ddb.describe_contributor_insights(TableName=name)
    assert out["ContributorInsightsStatus"] == "ENABLED" and out["ContributorInsightsRuleList"]
    summaries = ddb.list_contributor_insights(TableName=name)["ContributorInsightsSummaries"]
    assert summaries[0]["TableName"] == name and summaries[0]["ContributorInsightsStatus"] == "ENABLED"
    with pytest.raises(ClientError) as exc:
        ddb.describe_contributor_insights(TableName="no-such-table")
    assert error(exc)[0] == "ResourceNotFoundException"


def test_tables_belong_to_their_account(client: Any) -> None:
    mine = client("dynamodb", aws_access_key_id="111111111111")
    theirs = client("dynamodb", aws_access_key_id="222222222222")
    name = create(mine)
    arn = mine.describe_table(TableName=name)["Table"]["TableArn"]
    assert arn == f"arn:aws:dynamodb:us-east-1:111111111111:table/{name}"
    assert name not in theirs.list_tables()["TableNames"]
    with pytest.raises(ClientError):
        theirs.get_item(TableName=name, Key={"id": {"S": "x"}})
    mine.delete_table(TableName=name)


def test_kinesis_streaming_destination_settings(ddb: Any, make_table: Any, client: Any) -> None:
    name = make_table()
    kinesis = client("kinesis")
    stream = unique("changes")
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=stream, WaiterConfig={"Delay": 0.1})
    arn = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamARN"]
    with pytest.raises(ClientError) as exc:
        ddb.enable_kinesis_streaming_destination(TableName="bad-table", StreamArn=arn)
    assert error(exc) == (
        "ResourceNotFoundException",
        "Requested resource not found: Table: bad-table not found",
    )
    out = ddb.enable_kinesis_streaming_destination(TableName=name, StreamArn=arn)
    assert (out["DestinationStatus"], out["EnableKinesisStreamingConfiguration"]) == ("ENABLING", {})
    described = ddb.describe_kinesis_streaming_destination(TableName=name)["KinesisDataStreamDestinations"]
    assert described == [{"StreamArn": arn, "DestinationStatus": "ACTIVE"}]
    with pytest.raises(ClientError) as exc:
        ddb.update_kinesis_streaming_destination(
            TableName=name, StreamArn=arn, UpdateKinesisStreamingConfiguration={}
        )
    assert error(exc) == (
        "ValidationException",
        "Streaming destination cannot be updated with given parameters: "
        "UpdateKinesisStreamingConfiguration cannot be null or contain only null values",
    )
    precision = {"ApproximateCreationDateTimePrecision": "MICROSECOND"}
    with pytest.raises(ClientError) as exc:
        ddb.update_kinesis_streaming_destination(
            TableName=name, StreamArn=arn + "-bad", UpdateKinesisStreamingConfiguration=precision
        )
    assert error(exc)[1].startswith(
        "Table is not in a valid state to enable Kinesis Streaming Destination: No "
        f"streaming destination with streamArn: {arn}-bad found"
    )
    out = ddb.update_kinesis_streaming_destination(
        TableName=name, StreamArn=arn, UpdateKinesisStreamingConfiguration=precision
    )
    assert out["DestinationStatus"] == "UPDATING" and out["UpdateKinesisStreamingConfiguration"] == precision
    with pytest.raises(ClientError) as exc:
        ddb.update_kinesis_streaming_destination(
            TableName=name, StreamArn=arn, UpdateKinesisStreamingConfiguration=precision
        )
    assert error(exc)[1].startswith(
        "Invalid Request: Precision is already set to the desired value of MICROSECOND"
    )
    assert (
        ddb.disable_kinesis_streaming_destination(TableName=name, StreamArn=arn)["DestinationStatus"]
        == "DISABLING"
    )
    described = ddb.describe_kinesis_streaming_destination(TableName=name)["KinesisDataStreamDestinations"]
    assert described[0]["DestinationStatus"] == "DISABLED"


def test_resource_policy_given_at_creation(ddb: Any, make_table: Any) -> None:
    policy = json.dumps({"Version": "2012-10-17", "Statement": []})
    name = make_table(ResourcePolicy=policy)
    arn = ddb.describe_table(TableName=name)["Table"]["TableArn"]
    got = ddb.get_resource_policy(ResourceArn=arn)
    assert got["Policy"] == policy and got["RevisionId"]
