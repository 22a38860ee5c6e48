"""Small helpers shared by the expression-language unit tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from gondwana.protocols.errors import ServiceError
from gondwana.services.dynamodb.expressions import Placeholders


def S(text: str) -> dict[str, Any]:
    return {"S": text}


def N(number: str | int) -> dict[str, Any]:
    return {"N": str(number)}


def ph(values: dict[str, Any] | None = None, names: dict[str, str] | None = None) -> Placeholders:
    return Placeholders(names, values)


def error(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
    """The message of the ValidationException `fn` raises."""
    with pytest.raises(ServiceError) as caught:
        fn(*args, **kwargs)
    assert caught.value.code == "ValidationException"
    assert caught.value.message is not None
    return caught.value.message
