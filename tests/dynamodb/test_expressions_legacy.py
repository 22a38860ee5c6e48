"""Legacy parameters: Expected, QueryFilter/ScanFilter, KeyConditions, AttributeUpdates."""

from __future__ import annotations

import pytest

from gondwana.services.dynamodb.expressions import (
    apply_update,
    condition_from_expected,
    condition_from_filter,
    evaluate,
    key_condition_from_legacy,
    update_from_attribute_updates,
)
from tests.dynamodb.expr_helpers import N, S, error

ITEM = {"id": S("k"), "n": N(5), "s": S("hello"), "tags": {"SS": ["a", "b"]}, "l": {"L": [N(1)]}}
INVALID = "One or more parameter values were invalid: "


def filt(op: str, *values: dict, attr: str = "n") -> bool:
    spec: dict = {"ComparisonOperator": op}
    if values:
        spec["AttributeValueList"] = list(values)
    return evaluate(condition_from_filter({attr: spec}, None), ITEM)


@pytest.mark.parametrize(
    ("op", "values", "attr", "expected"),
    [
        ("EQ", [N(5)], "n", True),
        ("EQ", [N(6)], "n", False),
        ("NE", [N(6)], "n", True),
        ("NE", [N(6)], "absent", True),
        ("LT", [N(6)], "n", True),
        ("LE", [N(5)], "n", True),
        ("GT", [N(5)], "n", False),
        ("GE", [N(5)], "n", True),
        ("GT", [S("a")], "n", False),
        ("NULL", [], "absent", True),
        ("NULL", [], "n", False),
        ("NOT_NULL", [], "n", True),
        ("CONTAINS", [S("ell")], "s", True),
        ("CONTAINS", [S("a")], "tags", True),
        ("CONTAINS", [N(1)], "l", True),
        ("NOT_CONTAINS", [S("zz")], "s", True),
        ("NOT_CONTAINS", [S("a")], "tags", False),
        ("NOT_CONTAINS", [S("a")], "absent", False),  # unlike NE: a missing attribute fails
        ("BEGINS_WITH", [S("he")], "s", True),
        ("IN", [N(1), N(5)], "n", True),
        ("IN", [N(1)], "n", False),
        ("BETWEEN", [N(1), N(5)], "n", True),
        ("BETWEEN", [N(6), N(9)], "n", False),
    ],
)
def test_filter_operators(op: str, values: list, attr: str, expected: bool) -> None:
    assert filt(op, *values, attr=attr) is expected


def test_conditional_operator_needs_two_conditions() -> None:
    one = {"n": {"ComparisonOperator": "NOT_NULL"}}
    assert (
        error(condition_from_filter, {}, "AND")
        == "ConditionalOperator cannot be used without Filter or Expected"
    )
    assert error(condition_from_expected, one, "OR") == (
        "ConditionalOperator can only be used when Filter or Expected has two or more elements"
    )
    assert evaluate(condition_from_expected({}, None), None)  # an empty Expected always holds
    assert evaluate(condition_from_filter(one, None), ITEM)


def test_conditional_operator() -> None:
    both = {
        "n": {"ComparisonOperator": "EQ", "AttributeValueList": [N(5)]},
        "s": {"ComparisonOperator": "NULL"},
    }
    assert not evaluate(condition_from_filter(both, None), ITEM)
    assert not evaluate(condition_from_filter(both, "AND"), ITEM)
    assert evaluate(condition_from_filter(both, "OR"), ITEM)
    assert condition_from_filter(both, "OR").attribute_names() == {"n", "s"}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"ComparisonOperator": "EQ"},
            INVALID + "Invalid number of argument(s) for the EQ ComparisonOperator",
        ),
        (
            {"ComparisonOperator": "NULL", "AttributeValueList": [N(1)]},
            INVALID + "Invalid number of argument(s) for the NULL ComparisonOperator",
        ),
        (
            {"ComparisonOperator": "BETWEEN", "AttributeValueList": [N(1)]},
            INVALID + "Invalid number of argument(s) for the BETWEEN ComparisonOperator",
        ),
        (
            {"ComparisonOperator": "IN", "AttributeValueList": [N(1), S("a")]},
            INVALID + "AttributeValues inside AttributeValueList must be of same type",
        ),
        (
            {"ComparisonOperator": "LT", "AttributeValueList": [{"BOOL": True}]},
            INVALID + "ComparisonOperator LT is not valid for BOOL AttributeValue type",
        ),
        (
            {"ComparisonOperator": "CONTAINS", "AttributeValueList": [{"L": [N(1)]}]},
            INVALID + "ComparisonOperator CONTAINS is not valid for L AttributeValue type",
        ),
        (
            {"ComparisonOperator": "IN", "AttributeValueList": [{"SS": ["a"]}]},
            INVALID + "ComparisonOperator IN is not valid for SS AttributeValue type",
        ),
        (
            {"ComparisonOperator": "BEGINS_WITH", "AttributeValueList": [N(1)]},
            INVALID + "ComparisonOperator BEGINS_WITH is not valid for N AttributeValue type",
        ),
        (
            {"ComparisonOperator": "BETWEEN", "AttributeValueList": [N(5), N(1)]},
            "The BETWEEN condition was provided a range where the lower bound is greater than the upper "
            "bound",
        ),
    ],
)
def test_filter_validation(spec: dict, message: str) -> None:
    assert error(condition_from_filter, {"n": spec}, None) == message


def test_expected_forms() -> None:
    def ok(expected: dict, operator: str | None = None, item: dict | None = ITEM) -> bool:
        return evaluate(condition_from_expected(expected, operator), item)

    assert ok({"n": {"Value": N(5)}})
    assert ok({"n": {"Value": N(5), "Exists": True}})
    assert not ok({"n": {"Value": N(4)}})
    assert ok({"absent": {"Exists": False}})
    assert not ok({"n": {"Exists": False}})
    assert ok({"n": {"Exists": False}}, item=None)
    assert ok({"n": {"ComparisonOperator": "GT", "AttributeValueList": [N(1)]}})
    assert ok({"n": {"ComparisonOperator": "GT", "Value": N(1)}})
    assert ok({"n": {"ComparisonOperator": "NOT_NULL"}})
    assert ok({"n": {"Value": N(4)}, "s": {"Value": S("hello")}}, "OR")
    assert not ok({"n": {"Value": N(4)}, "s": {"Value": S("hello")}}, "AND")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"Exists": True}, INVALID + "Value must be provided when Exists is true for Attribute: a"),
        ({}, INVALID + "Value must be provided when Exists is null for Attribute: a"),
        (
            {"Exists": False, "Value": N(1)},
            INVALID + "Value cannot be used when Exists is false for Attribute: a",
        ),
        (
            {"Value": N(1), "AttributeValueList": [N(1)], "ComparisonOperator": "EQ"},
            INVALID + "Value and AttributeValueList cannot be used together for Attribute: a",
        ),
        (
            {"ComparisonOperator": "EQ", "Exists": True, "Value": N(1)},
            INVALID + "Exists and ComparisonOperator cannot be used together for Attribute: a",
        ),
        (
            {"ComparisonOperator": "EQ"},
            INVALID + "Value or AttributeValueList must be used with ComparisonOperator: EQ for Attribute: a",
        ),
        (
            {"AttributeValueList": [N(1)]},
            INVALID + "AttributeValueList can only be used with a ComparisonOperator for Attribute: a",
        ),
    ],
)
def test_expected_validation(spec: dict, message: str) -> None:
    assert error(condition_from_expected, {"a": spec}, None) == message


def test_legacy_key_conditions() -> None:
    kc = key_condition_from_legacy(
        {
            "pk": {"ComparisonOperator": "EQ", "AttributeValueList": [S("h")]},
            "sk": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [N(1), N(9)]},
        },
        ("pk",),
        ("sk",),
    )
    assert (kc.hash_values, kc.range_op, kc.range_values) == ((S("h"),), "BETWEEN", [N(1), N(9)])
    kc = key_condition_from_legacy(
        {
            "pk": {"ComparisonOperator": "EQ", "AttributeValueList": [S("h")]},
            "sk": {"ComparisonOperator": "BEGINS_WITH", "AttributeValueList": [S("x")]},
        },
        ("pk",),
        ("sk",),
    )
    assert kc.range_op == "begins_with"


@pytest.mark.parametrize(
    ("conditions", "message"),
    [
        (
            {"pk": {"ComparisonOperator": "EQ"}},
            "The attempted filter operation is not supported for the provided filter argument count",
        ),
        ({}, "Conditions can be of length 1 or 2 only"),
        (
            {"sk": {"ComparisonOperator": "EQ", "AttributeValueList": [S("a")]}},
            "Query condition missed key schema element: pk",
        ),
        (
            {"pk": {"ComparisonOperator": "GT", "AttributeValueList": [S("a")]}},
            "Query key condition not supported",
        ),
        (
            {"pk": {"ComparisonOperator": "NE", "AttributeValueList": [S("a")]}},
            "Query key condition not supported",
        ),
        (
            {
                "pk": {"ComparisonOperator": "EQ", "AttributeValueList": [S("a")]},
                "sk": {"ComparisonOperator": "NE", "AttributeValueList": [S("a")]},
            },
            "Attempted conditional constraint is not an indexable operation",
        ),
    ],
)
def test_legacy_key_condition_errors(conditions: dict, message: str) -> None:
    assert error(key_condition_from_legacy, conditions, ("pk",), ("sk",)) == message


def test_attribute_updates() -> None:
    update = update_from_attribute_updates(
        {
            "s": {"Action": "PUT", "Value": S("new")},
            "p": {"Value": N(1)},  # Action defaults to PUT
            "n": {"Action": "ADD", "Value": N(2)},
            "fresh": {"Action": "ADD", "Value": N(2)},
            "tags": {"Action": "DELETE", "Value": {"SS": ["a"]}},
            "l": {"Action": "ADD", "Value": {"L": [N(2)]}},  # legacy ADD appends to lists
            "id": {"Action": "DELETE"},
        }
    )
    new = apply_update(update, ITEM)
    assert new == {
        "s": S("new"),
        "p": N(1),
        "n": N(7),
        "fresh": N(2),
        "tags": {"SS": ["b"]},
        "l": {"L": [N(1), N(2)]},
    }
    assert update.modified_attributes() == {"s", "p", "n", "fresh", "tags", "l", "id"}


def test_attribute_updates_type_mismatch() -> None:
    for spec in ({"Action": "ADD", "Value": N(1)}, {"Action": "DELETE", "Value": {"NS": ["1"]}}):
        update = update_from_attribute_updates({"s": spec})
        assert error(apply_update, update, ITEM) == "Type mismatch for attribute to update"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"Action": "PUT"}, INVALID + "Only DELETE action is allowed when no attribute value is specified"),
        ({"Action": "ADD"}, INVALID + "Only DELETE action is allowed when no attribute value is specified"),
        (
            {"Action": "DELETE", "Value": S("x")},
            INVALID + "DELETE action with value is not supported for the type S",
        ),
        ({"Action": "ADD", "Value": S("x")}, INVALID + "ADD action is not supported for the type S"),
    ],
)
def test_attribute_updates_validation(spec: dict, message: str) -> None:
    assert error(update_from_attribute_updates, {"a": spec}) == message
