"""ExpressionAttributeNames / ExpressionAttributeValues: substitution and the unused-key check."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from gondwana.protocols.errors import ServiceError
from gondwana.services.dynamodb.expressions.errors import validation

_NAME_KEY = re.compile(r"#[0-9A-Za-z_]+\Z")
_VALUE_KEY = re.compile(r":[0-9A-Za-z_]+\Z")
MAX_KEY_BYTES = 255


def _check_key(label: str, key: str, pattern: re.Pattern[str]) -> None:
    size = len(key.encode("utf-8"))
    if size > MAX_KEY_BYTES:
        raise validation(
            f"{label} contains invalid key: The expression attribute map contains a key that is too long; "
            f"size of key: {size}"
        )
    if not pattern.match(key):
        raise validation(f'{label} contains invalid key: Syntax error; key: "{key}"')


class Placeholders:
    """The two maps of one request; every expression of the request parses against the same object."""

    def __init__(self, names: dict[str, str] | None, values: dict[str, dict[str, Any]] | None) -> None:
        self.names = names
        self.values = values
        self.used_names: set[str] = set()
        self.used_values: set[str] = set()
        self.cache_key: tuple[Any, ...] | None = None  # the maps as a key of remembered work (params)

    def validate(self, check_value: Callable[[dict[str, Any]], Any] | None = None) -> None:
        """The checks AWS makes on the maps themselves before reading any expression.

        `check_value` validates one AttributeValue (returning it normalised, or None) and raises
        ValidationException with the plain message (e.g. an empty set); that is re-raised with AWS's
        "ExpressionAttributeValues contains invalid value: ... for key :v" framing.
        """
        if self.names is not None:
            if not self.names:
                raise validation("ExpressionAttributeNames must not be empty")
            for key, name in self.names.items():
                _check_key("ExpressionAttributeNames", key, _NAME_KEY)
                if not name:
                    raise validation(
                        f"ExpressionAttributeNames contains invalid value: Empty attribute name for key {key}"
                    )
        if self.values is not None:
            if not self.values:
                raise validation("ExpressionAttributeValues must not be empty")
            for key in self.values:
                _check_key("ExpressionAttributeValues", key, _VALUE_KEY)
            if check_value is not None:
                checked = {}
                for key, value in self.values.items():
                    try:
                        result = check_value(value)
                    except ServiceError as exc:
                        message = exc.message or exc.code
                        raise validation(
                            f"ExpressionAttributeValues contains invalid value: {message} for key {key}"
                        ) from None
                    checked[key] = result if isinstance(result, dict) else value
                self.values = checked  # numbers normalised as the checker returns them

    def name(self, placeholder: str) -> str | None:
        """The attribute name for `#n`, or None when the request does not define it."""
        if self.names is None or placeholder not in self.names:
            return None
        self.used_names.add(placeholder)
        return self.names[placeholder]

    def value(self, placeholder: str) -> dict[str, Any] | None:
        if self.values is None or placeholder not in self.values:
            return None
        self.used_values.add(placeholder)
        return self.values[placeholder]

    def check_unused(self) -> None:
        """After all of a request's expressions are parsed: every placeholder must have been used."""
        for label, given, used in (
            ("ExpressionAttributeNames", self.names, self.used_names),
            ("ExpressionAttributeValues", self.values, self.used_values),
        ):
            unused = [key for key in (given or ()) if key not in used]
            if unused:
                raise validation(
                    f"Value provided in {label} unused in expressions: keys: {{{', '.join(unused)}}}"
                )
