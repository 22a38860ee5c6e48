"""Fixtures for the SigV4 tests: the echo models for boto3, and one strict server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.auth.support import STRICT
from tests.plugins.echo import write_models
from tests.support.server import ServerProcess, serving


@pytest.fixture(scope="package")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_models(tmp_path_factory.mktemp("auth-models"))


@pytest.fixture(scope="package")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One strict server for the tests that leave its clock alone."""
    yield from serving(None, *STRICT)
