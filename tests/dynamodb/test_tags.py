"""Table tags as published probes of real DynamoDB found them: upserts, removals of absent keys,
DynamoDB's own validation texts (all or nothing, before anything is stored), 50 tags counted after the
merge, and the ResourceArn checked for its shape before the table is looked up."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.dynamodb.conftest import all_tables, create, error

INVALID = "One or more parameter values were invalid: "


def _tags(ddb: Any, arn: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in ddb.list_tags_of_resource(ResourceArn=arn)["Tags"]}


def _arn(ddb: Any, name: str) -> str:
    return ddb.describe_table(TableName=name)["Table"]["TableArn"]


def test_upsert_and_removal(ddb: Any) -> None:
    arn = _arn(ddb, create(ddb, Tags=[{"Key": "Env", "Value": ""}]))
    ddb.tag_resource(
        ResourceArn=arn, Tags=[{"Key": "k", "Value": "v1"}, {"Key": "ключ", "Value": "a+b-c=d.e_f:g/h@i"}]
    )
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "k", "Value": "v2"}, {"Key": "env", "Value": "x"}])
    assert _tags(ddb, arn) == {"Env": "", "k": "v2", "ключ": "a+b-c=d.e_f:g/h@i", "env": "x"}
    ddb.untag_resource(ResourceArn=arn, TagKeys=["never-set", "k"])
    assert "k" not in _tags(ddb, arn)


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        ([{"Key": "k" * 129, "Value": "v"}], "The Tag Key provided is invalid, Key: " + "k" * 129),
        ([{"Key": "", "Value": "v"}], "The Tag Key provided is invalid, Key: "),
        ([{"Key": "bad#char", "Value": "v"}], "The Tag Key provided is invalid, Key: bad#char"),
        ([{"Key": "ok", "Value": "100%"}], "The Tag Value provided is invalid, Value: 100%"),
        ([{"Key": "ok", "Value": "v" * 257}], "The Tag Value provided is invalid, Value: " + "v" * 257),
        ([{"Key": "ok"}], "The Tag Value provided is invalid, Value: null"),
        ([{"Value": "v"}], "The Tag Key provided is invalid, Key: null"),
        ([{"Key": "good", "Value": "v"}, {"Key": "AWS:x", "Value": "v"}], "Tag Key cannot be prefixed with aws:, Key: AWS:x"),
        ([{"Key": "dup", "Value": "1"}, {"Key": "dup", "Value": "2"}], "Duplicate Tag Keys provided as input: Duplicate Tag Key found dup"),
        ([], "Atleast one Tag needs to be provided as Input."),
        ([{"Key": f"k{i}", "Value": "v"} for i in range(51)], "Number of Tags exceed the current limit for the provided ResourceArn"),
    ],
)  # fmt: skip
def test_bad_tags_change_nothing(raw: Any, tags: list, message: str) -> None:
    arn = _arn(raw, create(raw, Tags=[{"Key": "kept", "Value": "v"}]))
    with pytest.raises(ClientError) as exc:
        raw.tag_resource(ResourceArn=arn, Tags=tags)
    assert error(exc) == ("ValidationException", message)
    assert _tags(raw, arn) == {"kept": "v"}


def test_fifty_tags_after_the_merge(ddb: Any) -> None:
    arn = _arn(ddb, create(ddb, Tags=[{"Key": f"k{i:02d}", "Value": "v"} for i in range(50)]))
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "k01", "Value": "new"}])  # an upsert: still 50
    with pytest.raises(ClientError) as exc:
        ddb.tag_resource(
            ResourceArn=arn, Tags=[{"Key": "k01", "Value": "again"}, {"Key": "k50", "Value": "v"}]
        )
    assert error(exc) == (
        "ValidationException",
        "Number of Tags exceed the current limit for the provided ResourceArn",
    )
    assert _tags(ddb, arn)["k01"] == "new"


def test_untag_checks_its_keys(raw: Any) -> None:
    arn = _arn(raw, create(raw))
    for keys, message in (
        ([], "Atleast one Tag Key needs to be provided as Input."),
        (["aws:foo"], "Tag Key cannot be prefixed with aws:, Key: aws:foo"),
        ([""], "The Tag Key provided is invalid, Key: "),
        (
            [f"k{i}" for i in range(51)],
            "Number of Tags exceed the current limit for the provided ResourceArn",
        ),
    ):
        with pytest.raises(ClientError) as exc:
            raw.untag_resource(ResourceArn=arn, TagKeys=keys)
        assert error(exc) == ("ValidationException", message)


def test_create_table_with_bad_tags_creates_nothing(ddb: Any) -> None:
    with pytest.raises(ClientError) as exc:
        create(ddb, name="tagged-badly", Tags=[{"Key": "aws:x", "Value": "v"}])
    assert error(exc) == ("ValidationException", "Tag Key cannot be prefixed with aws:, Key: aws:x")
    assert "tagged-badly" not in all_tables(ddb)


def test_resource_arns_are_checked_for_shape_first(ddb: Any) -> None:
    name = create(ddb, range_key=("r", "S"), more_attrs={"a": "S"}, GlobalSecondaryIndexes=[
        {"IndexName": "by-a", "KeySchema": [{"AttributeName": "a", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}
    ])  # fmt: skip
    arn = _arn(ddb, name)
    backup = ddb.create_backup(TableName=name, BackupName="bak")["BackupDetails"]["BackupArn"]
    missing = arn.replace(name, "no-such-table")
    cases = [
        (name, ("ValidationException", f"{INVALID}ARNs must start with 'arn:': {name}")),
        (backup, ("ValidationException", f"{INVALID}Provided Arn is not a DynamoDB resource arn: {backup}")),
        (
            f"{arn}/index/by-a",
            (
                "ValidationException",
                f"{INVALID}Invalid resource arn provided, only table or stream is accepted. Provided resource arn: "
                f"{arn}/index/by-a",
            ),
        ),
        (arn.replace(":000000000000:", ":111111111111:"), ("AccessDeniedException", "Access is denied")),
        (
            arn.replace("us-east-1", "eu-west-1"),
            ("ValidationException", f"Invalid TableArn: Invalid ResourceArn provided as input {arn.replace('us-east-1', 'eu-west-1')}"),
        ),
        (missing, ("ResourceNotFoundException", f"Requested resource not found: ResourceArn: {missing} not found")),
    ]  # fmt: skip
    for resource, expected in cases:
        with pytest.raises(ClientError) as exc:
            ddb.list_tags_of_resource(ResourceArn=resource)
        assert error(exc) == expected, resource
