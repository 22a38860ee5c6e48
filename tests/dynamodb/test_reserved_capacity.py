"""The provisioned capacity an account reserves in a region, which CreateTable and UpdateTable check
against the account quota: kept per table and per region by every change of a table (the check read
every table of the region), right after creates, updates, index changes, billing switches, deletes
and failed units, and read without reading the other tables."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from gondwana.runtime import Runtime
from gondwana.services.dynamodb import limits
from tests.conftest import make_client
from tests.dynamodb.conftest import create, error, loaded_tables
from tests.support.inprocess import dynamodb_table, in_process, request_context

ACCOUNT, REGION = "123456789012", "us-east-1"
_RESERVED = re.compile(r"Current (\w+) reserved by the account: (\d+)\.")


def capacity(read: int, write: int) -> dict[str, int]:
    return {"ReadCapacityUnits": read, "WriteCapacityUnits": write}


def gsi(name: str, read: int, write: int) -> dict[str, Any]:
    return {
        "IndexName": name,
        "KeySchema": [{"AttributeName": "a", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "KEYS_ONLY"},
        "ProvisionedThroughput": capacity(read, write),
    }


def reserved(ddb: Any) -> tuple[int, int]:
    """What the account reserves in the region, as the quota's error tells it (the region must
    reserve over 40,000 of each already, so that asking for 40,000 more is refused)."""
    found = []
    for asked in (capacity(40000, 1), capacity(1, 40000)):
        with pytest.raises(ClientError) as exc:
            create(ddb, BillingMode="PROVISIONED", ProvisionedThroughput=asked)
        code, message = error(exc)
        assert code == "LimitExceededException", message
        found.append(_RESERVED.search(message))
    read, write = found
    assert read is not None and read[1] == "ReadCapacityUnits", found
    assert write is not None and write[1] == "WriteCapacityUnits", found
    return int(read[2]), int(write[2])


def test_the_reserved_capacity_follows_every_change_of_a_table(fresh_server: Any) -> None:
    ddb = make_client(fresh_server(in_memory=True).url, "dynamodb")
    a_key = {"more_attrs": {"a": "S"}}
    base = 40000 + 1
    create(
        ddb,
        BillingMode="PROVISIONED",
        ProvisionedThroughput=capacity(40000, 40000),
        GlobalSecondaryIndexes=[gsi("ballast", 1, 1)],
        **a_key,
    )
    assert reserved(ddb) == (base, base)
    name = create(
        ddb,
        BillingMode="PROVISIONED",
        ProvisionedThroughput=capacity(5, 3),
        GlobalSecondaryIndexes=[gsi("one", 2, 1)],
        **a_key,
    )
    assert reserved(ddb) == (base + 7, base + 4)
    ddb.update_table(TableName=name, ProvisionedThroughput=capacity(10, 3))
    assert reserved(ddb) == (base + 12, base + 4)
    update = {"IndexName": "one", "ProvisionedThroughput": capacity(4, 4)}
    ddb.update_table(TableName=name, GlobalSecondaryIndexUpdates=[{"Update": update}])
    assert reserved(ddb) == (base + 14, base + 7)
    ddb.update_table(TableName=name, BillingMode="PAY_PER_REQUEST")
    assert reserved(ddb) == (base, base)
    update = {"IndexName": "one", "ProvisionedThroughput": capacity(1, 1)}
    ddb.update_table(
        TableName=name,
        BillingMode="PROVISIONED",
        ProvisionedThroughput=capacity(6, 6),
        GlobalSecondaryIndexUpdates=[{"Update": update}],
    )
    assert reserved(ddb) == (base + 7, base + 7)
    ddb.update_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "a", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[{"Create": gsi("two", 3, 2)}],
    )
    assert reserved(ddb) == (base + 10, base + 9)
    ddb.update_table(TableName=name, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "two"}}])
    ddb.describe_table(TableName=name)  # (the index is gone once its table is next looked at)
    assert reserved(ddb) == (base + 7, base + 7)
    # Refused changes reserve nothing: over the table's cap, and over the account's.
    for asked in (capacity(40001, 6), capacity(6, 40000)):
        with pytest.raises(ClientError) as exc:
            ddb.update_table(TableName=name, ProvisionedThroughput=asked)
        assert error(exc)[0] == "LimitExceededException"
        assert reserved(ddb) == (base + 7, base + 7)
    create(ddb)  # on demand: nothing
    assert reserved(ddb) == (base + 7, base + 7)
    ddb.delete_table(TableName=name)
    assert reserved(ddb) == (base, base)
    # An update is checked against the others' reservations, its own table's left out.
    first = create(ddb, BillingMode="PROVISIONED", ProvisionedThroughput=capacity(39000, 1))
    ddb.update_table(TableName=first, ProvisionedThroughput=capacity(39999, 1))
    with pytest.raises(ClientError) as exc:
        ddb.update_table(TableName=first, ProvisionedThroughput=capacity(40000, 1))
    assert error(exc)[1].endswith(f"reserved by the account: {base}. Limit: 80000. Requested: 40000")


def test_a_check_reads_no_other_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def scenario(runtime: Runtime, ddb: Any) -> int:
        ctx = request_context(ACCOUNT, REGION)
        provisioned = {"BillingMode": "PROVISIONED", "ProvisionedThroughput": capacity(2, 1)}
        for n in range(200):
            dynamodb_table(ddb, ctx, f"t{n:03d}", **(provisioned if n % 2 else {}))
        await runtime.store.flushed()
        parsed = loaded_tables(monkeypatch)
        dynamodb_table(ddb, ctx, "new", **provisioned)
        ddb.update_table(ctx, {"TableName": "new", "ProvisionedThroughput": capacity(3, 3)})
        ddb.update_table(ctx, {"TableName": "t001", "ProvisionedThroughput": capacity(3, 3)})
        return len(parsed)

    # At most the table updated is read (the one created was not cached yet), none of the others.
    assert in_process(tmp_path, "dynamodb", scenario) <= 2


def test_a_unit_that_fails_leaves_the_reservations_as_they_were(tmp_path: Path) -> None:
    async def scenario(runtime: Runtime, ddb: Any) -> tuple[int, int]:
        ctx = request_context(ACCOUNT, REGION)
        store, tables = runtime.store, ddb.table_store
        for n in range(3):
            provisioned = {"BillingMode": "PROVISIONED", "ProvisionedThroughput": capacity(n + 1, 5)}
            dynamodb_table(ddb, ctx, f"tbl{n}", **provisioned)
        await store.flushed()

        def table(name: str) -> Any:
            found = tables.get(ACCOUNT, REGION, name)
            assert found is not None
            return found

        def change(name: str) -> None:
            changed = table(name)
            changed.desc["ProvisionedThroughput"] = capacity(1000, 1000)
            tables.save(changed)

        def kept() -> tuple[int, int]:
            """The reservations kept, against those the stored descriptions hold."""
            tables.clear()  # (the failed units left cached descriptions changed)
            held = [limits.reserved(t.desc) for t in tables.all()]
            assert tables.reserved(ACCOUNT, REGION) == (sum(r for r, _ in held), sum(w for _, w in held))
            return tables.reserved(ACCOUNT, REGION)

        assert kept() == (6, 15)
        # The unit that opened the transaction fails: ROLLBACK.
        with contextlib.suppress(RuntimeError), store.transaction():
            change("tbl0")
            tables.drop(table("tbl1"))
            raise RuntimeError
        assert kept() == (6, 15)
        # A later unit of the group fails (its savepoint is undone), and the group commits.
        with store.transaction():
            tables.create(ACCOUNT, REGION, "tbl9", dict(table("tbl2").desc), "ACTIVE", 0)
            with contextlib.suppress(RuntimeError), store.transaction():
                change("tbl2")
                tables.drop(table("tbl0"))
                raise RuntimeError
        await store.flushed()
        assert tables.reserved(ACCOUNT, REGION, but=table("tbl9").tid) == (6, 15)
        return kept()

    assert in_process(tmp_path, "dynamodb", scenario) == (9, 20)
