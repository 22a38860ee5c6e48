"""Fixtures: the real server on a free loopback port, and boto3 clients bound to it.

`server` is one process for the whole session (tests keep to their own resources or call
`server.reset()`); tests that kill or restart a server start their own `ServerProcess`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests.support.server import ServerProcess, serving

os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
os.environ.pop("AWS_PROFILE", None)

CLIENT_CONFIG = Config(
    retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=60
)


def make_client(url: str, service: str, region: str = "us-east-1", **kwargs: Any) -> Any:
    kwargs.setdefault("aws_access_key_id", "test")
    kwargs.setdefault("aws_secret_access_key", "test")
    kwargs.setdefault("config", CLIENT_CONFIG)
    return boto3.client(service, endpoint_url=url, region_name=region, **kwargs)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    yield from serving(tmp_path_factory.mktemp("data"), "--plugin", "tests.plugins.echo")


@pytest.fixture
def client(server: ServerProcess) -> Callable[..., Any]:
    """`client("sqs", region="eu-west-1")` -> a boto3 client for the session server."""

    def factory(service: str, region: str = "us-east-1", **kwargs: Any) -> Any:
        return make_client(server.url, service, region, **kwargs)

    return factory


@pytest.fixture(scope="session")
def echo_session(tmp_path_factory: pytest.TempPathFactory) -> boto3.Session:
    """A boto3 session that knows the test-only echo services' models."""
    import botocore.session

    from tests.plugins.echo import write_models

    core = botocore.session.get_session()
    core.get_component("data_loader").search_paths.insert(
        0, str(write_models(tmp_path_factory.mktemp("models")))
    )
    return boto3.Session(botocore_session=core, aws_access_key_id="test", aws_secret_access_key="test")


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Start private servers (for restart and kill tests); all are stopped at the end."""
    started: list[ServerProcess] = []

    def factory(
        *args: str, data_dir: Path | None = None, in_memory: bool = False, **env: str
    ) -> ServerProcess:
        proc = ServerProcess(
            None if in_memory else (data_dir or tmp_path / f"data{len(started)}"), *args, env=env
        )
        started.append(proc.start())
        return proc

    yield factory
    for proc in started:
        if proc.proc is not None and proc.proc.poll() is None:
            proc.kill()
