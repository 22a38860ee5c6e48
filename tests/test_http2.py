"""HTTP/2 with prior knowledge (h2c), driven by Node's own http2 client: plain requests and a
streamed event-stream response, on the same chain as HTTP/1.1."""

from __future__ import annotations

import base64
import json

from botocore.eventstream import EventStreamBuffer

from tests.support.node import run_js
from tests.support.server import ServerProcess

H2_CLIENT = """
import http2 from "node:http2";
const session = http2.connect(process.env.ENDPOINT);
function call(target, body) {
  return new Promise((resolve, reject) => {
    const req = session.request({
      ":method": "POST", ":path": "/", "x-amz-target": target,
      "content-type": "application/x-amz-json-1.1",
    });
    const chunks = [];
    let head;
    req.on("response", (h) => { head = h; });
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => resolve({ status: head[":status"], type: head["content-type"],
                                  body: Buffer.concat(chunks).toString("base64") }));
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}
const results = await Promise.all([
  call("GondwanaEcho11_20261127.Echo", { Name: "over", Count: 2 }),
  call("GondwanaEcho11_20261127.Echo", { Name: "AB" }),
  call("GondwanaEcho11_20261127.Watch", { Count: 3 }),
]);
session.close();
console.log(JSON.stringify(results));
"""


def test_h2c_requests_and_event_stream(server: ServerProcess) -> None:
    ok, invalid, watch = run_js(H2_CLIENT, server.url)
    assert ok["status"] == 200
    assert json.loads(base64.b64decode(ok["body"])) == {"Name": "over", "Count": 2}
    assert invalid["status"] == 400
    assert json.loads(base64.b64decode(invalid["body"]))["__type"] == "ValidationException"
    assert watch["status"] == 200 and watch["type"] == "application/vnd.amazon.eventstream"
    buffer = EventStreamBuffer()
    buffer.add_data(base64.b64decode(watch["body"]))
    events = [m.headers[":event-type"] for m in buffer]
    assert events == ["initial-response", "Tick", "Tick", "Tick"]
