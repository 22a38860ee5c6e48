"""The legacy query protocol: form-encoded requests, XML responses and errors with legacy codes."""

from __future__ import annotations

from typing import Any

from tests.sqs.conftest import NS, query


def text(root: Any, path: str) -> str | None:
    node = root.find(path, NS)
    return None if node is None else node.text


def test_query_round_trip(server: Any, name: Any) -> None:
    queue_name = name()
    status, root = query(
        server.url,
        "CreateQueue",
        QueueName=queue_name,
        **{
            "Attribute.1.Name": "VisibilityTimeout",
            "Attribute.1.Value": "45",
            "Tag.1.Key": "team",
            "Tag.1.Value": "core",
        },
    )
    assert status == 200, root
    url = text(root, "q:CreateQueueResult/q:QueueUrl")
    assert url == f"{server.url}/000000000000/{queue_name}"
    status, root = query(
        url,
        "SendMessage",
        MessageBody="hi",
        **{
            "MessageAttribute.1.Name": "Foo",
            "MessageAttribute.1.Value.DataType": "String",
            "MessageAttribute.1.Value.StringValue": "Bar",
        },
    )
    assert status == 200
    assert text(root, "q:SendMessageResult/q:MD5OfMessageAttributes") == "ae7155c6026991b6d54b11589678bf9c"
    status, root = query(
        url,
        "ReceiveMessage",
        **{"AttributeName.1": "All", "MessageAttributeName.1": "All", "MaxNumberOfMessages": "10"},
    )
    assert status == 200
    message = root.find("q:ReceiveMessageResult/q:Message", NS)
    assert text(message, "q:Body") == "hi"
    attributes = {text(a, "q:Name"): text(a, "q:Value") for a in message.findall("q:Attribute", NS)}
    assert attributes["ApproximateReceiveCount"] == "1"
    user = message.find("q:MessageAttribute", NS)
    assert text(user, "q:Name") == "Foo" and text(user, "q:Value/q:StringValue") == "Bar"
    status, root = query(url, "GetQueueAttributes", **{"AttributeName.1": "VisibilityTimeout"})
    assert [
        (text(a, "q:Name"), text(a, "q:Value"))
        for a in root.findall("q:GetQueueAttributesResult/q:Attribute", NS)
    ] == [("VisibilityTimeout", "45")]
    status, root = query(url, "ListQueueTags")
    assert text(root, "q:ListQueueTagsResult/q:Tag/q:Key") == "team"
    status, root = query(server.url, "ListQueues", QueueNamePrefix=queue_name)
    assert [n.text for n in root.findall("q:ListQueuesResult/q:QueueUrl", NS)] == [url]
    handle = text(message, "q:ReceiptHandle")
    status, root = query(
        url,
        "DeleteMessageBatch",
        **{
            "DeleteMessageBatchRequestEntry.1.Id": "a",
            "DeleteMessageBatchRequestEntry.1.ReceiptHandle": handle,
        },
    )
    assert text(root, "q:DeleteMessageBatchResult/q:DeleteMessageBatchResultEntry/q:Id") == "a"


def test_query_batch_send(server: Any, name: Any) -> None:
    url = (
        query(server.url, "CreateQueue", QueueName=name())[1].find("q:CreateQueueResult/q:QueueUrl", NS).text
    )
    params = {}
    for i in range(2):
        params[f"SendMessageBatchRequestEntry.{i + 1}.Id"] = f"e{i}"
        params[f"SendMessageBatchRequestEntry.{i + 1}.MessageBody"] = f"b{i}"
    status, root = query(url, "SendMessageBatch", **params)
    assert status == 200
    ids = [n.text for n in root.findall("q:SendMessageBatchResult/q:SendMessageBatchResultEntry/q:Id", NS)]
    assert ids == ["e0", "e1"]


def test_query_errors(server: Any) -> None:
    status, root = query(server.url, "GetQueueUrl", QueueName="no-such-queue-here")
    assert status == 400
    assert text(root, "q:Error/q:Code") == "AWS.SimpleQueueService.NonExistentQueue"
    assert text(root, "q:Error/q:Type") == "Sender"
    assert text(root, "q:Error/q:Message") == "The specified queue does not exist for this wsdl version."
    status, root = query(server.url, "CreateQueue")
    assert (status, text(root, "q:Error/q:Code")) == (400, "MissingParameter")
    assert text(root, "q:Error/q:Message") == "The request must contain the parameter QueueName."
    status, root = query(
        server.url, "CreateQueue", QueueName="x", **{"Attribute.1.Name": "Nope", "Attribute.1.Value": "1"}
    )
    assert (status, text(root, "q:Error/q:Code")) == (400, "InvalidAttributeName")


def test_query_purge_in_progress_is_403(server: Any, name: Any) -> None:
    url = (
        query(server.url, "CreateQueue", QueueName=name())[1].find("q:CreateQueueResult/q:QueueUrl", NS).text
    )
    assert query(url, "PurgeQueue")[0] == 200
    status, root = query(url, "PurgeQueue")
    assert (status, text(root, "q:Error/q:Code")) == (403, "AWS.SimpleQueueService.PurgeQueueInProgress")
