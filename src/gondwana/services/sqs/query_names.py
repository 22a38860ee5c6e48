"""The query-protocol element names the JSON-only SQS model lost.

Old clients send `Attribute.1.Name`, `SendMessageBatchRequestEntry.1.Id`, `MessageAttribute.1.Value.
StringValue` and read `<QueueUrl>`, `<Message>`, `<Attribute><Name>..</Name><Value>..</Value>`; these
patches put those names back on the shapes (AWS's query API reference lists them).
"""

from __future__ import annotations

from typing import Any

_NAME_VALUE = {"key": {"locationName": "Name"}, "value": {"locationName": "Value"}}


def _list(member: str) -> dict[str, Any]:
    return {"flattened": True, "member": {"locationName": member}}


MODEL_PATCHES: dict[str, dict[str, Any]] = {
    "AWSAccountIdList": _list("AWSAccountId"),
    "ActionNameList": _list("ActionName"),
    "AttributeNameList": _list("AttributeName"),
    "MessageAttributeNameList": _list("MessageAttributeName"),
    "MessageSystemAttributeList": _list("MessageSystemAttributeName"),
    "QueueUrlList": _list("QueueUrl"),
    "MessageList": _list("Message"),
    "TagKeyList": _list("TagKey"),
    "BatchResultErrorEntryList": _list("BatchResultErrorEntry"),
    "SendMessageBatchRequestEntryList": _list("SendMessageBatchRequestEntry"),
    "SendMessageBatchResultEntryList": _list("SendMessageBatchResultEntry"),
    "DeleteMessageBatchRequestEntryList": _list("DeleteMessageBatchRequestEntry"),
    "DeleteMessageBatchResultEntryList": _list("DeleteMessageBatchResultEntry"),
    "ChangeMessageVisibilityBatchRequestEntryList": _list("ChangeMessageVisibilityBatchRequestEntry"),
    "ChangeMessageVisibilityBatchResultEntryList": _list("ChangeMessageVisibilityBatchResultEntry"),
    "ListMessageMoveTasksResultEntryList": _list("ListMessageMoveTasksResultEntry"),
    "StringList": {"member": {"locationName": "StringListValue"}},
    "BinaryList": {"member": {"locationName": "BinaryListValue"}},
    "QueueAttributeMap": {"flattened": True, **_NAME_VALUE},
    "MessageSystemAttributeMap": {"flattened": True, **_NAME_VALUE},
    "MessageBodyAttributeMap": {"flattened": True, **_NAME_VALUE},
    "MessageBodySystemAttributeMap": {"flattened": True, **_NAME_VALUE},
    "TagMap": {"flattened": True, "key": {"locationName": "Key"}, "value": {"locationName": "Value"}},
    "CreateQueueRequest.Attributes": {"locationName": "Attribute"},
    "CreateQueueRequest.tags": {"locationName": "Tag"},
    "TagQueueRequest.Tags": {"locationName": "Tag"},
    "SetQueueAttributesRequest.Attributes": {"locationName": "Attribute"},
    "GetQueueAttributesResult.Attributes": {"locationName": "Attribute"},
    "ListQueueTagsResult.Tags": {"locationName": "Tag"},
    "Message.Attributes": {"locationName": "Attribute"},
    "Message.MessageAttributes": {"locationName": "MessageAttribute"},
    "SendMessageRequest.MessageAttributes": {"locationName": "MessageAttribute"},
    "SendMessageRequest.MessageSystemAttributes": {"locationName": "MessageSystemAttribute"},
    "SendMessageBatchRequestEntry.MessageAttributes": {"locationName": "MessageAttribute"},
    "SendMessageBatchRequestEntry.MessageSystemAttributes": {"locationName": "MessageSystemAttribute"},
    "MessageAttributeValue.StringListValues": {"flattened": True, "locationName": "StringListValue"},
    "MessageAttributeValue.BinaryListValues": {"flattened": True, "locationName": "BinaryListValue"},
    "MessageSystemAttributeValue.StringListValues": {"flattened": True, "locationName": "StringListValue"},
    "MessageSystemAttributeValue.BinaryListValues": {"flattened": True, "locationName": "BinaryListValue"},
}
