"""Tags of a table: TagResource, UntagResource, ListTagsOfResource, and the Tags of CreateTable.

DynamoDB checks tags with texts of its own (not Coral's model messages), all or nothing, and counts
50 after the merge; the ARN a call names is checked for its shape before the table is looked up.
The texts are those published probes of real DynamoDB recorded (the ack-api-quirks notes
DDB-TABLE-071, -101, -105 to -108, -372, DDB-BACKUP-013)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from gondwana.protocols.errors import ServiceError, Violation
from gondwana.services.dynamodb.errors import invalid, validation

if TYPE_CHECKING:
    from gondwana.services.dynamodb.provider import DynamoDBService
    from gondwana.services.dynamodb.schema import Table

MAX_TAGS = 50
# AWS's tag alphabet: letters, numbers and spaces of any script, and _ . : / = + - @
_ALPHABET = re.compile(r"^(?:[^\W_]|[\s_.:/=+\-@])*$")
_TAG_PATH = re.compile(r"^tags\.\d+\.member\.(key|value)$|^tagKeys\.\d+\.member$")


def _key_error(key: Any) -> ServiceError:
    return validation(f"The Tag Key provided is invalid, Key: {'null' if key is None else key}")


def _check_key(key: Any) -> None:
    if key is None or not 1 <= len(key) <= 128 or not _ALPHABET.match(key):
        raise _key_error(key)
    if key[:4].lower() == "aws:":
        raise validation(f"Tag Key cannot be prefixed with aws:, Key: {key}")


def check_tags(tags: list[dict[str, Any]]) -> dict[str, str]:
    """A Tags list as a dict, or the first error AWS reports for it."""
    out: dict[str, str] = {}
    for tag in tags:
        key, value = tag.get("Key"), tag.get("Value")
        _check_key(key)
        if value is None or len(value) > 256 or not _ALPHABET.match(value):
            raise validation(
                f"The Tag Value provided is invalid, Value: {'null' if value is None else value}"
            )
        if key in out:
            raise validation(f"Duplicate Tag Keys provided as input: Duplicate Tag Key found {key}")
        out[key] = value
    if len(out) > MAX_TAGS:
        raise _too_many()
    return out


def _too_many() -> ServiceError:
    return validation("Number of Tags exceed the current limit for the provided ResourceArn")


def violation_error(violation: Violation) -> ServiceError | None:
    """A model constraint broken inside a tag, in DynamoDB's tag texts (None: not a tag's)."""
    match = _TAG_PATH.match(violation.path)
    if match is None:
        return None
    if match.group(1) == "value":
        shown = "null" if violation.value is None else violation.value
        return validation(f"The Tag Value provided is invalid, Value: {shown}")
    return _key_error(violation.value)


def parse_arn(arn: str) -> tuple[str, str, list[str]]:
    """A tag or policy call's ResourceArn as (account, region, resource path), its shape checked
    before anything is looked up."""
    if not arn.startswith("arn:"):
        raise invalid(f"ARNs must start with 'arn:': {arn}")
    parts = arn.split(":", 5)
    resource = parts[5].split("/") if len(parts) == 6 else [""]
    backup = len(resource) > 2 and resource[2] == "backup"
    if len(parts) < 6 or parts[2] != "dynamodb" or resource[0] != "table" or backup:
        raise invalid(f"Provided Arn is not a DynamoDB resource arn: {arn}")
    if len(resource) > 2 and resource[2] != "stream":
        raise invalid(
            f"Invalid resource arn provided, only table or stream is accepted. Provided resource arn: {arn}"
        )
    return parts[4], parts[3], resource


def _by_arn(svc: DynamoDBService, ctx: Any, arn: str) -> Table:
    account, region, resource = parse_arn(arn)
    if account != ctx.account:
        raise ServiceError("AccessDeniedException", "Access is denied")
    if region != ctx.region:
        raise validation(f"Invalid TableArn: Invalid ResourceArn provided as input {arn}")
    table = svc.tables.find(ctx.account, ctx.region, resource[1]) if len(resource) == 2 else None
    if table is None or table.status == "CREATING":  # the tagging backend learns of a table late
        raise ServiceError(
            "ResourceNotFoundException", f"Requested resource not found: ResourceArn: {arn} not found"
        )
    return table


def tag_resource(svc: DynamoDBService, ctx: Any, p: dict[str, Any]) -> None:
    if not p["Tags"]:
        raise validation("Atleast one Tag needs to be provided as Input.")
    given = check_tags(p["Tags"])
    table = _by_arn(svc, ctx, p["ResourceArn"])
    tags = {**table.desc.get("_tags", {}), **given}
    if len(tags) > MAX_TAGS:
        raise _too_many()
    table.desc["_tags"] = tags
    with svc.runtime.store.transaction():
        svc.table_store.save(table)


def untag_resource(svc: DynamoDBService, ctx: Any, p: dict[str, Any]) -> None:
    keys = p["TagKeys"]
    if not keys:
        raise validation("Atleast one Tag Key needs to be provided as Input.")
    for key in keys:
        _check_key(key)
    if len(keys) > MAX_TAGS:
        raise _too_many()
    table = _by_arn(svc, ctx, p["ResourceArn"])
    tags = table.desc.setdefault("_tags", {})
    for key in keys:
        tags.pop(key, None)  # a key that is not there is no error
    with svc.runtime.store.transaction():
        svc.table_store.save(table)


def list_tags(svc: DynamoDBService, ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    table = _by_arn(svc, ctx, p["ResourceArn"])
    return {"Tags": [{"Key": k, "Value": v} for k, v in table.desc.get("_tags", {}).items()]}
