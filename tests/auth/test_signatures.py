"""Good signatures pass (boto3 and the JS SDK; JSON, CBOR, query and REST); tampered ones, wrong
secrets and unknown keys get AWS's answers."""

from __future__ import annotations

import datetime as dt
import email.utils
import http.client
import json
import re
from pathlib import Path

import cbor2
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.auth.support import (
    ACCOUNT,
    BAD_TOKEN,
    CBOR_TYPE,
    FORM_TYPE,
    KEY,
    KINDS,
    MISMATCH,
    SECRET,
    STS_BODY,
    boto_client,
    error_of,
    expect,
    presigned_count,
    send,
    sign,
)
from tests.plugins import echo as echo_plugin
from tests.plugins.echo import EchoJson11
from tests.support.server import ServerProcess

# ---- good signatures --------------------------------------------------------------------------------


def test_boto3_signed_calls_pass_and_the_key_names_the_account(strict: ServerProcess, models: Path) -> None:
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
    presigned = presigned_count(strict, 60)
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
    expected = {"__type": "InvalidSignatureException", "message": MISMATCH}  # echo11 names errors bare
    assert (status, cbor2.loads(data)) == (400, expected)


def test_garbage_signature_is_a_mismatch_not_a_crash(strict: ServerProcess) -> None:
    request = sign(strict, "query")
    header = re.sub(r"Signature=[0-9a-f]+", "Signature=\u00e9t\u00e9", request.headers["Authorization"])
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
    node = pytest.importorskip("tests.support.node", reason="this tree has no JavaScript SDK harness")
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
    bad = node.run_js(script, strict.url, "eu-west-3", AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY="x")
    assert bad == {"error": "SignatureDoesNotMatch", "status": 403}


@pytest.mark.skipif(not hasattr(echo_plugin, "EchoRestJson"), reason="this core has no REST protocols")
@pytest.mark.parametrize("service", ["echorest", "echoxml"])
def test_rest_calls_with_awkward_paths_pass(strict: ServerProcess, models: Path, service: str) -> None:
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
        conn.request("GET", "/v1/things?list", headers={"Host": f"{service}.localhost:{strict.port}"})
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
