"""Missing and malformed signatures, bad scopes, and the front ends that word them differently."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Callable
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from gondwana.server.messages import Request
from tests.auth.support import (
    FORM_TYPE,
    JSON_TYPE,
    KEY,
    KINDS,
    MISMATCH,
    SECRET,
    STRICT,
    STS_BODY,
    expect,
    send,
    sign,
)
from tests.support.server import ServerProcess

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
        request = AWSRequest("POST", strict.url + "/", data=STS_BODY, headers={"Content-Type": FORM_TYPE})
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
        request = AWSRequest("POST", regional.url + "/", data=STS_BODY, headers={"Content-Type": FORM_TYPE})
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
