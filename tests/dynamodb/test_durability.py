"""Everything acknowledged survives kill -9: items, index entries, stream records, TTL settings and
transaction tokens."""

from __future__ import annotations

from typing import Any

from tests.conftest import make_client
from tests.dynamodb.conftest import GSI_BY_G, create


def test_kill_9_keeps_items_indexes_streams_and_tokens(fresh_server: Any) -> None:
    proc = fresh_server()
    ddb = make_client(proc.url, "dynamodb")
    name = create(
        ddb,
        range_key=("r", "N"),
        more_attrs={"g": "S"},
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        GlobalSecondaryIndexes=[GSI_BY_G],
    )
    for i in range(30):
        ddb.put_item(TableName=name, Item={"id": {"S": "h"}, "r": {"N": str(i)}, "g": {"S": f"g{i % 3}"}})
    ddb.batch_write_item(
        RequestItems={
            name: [{"DeleteRequest": {"Key": {"id": {"S": "h"}, "r": {"N": str(i)}}}} for i in range(5)]
        }
    )
    update = {
        "Update": {
            "TableName": name,
            "Key": {"id": {"S": "h"}, "r": {"N": "10"}},
            "UpdateExpression": "ADD n :one",
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        }
    }
    ddb.transact_write_items(TransactItems=[update], ClientRequestToken="durable-token")
    ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    proc.kill()
    proc.start()
    ddb = make_client(proc.url, "dynamodb")
    items = ddb.query(
        TableName=name, KeyConditionExpression="id = :h", ExpressionAttributeValues={":h": {"S": "h"}}
    )
    assert [int(i["r"]["N"]) for i in items["Items"]] == list(range(5, 30))
    assert ddb.describe_table(TableName=name)["Table"]["ItemCount"] == 25
    g0 = ddb.query(
        TableName=name,
        IndexName="by-g",
        KeyConditionExpression="g = :g",
        ExpressionAttributeValues={":g": {"S": "g0"}},
    )
    assert sorted(int(i["r"]["N"]) for i in g0["Items"]) == [i for i in range(5, 30) if i % 3 == 0]
    ddb.transact_write_items(TransactItems=[update], ClientRequestToken="durable-token")  # idempotent replay
    assert ddb.get_item(TableName=name, Key={"id": {"S": "h"}, "r": {"N": "10"}})["Item"]["n"] == {"N": "1"}
    assert ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]["TimeToLiveStatus"] == "ENABLED"
    streams = make_client(proc.url, "dynamodbstreams")
    arn = ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    records = streams.get_records(ShardIterator=it)["Records"]
    assert [r["eventName"] for r in records] == ["INSERT"] * 30 + ["REMOVE"] * 5 + ["MODIFY"]


def test_concurrent_puts_and_updates_survive_kill_9(fresh_server: Any) -> None:
    """Writers put items and increment counters from several threads (so their writes join each
    other's commit groups); after kill -9 every acknowledged put is there, in the table and its
    index, every counter holds at least its acknowledged increments, and the count matches."""
    import threading

    proc = fresh_server()
    ddb = make_client(proc.url, "dynamodb")
    name = create(ddb, more_attrs={"g": "S"}, GlobalSecondaryIndexes=[GSI_BY_G])
    for n in range(4):
        ddb.put_item(TableName=name, Item={"id": {"S": f"counter-{n}"}, "c": {"N": "0"}})
    acknowledged: list[str] = []
    increments = [0] * 4
    lock = threading.Lock()
    stop = threading.Event()

    def writer(n: int) -> None:
        client = make_client(proc.url, "dynamodb")
        i = 0
        while not stop.is_set():
            key = f"w{n}-{i}"
            try:
                client.put_item(TableName=name, Item={"id": {"S": key}, "g": {"S": "all"}})
                with lock:
                    acknowledged.append(key)
                client.update_item(
                    TableName=name,
                    Key={"id": {"S": f"counter-{n}"}},
                    UpdateExpression="SET c = c + :one",
                    ConditionExpression="attribute_exists(id)",
                    ExpressionAttributeValues={":one": {"N": "1"}},
                )
                increments[n] += 1
            except Exception:
                return  # the server died mid-request: that write was never acknowledged
            i += 1

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    while len(acknowledged) < 120:
        threading.Event().wait(0.01)
    proc.kill()
    stop.set()
    for t in threads:
        t.join()
    proc.start()
    ddb = make_client(proc.url, "dynamodb")
    stored = {i["id"]["S"]: i for i in ddb.scan(TableName=name, ConsistentRead=True)["Items"]}
    assert set(acknowledged) <= set(stored)
    indexed = ddb.query(
        TableName=name,
        IndexName="by-g",
        KeyConditionExpression="g = :g",
        ExpressionAttributeValues={":g": {"S": "all"}},
    )["Items"]
    assert {i["id"]["S"] for i in indexed} == {k for k in stored if not k.startswith("counter-")}
    for n in range(4):
        assert int(stored[f"counter-{n}"]["c"]["N"]) >= increments[n]
    assert ddb.describe_table(TableName=name)["Table"]["ItemCount"] == len(stored)
