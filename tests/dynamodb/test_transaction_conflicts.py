"""Transactions in progress (`--transaction-duration`): writes racing them conflict, reads see the
last committed state, and the transaction commits once its duration is over.

Each test starts a TransactWriteItems in a thread and races other requests against it while it is
in progress. It is known to be in progress once a TransactGetItems of a sentinel item it holds is
cancelled (a probe with no side effects), so nothing here depends on timing except that the
transaction's 2 s outlast a handful of requests.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError

from tests.conftest import make_client
from tests.dynamodb.conftest import create
from tests.support.server import ServerProcess, serving

ONGOING = "Transaction is ongoing for the item"
CONFLICT = {"Code": "TransactionConflict", "Message": ONGOING}
NONE = {"Code": "None"}
IN_PROGRESS = "Transaction from previous request is still in progress"


@pytest.fixture(scope="module")
def slow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server whose write transactions stay in progress for 2 s."""
    yield from serving(tmp_path_factory.mktemp("txc"), "--transaction-duration", "2000")


@pytest.fixture
def ddb(slow: ServerProcess) -> Any:
    return make_client(slow.url, "dynamodb")  # no retries: we want to see each error


def key(k: str) -> dict[str, Any]:
    return {"id": {"S": k}}


def item(k: str, v: str) -> dict[str, Any]:
    return {"id": {"S": k}, "v": {"S": v}}


def put(table: str, k: str, v: str) -> dict[str, Any]:
    return {"Put": {"TableName": table, "Item": item(k, v)}}


def value(ddb: Any, table: str, k: str) -> str | None:
    found = ddb.get_item(TableName=table, Key=key(k), ConsistentRead=True).get("Item")
    return None if found is None else found["v"]["S"]


def error(call: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return info.value.response


def assert_conflict(response: dict[str, Any]) -> None:
    assert response["Error"] == {"Code": "TransactionConflictException", "Message": ONGOING}
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400


@contextmanager
def in_progress(
    url: str,
    table: str,
    actions: list[dict[str, Any]],
    fails: str | type[Exception] | None = None,
    **kwargs: Any,
) -> Iterator[tuple[Future[Any], list[dict[str, Any]]]]:
    """A TransactWriteItems of `actions` (and a sentinel check) running in a thread, yielded with
    all its actions once it is in progress; it must succeed (or fail: `fails` names the error code
    or the exception)."""
    sentinel = key(f"sentinel-{uuid.uuid4().hex}")
    check = {
        "ConditionCheck": {
            "TableName": table,
            "Key": sentinel,
            "ConditionExpression": "attribute_not_exists(id)",
        }
    }
    writer, probe = make_client(url, "dynamodb"), make_client(url, "dynamodb")
    with ThreadPoolExecutor(1) as pool:
        sent = [*actions, check]
        future = pool.submit(writer.transact_write_items, TransactItems=sent, **kwargs)
        deadline = time.monotonic() + 30
        while True:
            assert not future.done(), future.result()  # it must still be in progress
            assert time.monotonic() < deadline
            try:
                probe.transact_get_items(TransactItems=[{"Get": {"TableName": table, "Key": sentinel}}])
            except ClientError as err:
                assert err.response["Error"]["Code"] == "TransactionCanceledException"
                break
            time.sleep(0.005)
        yield future, sent
        if fails is None:
            future.result()
        elif isinstance(fails, str):
            with pytest.raises(ClientError) as info:
                future.result()
            assert info.value.response["Error"]["Code"] == fails
        else:
            with pytest.raises(fails):
                future.result()


def test_single_item_writes_conflict_reads_see_the_committed_state(ddb: Any, slow: ServerProcess) -> None:
    table = create(ddb)
    ddb.put_item(TableName=table, Item=item("a", "old"))
    ddb.put_item(TableName=table, Item=item("b", "old"))
    update = {"UpdateExpression": "SET v = :v", "ExpressionAttributeValues": {":v": {"S": "racer"}}}
    tx_update = {"Update": {"TableName": table, "Key": key("b"), **update}}
    with in_progress(slow.url, table, [put(table, "a", "tx"), tx_update, put(table, "new", "tx")]):
        assert_conflict(error(ddb.put_item, TableName=table, Item=item("a", "racer")))
        assert_conflict(error(ddb.update_item, TableName=table, Key=key("b"), **update))
        assert_conflict(error(ddb.delete_item, TableName=table, Key=key("a")))
        # a conditional write conflicts too, whatever its condition would say
        cond = {"ConditionExpression": "attribute_not_exists(id)"}
        assert_conflict(error(ddb.put_item, TableName=table, Item=item("new", "racer"), **cond))
        # reads see the last committed state; other items are not held
        assert value(ddb, table, "a") == "old"
        assert value(ddb, table, "new") is None
        assert [i["v"]["S"] for i in ddb.scan(TableName=table)["Items"]] == ["old", "old"]
        got = ddb.batch_get_item(RequestItems={table: {"Keys": [key("a"), key("b")]}})["Responses"][table]
        assert sorted(i["v"]["S"] for i in got) == ["old", "old"]
        ddb.put_item(TableName=table, Item=item("c", "free"))
        ddb.update_item(TableName=table, Key=key("d"), **update)
    assert value(ddb, table, "a") == "tx"
    assert value(ddb, table, "b") == "racer"  # the transaction's update, not the refused one
    assert value(ddb, table, "new") == "tx"
    assert value(ddb, table, "c") == "free"
    assert value(ddb, table, "d") == "racer"
    ddb.put_item(TableName=table, Item=item("a", "after"))  # released
    assert value(ddb, table, "a") == "after"


def test_transactions_touching_a_held_item_are_cancelled(ddb: Any, slow: ServerProcess) -> None:
    table = create(ddb)
    ddb.put_item(TableName=table, Item=item("a", "old"))
    with in_progress(slow.url, table, [put(table, "a", "tx")]):
        other = put(table, "x", "second")
        response = error(ddb.transact_write_items, TransactItems=[other, put(table, "a", "second")])
        assert response["Error"]["Code"] == "TransactionCanceledException"
        assert response["Error"]["Message"] == (
            "Transaction cancelled, please refer cancellation reasons for specific reasons "
            "[None, TransactionConflict]"
        )
        assert response["CancellationReasons"] == [NONE, CONFLICT]
        gets = [{"Get": {"TableName": table, "Key": key(k)}} for k in ("a", "x")]
        response = error(ddb.transact_get_items, TransactItems=gets)
        assert response["Error"]["Code"] == "TransactionCanceledException"
        assert response["CancellationReasons"] == [CONFLICT, NONE]
        # PartiQL: a single write conflicts, a transaction is cancelled, a batch reports per statement
        update_a = f"UPDATE \"{table}\" SET v = 'partiql' WHERE id = 'a'"
        assert_conflict(error(ddb.execute_statement, Statement=update_a))
        insert_y = f"INSERT INTO \"{table}\" VALUE {{'id': 'y', 'v': 'partiql'}}"
        statements = [{"Statement": insert_y}, {"Statement": update_a}]
        response = error(ddb.execute_transaction, TransactStatements=statements)
        assert response["CancellationReasons"] == [NONE, CONFLICT]
        select_a = f"SELECT * FROM \"{table}\" WHERE id = 'a'"
        response = error(ddb.execute_transaction, TransactStatements=[{"Statement": select_a}])
        assert response["CancellationReasons"] == [CONFLICT]
        batch = ddb.batch_execute_statement(Statements=statements)["Responses"]
        assert "Error" not in batch[0]
        assert batch[1]["Error"] == CONFLICT
    assert value(ddb, table, "a") == "tx"
    assert value(ddb, table, "x") is None  # the cancelled transaction wrote nothing
    assert value(ddb, table, "y") == "partiql"  # from the batch, not the cancelled transaction


def test_batch_write_leaves_held_items_unprocessed(ddb: Any, slow: ServerProcess) -> None:
    table = create(ddb)
    ddb.put_item(TableName=table, Item=item("b", "old"))
    with in_progress(
        slow.url, table, [put(table, "a", "tx"), {"Delete": {"TableName": table, "Key": key("b")}}]
    ):
        writes = [
            {"PutRequest": {"Item": item("a", "batch")}},
            {"PutRequest": {"Item": item("y", "batch")}},
            {"DeleteRequest": {"Key": key("b")}},
        ]
        out = ddb.batch_write_item(RequestItems={table: writes}, ReturnConsumedCapacity="TOTAL")
        assert out["UnprocessedItems"] == {table: [writes[0], writes[2]]}
        assert out["ConsumedCapacity"] == [{"TableName": table, "CapacityUnits": 1.0}]  # y only
        assert value(ddb, table, "y") == "batch"
        assert value(ddb, table, "b") == "old"
    assert value(ddb, table, "a") == "tx"
    assert value(ddb, table, "b") is None
    ddb.batch_write_item(RequestItems={table: [writes[0]]})  # resent once the transaction is done
    assert value(ddb, table, "a") == "batch"


def test_a_retry_while_in_progress_and_after(ddb: Any, slow: ServerProcess) -> None:
    table = create(ddb)
    add = {
        "Update": {
            "TableName": table,
            "Key": key("n"),
            "UpdateExpression": "ADD c :one",
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        }
    }
    token = uuid.uuid4().hex
    with in_progress(slow.url, table, [add], ClientRequestToken=token) as (_, sent):
        response = error(ddb.transact_write_items, TransactItems=sent, ClientRequestToken=token)
        assert response["Error"] == {"Code": "TransactionInProgressException", "Message": IN_PROGRESS}
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
        response = error(ddb.transact_write_items, TransactItems=[add], ClientRequestToken=token)
        assert response["Error"]["Code"] == "IdempotentParameterMismatchException"
    assert ddb.get_item(TableName=table, Key=key("n"))["Item"]["c"] == {"N": "1"}
    ddb.transact_write_items(TransactItems=sent, ClientRequestToken=token)  # done: answered, not run
    assert ddb.get_item(TableName=table, Key=key("n"))["Item"]["c"] == {"N": "1"}


def test_table_deleted_while_in_progress_fails_the_commit(ddb: Any, slow: ServerProcess) -> None:
    table, other = create(ddb), create(ddb)
    actions = [put(table, "a", "tx"), put(other, "b", "tx")]
    with in_progress(slow.url, table, actions, fails="ResourceNotFoundException"):
        ddb.delete_table(TableName=other)
        create(ddb, name=other)  # a namesake: not the table the transaction was prepared against
    assert value(ddb, table, "a") is None  # all or nothing
    assert ddb.scan(TableName=other)["Items"] == []


def test_reset_while_in_progress_commits_nothing_and_frees_the_items(ddb: Any, slow: ServerProcess) -> None:
    table = create(ddb)
    with in_progress(slow.url, table, [put(table, "a", "tx")], fails="ResourceNotFoundException"):
        slow.reset()
        create(ddb, name=table)  # a namesake, perhaps with the old table's id
        ddb.put_item(TableName=table, Item=item("a", "new"))  # not held any more
    assert value(ddb, table, "a") == "new"
    assert [i["id"]["S"] for i in ddb.scan(TableName=table)["Items"]] == ["a"]


def test_kill_9_while_in_progress_applies_nothing(fresh_server: Any) -> None:
    proc = fresh_server(GONDWANA_TRANSACTION_DURATION="2000")  # the environment's way to say it
    ddb = make_client(proc.url, "dynamodb")
    table = create(ddb)
    ddb.put_item(TableName=table, Item=item("a", "old"))
    with in_progress(proc.url, table, [put(table, "a", "tx")], fails=ConnectionClosedError):
        proc.kill()
    proc.restart()
    assert value(ddb, table, "a") == "old"
    ddb.put_item(TableName=table, Item=item("a", "after"))  # nothing is held after a restart
    ddb.transact_write_items(TransactItems=[put(table, "b", "tx")])  # acknowledged: durable
    proc.kill()
    proc.restart()
    assert (value(ddb, table, "a"), value(ddb, table, "b")) == ("after", "tx")


def test_default_server_never_conflicts(client: Any) -> None:
    """Duration 0 (the session server): transactions are instantaneous, racing writes all succeed."""
    ddb = client("dynamodb")
    table = create(ddb)
    add = {"UpdateExpression": "ADD c :one", "ExpressionAttributeValues": {":one": {"N": "1"}}}
    tx = [{"Update": {"TableName": table, "Key": key("n"), **add}}]

    def both(_: int) -> None:
        own = client("dynamodb")
        own.transact_write_items(TransactItems=tx)
        own.update_item(TableName=table, Key=key("n"), **add)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(both, range(20)))
    assert ddb.get_item(TableName=table, Key=key("n"))["Item"]["c"]["N"] == "40"
