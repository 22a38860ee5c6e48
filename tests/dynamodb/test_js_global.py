"""The JavaScript SDK v3 against a global table: one client per region on the same server."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

node = pytest.importorskip("tests.support.node", reason="the JavaScript SDK harness (tests/support/node.py)")

SCRIPT = """
import { DynamoDBClient, CreateTableCommand, DescribeTableCommand, UpdateTableCommand }
  from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, PutCommand, GetCommand } from "@aws-sdk/lib-dynamodb";
const regions = ["us-east-1", "eu-west-1"];
const clients = Object.fromEntries(regions.map((region) =>
  [region, new DynamoDBClient({ endpoint: process.env.ENDPOINT, region })]));
const docs = Object.fromEntries(regions.map((r) => [r, DynamoDBDocumentClient.from(clients[r])]));
const TableName = process.env.TABLE;
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
async function until(check) {
  for (let i = 0; i < 200; i++) {
    const value = await check();
    if (value) return value;
    await sleep(50);
  }
  throw new Error("timed out");
}
await clients["us-east-1"].send(new CreateTableCommand({
  TableName, BillingMode: "PAY_PER_REQUEST",
  AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
  KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
  StreamSpecification: { StreamEnabled: true, StreamViewType: "NEW_AND_OLD_IMAGES" },
}));
await docs["us-east-1"].send(new PutCommand({ TableName, Item: { id: "seeded", n: 1 } }));
await clients["us-east-1"].send(new UpdateTableCommand({
  TableName, ReplicaUpdates: [{ Create: { RegionName: "eu-west-1" } }],
}));
const replica = await until(async () => {
  const t = (await clients["eu-west-1"].send(new DescribeTableCommand({ TableName }))
    .catch(() => null))?.Table;
  return t && t.TableStatus === "ACTIVE" ? t : null;
});
const backfilled = await until(async () =>
  (await docs["eu-west-1"].send(new GetCommand({ TableName, Key: { id: "seeded" } }))).Item);
await docs["eu-west-1"].send(new PutCommand({ TableName, Item: { id: "from-europe", n: 2 } }));
const arrived = await until(async () =>
  (await docs["us-east-1"].send(new GetCommand({ TableName, Key: { id: "from-europe" } }))).Item);
console.log(JSON.stringify({
  arn: replica.TableArn,
  replicas: replica.Replicas.map((r) => [r.RegionName, r.ReplicaStatus]).sort(),
  version: replica.GlobalTableVersion,
  backfilled, arrived,
}));
"""


def test_js_sdk_global_table_in_two_regions(server: Any) -> None:
    table = f"js-global-{uuid.uuid4().hex[:8]}"
    out = node.run_js(SCRIPT, server.url, TABLE=table)
    assert out == {
        "arn": f"arn:aws:dynamodb:eu-west-1:000000000000:table/{table}",
        "replicas": [["us-east-1", "ACTIVE"]],  # the other replicas, as AWS lists them
        "version": "2019.11.21",
        "backfilled": {"id": "seeded", "n": 1},
        "arrived": {"id": "from-europe", "n": 2},
    }
