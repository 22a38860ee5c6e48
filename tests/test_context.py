"""Every request resolves to an (account, region); resources of different ones never meet."""

from __future__ import annotations

import http.client
import json
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.support.server import ServerProcess

CONFIG = Config(retries={"total_max_attempts": 1})


def echo(session: boto3.Session, server: ServerProcess, region: str, key: str = "test") -> Any:
    return session.client(
        "echo",
        endpoint_url=server.url,
        region_name=region,
        aws_access_key_id=key,
        aws_secret_access_key="s",
        config=CONFIG,
    )


def test_regions_are_isolated(server: ServerProcess, echo_session: boto3.Session) -> None:
    east, west = echo(echo_session, server, "us-east-1"), echo(echo_session, server, "eu-west-1")
    east.put(Key="region-isolation", Value="east")
    west.put(Key="region-isolation", Value="west")
    assert east.get(Key="region-isolation")["Value"] == "east"
    assert west.get(Key="region-isolation")["Value"] == "west"
    with pytest.raises(ClientError) as caught:
        echo(echo_session, server, "ap-southeast-2").get(Key="region-isolation")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_accounts_are_isolated(server: ServerProcess, echo_session: boto3.Session) -> None:
    mine, theirs = (
        echo(echo_session, server, "us-east-1", "111111111111"),
        echo(echo_session, server, "us-east-1", "222222222222"),
    )
    mine.put(Key="account-isolation", Value="mine")
    with pytest.raises(ClientError):
        theirs.get(Key="account-isolation")
    assert mine.get(Key="account-isolation")["Value"] == "mine"


def test_account_from_access_key(client: Any) -> None:
    assert client("sts", aws_access_key_id="123456789012").get_caller_identity()["Account"] == "123456789012"
    assert client("sts", aws_access_key_id="AKIAOTHER").get_caller_identity()["Account"] == "000000000000"


def test_configured_credentials_map_keys_to_accounts(fresh_server: Any, client: Any) -> None:
    from tests.conftest import make_client

    proc = fresh_server("--credentials", "AKIDALICE:secret:444455556666", in_memory=True)
    sts = make_client(proc.url, "sts", aws_access_key_id="AKIDALICE", aws_secret_access_key="secret")
    assert sts.get_caller_identity()["Account"] == "444455556666"


def _raw_put(server: ServerProcess, headers: dict[str, str], key: str, value: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    body = json.dumps({"Key": key, "Value": value})
    conn.request(
        "POST",
        "/",
        body=body,
        headers={
            "X-Amz-Target": "GondwanaEcho_20261127.Put",
            "Content-Type": "application/x-amz-json-1.0",
            **headers,
        },
    )
    status = conn.getresponse().status
    conn.close()
    return status


def test_region_from_host_name_when_unsigned(server: ServerProcess, echo_session: boto3.Session) -> None:
    assert (
        _raw_put(server, {"Host": f"echo.sa-east-1.localhost:{server.port}"}, "host-region", "from-host")
        == 200
    )
    assert echo(echo_session, server, "sa-east-1").get(Key="host-region")["Value"] == "from-host"


def test_default_region_when_nothing_says(server: ServerProcess, echo_session: boto3.Session) -> None:
    assert _raw_put(server, {"Host": "localhost"}, "default-region", "default") == 200
    assert echo(echo_session, server, "us-east-1").get(Key="default-region")["Value"] == "default"


def test_credential_scope_wins_over_host(server: ServerProcess, echo_session: boto3.Session) -> None:
    auth = "AWS4-HMAC-SHA256 Credential=test/20261127/ca-central-1/echo/aws4_request, SignedHeaders=host, Signature=abc"
    assert (
        _raw_put(server, {"Host": "echo.sa-east-1.localhost", "Authorization": auth}, "scope-region", "scope")
        == 200
    )
    assert echo(echo_session, server, "ca-central-1").get(Key="scope-region")["Value"] == "scope"


def test_presigned_query_credential_sets_region(server: ServerProcess, echo_session: boto3.Session) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    query = (
        "Action=Put&Key=presigned-region&Value=p&X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=test%2F20261127%2Fap-south-1%2Fecho%2Faws4_request&X-Amz-SignedHeaders=host&X-Amz-Signature=ab"
    )
    conn.request("GET", f"/?{query}", headers={"Host": "localhost"})
    assert conn.getresponse().status == 200
    assert echo(echo_session, server, "ap-south-1").get(Key="presigned-region")["Value"] == "p"
