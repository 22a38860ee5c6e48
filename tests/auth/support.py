"""Shared pieces of the SigV4 tests: constants, botocore signing, raw sending, error reading.

JSON answers come from the test-only echo service (JSON 1.0, query-compatible like SQS); query
answers from STS GetCallerIdentity, which also shows the account an access key maps to. To tamper,
a request is signed with botocore and then changed before it is sent with http.client.
"""

from __future__ import annotations

import http.client
import json
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import botocore.session
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from tests.support.server import ServerProcess

KEY, SECRET, ACCOUNT = "AKIDEXAMPLE", "secret", "111122223333"
STRICT = (
    "--auth",
    "strict",
    "--credentials",
    f"{KEY}:{SECRET}:{ACCOUNT}",
    "--plugin",
    "tests.plugins.echo",
    "--plugin",
    "tests.plugins.authprobe",
)
CONFIG = Config(retries={"max_attempts": 1})

ECHO_TARGET = "GondwanaEcho_20261127"
JSON_TYPE = "application/x-amz-json-1.0"
FORM_TYPE = "application/x-www-form-urlencoded; charset=utf-8"
CBOR_TYPE = "application/x-amz-cbor-1.1"
STS_BODY = b"Action=GetCallerIdentity&Version=2011-06-15"

MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)
BAD_TOKEN = "The security token included in the request is invalid."
STAMP = r"(\d{8}T\d{6}Z)"


def boto_client(models: Path, url: str, service: str, key: str = KEY, secret: str = SECRET) -> Any:
    core = botocore.session.get_session()
    core.get_component("data_loader").search_paths.insert(0, str(models))
    session = boto3.Session(botocore_session=core, aws_access_key_id=key, aws_secret_access_key=secret)
    return session.client(service, endpoint_url=url, region_name="us-east-1", config=CONFIG)


def sign(
    server: ServerProcess,
    kind: str,
    *,
    key: str = KEY,
    secret: str = SECRET,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    operation: str = "Echo",
) -> AWSRequest:
    """A request signed by botocore: `kind` "json" goes to echo, "query" to STS."""
    if kind == "json":
        service = "echo"
        all_headers = {"X-Amz-Target": f"{ECHO_TARGET}.{operation}", "Content-Type": JSON_TYPE}
        data = b'{"Name": "abc"}' if body is None else body
    else:
        service = "sts"
        all_headers = {"Content-Type": FORM_TYPE}
        data = STS_BODY if body is None else body
    all_headers.update(headers or {})
    request = AWSRequest("POST", server.url + "/", data=data, headers=all_headers)
    SigV4Auth(Credentials(key, secret), service, "us-east-1").add_auth(request)
    return request


def send(
    server: ServerProcess,
    request: AWSRequest,
    body: bytes | None = None,
    **changed: str | bytes | None,
) -> tuple[int, dict[str, str], bytes]:
    """Send a (possibly tampered) request: `body` replaces the body, keywords replace headers
    (underscores for dashes; None drops the header)."""
    headers = dict(request.headers.items())
    for name, value in changed.items():
        header = name.replace("_", "-")
        headers = {k: v for k, v in headers.items() if k.lower() != header.lower()}
        if value is not None:
            headers[header] = value
    parts = urlsplit(request.url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    payload = request.data if body is None else body
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request(request.method, target, body=payload, headers=headers)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def error_of(kind: str, status: int, headers: dict[str, str], data: bytes) -> tuple[int, str, str]:
    """(status, code, message) from a JSON or a query error response."""
    if kind == "json":
        body = json.loads(data)
        return status, body["__type"], body.get("message", "")
    code = re.search(rb"<Code>(.*?)</Code>", data)
    message = re.search(rb"<Message>(.*?)</Message>", data, re.S)
    assert code is not None and b"<Type>Sender</Type>" in data, data
    return status, code.group(1).decode(), message.group(1).decode() if message else ""


def expect(kind: str, response: tuple[int, dict[str, str], bytes], what: str, message: str) -> None:
    """`what` is the failure family; each protocol words it its own way."""
    json_name, query_code, query_status = {
        "missing": ("MissingAuthenticationTokenException", "MissingAuthenticationToken", 403),
        "incomplete": ("IncompleteSignatureException", "IncompleteSignature", 400),
        "unknown": ("UnrecognizedClientException", "InvalidClientTokenId", 403),
        "signature": ("InvalidSignatureException", "SignatureDoesNotMatch", 403),
    }[what]
    got = error_of(kind, *response)
    if kind == "json":
        assert got == (400, f"com.amazon.coral.service#{json_name}", message)
        # SQS-style (query-compatible) JSON services also tell the legacy code in a header.
        assert response[1]["x-amzn-query-error"] == f"{query_code};Sender"
    else:
        assert got == (query_status, query_code, message)


KINDS = ["json", "query"]


def get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def presigned_count(proc: ServerProcess, expires: int) -> AWSRequest:
    """A presigned JSON call (CountItems takes no input, so the body stays empty)."""
    request = AWSRequest(
        "POST",
        proc.url + "/",
        data=b"",
        headers={"X-Amz-Target": f"{ECHO_TARGET}.CountItems", "Content-Type": JSON_TYPE},
    )
    SigV4QueryAuth(Credentials(KEY, SECRET), "echo", "us-east-1", expires=expires).add_auth(request)
    return request
