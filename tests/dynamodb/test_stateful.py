"""Model-based test: random sequences of DynamoDB writes and reads against the real server, compared
with a reference model of one table (a dict of items by key).

The table has a hash key `pk` (S), a range key `sk` (N) and a sparse global secondary index on `g`.
Rules put, update (SET with arithmetic and if_not_exists, list_append, ADD and DELETE on a string
set, REMOVE, and document paths: a map's member, a list's element), delete, batch-write and transact-write items, and INSERT, UPDATE, DELETE and SELECT
them in PartiQL, each with or without a condition the
model evaluates itself; they compare ReturnValues, and a failed condition (or a cancelled
transaction, with its reasons) must change nothing. Reads compare GetItem, Query (key conditions,
both directions, small pages, a filter), the index, and a parallel Scan whose segments must
partition the table. The table's stream and its Kinesis destination must each show each change once, in each
item's order, with both images; a point-in-time restore to a time remembered, and the restore of
a backup, must hold the items of that time; the
table's and the index's item counts must match the model. Now and then
the server is killed (-9) and restarted: every acknowledged write must still be there.

GONDWANA_FUZZ_EXAMPLES sets the number of examples (default 20, up to 40 steps each).
"""

from __future__ import annotations

import copy
import json
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from tests.conftest import make_client
from tests.support.campaign import campaign_settings

SETTINGS = campaign_settings(examples=20)
TABLE = "model"

PKS = st.sampled_from(["a", "b", "c"])
SKS = st.integers(0, 5)
KEYS = st.tuples(PKS, SKS)
WORDS = st.sets(st.sampled_from(["x", "y", "z"]), min_size=1, max_size=2)
GROUPS = st.sampled_from(["g1", "g2"])
CONDITIONS = st.sampled_from(
    [None, "attribute_not_exists(pk)", "attribute_exists(pk)", "n >= :zero", "contains(s, :x)"]
)
UPDATES = st.sampled_from(["count", "add", "delete", "set_g", "remove_g", "append"])

Key = tuple[str, int]
Model = dict[str, Any]  # an item as plain values: {"n": int, "s": set[str], "g": str, "l": list[int], ...}


def to_wire(item: Model) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in item.items():
        if isinstance(value, set):
            out[name] = {"SS": sorted(value)}
        elif isinstance(value, list):
            out[name] = {"L": [{"N": str(v)} for v in value]}
        elif isinstance(value, dict):
            out[name] = {"M": {k: {"N": str(v)} for k, v in value.items()}}
        elif isinstance(value, int):
            out[name] = {"N": str(value)}
        else:
            out[name] = {"S": value}
    return out


def from_wire(item: dict[str, Any] | None) -> Model | None:
    if item is None:
        return None
    out: Model = {}
    for name, typed in item.items():
        (kind, value), *_ = typed.items()
        if kind == "SS":
            out[name] = set(value)
        elif kind == "L":
            out[name] = [int(v["N"]) for v in value]
        elif kind == "M":
            out[name] = {k: int(v["N"]) for k, v in value.items()}
        elif kind == "N":
            out[name] = int(value)
        else:
            out[name] = value
    return out


def holds(condition: str | None, item: Model | None) -> bool:
    """The model's reading of each condition the rules use."""
    if condition is None:
        return True
    if condition == "attribute_not_exists(pk)":
        return item is None
    if item is None:
        return False
    if condition == "attribute_exists(pk)":
        return True
    if condition == "n >= :zero":
        return isinstance(item.get("n"), int) and item["n"] >= 0
    return "x" in item.get("s", set())


def condition_values(condition: str | None) -> dict[str, Any]:
    if condition is None:
        return {}
    values: dict[str, Any] = {}
    if ":zero" in condition:
        values[":zero"] = {"N": "0"}
    if ":x" in condition:
        values[":x"] = {"S": "x"}
    return {"ConditionExpression": condition, **({"ExpressionAttributeValues": values} if values else {})}


def update_request(kind: str, delta: int, words: set[str], group: str) -> tuple[str, dict[str, Any]]:
    """An UpdateExpression of each kind, with its values."""
    if kind == "count":
        return "SET n = if_not_exists(n, :zero) + :d", {":zero": {"N": "0"}, ":d": {"N": str(delta)}}
    if kind == "add":
        return "ADD s :w", {":w": {"SS": sorted(words)}}
    if kind == "delete":
        return "DELETE s :w", {":w": {"SS": sorted(words)}}
    if kind == "set_g":
        return "SET g = :g", {":g": {"S": group}}
    if kind == "remove_g":
        return "REMOVE g", {}
    return "SET l = list_append(if_not_exists(l, :empty), :one)", {
        ":empty": {"L": []},
        ":one": {"L": [{"N": "1"}]},
    }


def apply_update(item: Model, kind: str, delta: int, words: set[str], group: str) -> Model:
    new = {
        k: (set(v) if isinstance(v, set) else list(v) if isinstance(v, list) else v) for k, v in item.items()
    }
    if kind == "count":
        new["n"] = new.get("n", 0) + delta
    elif kind == "add":
        new["s"] = new.get("s", set()) | words
    elif kind == "delete":
        left = new.get("s", set()) - words
        if left:
            new["s"] = left
        else:
            new.pop("s", None)  # a set emptied is removed
    elif kind == "set_g":
        new["g"] = group
    elif kind == "remove_g":
        new.pop("g", None)
    else:
        new["l"] = [*new.get("l", []), 1]
    return new


class DynamoModel(RuleBasedStateMachine):
    proc: Any = None

    @initialize()
    def setup(self) -> None:
        self.proc.reset()
        self.ddb = make_client(self.proc.url, "dynamodb")
        self.ddb.create_table(
            TableName=TABLE,
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "N"},
                {"AttributeName": "g", "AttributeType": "S"},
                {"AttributeName": "n", "AttributeType": "N"},
            ],
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "by-g",
                    "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                },
                {  # a key of several attributes: g and pk hashed together, ordered by (n, sk)
                    "IndexName": "by-g-pk",
                    "KeySchema": [
                        {"AttributeName": "g", "KeyType": "HASH"},
                        {"AttributeName": "pk", "KeyType": "HASH"},
                        {"AttributeName": "n", "KeyType": "RANGE"},
                        {"AttributeName": "sk", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                },
            ],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        self.items: dict[Key, Model] = {}
        self.log: dict[Key, list[tuple[str, Model | None, Model | None]]] = {}
        kinesis = make_client(self.proc.url, "kinesis")
        kinesis.create_stream(StreamName=TABLE, ShardCount=2)
        kinesis.get_waiter("stream_exists").wait(StreamName=TABLE, WaiterConfig={"Delay": 0.1})
        self.destination = kinesis.describe_stream_summary(StreamName=TABLE)["StreamDescriptionSummary"][
            "StreamARN"
        ]
        self.ddb.enable_kinesis_streaming_destination(TableName=TABLE, StreamArn=self.destination)
        self.ddb.update_continuous_backups(
            TableName=TABLE, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
        self.marks: list[tuple[float, dict[Key, Model]]] = []  # (server time, the items then)
        self.backups: list[tuple[str, dict[Key, Model]]] = []  # (backup ARN, the items backed up)
        self.restores = 0

    def _set(self, key: Key, new: Model | None) -> None:
        """The model's one way to change: the item, and the change the stream must show."""
        old = self.items.get(key)
        if old != new:
            event = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
            self.log.setdefault(key, []).append((event, old, new))
        if new is None:
            self.items.pop(key, None)
        else:
            self.items[key] = new

    def _holds(self, table: str, items: dict[Key, Model]) -> None:
        """`table` holds exactly `items` (read whole, consistently)."""
        found = self.ddb.scan(TableName=table, ConsistentRead=True)["Items"]
        got = sorted(map(from_wire, found), key=lambda i: (i["pk"], i["sk"]))  # type: ignore[index]
        assert got == [items[k] for k in sorted(items)]

    @staticmethod
    def _key(key: Key) -> dict[str, Any]:
        return {"pk": {"S": key[0]}, "sk": {"N": str(key[1])}}

    def _write(
        self,
        call: str,
        key: Key,
        condition: str | None,
        new: Model | None,
        expected: Any = None,
        **request: Any,
    ) -> None:
        """Make the call; the model takes `new` (None: the item is gone) when the condition holds."""
        old = self.items.get(key)
        values = condition_values(condition)
        merged = {
            **request.pop("ExpressionAttributeValues", {}),
            **values.pop("ExpressionAttributeValues", {}),
        }
        if merged:
            request["ExpressionAttributeValues"] = merged
        try:
            out = getattr(self.ddb, call)(TableName=TABLE, **request, **values)
        except ClientError as error:
            assert error.response["Error"]["Code"] == "ConditionalCheckFailedException", error.response
            assert not holds(condition, old), (condition, old)
            return
        assert holds(condition, old), (condition, old)
        returned = from_wire(out.get("Attributes"))
        if request.get("ReturnValues") == "ALL_OLD":
            assert returned == old
        elif request.get("ReturnValues") == "ALL_NEW":
            assert returned == new
        elif expected is not None:
            assert (returned or {}) == expected, (request, returned, expected)
        self._set(key, new)

    @rule(
        key=KEYS,
        n=st.integers(-3, 3),
        words=st.one_of(st.none(), WORDS),
        group=st.one_of(st.none(), GROUPS),
        condition=CONDITIONS,
    )
    def put(self, key: Key, n: int, words: set[str] | None, group: str | None, condition: str | None) -> None:
        item: Model = {"pk": key[0], "sk": key[1], "n": n}
        if words:
            item["s"] = set(words)
        if group:
            item["g"] = group
        self._write("put_item", key, condition, item, Item=to_wire(item), ReturnValues="ALL_OLD")

    @rule(
        key=KEYS,
        kind=UPDATES,
        delta=st.integers(-2, 2),
        words=WORDS,
        group=GROUPS,
        condition=CONDITIONS,
        returning=st.sampled_from(["ALL_NEW", "UPDATED_NEW", "UPDATED_OLD"]),
    )
    def update(
        self,
        key: Key,
        kind: str,
        delta: int,
        words: set[str],
        group: str,
        condition: str | None,
        returning: str,
    ) -> None:
        expression, values = update_request(kind, delta, words, group)
        old = self.items.get(key)
        new = apply_update(old or {"pk": key[0], "sk": key[1]}, kind, delta, words, group)
        request: dict[str, Any] = {
            "Key": self._key(key),
            "UpdateExpression": expression,
            "ReturnValues": returning,
        }
        if values:
            request["ExpressionAttributeValues"] = values
        touched = {"count": "n", "add": "s", "delete": "s", "set_g": "g", "remove_g": "g", "append": "l"}[
            kind
        ]
        # UPDATED_*: the attribute the expression updates, as it is after / was before (if there)
        updated = {"UPDATED_NEW": new, "UPDATED_OLD": old or {}}.get(returning)
        expected = None if updated is None else {k: v for k, v in updated.items() if k == touched}
        self._write("update_item", key, condition, new, expected=expected, **request)

    @rule(
        key=KEYS,
        kind=st.sampled_from(["set_map", "set_in_map", "remove_in_map", "set_at", "remove_at"]),
        name=st.sampled_from(["a", "b"]),
        index=st.integers(0, 4),
        value=st.integers(-2, 2),
    )
    def update_path(self, key: Key, kind: str, name: str, index: int, value: int) -> None:
        """Document paths: a map's member, a list's element. A path under an attribute that is not
        there cannot be SET (ValidationException, nothing written); an element past a list's end
        is appended; removing one past the end changes nothing."""
        item = self.items.get(key)
        new = copy.deepcopy(item) if item else {"pk": key[0], "sk": key[1]}
        values: dict[str, Any] = {":v": {"N": str(value)}}
        if kind == "set_map":
            expression, values = "SET m = :m", {":m": {"M": {name: {"N": str(value)}}}}
            new["m"] = {name: value}
        elif kind == "set_in_map":
            expression = f"SET m.{name} = :v"
            if "m" in new:
                new["m"][name] = value
            else:
                new = None
        elif kind == "set_at":
            expression = f"SET l[{index}] = :v"
            if "l" in new:
                if index < len(new["l"]):
                    new["l"][index] = value
                else:
                    new["l"].append(value)
            else:
                new = None
        else:
            attribute = "m" if kind == "remove_in_map" else "l"
            if attribute not in new:
                return  # (removing under an attribute that is not there: not asked here)
            expression, values = (f"REMOVE m.{name}" if attribute == "m" else f"REMOVE l[{index}]"), {}
            if attribute == "m":
                new["m"].pop(name, None)
            elif index < len(new["l"]):
                del new["l"][index]
        request: dict[str, Any] = {
            "TableName": TABLE,
            "Key": self._key(key),
            "UpdateExpression": expression,
            "ReturnValues": "ALL_NEW",
        }
        if values:
            request["ExpressionAttributeValues"] = values
        try:
            out = self.ddb.update_item(**request)
        except ClientError as error:
            assert (error.response["Error"]["Code"], error.response["Error"]["Message"]) == (
                "ValidationException",
                "The document path provided in the update expression is invalid for update",
            ), error.response
            assert new is None, (kind, item)
            return
        assert new is not None, (kind, item)
        assert from_wire(out["Attributes"]) == new
        self._set(key, new)

    @rule(key=KEYS, condition=CONDITIONS)
    def delete(self, key: Key, condition: str | None) -> None:
        self._write("delete_item", key, condition, None, Key=self._key(key), ReturnValues="ALL_OLD")

    @rule(keys=st.sets(KEYS, min_size=1, max_size=6), data=st.data())
    def batch_write(self, keys: set[Key], data: st.DataObject) -> None:
        requests = []
        for key in sorted(keys):
            if data.draw(st.booleans(), label="put"):
                item: Model = {"pk": key[0], "sk": key[1], "n": data.draw(st.integers(0, 9))}
                requests.append({"PutRequest": {"Item": to_wire(item)}})
                self._set(key, item)
            else:
                requests.append({"DeleteRequest": {"Key": self._key(key)}})
                self._set(key, None)
        out = self.ddb.batch_write_item(RequestItems={TABLE: requests})
        assert out["UnprocessedItems"] == {}

    @rule(keys=st.sets(KEYS, min_size=1, max_size=4), data=st.data())
    def transact(self, keys: set[Key], data: st.DataObject) -> None:
        actions, planned, conditions = [], {}, []
        for key in sorted(keys):
            condition = data.draw(CONDITIONS, label="condition")
            kind = data.draw(st.sampled_from(["Put", "Update", "Delete", "ConditionCheck"]), label="action")
            if kind == "ConditionCheck" and condition is None:
                condition = "attribute_exists(pk)"
            old = self.items.get(key)
            action: dict[str, Any] = {"TableName": TABLE, **condition_values(condition)}
            if kind == "Put":
                item: Model = {"pk": key[0], "sk": key[1], "n": data.draw(st.integers(-2, 2))}
                action["Item"] = to_wire(item)
                planned[key] = item
            elif kind == "Update":
                action["Key"] = self._key(key)
                action["UpdateExpression"] = "SET n = if_not_exists(n, :zero) + :d"
                action.setdefault("ExpressionAttributeValues", {}).update(
                    {":zero": {"N": "0"}, ":d": {"N": "1"}}
                )
                planned[key] = apply_update(old or {"pk": key[0], "sk": key[1]}, "count", 1, set(), "")
            else:
                action["Key"] = self._key(key)
                if kind == "Delete":
                    planned[key] = None
            actions.append({kind: action})
            conditions.append(holds(condition, old))
        try:
            self.ddb.transact_write_items(TransactItems=actions)
        except ClientError as error:
            assert error.response["Error"]["Code"] == "TransactionCanceledException", error.response
            reasons = [r["Code"] for r in error.response["CancellationReasons"]]
            assert reasons == ["None" if ok else "ConditionalCheckFailed" for ok in conditions], reasons
            return
        assert all(conditions)
        for key, new in planned.items():
            self._set(key, new)

    @rule(key=KEYS, n=st.integers(-3, 3))
    def partiql_insert(self, key: Key, n: int) -> None:
        """INSERT fails on a key that exists (DuplicateItem); it never overwrites."""
        statement = f"INSERT INTO \"{TABLE}\" VALUE {{'pk': ?, 'sk': ?, 'n': ?}}"
        params = [{"S": key[0]}, {"N": str(key[1])}, {"N": str(n)}]
        try:
            self.ddb.execute_statement(Statement=statement, Parameters=params)
        except ClientError as error:
            assert error.response["Error"]["Code"] == "DuplicateItemException", error.response
            assert key in self.items
            return
        assert key not in self.items
        self._set(key, {"pk": key[0], "sk": key[1], "n": n})

    @rule(key=KEYS, n=st.integers(-3, 3))
    def partiql_update(self, key: Key, n: int) -> None:
        """UPDATE changes an item that exists, and fails (ConditionalCheckFailed) on one that does not."""
        statement = f'UPDATE "{TABLE}" SET n = ? WHERE pk = ? AND sk = ?'
        params = [{"N": str(n)}, {"S": key[0]}, {"N": str(key[1])}]
        try:
            self.ddb.execute_statement(Statement=statement, Parameters=params)
        except ClientError as error:
            assert error.response["Error"]["Code"] == "ConditionalCheckFailedException", error.response
            assert key not in self.items
            return
        self._set(key, {**self.items[key], "n": n})

    @rule(key=KEYS)
    def partiql_delete(self, key: Key) -> None:
        self.ddb.execute_statement(
            Statement=f'DELETE FROM "{TABLE}" WHERE pk = ? AND sk = ?',
            Parameters=[{"S": key[0]}, {"N": str(key[1])}],
        )
        self._set(key, None)

    @rule(pk=PKS)
    def partiql_select(self, pk: str) -> None:
        out = self.ddb.execute_statement(
            Statement=f'SELECT * FROM "{TABLE}" WHERE pk = ?', Parameters=[{"S": pk}]
        )
        got = [from_wire(i) for i in out["Items"]]
        assert got == [item for (p, _), item in sorted(self.items.items()) if p == pk]

    @rule(key=KEYS)
    def get(self, key: Key) -> None:
        out = self.ddb.get_item(TableName=TABLE, Key=self._key(key), ConsistentRead=True)
        assert from_wire(out.get("Item")) == self.items.get(key)

    @rule(
        pk=PKS,
        bounds=st.one_of(st.none(), st.tuples(SKS, SKS)),
        forward=st.booleans(),
        limit=st.integers(1, 4),
        filtered=st.booleans(),
    )
    def query(
        self, pk: str, bounds: tuple[int, int] | None, forward: bool, limit: int, filtered: bool
    ) -> None:
        condition, values = "pk = :p", {":p": {"S": pk}}
        if bounds:
            condition += " AND sk BETWEEN :lo AND :hi"
            values[":lo"], values[":hi"] = {"N": str(min(bounds))}, {"N": str(max(bounds))}
        request: dict[str, Any] = {
            "TableName": TABLE,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": forward,
            "Limit": limit,
        }
        if filtered:
            request["FilterExpression"] = "attribute_exists(g)"
        got: list[Model | None] = []
        while True:
            page = self.ddb.query(**request)
            assert len(page["Items"]) <= limit
            got += [from_wire(i) for i in page["Items"]]
            if "LastEvaluatedKey" not in page:
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        expected = [
            item
            for (p, s), item in sorted(self.items.items(), reverse=not forward)
            if p == pk and (not bounds or min(bounds) <= s <= max(bounds)) and (not filtered or "g" in item)
        ]
        assert got == expected

    @rule(group=GROUPS)
    def query_index(self, group: str) -> None:
        items = self.ddb.query(
            TableName=TABLE,
            IndexName="by-g",
            KeyConditionExpression="g = :g",
            ExpressionAttributeValues={":g": {"S": group}},
        )["Items"]
        got = sorted((i["pk"]["S"], int(i["sk"]["N"])) for i in items)
        assert got == sorted(k for k, item in self.items.items() if item.get("g") == group)

    @rule(roll=st.integers(0, 5))
    def rebuild_index(self, roll: int) -> None:
        """Now and then: delete `by-g` and create it again at once, as it was. The old entries go in
        the background meanwhile; the new index holds the table's items, and only those."""
        if roll:
            return
        table = self.ddb.describe_table(TableName=TABLE)["Table"]
        spec = next(g for g in table["GlobalSecondaryIndexes"] if g["IndexName"] == "by-g")
        self.ddb.update_table(
            TableName=TABLE, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "by-g"}}]
        )
        created = {k: spec[k] for k in ("IndexName", "KeySchema", "Projection")}
        self.ddb.update_table(
            TableName=TABLE,
            AttributeDefinitions=table["AttributeDefinitions"],
            GlobalSecondaryIndexUpdates=[{"Create": created}],
        )
        deadline = time.monotonic() + 30
        while self._index_status("by-g") != "ACTIVE":
            assert time.monotonic() < deadline
            time.sleep(0.01)

    def _index_status(self, name: str) -> str:
        indexes = self.ddb.describe_table(TableName=TABLE)["Table"]["GlobalSecondaryIndexes"]
        return next(g["IndexStatus"] for g in indexes if g["IndexName"] == name)

    @rule(
        group=GROUPS,
        pk=PKS,
        low=st.one_of(st.none(), st.integers(-3, 3)),
        forward=st.booleans(),
        limit=st.integers(1, 3),
    )
    def query_multi_attribute_index(
        self, group: str, pk: str, low: int | None, forward: bool, limit: int
    ) -> None:
        """The index keyed by (g, pk) and ordered by (n, sk): its pages, in order, hold exactly
        the items that have all four attributes."""
        condition = "g = :g AND pk = :p" + (" AND n >= :lo" if low is not None else "")
        values = {":g": {"S": group}, ":p": {"S": pk}}
        if low is not None:
            values[":lo"] = {"N": str(low)}
        request: dict[str, Any] = {
            "TableName": TABLE,
            "IndexName": "by-g-pk",
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": forward,
            "Limit": limit,
        }
        got: list[tuple[int, int]] = []
        while True:
            page = self.ddb.query(**request)
            got += [(int(i["n"]["N"]), int(i["sk"]["N"])) for i in page["Items"]]
            if "LastEvaluatedKey" not in page:
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        expected = sorted(
            (item["n"], s)
            for (p, s), item in self.items.items()
            if p == pk and item.get("g") == group and "n" in item and (low is None or item["n"] >= low)
        )
        assert got == (expected if forward else expected[::-1])

    @rule(segments=st.integers(1, 3), limit=st.integers(1, 7))
    def scan(self, segments: int, limit: int) -> None:
        seen: list[Key] = []
        for segment in range(segments):
            request: dict[str, Any] = {
                "TableName": TABLE,
                "Segment": segment,
                "TotalSegments": segments,
                "Limit": limit,
            }
            while True:
                page = self.ddb.scan(**request)
                seen += [(i["pk"]["S"], int(i["sk"]["N"])) for i in page["Items"]]
                if "LastEvaluatedKey" not in page:
                    break
                request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        assert sorted(seen) == sorted(self.items), "the segments partition the table"

    @rule()
    def stream_shows_each_change_once(self) -> None:
        """The table's stream (NEW_AND_OLD_IMAGES): one record per change, in each item's order."""
        streams = make_client(self.proc.url, "dynamodbstreams")
        arn = self.ddb.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
        shards: list[dict[str, Any]] = []
        request: dict[str, Any] = {"StreamArn": arn}
        while True:
            described = streams.describe_stream(**request)["StreamDescription"]
            shards += described["Shards"]
            if "LastEvaluatedShardId" not in described:
                break
            request["ExclusiveStartShardId"] = described["LastEvaluatedShardId"]
        seen: dict[Key, list[tuple[str, Model | None, Model | None]]] = {}
        for shard in shards:  # parents are listed before their children
            iterator = streams.get_shard_iterator(
                StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            while iterator:
                page = streams.get_records(ShardIterator=iterator)
                for record in page["Records"]:
                    change = record["dynamodb"]
                    key = (change["Keys"]["pk"]["S"], int(change["Keys"]["sk"]["N"]))
                    old, new = from_wire(change.get("OldImage")), from_wire(change.get("NewImage"))
                    seen.setdefault(key, []).append((record["eventName"], old, new))
                if not page["Records"] and "EndingSequenceNumber" not in shard["SequenceNumberRange"]:
                    break  # the open shard, read to its end
                iterator = page.get("NextShardIterator")
        assert seen == self.log

    @rule()
    def destination_shows_each_change_once(self) -> None:
        """The table's Kinesis destination: the same changes as the stream, once each, in order."""
        kinesis = make_client(self.proc.url, "kinesis")
        seen: dict[Key, list[tuple[str, Model | None, Model | None]]] = {}
        for shard in kinesis.list_shards(StreamARN=self.destination)["Shards"]:
            iterator = kinesis.get_shard_iterator(
                StreamARN=self.destination, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            while True:
                page = kinesis.get_records(StreamARN=self.destination, ShardIterator=iterator)
                for record in page["Records"]:
                    data = json.loads(record["Data"])
                    change = data["dynamodb"]
                    key = (change["Keys"]["pk"]["S"], int(change["Keys"]["sk"]["N"]))
                    old, new = from_wire(change.get("OldImage")), from_wire(change.get("NewImage"))
                    seen.setdefault(key, []).append((data["eventName"], old, new))
                if not page["Records"] and page["MillisBehindLatest"] == 0:
                    break
                iterator = page["NextShardIterator"]
        assert seen == self.log

    @rule()
    def mark_time(self) -> None:
        """Remember the table as it is now, at the server's time, for a point-in-time restore."""
        now = float(self.proc.call("GET", "/_gondwana/clock")["now"])
        self.marks.append((now, copy.deepcopy(self.items)))

    @rule(data=st.data())
    def restore_point_in_time(self, data: st.DataObject) -> None:
        """A restore to a remembered time holds exactly the items of that time."""
        if not self.marks:
            return
        when, items = data.draw(st.sampled_from(self.marks), label="mark")
        self.proc.advance_clock(301)  # the latest restorable time is five minutes back, as on AWS
        self.restores += 1
        target = f"{TABLE}-at-{self.restores}"
        self.ddb.restore_table_to_point_in_time(
            SourceTableName=TABLE, TargetTableName=target, RestoreDateTime=when
        )
        self._holds(target, items)

    @rule()
    def backup(self) -> None:
        arn = self.ddb.create_backup(TableName=TABLE, BackupName=f"backup-{len(self.backups)}")[
            "BackupDetails"
        ]["BackupArn"]
        self.backups.append((arn, copy.deepcopy(self.items)))

    @rule(data=st.data())
    def restore_backup(self, data: st.DataObject) -> None:
        """A backup's restore holds exactly the items backed up, whatever came after."""
        if not self.backups:
            return
        arn, items = data.draw(st.sampled_from(self.backups), label="backup")
        self.restores += 1
        target = f"{TABLE}-from-{self.restores}"
        self.ddb.restore_table_from_backup(TargetTableName=target, BackupArn=arn)
        self._holds(target, items)

    @rule(roll=st.integers(0, 24))
    def crash(self, roll: int) -> None:
        """Now and then: kill -9 and start again; everything acknowledged is still there."""
        if roll:
            return
        self.proc.crash()
        self.ddb = make_client(self.proc.url, "dynamodb")
        self._holds(TABLE, self.items)

    @invariant()
    def counts_match(self) -> None:
        if not hasattr(self, "items"):
            return
        table = self.ddb.describe_table(TableName=TABLE)["Table"]
        assert table["ItemCount"] == len(self.items)
        indexes = {i["IndexName"]: i["ItemCount"] for i in table["GlobalSecondaryIndexes"]}
        assert indexes["by-g"] == sum("g" in item for item in self.items.values())
        assert indexes["by-g-pk"] == sum("g" in item and "n" in item for item in self.items.values())


@pytest.mark.filterwarnings("ignore")
def test_dynamodb_matches_the_model(fresh_server: Any) -> None:
    DynamoModel.proc = fresh_server()
    run_state_machine_as_test(DynamoModel, settings=SETTINGS)
