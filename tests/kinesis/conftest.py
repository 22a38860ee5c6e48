"""Kinesis fixtures: a boto3 client on the session server and uniquely named streams."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.config import Config

from tests.conftest import CLIENT_CONFIG, make_client


def unique(prefix: str = "s") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def server_now(server: Any) -> Callable[[], float]:
    """The session server's clock (other tests may have advanced it past the wall clock)."""
    return lambda: float(server.call("GET", "/_gondwana/clock")["now"])


@pytest.fixture
def kinesis(client: Callable[..., Any]) -> Any:
    return client("kinesis")


@pytest.fixture
def raw_kinesis(server: Any) -> Any:
    """A client that skips botocore's own parameter validation, to send what AWS must reject."""
    return make_client(server.url, "kinesis", config=CLIENT_CONFIG.merge(Config(parameter_validation=False)))


@pytest.fixture
def new_stream(kinesis: Any) -> Callable[..., str]:
    """`new_stream(shards=2)` -> the name of a fresh ACTIVE provisioned stream."""

    def make(shards: int | None = 1, **kwargs: Any) -> str:
        name = unique()
        if shards is not None:
            kwargs["ShardCount"] = shards
        kinesis.create_stream(StreamName=name, **kwargs)
        kinesis.get_waiter("stream_exists").wait(
            StreamName=name, WaiterConfig={"Delay": 0.05, "MaxAttempts": 40}
        )
        return name

    return make


def error_of(excinfo: pytest.ExceptionInfo[Any]) -> tuple[str, str, int]:
    err = excinfo.value.response
    return err["Error"]["Code"], err["Error"].get("Message", ""), err["ResponseMetadata"]["HTTPStatusCode"]
