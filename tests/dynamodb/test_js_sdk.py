"""@aws-sdk/client-dynamodb and @aws-sdk/lib-dynamodb (the document client) against Gondwana."""

from __future__ import annotations

from typing import Any

import pytest

node = pytest.importorskip("tests.support.node", reason="the JavaScript SDK harness (tests/support/node.py)")

SCRIPT = """
import { DynamoDBClient, CreateTableCommand, DescribeTableCommand } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, PutCommand, GetCommand, UpdateCommand, QueryCommand, TransactWriteCommand }
  from "@aws-sdk/lib-dynamodb";
const client = new DynamoDBClient({ endpoint: process.env.ENDPOINT, region: process.env.REGION });
const doc = DynamoDBDocumentClient.from(client);
const TableName = process.env.TABLE;
await client.send(new CreateTableCommand({
  TableName, BillingMode: "PAY_PER_REQUEST",
  AttributeDefinitions: [
    { AttributeName: "pk", AttributeType: "S" }, { AttributeName: "sk", AttributeType: "N" },
  ],
  KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }, { AttributeName: "sk", KeyType: "RANGE" }],
}));
const status = (await client.send(new DescribeTableCommand({ TableName }))).Table.TableStatus;
for (const sk of [3, 1, 2]) {
  const Item = { pk: "a", sk, tags: new Set(["x"]), nested: { n: sk * 1.5 } };
  await doc.send(new PutCommand({ TableName, Item }));
}
await doc.send(new UpdateCommand({ TableName, Key: { pk: "a", sk: 1 }, UpdateExpression: "SET #c = :c",
  ExpressionAttributeNames: { "#c": "count" }, ExpressionAttributeValues: { ":c": 7 } }));
const got = (await doc.send(new GetCommand({ TableName, Key: { pk: "a", sk: 1 } }))).Item;
const page = await doc.send(new QueryCommand({ TableName, KeyConditionExpression: "pk = :p AND sk > :s",
  ExpressionAttributeValues: { ":p": "a", ":s": 1 }, ScanIndexForward: false }));
let cancelled = null;
try {
  await doc.send(new TransactWriteCommand({ TransactItems: [
    { ConditionCheck: { TableName, Key: { pk: "a", sk: 9 }, ConditionExpression: "attribute_exists(pk)" } },
    { Put: { TableName, Item: { pk: "b", sk: 1 } } },
  ] }));
} catch (e) {
  cancelled = { name: e.name, codes: e.CancellationReasons.map((r) => r.Code) };
}
console.log(JSON.stringify({ status, count: got.count, tags: [...got.tags], n: got.nested.n,
  order: page.Items.map((i) => i.sk), cancelled }));
"""


def test_js_document_client(server: Any) -> None:
    import uuid

    out = node.run_js(SCRIPT, server.url, TABLE=f"js-{uuid.uuid4().hex[:8]}")
    assert out == {
        "status": "ACTIVE",
        "count": 7,
        "tags": ["x"],
        "n": 1.5,
        "order": [3, 2],
        "cancelled": {"name": "TransactionCanceledException", "codes": ["ConditionalCheckFailed", "None"]},
    }
