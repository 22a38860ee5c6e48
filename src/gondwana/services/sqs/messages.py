"""Message rules: body characters, attributes, sizes, the MD5 digests SDKs verify, and rendering."""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import re
import struct
from typing import Any

from gondwana.protocols.errors import ServiceError
from gondwana.services.sqs.errors import invalid_parameter, invalid_value, missing_parameter

# Body characters SQS accepts: #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF.
ASCII_CONTROLS = bytes(c for c in range(0x20) if c not in (0x9, 0xA, 0xD))
_ATTRIBUTE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,256}")
_ID_CHARS = re.compile(r"[!-~]{1,128}")  # alphanumerics and punctuation
ID_LIST = re.compile(r"[!-~]{1,128}(?:\n[!-~]{1,128})*")  # several of them, one a line
MAX_ATTRIBUTES = 10

SYSTEM_NAMES = (
    "SenderId",
    "SentTimestamp",
    "ApproximateReceiveCount",
    "ApproximateFirstReceiveTimestamp",
    "SequenceNumber",
    "MessageDeduplicationId",
    "MessageGroupId",
    "AWSTraceHeader",
    "DeadLetterQueueSourceArn",
)


@functools.cache
def _bad_char() -> re.Pattern[str]:
    """A character SQS refuses; compiled on first use (a class over all of Unicode takes
    milliseconds of start-up, and ASCII bodies never need it)."""
    return re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def check_body(body: str | None) -> bytes:
    """The body in UTF-8, if SQS takes its characters."""
    if not body:
        raise missing_parameter("MessageBody")
    if body.isascii():  # the common case: only control characters can be wrong, found at C speed
        data = body.encode()
        if len(data.translate(None, ASCII_CONTROLS)) == len(data):
            return data
    bad = _bad_char().search(body)
    if bad is not None:
        raise ServiceError(
            "InvalidMessageContents",
            f"Invalid binary character '#x{ord(bad.group()):X}' was found in the message body, the set of "
            "allowed characters is #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF",
        )
    return body.encode()  # no surrogates: the pattern refused them


def check_id(value: str, name: str) -> None:
    """MessageGroupId / MessageDeduplicationId: 1-128 alphanumerics and punctuation."""
    if not _ID_CHARS.fullmatch(value):
        raise invalid_value(
            value,
            name,
            f"{name} can only include alphanumeric and punctuation characters. 1 to 128 in length.",
        )


def check_attributes(attributes: dict[str, Any] | None) -> int:
    """Validate user message attributes; returns their size in bytes (counted against the limit)."""
    if not attributes:
        return 0
    if len(attributes) > MAX_ATTRIBUTES:
        raise invalid_parameter(
            f"Number of message attributes [{len(attributes)}] exceeds the allowed maximum "
            f"[{MAX_ATTRIBUTES}]."
        )
    size = 0
    for name, value in attributes.items():
        if not _ATTRIBUTE_NAME.fullmatch(name) or name.startswith(".") or name.endswith(".") or ".." in name:
            raise invalid_parameter(f"Message (user) attribute name '{name}' is invalid.")
        if name.lower().startswith(("aws.", "amazon.")):
            raise invalid_parameter(
                "You can't use message attribute names beginning with AWS. or Amazon. "
                "These base names are reserved for use by Amazon Web Services."
            )
        data_type = (value or {}).get("DataType") or ""
        base = data_type.split(".", 1)[0]
        if base not in ("String", "Number", "Binary") or (
            "." in data_type and not data_type.split(".", 1)[1]
        ):
            raise invalid_parameter(
                f"The type of message (user) attribute '{name}' is invalid. You must use only the following "
                "supported type prefixes: Binary, Number, String."
            )
        if value.get("StringListValues") or value.get("BinaryListValues"):
            raise invalid_parameter(
                f"Message (user) attribute '{name}' failed validation: list values are not supported."
            )
        if base == "Binary":
            data = value.get("BinaryValue")
            if not data:
                raise invalid_parameter(
                    f"Message (user) attribute '{name}' must contain a non-empty value of type 'Binary'."
                )
            size += len(data)
        else:
            text = value.get("StringValue")
            if not text:
                raise invalid_parameter(
                    f"Message (user) attribute '{name}' must contain a non-empty value of type '{base}'."
                )
            if base == "Number" and not _is_number(text):
                raise invalid_parameter(f"Could not cast message attribute '{name}' value to number.")
            if _bad_char().search(text):
                raise invalid_parameter(
                    f"Message (user) attribute '{name}' must contain a non-empty value of type 'String'."
                )
            size += len(text.encode())
        size += len(name.encode()) + len(data_type.encode())
    return size


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def md5_of_attributes(attributes: dict[str, Any] | None) -> str | None:
    """AWS's digest: per attribute, sorted by name, length-prefixed name, type, transport byte, value."""
    if not attributes:
        return None
    out = bytearray()
    for name in sorted(attributes):
        value = attributes[name]
        data_type = value["DataType"]
        for part in (name.encode(), data_type.encode()):
            out += struct.pack(">I", len(part)) + part
        if data_type.startswith("Binary"):
            data = value["BinaryValue"]
            out += b"\x02" + struct.pack(">I", len(data)) + data
        else:
            data = value["StringValue"].encode()
            out += b"\x01" + struct.pack(">I", len(data)) + data
    return md5_hex(bytes(out))


def encode_attributes(attributes: dict[str, Any] | None) -> str | None:
    """Stored form: binary values in base64, so the column stays text."""
    if not attributes:
        return None
    stored = {}
    for name, value in attributes.items():
        if value["DataType"].startswith("Binary"):
            stored[name] = {
                "DataType": value["DataType"],
                "BinaryValue": base64.b64encode(value["BinaryValue"]).decode(),
            }
        else:
            stored[name] = {"DataType": value["DataType"], "StringValue": value["StringValue"]}
    return json.dumps(stored)


def decode_attributes(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    out = json.loads(text)
    for value in out.values():
        if "BinaryValue" in value:
            value["BinaryValue"] = base64.b64decode(value["BinaryValue"])
    return out


def select_attributes(attributes: dict[str, Any], names: list[str] | None) -> dict[str, Any]:
    """MessageAttributeNames filter: exact names, `All`/`.*`/`*`, and `prefix.*` (every name that
    starts with `prefix`: AWS answers `He.*` with both `Hello` and `Help.Me`)."""
    if not names or not attributes:
        return {}
    if "All" in names or ".*" in names or "*" in names:
        return attributes
    prefixes = tuple(n[:-2] for n in names if n.endswith(".*"))
    wanted = set(names)
    return {k: v for k, v in attributes.items() if k in wanted or (prefixes and k.startswith(prefixes))}


def system_names(params: dict[str, Any]) -> set[str]:
    names = set(params.get("AttributeNames") or ()) | set(params.get("MessageSystemAttributeNames") or ())
    if "All" in names:
        return set(SYSTEM_NAMES)
    return names
