"""SQS's error catalogue: statuses and legacy query codes, and the errors the model does not name.

The JSON model dropped the `error` traits its query ancestor carried, so each shape's HTTP status
and legacy code (sent as `x-amzn-query-error` over JSON and as `<Code>` over query) live here.
MissingParameter and InvalidParameterValue are not modelled at all: over JSON they travel as
`...#MissingRequiredParameterException` / `...#InvalidParameterValueException`.
"""

from __future__ import annotations

from gondwana.protocols.errors import ServiceError

NAMESPACE = "com.amazonaws.sqs#"

_SQS = "AWS.SimpleQueueService."

OVERRIDES: dict[str, tuple[int, str]] = {
    "BatchEntryIdsNotDistinct": (400, _SQS + "BatchEntryIdsNotDistinct"),
    "BatchRequestTooLong": (400, _SQS + "BatchRequestTooLong"),
    "EmptyBatchRequest": (400, _SQS + "EmptyBatchRequest"),
    "InvalidAddress": (404, "InvalidAddress"),
    "InvalidAttributeName": (400, "InvalidAttributeName"),
    "InvalidAttributeValue": (400, "InvalidAttributeValue"),
    "InvalidBatchEntryId": (400, _SQS + "InvalidBatchEntryId"),
    "InvalidIdFormat": (400, "InvalidIdFormat"),
    "InvalidMessageContents": (400, "InvalidMessageContents"),
    "InvalidSecurity": (403, "InvalidSecurity"),
    "MessageNotInflight": (400, _SQS + "MessageNotInflight"),
    "OverLimit": (403, "OverLimit"),
    "PurgeQueueInProgress": (403, _SQS + "PurgeQueueInProgress"),
    "QueueDeletedRecently": (400, _SQS + "QueueDeletedRecently"),
    "QueueDoesNotExist": (400, _SQS + "NonExistentQueue"),
    "QueueNameExists": (400, "QueueAlreadyExists"),
    "ReceiptHandleIsInvalid": (404, "ReceiptHandleIsInvalid"),
    "RequestThrottled": (403, "RequestThrottled"),
    "ResourceNotFoundException": (404, "ResourceNotFoundException"),
    "TooManyEntriesInBatchRequest": (400, _SQS + "TooManyEntriesInBatchRequest"),
    "UnsupportedOperation": (400, _SQS + "UnsupportedOperation"),
}


def missing_parameter(name: str) -> ServiceError:
    return ServiceError(
        "MissingParameter",
        f"The request must contain the parameter {name}.",
        status=400,
        query_code="MissingParameter",
        type_name=NAMESPACE + "MissingRequiredParameterException",
    )


def invalid_parameter(message: str) -> ServiceError:
    return ServiceError(
        "InvalidParameterValue",
        message,
        status=400,
        query_code="InvalidParameterValue",
        type_name=NAMESPACE + "InvalidParameterValueException",
    )


def invalid_value(value: object, name: str, reason: str) -> ServiceError:
    return invalid_parameter(f"Value {value} for parameter {name} is invalid. Reason: {reason}")


def queue_does_not_exist(query: bool = False) -> ServiceError:
    # The query protocol still speaks of its WSDL.
    suffix = " for this wsdl version." if query else "."
    return ServiceError("QueueDoesNotExist", "The specified queue does not exist" + suffix)


def unknown_attribute(name: str) -> ServiceError:
    return ServiceError("InvalidAttributeName", f"Unknown Attribute {name}.")


def invalid_attribute_value(name: str, reason: str | None = None) -> ServiceError:
    text = f"Invalid value for the parameter {name}."
    if reason:
        text = text[:-1] + f". Reason: {reason}"
    return ServiceError("InvalidAttributeValue", text)


def receipt_handle_invalid(handle: str) -> ServiceError:
    return ServiceError(
        "ReceiptHandleIsInvalid", f'The input receipt handle "{handle}" is not a valid receipt handle.'
    )


def receipt_handle_expired(handle: str) -> ServiceError:
    return invalid_value(handle, "ReceiptHandle", "The receipt handle has expired.")


def over_limit() -> ServiceError:
    """A standard queue's in-flight quota is reached (short polling only; AWS's wording)."""
    return ServiceError(
        "OverLimit",
        "Too many messages have been received without being deleted.\n"
        "Please delete your received messages or let them timeout before receiving more.",
    )
