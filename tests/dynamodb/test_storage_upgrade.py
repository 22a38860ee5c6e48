"""A data directory written by an older release (items as WITHOUT ROWID rows) is upgraded in place
on start: every item and index entry is kept and the table takes writes as before."""

from __future__ import annotations

import sqlite3
from typing import Any

from tests.conftest import make_client
from tests.dynamodb.conftest import GSI_BY_G, create
from tests.dynamodb.test_reserved_capacity import reserved

# What migrations 12 to 15 added: the reserved capacity kept per table and per region, the
# streams' index by creation, the tables' marks (insights, 2017 global tables) and the backups'
# expiry index.
_BEFORE_12 = """
DROP INDEX dynamodb_backups_by_expiry;
DROP INDEX dynamodb_tables_with_insights;
DROP INDEX dynamodb_tables_legacy_global;
ALTER TABLE dynamodb_tables DROP COLUMN has_insights;
ALTER TABLE dynamodb_tables DROP COLUMN legacy_global;
DROP INDEX dynamodb_streams_by_created;
DROP INDEX dynamodb_streams_by_table;
CREATE INDEX dynamodb_streams_by_table ON dynamodb_streams (account, region, table_name);
DROP TABLE dynamodb_reserved;
ALTER TABLE dynamodb_tables DROP COLUMN reserved_read;
ALTER TABLE dynamodb_tables DROP COLUMN reserved_write;
"""

# The item tables as the first release laid them out.
_OLD_LAYOUT = (
    _BEFORE_12
    + """
CREATE TABLE old_index_rows AS SELECT * FROM dynamodb_index_items;
DROP VIEW dynamodb_index_items;
CREATE TABLE old_items (
    tid INTEGER NOT NULL, spread INTEGER NOT NULL, hk BLOB NOT NULL, rk BLOB NOT NULL,
    item TEXT NOT NULL, size INTEGER NOT NULL, written REAL NOT NULL, origin TEXT NOT NULL, expires REAL,
    PRIMARY KEY (tid, spread, hk, rk)) WITHOUT ROWID;
INSERT INTO old_items SELECT tid, spread, hk, rk, item, size, written, origin, expires FROM dynamodb_items;
DROP TABLE dynamodb_items;
ALTER TABLE old_items RENAME TO dynamodb_items;
CREATE INDEX dynamodb_items_expiry ON dynamodb_items (expires) WHERE expires IS NOT NULL;
CREATE TABLE old_index_items (
    tid INTEGER NOT NULL, idx TEXT NOT NULL, spread INTEGER NOT NULL, hk BLOB NOT NULL, rk BLOB NOT NULL,
    bhk BLOB NOT NULL, brk BLOB NOT NULL, item TEXT NOT NULL, size INTEGER NOT NULL,
    PRIMARY KEY (tid, idx, spread, hk, rk, bhk, brk)) WITHOUT ROWID;
INSERT INTO old_index_items SELECT tid, idx, spread, hk, rk, bhk, brk, item, size FROM old_index_rows;
DROP TABLE old_index_rows;
DROP TABLE dynamodb_index_entries;
ALTER TABLE old_index_items RENAME TO dynamodb_index_items;
DROP TABLE dynamodb_index_counts;
DROP TABLE dynamodb_backups;
DROP TABLE dynamodb_backup_items;
DROP TABLE dynamodb_pitr_changes;
DROP TABLE dynamodb_snapshot_keys;
DROP INDEX dynamodb_tokens_by_age;
DROP INDEX dynamodb_streams_by_close;
DROP INDEX dynamodb_stream_shards_by_close;
UPDATE _gondwana_schema SET version = 1 WHERE component = 'dynamodb';
"""
)


KEYS_BY_G = {
    "IndexName": "keys-by-g",
    "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
    "Projection": {"ProjectionType": "KEYS_ONLY"},
}


def ranges_in_g1(ddb: Any, name: str) -> list[int]:
    """The sort keys of the items whose "g" is "g1", read through the index."""
    items = ddb.query(
        TableName=name,
        IndexName="by-g",
        KeyConditionExpression="g = :g",
        ExpressionAttributeValues={":g": {"S": "g1"}},
    )["Items"]
    return sorted(int(i["r"]["N"]) for i in items)


def index_counts(ddb: Any, name: str) -> dict[str, tuple[int, int]]:
    indexes = ddb.describe_table(TableName=name)["Table"]["GlobalSecondaryIndexes"]
    return {i["IndexName"]: (i["ItemCount"], i["IndexSizeBytes"]) for i in indexes}


def test_old_item_layout_is_upgraded_on_start(fresh_server: Any) -> None:
    proc = fresh_server()
    ddb = make_client(proc.url, "dynamodb")
    name = create(
        ddb,
        range_key=("r", "N"),
        more_attrs={"g": "S"},
        GlobalSecondaryIndexes=[GSI_BY_G, KEYS_BY_G],
    )
    pad = "x" * 1500  # past the size where an old-layout row spilled into an overflow page
    for i in range(20):
        item = {"id": {"S": "h"}, "r": {"N": str(i)}, "g": {"S": f"g{i % 2}"}, "pad": {"S": pad}}
        ddb.put_item(TableName=name, Item=item)
    before = index_counts(ddb, name)
    assert before == {"by-g": (20, before["by-g"][1]), "keys-by-g": (20, before["keys-by-g"][1])}
    proc.stop()
    db = sqlite3.connect(proc.data_dir / "gondwana.db", isolation_level=None)
    db.executescript(_OLD_LAYOUT)
    assert db.execute("SELECT COUNT(*) FROM dynamodb_items").fetchone() == (20,)
    db.close()
    proc.start()
    ddb = make_client(proc.url, "dynamodb")
    got = ddb.query(
        TableName=name, KeyConditionExpression="id = :h", ExpressionAttributeValues={":h": {"S": "h"}}
    )["Items"]
    assert [int(i["r"]["N"]) for i in got] == list(range(20))
    assert all(i["pad"] == {"S": pad} for i in got)
    assert ranges_in_g1(ddb, name) == list(range(1, 20, 2))
    # the indexes' counts are taken from their entries once, as the upgrade ends
    assert index_counts(ddb, name) == before
    # an overwrite finds the upgraded row (no duplicate) and moves its index entry
    ddb.put_item(TableName=name, Item={"id": {"S": "h"}, "r": {"N": "3"}, "g": {"S": "g0"}})
    assert ddb.get_item(TableName=name, Key={"id": {"S": "h"}, "r": {"N": "3"}})["Item"] == {
        "id": {"S": "h"},
        "r": {"N": "3"},
        "g": {"S": "g0"},
    }
    assert ddb.scan(TableName=name, Select="COUNT")["Count"] == 20
    assert ranges_in_g1(ddb, name) == [1, 5, 7, 9, 11, 13, 15, 17, 19]
    # an index entry that links to its item (projection ALL) shows the item's later changes; one
    # that holds its own projection (KEYS_ONLY) keeps holding only the keys
    ddb.update_item(
        TableName=name,
        Key={"id": {"S": "h"}, "r": {"N": "5"}},
        UpdateExpression="SET #p = :p",
        ExpressionAttributeNames={"#p": "pad"},
        ExpressionAttributeValues={":p": {"S": "new"}},
    )
    for index, expected in (("by-g", {"S": "new"}), ("keys-by-g", None)):
        got = ddb.query(
            TableName=name,
            IndexName=index,
            KeyConditionExpression="g = :g",
            ExpressionAttributeValues={":g": {"S": "g1"}},
        )["Items"]
        five = next(i for i in got if i["r"] == {"N": "5"})
        assert five.get("pad") == expected and five["g"] == {"S": "g1"}
        assert len(got) == 9
    db = sqlite3.connect(proc.data_dir / "gondwana.db")
    sql = db.execute("SELECT sql FROM sqlite_master WHERE name = 'dynamodb_items'").fetchone()[0]
    db.close()
    assert "WITHOUT ROWID" not in sql


def test_the_reserved_capacity_is_summed_once_on_upgrade(fresh_server: Any) -> None:
    proc = fresh_server()
    east, west = (make_client(proc.url, "dynamodb", region) for region in ("us-east-1", "us-west-2"))
    ballast = {"ReadCapacityUnits": 40000, "WriteCapacityUnits": 40000}
    create(east, BillingMode="PROVISIONED", ProvisionedThroughput=ballast)
    index = {
        "IndexName": "by-a",
        "KeySchema": [{"AttributeName": "a", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "KEYS_ONLY"},
        "ProvisionedThroughput": {"ReadCapacityUnits": 3, "WriteCapacityUnits": 4},
    }
    for client in (east, west):
        create(
            client,
            more_attrs={"a": "S"},
            BillingMode="PROVISIONED",
            ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 6},
            GlobalSecondaryIndexes=[index],
        )
        create(client)  # on demand
    assert reserved(east) == (40008, 40010)
    proc.stop()
    db = sqlite3.connect(proc.data_dir / "gondwana.db", isolation_level=None)
    db.executescript(_BEFORE_12 + "UPDATE _gondwana_schema SET version = 11 WHERE component = 'dynamodb'")
    db.close()
    proc.start()
    east, west = (make_client(proc.url, "dynamodb", region) for region in ("us-east-1", "us-west-2"))
    assert reserved(east) == (40008, 40010)
    create(west, BillingMode="PROVISIONED", ProvisionedThroughput=ballast)
    assert reserved(west) == (40008, 40010)
