"""Every operation of every service, in every protocol: botocore-shaped requests with random
type-correct input, and the same requests mutated every way a client could get them wrong.
Each answer keeps the invariants of `wire.check`, and the server log stays free of failures."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz import catalog, mutations
from tests.fuzz.catalog import ENDPOINTS, Endpoint, Raw
from tests.fuzz.conftest import FUZZ
from tests.fuzz.wire import LogWatch, check, healthy, one_answer
from tests.support.server import ServerProcess


def _request(data: st.DataObject, endpoint: Endpoint) -> tuple[str, Raw]:
    operation = data.draw(st.sampled_from(catalog.operations(endpoint)), label="operation")
    params = data.draw(catalog.inputs(endpoint, operation), label="params")
    return operation, catalog.serialize(endpoint, operation, params)


def _send(server: ServerProcess, watch: LogWatch, raw: Raw, protocol: str) -> Any:
    answer = one_answer(server, raw.encode(f"127.0.0.1:{server.port}"))
    return check(answer, protocol)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_type_correct_input_gets_an_answer(fuzz_server: ServerProcess, endpoint: Endpoint) -> None:
    watch = LogWatch(fuzz_server)

    @FUZZ
    @given(st.data())
    def run(data: st.DataObject) -> None:
        _, raw = _request(data, endpoint)
        _send(fuzz_server, watch, raw, endpoint.protocol)

    run()
    healthy(fuzz_server)
    watch.check()


def _targets(endpoint: Endpoint) -> list[str]:
    prefix = catalog.model(endpoint).metadata.get("targetPrefix", "AmazonSQS")
    return [f"{prefix}.{op}" for op in catalog.operations(endpoint)]


def mutate(
    data: st.DataObject, endpoint: Endpoint, raw: Raw, operation: str, targets: list[str] | None = None
) -> None:
    """One mutation layer; `targets` are the X-Amz-Target values a header mutation may switch to
    (every operation's, unless a test must keep the request the operation it is)."""
    layers = ["tree", "tree", "bytes", "headers", "path"]
    if endpoint.protocol == "cbor":
        layers.append("cbor")
    layer = data.draw(st.sampled_from(layers), label="layer")
    if layer == "path":
        raw.path = data.draw(mutations.PATHS, label="path")
    elif layer == "headers":
        mutations.mutate_headers(data, raw, _targets(endpoint) if targets is None else targets)
    elif layer == "bytes":
        raw.body = mutations.mutate_bytes(data, raw.body)
    elif layer == "cbor":
        raw.body = mutations.mutate_cbor_map(data, raw.body)
    elif endpoint.protocol == "query":
        raw.body = mutations.mutate_form(data, raw.body, catalog.member_names(endpoint, operation))
    elif endpoint.protocol == "cbor":
        import cbor2

        tree = cbor2.loads(raw.body, semantic_decoders={1: lambda v, _: v})
        tree = mutations.mutate_tree(data, tree, catalog.member_names(endpoint, operation))
        raw.body = mutations.cbor_bytes(data, tree)
    else:
        tree = json.loads(raw.body or b"{}")
        tree = mutations.mutate_tree(data, tree, catalog.member_names(endpoint, operation))
        raw.body = mutations.json_bytes(data, tree)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_mutated_input_gets_aws_error(fuzz_server: ServerProcess, endpoint: Endpoint) -> None:
    watch = LogWatch(fuzz_server)

    @FUZZ
    @given(st.data())
    def run(data: st.DataObject) -> None:
        operation, raw = _request(data, endpoint)
        mutate(data, endpoint, raw, operation)
        _send(fuzz_server, watch, raw, endpoint.protocol)

    run()
    healthy(fuzz_server)
    watch.check()
