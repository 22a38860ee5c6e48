"""Whole items go out as their stored text (GetItem, Query, Scan, BatchGetItem without a
projection): the answers must parse to exactly what the decoding path (a projection of every
attribute) answers, for every kind of value, over JSON (x-amz-crc32 included) and over CBOR."""

from __future__ import annotations

import http.client
import json
import zlib
from typing import Any

import cbor2

from gondwana.protocols import json_codec
from gondwana.services.dynamodb import codec
from tests.dynamodb.conftest import unique
from tests.support.server import ServerProcess

TARGET = "DynamoDB_20120810."
# Request bodies as JSON text: escapes, astral characters and awkward numbers as a client sends them.
ITEMS = [
    '{"pk":{"S":"p"},"sk":{"S":"1"},"g":{"S":"x"},"b":{"B":"AAEC/w=="},"bs":{"BS":["AA==","/w=="]},'
    '"n":{"N":"1.50"},"ns":{"NS":["-0.0100","7"]},"t":{"BOOL":true},"z":{"NULL":true}}',
    '{"pk":{"S":"p"},"sk":{"S":"2"},"g":{"S":"x"},"m":{"M":{"l":{"L":[{"S":"h\\u00e9llo \\u2603 '
    '\\ud834\\udd1e"},{"N":"1e3"},{"M":{"deep":{"B":"AQ=="}}}]},"ss":{"SS":["a","\\u00fc"]}}}}',
    '{"pk":{"S":"p"},"sk":{"S":"3"},"g":{"S":"x"},"e":{"S":"\\"quoted\\" \\\\ \\n\\t\\u0001"},'
    '"big":{"N":"-123456789012345678901234567890.12345678"},"tiny":{"N":"1E-130"},"bin":{"B":""}}',
]
ALL = "pk, sk, g, b, bs, n, ns, t, z, m, e, big, tiny, #b"
NAMES = {"#b": "bin"}


def call(server: ServerProcess, op: str, body: str | dict[str, Any]) -> Any:
    data = body if isinstance(body, str) else json.dumps(body)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    headers = {"X-Amz-Target": TARGET + op, "Content-Type": "application/x-amz-json-1.0"}
    conn.request("POST", "/", body=data.encode(), headers=headers)
    response = conn.getresponse()
    payload = response.read()
    conn.close()
    assert response.status == 200, payload
    assert int(response.getheader("x-amz-crc32")) == zlib.crc32(payload)
    return json.loads(payload)  # bytes: read with surrogatepass, as the fallback writes them


def make(server: ServerProcess) -> str:
    name = unique("raw")
    call(
        server,
        "CreateTable",
        {
            "TableName": name,
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk", "g")],
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": "by-g",
                    "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
        },
    )
    for text in ITEMS:
        call(server, "PutItem", f'{{"TableName":"{name}","Item":{text}}}')
    return name


def expected(text: str) -> dict[str, Any]:
    """An item as the wire carries it back: numbers in AWS's canonical form, blobs as base64."""
    item = json.loads(text)
    if "n" in item:
        item["n"] = {"N": "1.5"}
        item["ns"] = {"NS": ["-0.01", "7"]}
    if "m" in item:
        item["m"]["M"]["l"]["L"][1] = {"N": "1000"}
    if "tiny" in item:
        item["tiny"] = {"N": "0." + "0" * 129 + "1"}
    return item


def test_whole_items_parse_as_the_decoded_path_does(server: ServerProcess) -> None:
    name = make(server)
    wanted = [expected(t) for t in ITEMS]
    for i, item in enumerate(wanted):
        key = {"pk": item["pk"], "sk": item["sk"]}
        whole = call(server, "GetItem", {"TableName": name, "Key": key, "ConsistentRead": True})
        projected = call(
            server,
            "GetItem",
            {"TableName": name, "Key": key, "ProjectionExpression": ALL, "ExpressionAttributeNames": NAMES},
        )
        assert whole == projected == {"Item": wanted[i]}
    query = {
        "TableName": name,
        "KeyConditionExpression": "pk = :p",
        "ExpressionAttributeValues": {":p": {"S": "p"}},
    }
    assert call(server, "Query", query) == {"Items": wanted, "Count": 3, "ScannedCount": 3}
    decoded = call(server, "Query", {**query, "ProjectionExpression": ALL, "ExpressionAttributeNames": NAMES})
    assert decoded["Items"] == wanted
    gsi = {
        "TableName": name,
        "IndexName": "by-g",
        "KeyConditionExpression": "g = :g",
        "ExpressionAttributeValues": {":g": {"S": "x"}},
    }
    assert sorted(call(server, "Query", gsi)["Items"], key=lambda i: i["sk"]["S"]) == wanted
    assert sorted(call(server, "Scan", {"TableName": name})["Items"], key=lambda i: i["sk"]["S"]) == wanted
    keys = [{"pk": i["pk"], "sk": i["sk"]} for i in wanted]
    got = call(server, "BatchGetItem", {"RequestItems": {name: {"Keys": keys}}})
    assert sorted(got["Responses"][name], key=lambda i: i["sk"]["S"]) == wanted
    assert got["UnprocessedKeys"] == {}


def test_pages_of_whole_items_keep_their_last_evaluated_key(server: ServerProcess) -> None:
    name = make(server)
    query = {
        "TableName": name,
        "KeyConditionExpression": "pk = :p",
        "ExpressionAttributeValues": {":p": {"S": "p"}},
        "Limit": 2,
        "ReturnConsumedCapacity": "TOTAL",
    }
    first = call(server, "Query", query)
    assert [i["sk"]["S"] for i in first["Items"]] == ["1", "2"]
    assert first["LastEvaluatedKey"] == {"pk": {"S": "p"}, "sk": {"S": "2"}}
    assert first["ConsumedCapacity"] == {"TableName": name, "CapacityUnits": 0.5}
    rest = call(server, "Query", {**query, "ExclusiveStartKey": first["LastEvaluatedKey"]})
    assert [i["sk"]["S"] for i in rest["Items"]] == ["3"] and "LastEvaluatedKey" not in rest
    counted = call(server, "Query", {**query, "Select": "COUNT"})
    assert "Items" not in counted and counted["Count"] == 2


def cbor_call(server: ServerProcess, op: str, body: dict[str, Any]) -> Any:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    headers = {"X-Amz-Target": TARGET + op, "Content-Type": "application/x-amz-cbor-1.1"}
    conn.request("POST", "/", body=cbor2.dumps(body), headers=headers)
    response = conn.getresponse()
    answer = cbor2.loads(response.read())
    conn.close()
    assert response.status == 200, answer
    return answer


def test_cbor_answers_carry_decoded_items(server: ServerProcess) -> None:
    name = make(server)
    item = cbor_call(server, "GetItem", {"TableName": name, "Key": {"pk": {"S": "p"}, "sk": {"S": "1"}}})[
        "Item"
    ]
    assert item["b"] == {"B": b"\x00\x01\x02\xff"}
    assert item["bs"] == {"BS": [b"\x00", b"\xff"]}
    assert item["n"] == {"N": "1.5"}
    query = {
        "TableName": name,
        "KeyConditionExpression": "pk = :p",
        "ExpressionAttributeValues": {":p": {"S": "p"}},
    }
    items = cbor_call(server, "Query", query)["Items"]
    assert [i["sk"]["S"] for i in items] == ["1", "2", "3"] and items[0]["b"] == {"B": b"\x00\x01\x02\xff"}
    assert items[1]["m"]["M"]["l"]["L"][2] == {"M": {"deep": {"B": b"\x01"}}}
    keys = [{"pk": {"S": "p"}, "sk": {"S": "1"}}]
    got = cbor_call(server, "BatchGetItem", {"RequestItems": {name: {"Keys": keys}}})["Responses"][name]
    assert got[0]["b"] == {"B": b"\x00\x01\x02\xff"}


def test_stored_text_with_lone_surrogates_goes_out_as_the_decoded_item_would() -> None:
    # Strings with lone surrogates are stored as escaped (standard-library) JSON text; raw, that
    # text must read back as the item itself, through orjson and the standard-library fallback.
    item = {"odd": {"S": "lone \ud800 surrogate"}, "b": {"B": b"\x00\xff"}, "l": {"L": [{"S": "\udfff"}]}}
    text = codec.dumps(item)
    wire = {"odd": {"S": "lone \ud800 surrogate"}, "b": {"B": "AP8="}, "l": {"L": [{"S": "\udfff"}]}}
    assert json.loads(json_codec.dumps({"Item": codec.raw(text)})) == {"Item": wire}
    assert json.loads(json_codec.dumps({"Item": item})) == {"Item": wire}  # the decoded path
    fallback = json_codec.dumps({"Item": codec.raw(text), "Other": "\udc00"})
    assert json.loads(fallback) == {"Item": wire, "Other": "\udc00"}
