"""DynamoDB's expression language: conditions, filters, key conditions, updates and projections,
plus the legacy parameters they replaced. Everything works on wire-form attribute values.

How a request uses it:
    ph = Placeholders(names, values); ph.validate(check_value)      # the maps themselves
    update = parse_update(text, ph)                                   # then Condition, Key, Filter,
    cond = parse_condition(text, ph)                                  # Projection, in AWS's order;
    filt = parse_condition(text, ph, kind="FilterExpression")         # kind names the parameter
    ph.check_unused()                                                 # after every expression
    evaluate(cond, old_item_or_None)
    new = apply_update(update, old or key, exists=old is not None)    # REMOVE a.b of a missing item
    update.modified_attributes()                                      # key-attribute check
    project(update.updated_projection(), old_or_new)                  # UPDATED_OLD / UPDATED_NEW
    filt.attribute_names()                                            # Query filters vs key attributes
All failures raise ServiceError("ValidationException", <AWS's message>).
"""

from gondwana.services.dynamodb.expressions.apply import apply_update
from gondwana.services.dynamodb.expressions.evaluate import Condition, evaluate, parse_condition
from gondwana.services.dynamodb.expressions.keys import (
    KeyCondition,
    key_condition_from_legacy,
    parse_key_condition,
)
from gondwana.services.dynamodb.expressions.legacy import (
    check_conditional_operator,
    condition_from_expected,
    condition_from_filter,
    update_from_attribute_updates,
)
from gondwana.services.dynamodb.expressions.placeholders import Placeholders
from gondwana.services.dynamodb.expressions.projection import (
    Projection,
    parse_projection,
    project,
    projection_from_attributes,
)
from gondwana.services.dynamodb.expressions.update import Update, parse_update
from gondwana.services.dynamodb.expressions.values import compare_values, format_number

__all__ = [
    "Condition",
    "KeyCondition",
    "Placeholders",
    "Projection",
    "Update",
    "apply_update",
    "check_conditional_operator",
    "compare_values",
    "condition_from_expected",
    "condition_from_filter",
    "evaluate",
    "format_number",
    "key_condition_from_legacy",
    "parse_condition",
    "parse_key_condition",
    "parse_projection",
    "parse_update",
    "project",
    "projection_from_attributes",
    "update_from_attribute_updates",
]
