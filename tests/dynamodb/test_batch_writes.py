"""BatchWriteItem writes its items together: new items, overwrites that move or leave index
entries, deletes of present and absent items, all in one call, with the counters, index entries,
capacity and stream records each item would have had on its own."""

from __future__ import annotations

from typing import Any

from tests.conftest import make_client
from tests.dynamodb.conftest import GSI_BY_G, create

PAD = "x" * 1500  # two write units per item


def _item(i: int, g: str, pad: str = PAD) -> dict[str, Any]:
    return {"id": {"S": f"i{i:02d}"}, "g": {"S": g}, "pad": {"S": pad}}


def _gsi(ddb: Any, name: str, g: str) -> list[str]:
    out = ddb.query(
        TableName=name,
        IndexName="by-g",
        KeyConditionExpression="g = :g",
        ExpressionAttributeValues={":g": {"S": g}},
    )
    return sorted(i["id"]["S"] for i in out["Items"])


def test_batch_of_mixed_writes_keeps_indexes_counters_capacity_and_stream(ddb: Any, server: Any) -> None:
    name = create(
        ddb,
        more_attrs={"g": "S"},
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        GlobalSecondaryIndexes=[GSI_BY_G],
    )
    first = ddb.batch_write_item(
        RequestItems={name: [{"PutRequest": {"Item": _item(i, "a")}} for i in range(10)]},
        ReturnConsumedCapacity="INDEXES",
    )["ConsumedCapacity"]
    assert first == [
        {
            "TableName": name,
            "CapacityUnits": 40.0,
            "Table": {"CapacityUnits": 20.0},
            "GlobalSecondaryIndexes": {"by-g": {"CapacityUnits": 20.0}},
        }
    ]
    requests = [{"PutRequest": {"Item": _item(i, "b")}} for i in range(0, 3)]  # move index entries
    requests += [{"PutRequest": {"Item": _item(i, "a", "y")}} for i in range(3, 5)]  # same index key, smaller
    requests += [{"DeleteRequest": {"Key": {"id": {"S": f"i{i:02d}"}}}} for i in (5, 6, 40)]  # i40 is absent
    requests += [{"PutRequest": {"Item": _item(i, "c")}} for i in range(20, 37)]  # new
    assert len(requests) == 25
    cc = ddb.batch_write_item(RequestItems={name: requests}, ReturnConsumedCapacity="INDEXES")[
        "ConsumedCapacity"
    ]
    # table: 3 moves, 2 shrinks (charged their old size), 2 deletes at 2 units, the absent one 1, 17 new
    # index: a move deletes (2) and puts (2); a shrink rewrites at its new size (1); a delete 2; new 2
    assert cc == [
        {
            "TableName": name,
            "CapacityUnits": 3 * 2 + 2 * 2 + 2 * 2 + 1 + 17 * 2 + 3 * 4 + 2 * 1 + 2 * 2 + 17 * 2,
            "Table": {"CapacityUnits": 3 * 2 + 2 * 2 + 2 * 2 + 1 + 17 * 2},
            "GlobalSecondaryIndexes": {"by-g": {"CapacityUnits": 3 * 4 + 2 * 1 + 2 * 2 + 17 * 2}},
        }
    ]
    table = ddb.describe_table(TableName=name)["Table"]
    assert table["ItemCount"] == 10 - 2 + 17
    one = len("id") + 3 + len("g") + 1 + len("pad")
    assert table["TableSizeBytes"] == 23 * (one + 1500) + 2 * (one + 1)
    assert _gsi(ddb, name, "a") == [f"i{i:02d}" for i in (3, 4, 7, 8, 9)]
    assert _gsi(ddb, name, "b") == ["i00", "i01", "i02"]
    assert _gsi(ddb, name, "c") == [f"i{i:02d}" for i in range(20, 37)]
    assert ddb.get_item(TableName=name, Key={"id": {"S": "i03"}})["Item"] == _item(3, "a", "y")

    streams = make_client(server.url, "dynamodbstreams")
    arn = table["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    records = streams.get_records(ShardIterator=it)["Records"]
    seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    got = [(r["eventName"], r["dynamodb"]["Keys"]["id"]["S"]) for r in records]
    expected = [("INSERT", f"i{i:02d}") for i in range(10)]
    expected += [("MODIFY", f"i{i:02d}") for i in range(5)] + [("REMOVE", "i05"), ("REMOVE", "i06")]
    expected += [("INSERT", f"i{i:02d}") for i in range(20, 37)]
    assert got == expected
    moved = records[10]["dynamodb"]
    assert moved["OldImage"] == _item(0, "a") and moved["NewImage"] == _item(0, "b")
    assert records[15]["dynamodb"]["OldImage"] == _item(5, "a") and "NewImage" not in records[15]["dynamodb"]
    ddb.delete_table(TableName=name)
