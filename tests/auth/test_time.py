"""Clock skew, presigned URLs and their expiry, and auth off (the default)."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import re
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import botocore.auth
import pytest

from tests.auth.support import (
    ACCOUNT,
    BAD_TOKEN,
    ECHO_TARGET,
    JSON_TYPE,
    KEY,
    KINDS,
    MISMATCH,
    STAMP,
    STRICT,
    boto_client,
    error_of,
    expect,
    get,
    presigned_count,
    send,
    sign,
)
from tests.support.server import ServerProcess

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


def test_signature_within_the_skew_passes(strict: ServerProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    ahead = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(minutes=10)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: ahead)
    assert send(strict, sign(strict, "query"))[0] == 200


# ---- presigned URLs ---------------------------------------------------------------------------------


def test_presigned_urls_pass_until_they_expire(
    fresh_server: Callable[..., ServerProcess], models: Path
) -> None:
    proc = fresh_server(*STRICT, in_memory=True)
    sts = boto_client(models, proc.url, "sts")
    url = sts.generate_presigned_url("get_caller_identity", ExpiresIn=60, HttpMethod="GET")
    status, _, data = get(url)
    assert status == 200, data
    assert f"<Account>{ACCOUNT}</Account>".encode() in data
    presigned_json = presigned_count(proc, 60)
    status, _, data = send(proc, presigned_json)
    assert (status, json.loads(data)) == (200, {"Count": 0})

    tampered = url.replace("Action=GetCallerIdentity", "Action=GetCallerIdentity&Extra=1")
    expect("query", get(tampered), "signature", MISMATCH)
    expect("query", get(url.replace(KEY, "AKIDUNKNOWN")), "unknown", BAD_TOKEN)
    no_signature = re.sub(r"&X-Amz-Signature=[0-9a-f]+", "", url)
    expect(
        "query",
        get(no_signature),
        "incomplete",
        "AWS query-string parameters must include 'X-Amz-Signature'. Re-examine the query-string parameters.",
    )

    proc.advance_clock(61)
    expect("query", get(url), "signature", "Request has expired")
    expect("json", send(proc, presigned_json), "signature", "Request has expired")
    # A longer-lived URL signed at the same moment is still good.
    longer = sts.generate_presigned_url("get_caller_identity", ExpiresIn=3600, HttpMethod="GET")
    assert get(longer)[0] == 200


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
    assert call("Get", {"Key": "k"}, scope("999988887777", "eu-west-2"))[0] == 404  # another account
    assert call("Get", {"Key": "k"}, None)[0] == 404  # default account and region
    assert call("CountItems", {}, "garbage")[0] == 200

    sts = proc.url + "/?Action=GetCallerIdentity&Version=2011-06-15"
    status, _, data = get(sts)
    assert status == 200 and b"<Account>000000000000</Account>" in data
    request = urllib.request.Request(
        sts, headers={"Authorization": scope("444455556666", "eu-west-2", "sts")}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert b"<Account>444455556666</Account>" in response.read()
