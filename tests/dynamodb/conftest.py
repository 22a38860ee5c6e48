"""Fixtures for the DynamoDB tests: clients bound to the session server and a table factory."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from gondwana.services.dynamodb import storage
from tests.conftest import CLIENT_CONFIG
from tests.support.server import ServerProcess

# A global secondary index on "g" projecting everything, which several tests give their table.
GSI_BY_G = {
    "IndexName": "by-g",
    "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
    "Projection": {"ProjectionType": "ALL"},
}
RAW = Config(retries={"max_attempts": 1}, parameter_validation=False)


@pytest.fixture
def ddb(client: Callable[..., Any]) -> Any:
    return client("dynamodb")


@pytest.fixture
def raw(client: Callable[..., Any]) -> Any:
    """A client that sends what it is given (botocore's own validation off)."""
    return client("dynamodb", config=RAW)


@pytest.fixture
def streams(client: Callable[..., Any]) -> Any:
    return client("dynamodbstreams")


@pytest.fixture
def resource(server: ServerProcess) -> Any:
    return boto3.resource(
        "dynamodb",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=CLIENT_CONFIG,
    )


def unique(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def create(
    client: Any,
    hash_key: tuple[str, str] = ("id", "S"),
    range_key: tuple[str, str] | None = None,
    name: str | None = None,
    **extra: Any,
) -> str:
    name = name or unique()
    attrs = {hash_key[0]: hash_key[1]}
    schema = [{"AttributeName": hash_key[0], "KeyType": "HASH"}]
    if range_key:
        attrs[range_key[0]] = range_key[1]
        schema.append({"AttributeName": range_key[0], "KeyType": "RANGE"})
    for attr, kind in extra.pop("more_attrs", {}).items():
        attrs[attr] = kind
    extra.setdefault("BillingMode", "PAY_PER_REQUEST")
    client.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": k, "AttributeType": v} for k, v in attrs.items()],
        KeySchema=schema,
        **extra,
    )
    return name


@pytest.fixture
def make_table(ddb: Any) -> Iterator[Callable[..., str]]:
    made: list[str] = []

    def factory(*args: Any, **kwargs: Any) -> str:
        name = create(ddb, *args, **kwargs)
        made.append(name)
        return name

    yield factory
    for name in made:
        try:
            ddb.delete_table(TableName=name)
        except ddb.exceptions.ResourceNotFoundException:
            pass


def all_tables(client: Any) -> list[str]:
    """Every table name ListTables gives, page after page (a session's server holds many)."""
    return [n for page in client.get_paginator("list_tables").paginate() for n in page["TableNames"]]


def error(exc: Any) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


def loaded_tables(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """From now on, the ids of the tables whose descriptions `TableStore` loads (parses), in order
    (for guards that a call reads only the tables it needs)."""
    loaded: list[int] = []
    load = storage._table

    def counted(row: tuple[Any, ...]) -> Any:
        loaded.append(row[0])
        return load(row)

    monkeypatch.setattr(storage, "_table", counted)
    return loaded
