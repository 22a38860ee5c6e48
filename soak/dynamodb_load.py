"""DynamoDB load: PutItem and BatchWriteItem on keys each worker owns, conditional counter updates
on shared counters, and TransactWriteItems across two tables. Checks: an item holds its last
acknowledged write or a later unknown one; a counter equals its acknowledged increments plus a
subset of the unknown ones; a transaction is all-or-nothing."""

from __future__ import annotations

import random
import threading
from collections import defaultdict
from typing import Any

from soak.harness import ACK, REJECTED, UNKNOWN, Stats, call

ITEMS, TX_A, TX_B = "soak-items", "soak-tx-a", "soak-tx-b"
INDEX = "by-g"  # a global secondary index on soak-items: it must mirror the items that have g
COUNTERS = 4
GONE = "<absent>"


def s(value: str) -> dict[str, str]:
    return {"S": value}


class DynamoLoad:
    def __init__(self, stats: Stats) -> None:
        self.stats = stats
        self.lock = threading.Lock()
        # (table, key) -> [(value or GONE, outcome)] in issue order (one worker writes each key)
        self.history: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
        self.counted: dict[str, int] = defaultdict(int)  # counter key -> acknowledged sum
        self.maybe: dict[str, list[int]] = defaultdict(list)  # counter key -> unknown increments

    def setup(self, client: Any) -> None:
        for table in (ITEMS, TX_A, TX_B):
            index = {"IndexName": INDEX, "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                     "Projection": {"ProjectionType": "ALL"}}  # fmt: skip
            client.create_table(
                TableName=table,
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": name, "AttributeType": "S"} for name in ("pk", "g")]
                if table == ITEMS
                else [{"AttributeName": "pk", "AttributeType": "S"}],
                **({"GlobalSecondaryIndexes": [index]} if table == ITEMS else {}),
                BillingMode="PAY_PER_REQUEST",
            )
            client.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 0.2})

    def _record(self, writes: list[tuple[str, str, str]], outcome: str) -> None:
        with self.lock:
            for table, key, value in writes:
                self.history[table, key].append((value, outcome))

    def _count(self, key: str, inc: int, outcome: str) -> None:
        with self.lock:
            if outcome == ACK:
                self.counted[key] += inc
            elif outcome == UNKNOWN:
                self.maybe[key].append(inc)

    def step(self, worker: int, serial: int, client: Any, rng: random.Random) -> None:
        kind = rng.random()
        value = f"{worker}:{serial}"
        if kind < 0.3:
            self._single(worker, value, client, rng)
        elif kind < 0.5:
            keys = rng.sample(range(20), rng.randint(2, 20))
            writes, requests = [], []
            for slot in keys:
                key = f"item-{worker}-{slot}"
                if rng.random() < 0.2:
                    writes.append((ITEMS, key, GONE))
                    requests.append({"DeleteRequest": {"Key": {"pk": s(key)}}})
                else:
                    writes.append((ITEMS, key, value))
                    item = {
                        "pk": s(key),
                        "v": s(value),
                        **({"g": s(f"g{slot % 3}")} if rng.random() < 0.7 else {}),
                    }
                    requests.append({"PutRequest": {"Item": item}})
            outcome, out = call(
                self.stats, "dynamodb.BatchWriteItem", client.batch_write_item, RequestItems={ITEMS: requests}
            )
            unprocessed = out.get("UnprocessedItems", {}).get(ITEMS, []) if outcome == ACK else []
            for write, request in zip(writes, requests, strict=True):
                self._record([write], REJECTED if request in unprocessed else outcome)
        elif kind < 0.75:
            self._counter(worker, client, rng)
        else:
            self._transact(worker, serial, client, rng)

    def _single(self, worker: int, value: str, client: Any, rng: random.Random) -> None:
        """PutItem, UpdateItem (SET, creating the item if absent) or DeleteItem on an owned key."""
        key = f"item-{worker}-{rng.randint(0, 19)}"
        kind = rng.random()
        if kind < 0.5:
            item = {"pk": s(key), "v": s(value), "pad": {"B": rng.randbytes(rng.randint(0, 2000))}}
            if rng.random() < 0.7:
                item["g"] = s(f"g{rng.randint(0, 2)}")
            outcome, _ = call(self.stats, "dynamodb.PutItem", client.put_item, TableName=ITEMS, Item=item)
        elif kind < 0.85:
            index = {":g": s(f"g{rng.randint(0, 2)}")} if kind < 0.7 else {}  # or leave the index
            outcome, _ = call(
                self.stats, "dynamodb.UpdateItem.set", client.update_item,
                TableName=ITEMS, Key={"pk": s(key)},
                UpdateExpression="SET v = :v, g = :g" if index else "SET v = :v REMOVE g",
                ExpressionAttributeValues={":v": s(value), **index},
            )  # fmt: skip
        else:
            value = GONE
            outcome, _ = call(
                self.stats, "dynamodb.DeleteItem", client.delete_item, TableName=ITEMS, Key={"pk": s(key)}
            )
        self._record([(ITEMS, key, value)], outcome)

    def _counter(self, worker: int, client: Any, rng: random.Random) -> None:
        key = f"counter-{rng.randint(0, COUNTERS - 1)}"
        inc = rng.randint(1, 5)
        failing = rng.random() < 0.1  # a condition that can never hold: must change nothing
        outcome, _ = call(
            self.stats,
            "dynamodb.UpdateItem",
            client.update_item,
            TableName=ITEMS,
            Key={"pk": s(key)},
            UpdateExpression="ADD n :inc SET w = :w",
            ConditionExpression="n < :zero" if failing else "attribute_not_exists(n) OR n < :limit",
            ExpressionAttributeValues={
                ":inc": {"N": str(inc)},
                ":w": {"N": str(worker)},
                **({":zero": {"N": "0"}} if failing else {":limit": {"N": "1000000000000"}}),
            },
        )
        if failing and outcome == ACK:
            self.stats.violation(f"dynamodb: UpdateItem with condition n < 0 on {key} was acknowledged")
        self._count(key, inc, outcome)

    def _transact(self, worker: int, serial: int, client: Any, rng: random.Random) -> None:
        key = f"tx-{worker}-{rng.randint(0, 4)}"
        value = f"{worker}:{serial}"
        failing = rng.random() < 0.15
        items: list[dict[str, Any]] = [
            {"Put": {"TableName": TX_A, "Item": {"pk": s(key), "v": s(value)}}},
            {
                "Put": {
                    "TableName": TX_B,
                    "Item": {"pk": s(key), "v": s(value)},
                    "ConditionExpression": "attribute_not_exists(v) OR v <> :v",
                    "ExpressionAttributeValues": {":v": s(value)},
                }
            },
            {
                "Update": {
                    "TableName": TX_B,
                    "Key": {"pk": s(f"txcount-{worker}")},
                    "UpdateExpression": "ADD n :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            },
        ]
        if failing:  # the guard never exists: the whole transaction must be cancelled
            items.append(
                {
                    "ConditionCheck": {
                        "TableName": TX_A,
                        "Key": {"pk": s(f"guard-{worker}")},
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                }
            )
        outcome, _ = call(
            self.stats, "dynamodb.TransactWriteItems", client.transact_write_items, TransactItems=items
        )
        if failing and outcome == ACK:
            self.stats.violation(
                f"dynamodb: transaction with a failing ConditionCheck was acknowledged ({key})"
            )
        self._record([(TX_A, key, value), (TX_B, key, value)], outcome)
        self._count(f"txcount-{worker}", 1, outcome)

    def scan(self, client: Any, table: str, index: str = "") -> dict[str, dict[str, Any]]:
        items: dict[str, dict[str, Any]] = {}
        start: dict[str, Any] | None = None
        extra = {"IndexName": index} if index else {"ConsistentRead": True}
        while True:
            page = client.scan(**extra, TableName=table, **({"ExclusiveStartKey": start} if start else {}))
            items.update((item["pk"]["S"], item) for item in page["Items"])
            start = page.get("LastEvaluatedKey")
            if not start:
                return items

    def check(self, client: Any) -> list[str]:
        problems: list[str] = []
        tables = {table: self.scan(client, table) for table in (ITEMS, TX_A, TX_B)}
        for (table, key), writes in self.history.items():
            item = tables[table].get(key)
            have = item["v"]["S"] if item and "v" in item else GONE
            allowed = allowed_values(writes)
            if have not in allowed:
                problems.append(f"dynamodb: {table}/{key} holds {have}, expected one of {sorted(allowed)}")
        for key in {k for k in (*tables[TX_A], *tables[TX_B]) if k.startswith("tx-")}:
            a, b = (tables[table].get(key, {}).get("v") for table in (TX_A, TX_B))
            if a != b:
                problems.append(f"dynamodb: transaction half-applied on {key}: {a} vs {b}")
        problems += self.check_index(client, tables[ITEMS])
        for table, items in tables.items():  # DescribeTable's ItemCount is kept exact
            count = client.describe_table(TableName=table)["Table"]["ItemCount"]
            if count != len(items):
                problems.append(f"dynamodb: {table} ItemCount {count}, but a scan finds {len(items)} items")
        for key in set(self.counted) | set(self.maybe):
            table = TX_B if key.startswith("txcount") else ITEMS
            item = tables[table].get(key)
            have = int(item["n"]["N"]) if item and "n" in item else 0
            if have - self.counted[key] not in subset_sums(self.maybe[key]):
                acked, unknown = self.counted[key], self.maybe[key]
                problems.append(f"dynamodb: counter {key} = {have}, acknowledged {acked}, unknown {unknown}")
        return problems

    def check_index(self, client: Any, items: dict[str, dict[str, Any]]) -> list[str]:
        """The index holds exactly the items that have g, as they are, and counts them."""
        entries = self.scan(client, ITEMS, INDEX)
        want = {k: item for k, item in items.items() if "g" in item}
        problems = [
            f"dynamodb: index {INDEX} entry {k} is {entries.get(k)}, its item {want.get(k)}"
            for k in set(entries) | set(want)
            if entries.get(k) != want.get(k)
        ][:10]
        described = client.describe_table(TableName=ITEMS)["Table"]["GlobalSecondaryIndexes"][0]
        if described["ItemCount"] != len(entries):
            problems.append(
                f"dynamodb: index {INDEX} ItemCount {described['ItemCount']}, a scan finds {len(entries)}"
            )
        return problems


def allowed_values(writes: list[tuple[str, str]]) -> set[str]:
    """The last acknowledged value (absent if none) and every unknown value written after it."""
    last = max((i for i, (_, outcome) in enumerate(writes) if outcome == ACK), default=-1)
    allowed = {writes[last][0] if last >= 0 else GONE}
    allowed.update(value for value, outcome in writes[last + 1 :] if outcome == UNKNOWN)
    return allowed


def subset_sums(values: list[int]) -> set[int]:
    sums = {0}
    for value in values:
        sums |= {total + value for total in sums}
    return sums
