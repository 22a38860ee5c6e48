"""Fault injection: regions down (error, hang, refuse), throttling, partitions and lag, via the
control API and the `gondwana fault` command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from tests.support.server import ROOT, ServerProcess, free_port

NO_RETRY = Config(retries={"total_max_attempts": 1}, read_timeout=3, connect_timeout=2)


def fault_cli(proc: ServerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gondwana", "fault", "--endpoint", proc.url, *args],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )


@pytest.fixture
def world(fresh_server: Callable[..., ServerProcess]) -> ServerProcess:
    return fresh_server("--plugin", "tests.plugins.echo", in_memory=True)


def echo(session: boto3.Session, url: str, region: str) -> Any:
    return session.client("echo", endpoint_url=url, region_name=region, config=NO_RETRY)


def test_region_down_answers_503_only_in_that_region(
    world: ServerProcess, echo_session: boto3.Session
) -> None:
    east, west = echo(echo_session, world.url, "us-east-1"), echo(echo_session, world.url, "eu-west-1")
    out = fault_cli(world, "down", "us-east-1")
    assert out.returncode == 0, out.stderr
    assert "region-down:us-east-1  mode=error" in out.stdout
    with pytest.raises(ClientError) as caught:
        east.put(Key="k", Value="v")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert caught.value.response["Error"]["Code"] == "ServiceUnavailable"
    west.put(Key="k", Value="v")  # other regions unaffected
    health = world.call("GET", "/_gondwana/health")
    assert [f["id"] for f in health["faults"]] == ["region-down:us-east-1"]
    assert fault_cli(world, "up", "us-east-1").stdout.strip() == "no faults: a healthy world"
    east.put(Key="k", Value="v")
    assert any("fault injected: region us-east-1 down (error)" in line for line in world.output)
    assert any("fault cleared: region us-east-1 down (error)" in line for line in world.output)


def test_region_down_hang_until_client_times_out_then_recovers(
    world: ServerProcess, echo_session: boto3.Session
) -> None:
    east = echo(echo_session, world.url, "us-east-1")
    fault_cli(world, "down", "us-east-1", "--mode", "hang")
    started = time.monotonic()
    with pytest.raises(ReadTimeoutError):
        east.put(Key="k", Value="v")
    assert time.monotonic() - started >= 2.5
    # A hung request that is still waiting completes once the region comes back.
    result: dict[str, Any] = {}
    waiter = threading.Thread(
        target=lambda: result.update(echo(echo_session, world.url, "us-east-1").count_items())
    )
    waiter.start()
    time.sleep(0.5)
    assert not result
    fault_cli(world, "clear")
    waiter.join(5)
    assert "Count" in result


def test_refuse_mode_on_a_region_port_refuses_connections(
    fresh_server: Callable[..., ServerProcess], echo_session: boto3.Session
) -> None:
    east_port, west_port = free_port(), free_port()
    proc = fresh_server(
        "--plugin",
        "tests.plugins.echo",
        "--region-ports",
        f"us-east-1={east_port},eu-west-1={west_port}",
        in_memory=True,
    )
    east = echo(echo_session, f"http://127.0.0.1:{east_port}", "us-east-1")
    west = echo(echo_session, f"http://127.0.0.1:{west_port}", "eu-west-1")
    east.put(Key="port", Value="east")
    # The region's own port decides the region.
    assert echo(echo_session, f"http://127.0.0.1:{east_port}", "eu-west-1").get(Key="port")["Value"] == "east"
    fault_cli(proc, "down", "us-east-1", "--mode", "refuse")
    with pytest.raises(EndpointConnectionError):
        east.get(Key="port")
    west.put(Key="port", Value="west")
    fault_cli(proc, "up", "us-east-1")
    assert east.get(Key="port")["Value"] == "east"


def test_refuse_mode_on_the_shared_port_resets_connections(
    world: ServerProcess, echo_session: boto3.Session
) -> None:
    fault_cli(world, "down", "ap-south-1", "--mode", "refuse")
    with pytest.raises(Exception) as caught:
        echo(echo_session, world.url, "ap-south-1").count_items()
    assert not isinstance(caught.value, ClientError)  # no HTTP answer at all


def test_throttling_rejects_the_given_fraction(world: ServerProcess, echo_session: boto3.Session) -> None:
    fault_cli(world, "throttle", "us-east-1", "0.5")
    east = echo(echo_session, world.url, "us-east-1")
    outcomes = []
    for _ in range(200):
        try:
            east.count_items()
            outcomes.append("ok")
        except ClientError as exc:
            assert exc.response["Error"]["Code"] in ("ThrottlingException", "Throttling")  # JSON, legacy
            assert exc.response["Error"]["Message"] == "Rate exceeded"
            outcomes.append("throttled")
    assert 50 < outcomes.count("throttled") < 150
    fault_cli(world, "throttle", "us-east-1", "0")
    east.count_items()


def test_partition_and_lag_are_listed_and_cleared(world: ServerProcess) -> None:
    fault_cli(world, "partition", "us-east-1", "eu-west-1")
    out = fault_cli(world, "lag", "us-east-1", "ap-southeast-2", "750", "--both")
    assert out.stdout.splitlines() == [
        "partition:eu-west-1|us-east-1",
        "lag:us-east-1>ap-southeast-2  ms=750",
        "lag:ap-southeast-2>us-east-1  ms=750",
    ]
    assert fault_cli(world, "heal", "eu-west-1", "us-east-1").returncode == 0
    assert len(world.call("GET", "/_gondwana/faults")["faults"]) == 2
    assert fault_cli(world, "clear").stdout.strip() == "no faults: a healthy world"


@pytest.mark.parametrize(
    "spec",
    [
        {"type": "region-down", "region": "us-east-1", "mode": "sideways"},
        {"type": "partition", "regions": ["us-east-1", "us-east-1"]},
        {"type": "lag", "from": "a", "to": "b", "ms": -1},
        {"type": "throttle", "region": "us-east-1", "fraction": 2},
        {"type": "meteor"},
        [],
    ],
)
def test_nonsense_faults_are_rejected(world: ServerProcess, spec: Any) -> None:
    request = urllib.request.Request(
        world.url + "/_gondwana/faults", data=json.dumps(spec).encode(), method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)
    assert caught.value.code == 400


def test_fault_cli_reports_an_unreachable_server() -> None:
    proc = ServerProcess(None)
    proc.url = f"http://127.0.0.1:{free_port()}"
    out = fault_cli(proc, "list")
    assert out.returncode == 1 and "cannot reach" in out.stderr
