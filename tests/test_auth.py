"""SigV4 in strict mode: botocore signs, the real server verifies, and answers as AWS does.

JSON answers come from the test-only echo service (JSON 1.0, like DynamoDB and SQS); query answers
from STS GetCallerIdentity, which also shows the account an access key maps to. To tamper, a request
is signed with botocore and then changed before it is sent with http.client.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import http.client
import json
import re
import socket
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import botocore.auth
import botocore.session
import cbor2
import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from gondwana.server.messages import Request
from tests.plugins import echo as echo_plugin
from tests.plugins.echo import EchoJson11, write_models
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


# ---- fixtures and helpers -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_models(tmp_path_factory.mktemp("auth-models"))


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One strict server for the tests that leave its clock alone."""
    proc = ServerProcess(None, *STRICT).start()
    yield proc
    proc.stop()


def boto_client(models: Path, url: str, service: str, key: str = KEY, secret: str = SECRET) -> Any:
    core = botocore.session.get_session()
    core.get_component("data_loader").search_paths.insert(0, str(models))
    session = boto3.Session(
        botocore_session=core, aws_access_key_id=key, aws_secret_access_key=secret
    )
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


# ---- good signatures --------------------------------------------------------------------------------


def test_boto3_signed_calls_pass_and_the_key_names_the_account(
    strict: ServerProcess, models: Path
) -> None:
    echo = boto_client(models, strict.url, "echo")
    assert echo.echo(Name="abc", Count=2)["Count"] == 2
    identity = boto_client(models, strict.url, "sts").get_caller_identity()
    assert identity["Account"] == ACCOUNT
    assert identity["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/{KEY}"
    assert boto_client(models, strict.url, "echoq").echo(Name="xyz")["Name"] == "xyz"
    assert boto_client(models, strict.url, "echo11").echo(Name="xyz")["Name"] == "xyz"


@pytest.mark.parametrize("kind", KINDS)
def test_untouched_signed_request_passes(strict: ServerProcess, kind: str) -> None:
    status, _, data = send(strict, sign(strict, kind, headers={"X-Custom": "a  b"}))
    assert status == 200, data


@pytest.mark.parametrize("kind", KINDS)
def test_http_date_header_may_stand_in_for_x_amz_date(strict: ServerProcess, kind: str) -> None:
    request = sign(strict, kind, headers={"Date": "placeholder"})  # botocore then signs Date
    assert "X-Amz-Date" not in request.headers and "date" in request.headers["Authorization"]
    status, _, data = send(strict, request)
    assert status == 200, data
    earlier = email.utils.parsedate_to_datetime(request.headers["Date"]) - dt.timedelta(minutes=1)
    response = send(strict, request, Date=email.utils.format_datetime(earlier))
    expect(kind, response, "signature", MISMATCH)


def test_presigned_parameters_must_all_be_there(strict: ServerProcess) -> None:
    request = sign(strict, "json")
    request.url += "?X-Amz-Algorithm"
    expect(
        "json",
        send(strict, request, Authorization=None),
        "incomplete",
        "AWS query-string parameters must include 'X-Amz-Algorithm'. "
        "AWS query-string parameters must include 'X-Amz-Credential'. "
        "AWS query-string parameters must include 'X-Amz-Signature'. "
        "AWS query-string parameters must include 'X-Amz-SignedHeaders'. "
        "AWS query-string parameters must include 'X-Amz-Date'. "
        "Re-examine the query-string parameters.",
    )
    presigned = _presigned_count(strict, 60)
    presigned.url = presigned.url.replace("X-Amz-Expires=60", "X-Amz-Expires=soon")
    expect("json", send(strict, presigned), "incomplete", "X-Amz-Expires should be a number")


def test_cbor_requests_are_verified_and_answered_in_cbor(strict: ServerProcess) -> None:
    def cbor_request(secret: str) -> AWSRequest:
        headers = {"X-Amz-Target": "GondwanaEcho11_20261127.Echo", "Content-Type": CBOR_TYPE}
        body = cbor2.dumps({"Name": "abc"})
        request = AWSRequest("POST", strict.url + "/", data=body, headers=headers)
        SigV4Auth(Credentials(KEY, secret), "echo11", "us-east-1").add_auth(request)
        return request

    status, _, data = send(strict, cbor_request(SECRET))
    assert (status, cbor2.loads(data)["Name"]) == (200, "abc")
    status, headers, data = send(strict, cbor_request("wrong"))
    assert headers["content-type"] == CBOR_TYPE
    expected = {"__type": "com.amazon.coral.service#InvalidSignatureException", "message": MISMATCH}
    assert (status, cbor2.loads(data)) == (400, expected)


def test_garbage_signature_is_a_mismatch_not_a_crash(strict: ServerProcess) -> None:
    request = sign(strict, "query")
    header = re.sub(
        r"Signature=[0-9a-f]+", "Signature=\u00e9t\u00e9", request.headers["Authorization"]
    )
    expect("query", send(strict, request, Authorization=header.encode()), "signature", MISMATCH)


def test_non_ascii_header_values_are_signed_as_utf8(strict: ServerProcess) -> None:
    request = sign(strict, "query", headers={"X-Custom": "  héllo   wörld "})
    status, _, data = send(strict, request, X_Custom="  héllo   wörld ".encode())
    assert status == 200, data
    expect("query", send(strict, request, X_Custom="hello world"), "signature", MISMATCH)


def test_signature_covers_path_and_query_string(strict: ServerProcess) -> None:
    """Non-S3 paths are signed normalised (dot segments and duplicate slashes gone) and encoded
    twice; query names and values are signed sorted."""
    request = AWSRequest(
        "POST",
        strict.url + "/a/./b//c/../d%2Fe?b=2&a=~%20x&a=1",
        data=STS_BODY,
        headers={"Content-Type": FORM_TYPE},
    )
    SigV4Auth(Credentials(KEY, SECRET), "sts", "us-east-1").add_auth(request)
    status, _, data = send(strict, request)
    assert status == 200, data
    request.url = strict.url + "/a/b/d%2Fe?b=2&a=~%20x&a=1"  # the same path, normalised
    assert send(strict, request)[0] == 200
    request.url = strict.url + "/a/b/d/e?b=2&a=~%20x&a=1"  # an encoded slash is not a slash
    expect("query", send(strict, request), "signature", MISMATCH)
    request.url = strict.url + "/a/b/d%2Fe?b=2&a=~%20x&a=2"
    expect("query", send(strict, request), "signature", MISMATCH)


def test_javascript_sdk_signatures_pass(strict: ServerProcess) -> None:
    """A second signer implementation: the AWS SDK for JavaScript v3 (when this tree has it)."""
    node = pytest.importorskip(
        "tests.support.node", reason="this tree has no JavaScript SDK harness"
    )
    script = """
import { STSClient, GetCallerIdentityCommand } from "@aws-sdk/client-sts";
const client = new STSClient({ endpoint: process.env.ENDPOINT, region: process.env.REGION });
try {
  const identity = await client.send(new GetCallerIdentityCommand({}));
  console.log(JSON.stringify({ account: identity.Account }));
} catch (e) {
  console.log(JSON.stringify({ error: e.name, status: e.$metadata.httpStatusCode }));
}
"""
    good = node.run_js(script, strict.url, AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=SECRET)
    assert good == {"account": ACCOUNT}
    bad = node.run_js(
        script, strict.url, "eu-west-3", AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY="x"
    )
    assert bad == {"error": "SignatureDoesNotMatch", "status": 403}


@pytest.mark.skipif(
    not hasattr(echo_plugin, "EchoRestJson"), reason="this core has no REST protocols"
)
@pytest.mark.parametrize("service", ["echorest", "echoxml"])
def test_rest_calls_with_awkward_paths_pass(
    strict: ServerProcess, models: Path, service: str
) -> None:
    """Labels in the path (greedy ones too), query strings and header maps, all signed."""
    client = boto_client(models, strict.url, service)
    result = client.echo(Name="abc", Count=2, Tags=["a b", "c/d~e"], Meta={"k": "v  w"}, Flag=True)
    assert (result["Name"], result["Tags"], result["Meta"]) == (
        "abc",
        ["a b", "c/d~e"],
        {"k": "v  w"},
    )
    for key in ("dir/sub file+x:y", "a//b/./c", "ünï", "p%2Fq"):
        client.put_raw(Key=key, Body=b"hello")
        assert client.get_raw(Key=key)["Body"].read() == b"hello"
    xml = service == "echoxml"
    with pytest.raises(ClientError) as caught:
        boto_client(models, strict.url, service, secret="wrong").list_things()
    error = caught.value.response["Error"]
    assert error["Code"] == ("SignatureDoesNotMatch" if xml else "InvalidSignatureException")
    assert error["Message"] == MISMATCH
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    conn = http.client.HTTPConnection("127.0.0.1", strict.port, timeout=10)
    try:
        conn.request(
            "GET", "/v1/things?list", headers={"Host": f"{service}.localhost:{strict.port}"}
        )
        response = conn.getresponse()
        status, headers, data = response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()
    if xml:
        assert error_of("query", status, headers, data) == (
            403,
            "MissingAuthenticationToken",
            "Request is missing Authentication Token",
        )
    else:
        assert (status, headers["x-amzn-ErrorType"], json.loads(data)) == (
            403,
            "MissingAuthenticationTokenException",
            {"message": "Missing Authentication Token"},
        )


# ---- tampering and wrong credentials -----------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_tampered_body_fails(strict: ServerProcess, kind: str) -> None:
    request = sign(strict, kind)
    tampered = b'{"Name": "abd"}' if kind == "json" else STS_BODY + b"&Extra=1"
    expect(kind, send(strict, request, body=tampered), "signature", MISMATCH)


@pytest.mark.parametrize("kind", KINDS)
def test_tampered_signed_header_fails(strict: ServerProcess, kind: str) -> None:
    request = sign(strict, kind, headers={"X-Custom": "original"})
    expect(kind, send(strict, request, X_Custom="changed"), "signature", MISMATCH)


@pytest.mark.parametrize("kind", KINDS)
def test_unsigned_extra_header_is_ignored(strict: ServerProcess, kind: str) -> None:
    status, _, data = send(strict, sign(strict, kind), X_Not_Signed="anything")
    assert status == 200, data


@pytest.mark.parametrize("kind", KINDS)
def test_wrong_secret_fails(strict: ServerProcess, kind: str) -> None:
    expect(kind, send(strict, sign(strict, kind, secret="not-the-secret")), "signature", MISMATCH)


@pytest.mark.parametrize("kind", KINDS)
def test_unknown_access_key_fails(strict: ServerProcess, kind: str) -> None:
    expect(kind, send(strict, sign(strict, kind, key="AKIDUNKNOWN")), "unknown", BAD_TOKEN)
    # A 12-digit key names an account only when auth is off; strict mode wants it configured.
    expect(kind, send(strict, sign(strict, kind, key="444455556666")), "unknown", BAD_TOKEN)


def test_boto3_sees_aws_error_codes(strict: ServerProcess, models: Path) -> None:
    with pytest.raises(ClientError) as caught:
        boto_client(models, strict.url, "sts", key="AKIDUNKNOWN").get_caller_identity()
    assert caught.value.response["Error"]["Code"] == "InvalidClientTokenId"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(ClientError) as caught:
        boto_client(models, strict.url, "echo", secret="wrong").echo(Name="abc")
    # Query-compatible JSON services report the legacy code through x-amzn-query-error.
    assert caught.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert caught.value.response["Error"]["Message"] == MISMATCH
    with pytest.raises(ClientError) as caught:
        boto_client(models, strict.url, "echo11", key="AKIDUNKNOWN").echo(Name="abc")
    # A plain JSON service: the code comes from __type (unless the model is query-compatible).
    plain = "awsQueryCompatible" not in EchoJson11.model["metadata"]
    code = "UnrecognizedClientException" if plain else "InvalidClientTokenId"
    assert caught.value.response["Error"]["Code"] == code
    assert caught.value.response["Error"]["Message"] == BAD_TOKEN
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


# ---- missing and malformed signatures ----------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_missing_authorization_fails(strict: ServerProcess, kind: str) -> None:
    response = send(strict, sign(strict, kind), Authorization=None)
    expect(kind, response, "missing", "Request is missing Authentication Token")
    # Presigned parameters without X-Amz-Algorithm are no signature either.
    request = sign(strict, kind)
    request.url += "?X-Amz-Credential=a&X-Amz-Signature=b&X-Amz-SignedHeaders=host&X-Amz-Date=d"
    response = send(strict, request, Authorization=None)
    expect(kind, response, "missing", "Request is missing Authentication Token")


@pytest.mark.parametrize("kind", KINDS)
def test_any_authorization_header_is_read_as_sigv4(strict: ServerProcess, kind: str) -> None:
    request = sign(strict, kind)
    for value in ("AWS4", "eyJhbGciOiJIUzI1NiJ9.e30.sig", "AWS AKIDEXAMPLE:c2lnbmF0dXJlcw=="):
        expect(
            kind,
            send(strict, request, Authorization=value),
            "incomplete",
            "Authorization header requires 'Credential' parameter. "
            "Authorization header requires 'Signature' parameter. "
            "Authorization header requires 'SignedHeaders' parameter. "
            f"Authorization={value}",
        )
    expect(
        kind,
        send(strict, request, Authorization="Bearer abc"),
        "incomplete",
        "'abc' not a valid key=value pair (missing equal-sign) in Authorization header: 'Bearer abc'.",
    )
    # A stray space in the access key splits the credential.
    spaced = request.headers["Authorization"].replace(f"Credential={KEY}/", f"Credential={KEY} /")
    token = re.search(rf"{KEY} (\S+),", spaced)
    assert token is not None
    expect(
        kind,
        send(strict, request, Authorization=spaced),
        "incomplete",
        f"'{token.group(1)}' not a valid key=value pair (missing equal-sign) "
        f"in Authorization header: '{spaced}'.",
    )


def test_dynamodb_reads_a_header_without_aws4_prefix_as_no_token(strict: ServerProcess) -> None:
    """DynamoDB's front end (as dynalite records it): only "AWS4-..." is a signature attempt."""
    headers = {"X-Amz-Target": "AuthProbe_20261127.Echo", "Content-Type": JSON_TYPE}
    request = AWSRequest("POST", strict.url + "/", data=b'{"Name": "abc"}', headers=headers)
    SigV4Auth(Credentials(KEY, SECRET), "dynamodb", "us-east-1").add_auth(request)
    assert send(strict, request)[0] == 200
    for value in ("AWS4", "Bearer abc"):
        status, _, data = send(strict, request, Authorization=value)
        assert (status, json.loads(data)) == (
            400,
            {
                "__type": "com.amazon.coral.service#MissingAuthenticationTokenException",
                "message": "Request is missing Authentication Token",
            },
        )
    status, _, data = send(strict, request, Authorization="AWS4-", X_Amz_Date=None)
    assert json.loads(data)["__type"] == "com.amazon.coral.service#IncompleteSignatureException"


def test_kinesis_answers_bare_type_names(strict: ServerProcess) -> None:
    """Kinesis's front end (as kinesalite records it): bare __type names, its own wording."""
    headers = {
        "X-Amz-Target": "AuthProbeK_20261127.Echo",
        "Content-Type": "application/x-amz-json-1.1",
    }
    request = AWSRequest("POST", strict.url + "/", data=b'{"Name": "abc"}', headers=headers)
    SigV4Auth(Credentials(KEY, SECRET), "kinesis", "us-east-1").add_auth(request)
    assert send(strict, request)[0] == 200

    def answer(**changed: str | None) -> tuple[int, Any]:
        status, _, data = send(strict, request, **changed)
        return status, json.loads(data)

    assert answer(Authorization=None) == (
        400,
        {
            "__type": "MissingAuthenticationTokenException",
            "message": "Missing Authentication Token",
        },
    )
    assert answer(Authorization="X", X_Amz_Date=None) == (
        400,
        {
            "__type": "IncompleteSignatureException",
            "message": "Authorization header requires 'Credential' parameter. "
            "Authorization header requires 'Signature' parameter. "
            "Authorization header requires 'SignedHeaders' parameter. "
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
            "Authorization=X",
        },
    )
    assert answer(X_Amz_Target="AuthProbeK_20261127.Get") == (
        400,
        {"__type": "InvalidSignatureException", "message": MISMATCH},
    )


@pytest.mark.parametrize("kind", KINDS)
def test_incomplete_authorization_header(strict: ServerProcess, kind: str) -> None:
    request = sign(strict, kind)
    expect(
        kind,
        send(strict, request, Authorization="AWS4-", X_Amz_Date=None),
        "incomplete",
        "Authorization header requires 'Credential' parameter. "
        "Authorization header requires 'Signature' parameter. "
        "Authorization header requires 'SignedHeaders' parameter. "
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
        "Authorization=AWS4-",
    )
    header = request.headers["Authorization"]
    without_signature = header.split(", Signature=")[0]
    expect(
        kind,
        send(strict, request, Authorization=without_signature),
        "incomplete",
        f"Authorization header requires 'Signature' parameter. Authorization={without_signature}",
    )
    expect(
        kind,
        send(strict, request, X_Amz_Date="201"),
        "incomplete",
        "Date must be in ISO-8601 'basic format'. Got '201'. See http://en.wikipedia.org/wiki/ISO_8601",
    )
    expect(
        kind,
        send(strict, request, Authorization=header.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA25")),
        "incomplete",
        "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA25' (only AWS4-HMAC-SHA256 for now). ",
    )
    short = header.replace("/aws4_request", "")
    credential = re.search(r"Credential=([^,]+)", short)
    assert credential is not None
    expect(
        kind,
        send(strict, request, Authorization=short),
        "incomplete",
        "Credential must have exactly 5 slash-delimited elements, "
        f"e.g. keyid/date/region/service/term, got '{credential.group(1)}'",
    )


@pytest.mark.parametrize("kind", KINDS)
def test_host_must_be_signed(strict: ServerProcess, kind: str) -> None:
    request = sign(strict, kind)
    header = re.sub(
        r"SignedHeaders=[^,]+",
        "SignedHeaders=content-type;x-amz-date",
        request.headers["Authorization"],
    )
    response = send(strict, request, Authorization=header)
    expect(kind, response, "signature", "'Host' must be a 'SignedHeader' in the AWS Authorization.")


@pytest.mark.parametrize("kind", KINDS)
def test_credential_scope_is_checked(strict: ServerProcess, kind: str) -> None:
    request = sign(strict, kind)
    header = request.headers["Authorization"]
    amz_date = request.headers["X-Amz-Date"]
    service = "echo" if kind == "json" else "sts"
    bad = header.replace(f"/us-east-1/{service}/aws4_request", "/us-east-1/other/aws4_term")
    bad = bad.replace(f"/{amz_date[:8]}/", "/20130609/")
    expect(
        kind,
        send(strict, request, Authorization=bad),
        "signature",
        f"Credential should be scoped to correct service: '{service}'. "
        "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws4_term'. "
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
        f"'20130609' != '{amz_date[:8]}', from '{amz_date}'.",
    )


def test_scope_region_must_be_valid_and_match_a_regional_host(strict: ServerProcess) -> None:
    def signed_for(region: str) -> AWSRequest:
        request = AWSRequest(
            "POST", strict.url + "/", data=STS_BODY, headers={"Content-Type": FORM_TYPE}
        )
        SigV4Auth(Credentials(KEY, SECRET), "sts", region).add_auth(request)
        return request

    invalid = "Credential should be scoped to a valid region, not '{}'."
    response = send(strict, signed_for("us-east-1"), Host=f"sts.eu-west-1.localhost:{strict.port}")
    expect("query", response, "signature", invalid.format("us-east-1"))
    expect("query", send(strict, signed_for("moon")), "signature", invalid.format("moon"))
    # Any well-formed region is served (Gondwana has them all).
    assert send(strict, signed_for("ap-southeast-7"))[0] == 200


@pytest.mark.skipif(
    "listener_region" not in Request.__dataclass_fields__,
    reason="this core has no per-region listeners",
)
def test_scope_region_must_match_a_regions_own_listener(
    fresh_server: Callable[..., ServerProcess],
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    fresh_server(*STRICT, "--region-ports", f"eu-west-1={port}", in_memory=True)
    regional = ServerProcess(None)
    regional.url, regional.port = f"http://127.0.0.1:{port}", port

    def signed_for(region: str) -> AWSRequest:
        request = AWSRequest(
            "POST", regional.url + "/", data=STS_BODY, headers={"Content-Type": FORM_TYPE}
        )
        SigV4Auth(Credentials(KEY, SECRET), "sts", region).add_auth(request)
        return request

    assert send(regional, signed_for("eu-west-1"))[0] == 200
    response = send(regional, signed_for("us-east-1"))
    expect(
        "query",
        response,
        "signature",
        "Credential should be scoped to a valid region, not 'us-east-1'.",
    )


def test_header_and_presigned_query_together_fail(strict: ServerProcess) -> None:
    request = sign(strict, "json")
    request.url += "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    expect(
        "json",
        send(strict, request),
        "signature",
        "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.",
    )


# ---- time ------------------------------------------------------------------------------------------


def _stamp(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y%m%dT%H%M%SZ")


@pytest.mark.parametrize("kind", KINDS)
def test_signature_older_than_15_minutes_expires(
    fresh_server: Callable[..., ServerProcess], kind: str
) -> None:
    proc = fresh_server(*STRICT, in_memory=True)
    request = sign(proc, kind)
    assert send(proc, request)[0] == 200
    proc.advance_clock(20 * 60)
    response = send(proc, request)
    amz_date = request.headers["X-Amz-Date"]
    _, _, message = error_of(kind, *response)
    pattern = rf"Signature expired: {amz_date} is now earlier than {STAMP} \({STAMP} - 15 min\.\)"
    found = re.fullmatch(pattern, message)
    assert found is not None, message
    limit, now = _stamp(found.group(1)), _stamp(found.group(2))
    assert now - limit == dt.timedelta(minutes=15)
    assert dt.timedelta(minutes=20) <= now - _stamp(amz_date) < dt.timedelta(minutes=21)
    expect(kind, response, "signature", message)


@pytest.mark.parametrize("kind", KINDS)
def test_signature_from_the_future_is_not_yet_current(
    strict: ServerProcess, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ahead = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(minutes=20)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: ahead)
    request = sign(strict, kind)
    response = send(strict, request)
    amz_date = request.headers["X-Amz-Date"]
    _, _, message = error_of(kind, *response)
    pattern = rf"Signature not yet current: {amz_date} is still later than {STAMP} \({STAMP} \+ 15 min\.\)"
    found = re.fullmatch(pattern, message)
    assert found is not None, message
    assert _stamp(found.group(1)) - _stamp(found.group(2)) == dt.timedelta(minutes=15)
    expect(kind, response, "signature", message)


def test_signature_within_the_skew_passes(
    strict: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    ahead = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(minutes=10)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: ahead)
    assert send(strict, sign(strict, "query"))[0] == 200


# ---- presigned URLs ---------------------------------------------------------------------------------


def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def _presigned_count(proc: ServerProcess, expires: int) -> AWSRequest:
    """A presigned JSON call (CountItems takes no input, so the body stays empty)."""
    request = AWSRequest(
        "POST",
        proc.url + "/",
        data=b"",
        headers={"X-Amz-Target": f"{ECHO_TARGET}.CountItems", "Content-Type": JSON_TYPE},
    )
    SigV4QueryAuth(Credentials(KEY, SECRET), "echo", "us-east-1", expires=expires).add_auth(request)
    return request


def test_presigned_urls_pass_until_they_expire(
    fresh_server: Callable[..., ServerProcess], models: Path
) -> None:
    proc = fresh_server(*STRICT, in_memory=True)
    sts = boto_client(models, proc.url, "sts")
    url = sts.generate_presigned_url("get_caller_identity", ExpiresIn=60, HttpMethod="GET")
    status, _, data = _get(url)
    assert status == 200, data
    assert f"<Account>{ACCOUNT}</Account>".encode() in data
    presigned_json = _presigned_count(proc, 60)
    status, _, data = send(proc, presigned_json)
    assert (status, json.loads(data)) == (200, {"Count": 0})

    tampered = url.replace("Action=GetCallerIdentity", "Action=GetCallerIdentity&Extra=1")
    expect("query", _get(tampered), "signature", MISMATCH)
    expect("query", _get(url.replace(KEY, "AKIDUNKNOWN")), "unknown", BAD_TOKEN)
    no_signature = re.sub(r"&X-Amz-Signature=[0-9a-f]+", "", url)
    expect(
        "query",
        _get(no_signature),
        "incomplete",
        "AWS query-string parameters must include 'X-Amz-Signature'. Re-examine the query-string parameters.",
    )

    proc.advance_clock(61)
    expect("query", _get(url), "signature", "Request has expired")
    expect("json", send(proc, presigned_json), "signature", "Request has expired")
    # A longer-lived URL signed at the same moment is still good.
    longer = sts.generate_presigned_url("get_caller_identity", ExpiresIn=3600, HttpMethod="GET")
    assert _get(longer)[0] == 200


# ---- auth off (the default) -----------------------------------------------------------------------


def test_auth_off_accepts_anything_and_reads_region_and_account_from_the_scope(
    fresh_server: Callable[..., ServerProcess],
) -> None:
    proc = fresh_server("--plugin", "tests.plugins.echo", in_memory=True)

    def call(operation: str, body: dict[str, Any], authorization: str | None) -> tuple[int, Any]:
        headers = {"X-Amz-Target": f"{ECHO_TARGET}.{operation}", "Content-Type": JSON_TYPE}
        if authorization is not None:
            headers["Authorization"] = authorization
        conn = http.client.HTTPConnection("127.0.0.1", proc.port, timeout=10)
        try:
            conn.request("POST", "/", body=json.dumps(body).encode(), headers=headers)
            response = conn.getresponse()
            return response.status, json.loads(response.read())
        finally:
            conn.close()

    def scope(account: str, region: str, service: str = "echo") -> str:
        return (
            f"AWS4-HMAC-SHA256 Credential={account}/20200101/{region}/{service}/aws4_request, "
            "SignedHeaders=host, Signature=0000"
        )

    assert call("Put", {"Key": "k", "Value": "v"}, scope("444455556666", "eu-west-2"))[0] == 200
    assert call("Get", {"Key": "k"}, scope("444455556666", "eu-west-2")) == (200, {"Value": "v"})
    assert call("Get", {"Key": "k"}, scope("444455556666", "us-east-1"))[0] == 404  # another region
    assert (
        call("Get", {"Key": "k"}, scope("999988887777", "eu-west-2"))[0] == 404
    )  # another account
    assert call("Get", {"Key": "k"}, None)[0] == 404  # default account and region
    assert call("CountItems", {}, "garbage")[0] == 200

    sts = proc.url + "/?Action=GetCallerIdentity&Version=2011-06-15"
    status, _, data = _get(sts)
    assert status == 200 and b"<Account>000000000000</Account>" in data
    request = urllib.request.Request(
        sts, headers={"Authorization": scope("444455556666", "eu-west-2", "sts")}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert b"<Account>444455556666</Account>" in response.read()
