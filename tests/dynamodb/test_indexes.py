"""Secondary indexes: LSIs and GSIs kept in step with every write, projections, sparse indexes,
index queries and scans, and GSIs created (with backfill) and deleted by UpdateTable."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.dynamodb.conftest import error, unique


def _table(ddb: Any, **extra: Any) -> str:
    name = unique()
    ddb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": a, "AttributeType": t}
            for a, t in [("pk", "S"), ("sk", "S"), ("g", "S"), ("gs", "N"), ("l", "N")]
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "gsi-all",
                "KeySchema": [
                    {"AttributeName": "g", "KeyType": "HASH"},
                    {"AttributeName": "gs", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": "gsi-keys",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            },
        ],
        LocalSecondaryIndexes=[
            {
                "IndexName": "lsi-inc",
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "l", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["extra"]},
            },
        ],
        **extra,
    )
    return name


def _put(ddb: Any, name: str, sk: str, **attrs: Any) -> None:
    item = {"pk": {"S": "p"}, "sk": {"S": sk}}
    for k, v in attrs.items():
        item[k] = {"N": str(v)} if isinstance(v, int) else {"S": v}
    ddb.put_item(TableName=name, Item=item)


def test_gsi_and_lsi_follow_writes_with_projections(ddb: Any) -> None:
    name = _table(ddb)
    gsis = ddb.describe_table(TableName=name)["Table"]["GlobalSecondaryIndexes"]
    assert {g["IndexStatus"] for g in gsis} == {"ACTIVE"}
    assert gsis[0]["IndexArn"].endswith(f"table/{name}/index/gsi-all")
    _put(ddb, name, "1", g="red", gs=3, l=30, extra="e1", other="o1")
    _put(ddb, name, "2", g="red", gs=1, l=10, extra="e2", other="o2")
    _put(ddb, name, "3", g="blue", gs=2, l=20)
    _put(ddb, name, "4", other="not indexed")  # sparse: no g, no l
    q = ddb.query(
        TableName=name,
        IndexName="gsi-all",
        KeyConditionExpression="g = :g",
        ExpressionAttributeValues={":g": {"S": "red"}},
    )
    assert [i["sk"]["S"] for i in q["Items"]] == ["2", "1"] and q["Items"][0]["other"] == {"S": "o2"}
    keys_only = ddb.query(
        TableName=name,
        IndexName="gsi-keys",
        KeyConditionExpression="g = :g",
        ExpressionAttributeValues={":g": {"S": "red"}},
    )["Items"]
    assert all(set(i) == {"pk", "sk", "g"} for i in keys_only) and len(keys_only) == 2
    lsi = ddb.query(
        TableName=name,
        IndexName="lsi-inc",
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "p"}},
    )["Items"]
    assert [i["sk"]["S"] for i in lsi] == ["2", "3", "1"]
    assert set(lsi[0]) == {"pk", "sk", "l", "extra"}
    # an LSI may be asked for all attributes (fetched from the table)
    full = ddb.query(
        TableName=name,
        IndexName="lsi-inc",
        KeyConditionExpression="pk = :p",
        Select="ALL_ATTRIBUTES",
        ExpressionAttributeValues={":p": {"S": "p"}},
    )["Items"]
    assert full[0]["other"] == {"S": "o2"}
    with pytest.raises(ClientError) as exc:
        ddb.query(
            TableName=name,
            IndexName="gsi-keys",
            KeyConditionExpression="g = :g",
            Select="ALL_ATTRIBUTES",
            ExpressionAttributeValues={":g": {"S": "red"}},
        )
    assert error(exc) == (
        "ValidationException",
        "One or more parameter values were invalid: Select type ALL_ATTRIBUTES "
        "is not supported for global secondary index gsi-keys because its projection type is not ALL",
    )
    # moving an item between index keys, and out of the index
    ddb.update_item(
        TableName=name,
        Key={"pk": {"S": "p"}, "sk": {"S": "1"}},
        UpdateExpression="SET g = :b",
        ExpressionAttributeValues={":b": {"S": "blue"}},
    )
    ddb.update_item(TableName=name, Key={"pk": {"S": "p"}, "sk": {"S": "2"}}, UpdateExpression="REMOVE g")
    ddb.delete_item(TableName=name, Key={"pk": {"S": "p"}, "sk": {"S": "3"}})
    red = ddb.query(
        TableName=name,
        IndexName="gsi-all",
        KeyConditionExpression="g = :g",
        ExpressionAttributeValues={":g": {"S": "red"}},
    )
    blue = ddb.query(
        TableName=name,
        IndexName="gsi-all",
        KeyConditionExpression="g = :g",
        ExpressionAttributeValues={":g": {"S": "blue"}},
    )
    assert red["Count"] == 0 and [i["sk"]["S"] for i in blue["Items"]] == ["1"]
    scan = ddb.scan(TableName=name, IndexName="gsi-all")
    assert [i["sk"]["S"] for i in scan["Items"]] == ["1"]
    desc = ddb.describe_table(TableName=name)["Table"]
    counts = {
        i["IndexName"]: i["ItemCount"] for i in desc["GlobalSecondaryIndexes"] + desc["LocalSecondaryIndexes"]
    }
    assert counts == {"gsi-all": 1, "gsi-keys": 1, "lsi-inc": 2}
    assert desc["ItemCount"] == 3
    ddb.delete_table(TableName=name)


def test_index_errors(ddb: Any) -> None:
    name = _table(ddb)
    with pytest.raises(ClientError) as exc:
        ddb.query(
            TableName=name,
            IndexName="nope",
            KeyConditionExpression="g = :g",
            ExpressionAttributeValues={":g": {"S": "x"}},
        )
    assert error(exc) == ("ValidationException", "The table does not have the specified index: nope")
    with pytest.raises(ClientError) as exc:
        ddb.query(
            TableName=name,
            IndexName="gsi-all",
            ConsistentRead=True,
            KeyConditionExpression="g = :g",
            ExpressionAttributeValues={":g": {"S": "x"}},
        )
    assert error(exc) == (
        "ValidationException",
        "Consistent reads are not supported on global secondary indexes",
    )
    with pytest.raises(ClientError) as exc:
        ddb.put_item(TableName=name, Item={"pk": {"S": "p"}, "sk": {"S": "s"}, "g": {"N": "1"}})
    assert error(exc) == (
        "ValidationException",
        "One or more parameter values were invalid: Type mismatch for Index "
        "Key g Expected: S Actual: N IndexName: gsi-all",
    )
    ddb.delete_table(TableName=name)


def test_gsi_pagination_with_equal_index_keys(ddb: Any) -> None:
    name = _table(ddb)
    for i in range(7):
        _put(ddb, name, f"s{i}", g="same", gs=1)
    seen, start = [], None
    while True:
        page = ddb.query(
            TableName=name,
            IndexName="gsi-all",
            KeyConditionExpression="g = :g",
            Limit=2,
            ExpressionAttributeValues={":g": {"S": "same"}},
            **({"ExclusiveStartKey": start} if start else {}),
        )
        seen += [i["sk"]["S"] for i in page["Items"]]
        start = page.get("LastEvaluatedKey")
        if not start:
            break
        assert set(start) == {"pk", "sk", "g", "gs"}
    assert sorted(seen) == [f"s{i}" for i in range(7)] and len(seen) == 7
    ddb.delete_table(TableName=name)


def test_update_table_creates_gsi_with_backfill_and_deletes_it(ddb: Any, make_table: Any) -> None:
    name = make_table()
    for i in range(5):
        ddb.put_item(TableName=name, Item={"id": {"S": str(i)}, "colour": {"S": "red" if i % 2 else "blue"}})
    out = ddb.update_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "colour", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[
            {
                "Create": {
                    "IndexName": "by-colour",
                    "KeySchema": [{"AttributeName": "colour", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                }
            }
        ],
    )
    assert out["TableDescription"]["GlobalSecondaryIndexes"][0]["IndexName"] == "by-colour"
    red = ddb.query(
        TableName=name,
        IndexName="by-colour",
        KeyConditionExpression="colour = :c",
        ExpressionAttributeValues={":c": {"S": "red"}},
    )
    assert sorted(i["id"]["S"] for i in red["Items"]) == ["1", "3"]
    ddb.put_item(TableName=name, Item={"id": {"S": "9"}, "colour": {"S": "red"}})
    assert (
        ddb.query(
            TableName=name,
            IndexName="by-colour",
            KeyConditionExpression="colour = :c",
            Select="COUNT",
            ExpressionAttributeValues={":c": {"S": "red"}},
        )["Count"]
        == 3
    )
    ddb.update_table(TableName=name, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "by-colour"}}])
    assert "GlobalSecondaryIndexes" not in ddb.describe_table(TableName=name)["Table"]
    with pytest.raises(ClientError) as exc:
        ddb.query(
            TableName=name,
            IndexName="by-colour",
            KeyConditionExpression="colour = :c",
            ExpressionAttributeValues={":c": {"S": "red"}},
        )
    assert error(exc)[0] == "ValidationException"


def test_gsi_backfill_status_with_state_delay(fresh_server: Any) -> None:
    from tests.conftest import make_client
    from tests.dynamodb.conftest import create

    proc = fresh_server("--state-delay", "30000", in_memory=True)
    ddb = make_client(proc.url, "dynamodb")
    name = create(ddb)
    proc.advance_clock(31)
    ddb.update_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "c", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[
            {
                "Create": {
                    "IndexName": "idx",
                    "KeySchema": [{"AttributeName": "c", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                }
            }
        ],
    )
    table = ddb.describe_table(TableName=name)["Table"]
    assert (
        table["TableStatus"] == "UPDATING" and table["GlobalSecondaryIndexes"][0]["IndexStatus"] == "CREATING"
    )
    assert table["GlobalSecondaryIndexes"][0]["Backfilling"] is True
    with pytest.raises(ClientError) as exc:
        ddb.query(
            TableName=name,
            IndexName="idx",
            KeyConditionExpression="c = :c",
            ExpressionAttributeValues={":c": {"S": "x"}},
        )
    assert error(exc) == ("ValidationException", "Cannot read from backfilling global secondary index: idx")
    proc.advance_clock(31)
    table = ddb.describe_table(TableName=name)["Table"]
    assert table["TableStatus"] == "ACTIVE" and table["GlobalSecondaryIndexes"][0]["IndexStatus"] == "ACTIVE"


def test_empty_index_key_value(ddb: Any) -> None:
    name = _table(ddb)
    with pytest.raises(ClientError) as exc:
        ddb.put_item(TableName=name, Item={"pk": {"S": "p"}, "sk": {"S": "s"}, "g": {"S": ""}})
    assert error(exc) == (
        "ValidationException",
        "One or more parameter values are not valid. A value specified for a secondary index key is not "
        "supported. The AttributeValue for a key attribute cannot contain an empty string value. "
        "IndexName: gsi-all, IndexKey: g",
    )
    ddb.delete_table(TableName=name)


def test_index_reads_are_charged_to_the_index(ddb: Any) -> None:
    name = _table(ddb)
    _put(ddb, name, "1", g="red", gs=1, l=1)
    out = ddb.query(
        TableName=name,
        IndexName="gsi-all",
        KeyConditionExpression="g = :g",
        ExpressionAttributeValues={":g": {"S": "red"}},
        ReturnConsumedCapacity="INDEXES",
    )
    cc = out["ConsumedCapacity"]
    assert cc["CapacityUnits"] == 0.5 and cc["Table"]["CapacityUnits"] == 0.0
    assert cc["GlobalSecondaryIndexes"]["gsi-all"]["CapacityUnits"] == 0.5
    out = ddb.query(
        TableName=name,
        IndexName="lsi-inc",
        KeyConditionExpression="pk = :p",
        ConsistentRead=True,
        ExpressionAttributeValues={":p": {"S": "p"}},
        ReturnConsumedCapacity="INDEXES",
    )
    assert out["ConsumedCapacity"]["LocalSecondaryIndexes"]["lsi-inc"]["CapacityUnits"] == 1.0
    ddb.delete_table(TableName=name)


def test_index_write_charges_follow_what_the_index_stores(ddb: Any) -> None:
    name = _table(ddb)  # gsi-all (ALL), gsi-keys (KEYS_ONLY), lsi-inc (INCLUDE extra)
    key = {"pk": {"S": "p"}, "sk": {"S": "1"}}

    def charged(**kwargs: Any) -> dict[str, float]:
        cc = kwargs.pop("cc")
        arms = {**cc.get("GlobalSecondaryIndexes", {}), **cc.get("LocalSecondaryIndexes", {})}
        assert cc["Table"]["CapacityUnits"] == 1.0
        assert cc["CapacityUnits"] == 1.0 + sum(a["CapacityUnits"] for a in arms.values())
        assert all(set(a) == {"CapacityUnits"} for a in arms.values())
        return {n: a["CapacityUnits"] for n, a in arms.items()}

    def put(item: dict[str, Any]) -> dict[str, float]:
        out = ddb.put_item(TableName=name, Item=item, ReturnConsumedCapacity="INDEXES")
        return charged(cc=out["ConsumedCapacity"])

    def update(expr: str, **values: Any) -> dict[str, float]:
        out = ddb.update_item(
            TableName=name,
            Key=key,
            UpdateExpression=expr,
            ReturnConsumedCapacity="INDEXES",
            **({"ExpressionAttributeValues": values} if values else {}),
        )
        return charged(cc=out["ConsumedCapacity"])

    item = {
        **key,
        "g": {"S": "a"},
        "gs": {"N": "1"},
        "l": {"N": "1"},
        "extra": {"S": "e"},
        "misc": {"S": "o"},
    }
    assert put(item) == {"gsi-all": 1.0, "gsi-keys": 1.0, "lsi-inc": 1.0}
    assert put(item) == {}  # an identical overwrite changes no index
    assert update("SET misc = :v", **{":v": {"S": "o2"}}) == {"gsi-all": 1.0}  # only ALL projects it
    assert update("SET extra = :v", **{":v": {"S": "e2"}}) == {"gsi-all": 1.0, "lsi-inc": 1.0}
    assert update("SET g = :v", **{":v": {"S": "b"}}) == {
        "gsi-all": 2.0,
        "gsi-keys": 2.0,
    }  # moved: delete + put
    assert update("REMOVE l") == {"gsi-all": 1.0, "lsi-inc": 1.0}  # left the LSI: delete only
    out = ddb.delete_item(TableName=name, Key=key, ReturnConsumedCapacity="TOTAL")
    assert out["ConsumedCapacity"] == {"TableName": name, "CapacityUnits": 3.0}
    ddb.delete_table(TableName=name)


def test_one_online_index_change_at_a_time(ddb: Any, make_table: Any) -> None:
    name = make_table()
    attrs = [{"AttributeName": "a", "AttributeType": "S"}, {"AttributeName": "b", "AttributeType": "S"}]

    def create(index: str, attr: str) -> dict[str, Any]:
        return {
            "Create": {
                "IndexName": index,
                "KeySchema": [{"AttributeName": attr, "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        }

    with pytest.raises(ClientError) as exc:
        ddb.update_table(
            TableName=name,
            AttributeDefinitions=attrs,
            GlobalSecondaryIndexUpdates=[create("by-a", "a"), create("by-b", "b")],
        )
    assert error(exc) == (
        "LimitExceededException",
        "Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table",
    )
    ddb.update_table(
        TableName=name, AttributeDefinitions=attrs, GlobalSecondaryIndexUpdates=[create("by-a", "a")]
    )
    assert [
        g["IndexName"] for g in ddb.describe_table(TableName=name)["Table"]["GlobalSecondaryIndexes"]
    ] == ["by-a"]


def test_lsi_projections_count_against_the_item_size_limit(ddb: Any) -> None:
    name = _table(ddb)  # lsi-inc projects `extra`
    big = "x" * 250_000
    ddb.put_item(
        TableName=name, Item={"pk": {"S": "p"}, "sk": {"S": "1"}, "extra": {"S": big}}
    )  # not in the LSI
    with pytest.raises(ClientError) as exc:
        ddb.put_item(
            TableName=name, Item={"pk": {"S": "p"}, "sk": {"S": "2"}, "l": {"N": "1"}, "extra": {"S": big}}
        )
    assert error(exc) == ("ValidationException", "Item size has exceeded the maximum allowed size")
    ddb.delete_table(TableName=name)


def test_index_key_values_have_the_key_size_limits(ddb: Any) -> None:
    name = _table(ddb)
    with pytest.raises(ClientError) as exc:
        _put(ddb, name, "s", g="é" * 1025)  # 2,050 bytes of UTF-8
    assert error(exc) == (
        "ValidationException",
        "One or more parameter values were invalid: Size limit exceeded for Index Key g Actual Size: 2050 bytes "
        "Max Size: 2048 bytes IndexName: gsi-all",
    )
    _put(ddb, name, "s", g="x" * 2048)  # at the limit
    ddb.delete_table(TableName=name)
