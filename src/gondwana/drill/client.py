"""A small DynamoDB JSON client for the drill: one keep-alive connection per region.

The drill ships with the server, which does not depend on boto3; it speaks AWS JSON 1.0 itself and
names its region in the credential scope (Gondwana routes by it). Errors come back as `CallFailed`
with the AWS error code, or code "Unreachable" when the connection fails or times out.
"""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit


class CallFailed(RuntimeError):
    def __init__(self, code: str, message: str, status: int = 0) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.status = code, message, status


class DynamoDB:
    def __init__(self, endpoint: str, region: str, timeout: float = 2.0) -> None:
        parts = urlsplit(endpoint)
        self.host, self.port = parts.hostname or "localhost", parts.port or 80
        self.region, self.timeout = region, timeout
        self.auth = (
            f"AWS4-HMAC-SHA256 Credential=test/20260101/{region}/dynamodb/aws4_request, "
            "SignedHeaders=host, Signature=0"
        )
        self.conn: http.client.HTTPConnection | None = None

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        headers = {
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": f"DynamoDB_20120810.{operation}",
            "Authorization": self.auth,
        }
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self.conn.request("POST", "/", json.dumps(params), headers)
            response = self.conn.getresponse()
            data = response.read()
        except (TimeoutError, OSError, http.client.HTTPException) as exc:
            self.close()
            raise CallFailed("Unreachable", str(exc) or type(exc).__name__) from None
        body = json.loads(data) if data else {}
        if response.status != 200:
            code = str(body.get("__type", "")).rsplit("#", 1)[-1] or f"HTTP{response.status}"
            raise CallFailed(code, body.get("message") or body.get("Message") or "", response.status)
        return body

    def scan_all(self, table: str) -> dict[str, dict[str, Any]]:
        """Every item of the table (eventually consistent), keyed by its `id`."""
        items: dict[str, dict[str, Any]] = {}
        params: dict[str, Any] = {"TableName": table}
        while True:
            page = self.call("Scan", params)
            for item in page.get("Items", []):
                items[item["id"]["S"]] = item
            if "LastEvaluatedKey" not in page:
                return items
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
