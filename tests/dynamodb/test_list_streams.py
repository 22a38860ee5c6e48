"""ListStreams: pages of a region's streams in the order they were made, read from an index from
the stream after ExclusiveStartStreamArn (reading and sorting every stream of the region for each
page took 20-25 ms at 10,000 streams); a stream closed for 24 hours is no longer listed."""

from __future__ import annotations

from typing import Any

from tests.conftest import make_client
from tests.dynamodb.conftest import create

STREAM = {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}}


def test_pages_filters_and_closed_streams(fresh_server: Any) -> None:
    proc = fresh_server()
    ddb, streams = make_client(proc.url, "dynamodb"), make_client(proc.url, "dynamodbstreams")
    names = [create(ddb, name=f"table-{i}", **STREAM) for i in range(5)]
    arns = [ddb.describe_table(TableName=n)["Table"]["LatestStreamArn"] for n in names]
    make_client(proc.url, "dynamodb", region="eu-west-1").create_table(  # another region's
        TableName="table-0",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
        **STREAM,
    )

    def listed(**params: Any) -> tuple[list[str], str | None]:
        out = streams.list_streams(**params)
        return [s["StreamArn"] for s in out["Streams"]], out.get("LastEvaluatedStreamArn")

    assert listed() == (arns, None)
    assert listed(Limit=2) == (arns[:2], arns[1])
    assert listed(Limit=2, ExclusiveStartStreamArn=arns[1]) == (arns[2:4], arns[3])
    assert listed(Limit=2, ExclusiveStartStreamArn=arns[3]) == (arns[4:], None)
    assert listed(Limit=5) == (arns, None)  # exactly a page: nothing more
    assert listed(ExclusiveStartStreamArn=arns[0] + "x") == (arns, None)  # names none: from the first
    assert listed(ExclusiveStartStreamArn=arns[0] + "\ud800") == (arns, None)  # (cannot be looked up)
    assert listed(TableName="table-3") == ([arns[3]], None)
    ddb.update_table(TableName="table-1", StreamSpecification={"StreamEnabled": False})
    proc.advance_clock(23 * 3600)
    assert listed() == (arns, None)  # closed, still listed for 24 hours
    proc.advance_clock(3601)
    assert listed() == ([arns[0], *arns[2:]], None)
    assert listed(Limit=1, ExclusiveStartStreamArn=arns[0]) == ([arns[2]], arns[2])
