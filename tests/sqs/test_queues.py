"""Queue lifecycle and attributes: names, idempotent create, defaults, ranges, errors, URLs."""

from __future__ import annotations

from typing import Any

from tests.sqs.conftest import error_of

DEFAULTS = {
    "DelaySeconds": "0",
    "MaximumMessageSize": "1048576",
    "MessageRetentionPeriod": "345600",
    "ReceiveMessageWaitTimeSeconds": "0",
    "VisibilityTimeout": "30",
    "SqsManagedSseEnabled": "true",
    "ApproximateNumberOfMessages": "0",
    "ApproximateNumberOfMessagesNotVisible": "0",
    "ApproximateNumberOfMessagesDelayed": "0",
}


def test_defaults_arn_and_timestamps(sqs: Any, name: Any, server: Any) -> None:
    queue_name = name()
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    assert url == f"{server.url}/000000000000/{queue_name}"
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert {k: attrs[k] for k in DEFAULTS} == DEFAULTS
    assert attrs["QueueArn"] == f"arn:aws:sqs:us-east-1:000000000000:{queue_name}"
    assert set(attrs) == {*DEFAULTS, "QueueArn", "CreatedTimestamp", "LastModifiedTimestamp"}
    assert len(attrs["CreatedTimestamp"]) == 10  # epoch seconds
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"] == {
        "VisibilityTimeout": "30"
    }
    assert "Attributes" not in sqs.get_queue_attributes(QueueUrl=url)


def test_fifo_defaults(sqs: Any, fifo: str) -> None:
    attrs = sqs.get_queue_attributes(QueueUrl=fifo, AttributeNames=["All"])["Attributes"]
    assert attrs["FifoQueue"] == "true"
    assert attrs["ContentBasedDeduplication"] == "false"
    assert attrs["DeduplicationScope"] == "queue"
    assert attrs["FifoThroughputLimit"] == "perQueue"


def test_create_is_idempotent_and_detects_differences(sqs: Any, name: Any) -> None:
    queue_name = name()
    url = sqs.create_queue(QueueName=queue_name, Attributes={"DelaySeconds": "3"})["QueueUrl"]
    assert sqs.create_queue(QueueName=queue_name, Attributes={"DelaySeconds": "3"})["QueueUrl"] == url
    assert sqs.create_queue(QueueName=queue_name)["QueueUrl"] == url
    err = error_of(sqs.create_queue, QueueName=queue_name, Attributes={"DelaySeconds": "4"})
    assert err["code"] == "QueueAlreadyExists"
    assert err["type"] == "QueueNameExists"
    assert (
        err["message"]
        == "A queue already exists with the same name and a different value for attribute DelaySeconds"
    )
    fifo_name = name(".fifo")
    sqs.create_queue(
        QueueName=fifo_name, Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )
    err = error_of(
        sqs.create_queue,
        QueueName=fifo_name,
        Attributes={"FifoQueue": "true"} | {"ContentBasedDeduplication": "false"},
    )
    assert err["message"].endswith("different value for attribute ContentBasedDeduplication")


def test_deleted_name_is_reserved_for_60_seconds(fresh_server: Any) -> None:
    from tests.conftest import make_client

    proc = fresh_server(in_memory=True)
    sqs = make_client(proc.url, "sqs")
    url = sqs.create_queue(QueueName="reused")["QueueUrl"]
    sqs.delete_queue(QueueUrl=url)
    err = error_of(sqs.create_queue, QueueName="reused")
    assert err["code"] == "AWS.SimpleQueueService.QueueDeletedRecently"
    assert err["status"] == 400
    assert err["message"] == (
        "You must wait 60 seconds after deleting a queue before you can create another with the same name."
    )
    proc.advance_clock(61)
    assert sqs.create_queue(QueueName="reused")["QueueUrl"] == url


def test_names(sqs: Any, loose: Any, name: Any) -> None:
    for bad in ("has space", "x" * 81, "dot.name", ""):
        err = error_of(loose.create_queue, QueueName=bad)
        assert err["code"] in ("InvalidParameterValue", "MissingParameter"), bad
    err = error_of(sqs.create_queue, QueueName=name(".fifo"))
    assert err["code"] == "InvalidParameterValue"
    err = error_of(sqs.create_queue, QueueName=name(), Attributes={"FifoQueue": "true"})
    assert "must end with .fifo suffix" in err["message"]
    sqs.create_queue(QueueName="A-Za_z0-9" + name()[2:])


def test_attribute_ranges(sqs: Any, queue: str) -> None:
    for attr, bad in (
        ("DelaySeconds", "901"),
        ("MaximumMessageSize", "1023"),
        ("MaximumMessageSize", "1048577"),
        ("MessageRetentionPeriod", "59"),
        ("MessageRetentionPeriod", "1209601"),
        ("ReceiveMessageWaitTimeSeconds", "21"),
        ("VisibilityTimeout", "43201"),
        ("VisibilityTimeout", "abc"),
        ("KmsDataKeyReusePeriodSeconds", "59"),
    ):
        err = error_of(sqs.set_queue_attributes, QueueUrl=queue, Attributes={attr: bad})
        assert err["code"] == "InvalidAttributeValue", attr
        assert err["message"] == f"Invalid value for the parameter {attr}."
    sqs.set_queue_attributes(QueueUrl=queue, Attributes={"DelaySeconds": "900", "VisibilityTimeout": "0"})
    attrs = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["DelaySeconds", "VisibilityTimeout"])
    assert attrs["Attributes"] == {"DelaySeconds": "900", "VisibilityTimeout": "0"}


def test_unknown_and_fifo_only_attributes(sqs: Any, loose: Any, name: Any, queue: str, fifo: str) -> None:
    err = error_of(loose.set_queue_attributes, QueueUrl=queue, Attributes={"Bogus": "1"})
    assert (err["code"], err["message"]) == ("InvalidAttributeName", "Unknown Attribute Bogus.")
    err = error_of(sqs.set_queue_attributes, QueueUrl=queue, Attributes={"FifoQueue": "true"})
    assert err["message"] == "Unknown Attribute FifoQueue."
    err = error_of(sqs.create_queue, QueueName=name(), Attributes={"ContentBasedDeduplication": "true"})
    assert err["message"] == "Unknown Attribute ContentBasedDeduplication."
    err = error_of(sqs.create_queue, QueueName=name(), Attributes={"DeduplicationScope": "queue"})
    assert err["message"] == "You can specify the DeduplicationScope only when FifoQueue is set to true."
    err = error_of(sqs.set_queue_attributes, QueueUrl=fifo, Attributes={"FifoQueue": "false"})
    assert err["code"] == "InvalidAttributeValue"
    assert (
        err["message"]
        == "Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported."
    )


def test_sse_attributes(sqs: Any, queue: str) -> None:
    sqs.set_queue_attributes(
        QueueUrl=queue, Attributes={"KmsMasterKeyId": "testKeyId", "KmsDataKeyReusePeriodSeconds": "6000"}
    )
    attrs = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
    assert (
        attrs["KmsMasterKeyId"],
        attrs["KmsDataKeyReusePeriodSeconds"],
        attrs["SqsManagedSseEnabled"],
    ) == ("testKeyId", "6000", "false")
    err = error_of(
        sqs.set_queue_attributes,
        QueueUrl=queue,
        Attributes={"KmsMasterKeyId": "k", "SqsManagedSseEnabled": "true"},
    )
    assert err["code"] == "InvalidAttributeName"
    sqs.set_queue_attributes(QueueUrl=queue, Attributes={"KmsMasterKeyId": ""})
    attrs = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
    assert "KmsMasterKeyId" not in attrs


def test_missing_queue_errors(sqs: Any, server: Any) -> None:
    err = error_of(sqs.get_queue_url, QueueName="does-not-exist-anywhere")
    assert err == {
        "code": "AWS.SimpleQueueService.NonExistentQueue",
        "message": "The specified queue does not exist.",
        "status": 400,
        "type": "QueueDoesNotExist",
        "query_error": "AWS.SimpleQueueService.NonExistentQueue;Sender",
    }
    err = error_of(sqs.send_message, QueueUrl=f"{server.url}/000000000000/nope", MessageBody="x")
    assert err["code"] == "AWS.SimpleQueueService.NonExistentQueue"
    # Found by the wire fuzzer: a URL urlsplit cannot read (an unbalanced IPv6 bracket) was a 500.
    err = error_of(sqs.send_message, QueueUrl="http://127]0.0.1/000000000000/nope", MessageBody="x")
    assert err["code"] == "AWS.SimpleQueueService.NonExistentQueue"


def test_queue_url_forms(sqs: Any, name: Any) -> None:
    queue_name = name()
    sqs.create_queue(QueueName=queue_name)
    aws_url = f"https://sqs.us-east-1.amazonaws.com/000000000000/{queue_name}"
    sqs.send_message(QueueUrl=aws_url, MessageBody="via aws url")
    legacy = f"https://queue.amazonaws.com/000000000000/{queue_name}"
    assert sqs.receive_message(QueueUrl=legacy)["Messages"][0]["Body"] == "via aws url"


def test_regions_and_accounts_are_separate(client: Any, name: Any) -> None:
    queue_name = name()
    east = client("sqs", region="us-east-1")
    west = client("sqs", region="eu-west-1")
    other = client("sqs", aws_access_key_id="111122223333")
    east.create_queue(QueueName=queue_name)
    assert error_of(west.get_queue_url, QueueName=queue_name)["status"] == 400
    assert error_of(other.get_queue_url, QueueName=queue_name)["status"] == 400
    url = other.create_queue(QueueName=queue_name)["QueueUrl"]
    assert "/111122223333/" in url
    assert other.get_queue_url(QueueName=queue_name, QueueOwnerAWSAccountId="111122223333")["QueueUrl"] == url


def test_list_queues_prefix_and_pagination(sqs: Any, name: Any) -> None:
    prefix = name()
    urls = [sqs.create_queue(QueueName=f"{prefix}-{i}")["QueueUrl"] for i in range(5)]
    assert sqs.list_queues(QueueNamePrefix=prefix)["QueueUrls"] == urls
    first = sqs.list_queues(QueueNamePrefix=prefix, MaxResults=2)
    assert first["QueueUrls"] == urls[:2]
    rest = sqs.list_queues(QueueNamePrefix=prefix, MaxResults=10, NextToken=first["NextToken"])
    assert rest["QueueUrls"] == urls[2:]
    assert "NextToken" not in rest
    assert "QueueUrls" not in sqs.list_queues(QueueNamePrefix=prefix + "zzz")
    paginator = sqs.get_paginator("list_queues")
    pages = list(paginator.paginate(QueueNamePrefix=prefix, PaginationConfig={"PageSize": 2}))
    assert [u for p in pages for u in p["QueueUrls"]] == urls
    # The names are kept in order as queues come and go (a neighbour prefix sorts in between).
    sqs.delete_queue(QueueUrl=urls[1])
    longer = sqs.create_queue(QueueName=f"{prefix}-0x")["QueueUrl"]
    sqs.create_queue(QueueName=f"{prefix}_after")
    assert sqs.list_queues(QueueNamePrefix=f"{prefix}-")["QueueUrls"] == [urls[0], longer, *urls[2:]]
    exact = sqs.list_queues(QueueNamePrefix=f"{prefix}-", MaxResults=5)
    assert len(exact["QueueUrls"]) == 5 and "NextToken" not in exact


def test_delete_queue(sqs: Any, queue: str) -> None:
    sqs.send_message(QueueUrl=queue, MessageBody="x")
    sqs.delete_queue(QueueUrl=queue)
    assert (
        error_of(sqs.get_queue_attributes, QueueUrl=queue)["code"]
        == "AWS.SimpleQueueService.NonExistentQueue"
    )
    assert error_of(sqs.delete_queue, QueueUrl=queue)["status"] == 400


def test_tags(sqs: Any, name: Any) -> None:
    url = sqs.create_queue(QueueName=name(), tags={"a": "1"})["QueueUrl"]
    sqs.tag_queue(QueueUrl=url, Tags={"tag1": "value1", "tag2": "value2", "tag3": ""})
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {
        "a": "1",
        "tag1": "value1",
        "tag2": "value2",
        "tag3": "",
    }
    sqs.untag_queue(QueueUrl=url, TagKeys=["a", "tag1", "tag3"])
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"tag2": "value2"}
    sqs.untag_queue(QueueUrl=url, TagKeys=["tag2"])
    assert "Tags" not in sqs.list_queue_tags(QueueUrl=url)


def test_permissions(sqs: Any, queue: str) -> None:
    import json

    sqs.add_permission(QueueUrl=queue, Label="p1", AWSAccountIds=["111111111111"], Actions=["ReceiveMessage"])
    policy = json.loads(
        sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["Policy"])["Attributes"]["Policy"]
    )
    assert policy["Version"] == "2008-10-17"
    assert policy["Statement"] == [
        {
            "Sid": "p1",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
            "Action": "SQS:ReceiveMessage",
            "Resource": policy["Statement"][0]["Resource"],
        }
    ]
    err = error_of(
        sqs.add_permission, QueueUrl=queue, Label="p1", AWSAccountIds=["1"], Actions=["SendMessage"]
    )
    assert err["message"] == "Value p1 for parameter Label is invalid. Reason: Already exists."
    assert err["type"] == "InvalidParameterValueException"
    sqs.remove_permission(QueueUrl=queue, Label="p1")
    assert "Attributes" not in sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["Policy"])
    err = error_of(sqs.remove_permission, QueueUrl=queue, Label="p2")
    assert err["message"] == "Value p2 for parameter Label is invalid. Reason: can't find label."


def test_purge(sqs: Any, queue: str) -> None:
    for i in range(3):
        sqs.send_message(QueueUrl=queue, MessageBody=str(i))
    sqs.receive_message(QueueUrl=queue)
    sqs.purge_queue(QueueUrl=queue)
    attrs = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessages"] == attrs["ApproximateNumberOfMessagesNotVisible"] == "0"
    err = error_of(sqs.purge_queue, QueueUrl=queue)
    assert err["code"] == "AWS.SimpleQueueService.PurgeQueueInProgress"
    assert err["status"] == 403
    assert (
        err["message"]
        == f"Only one PurgeQueue operation on {queue.rsplit('/', 1)[1]} is allowed every 60 seconds."
    )


def test_missing_parameter_wording(loose: Any) -> None:
    err = error_of(loose.create_queue)
    assert err["code"] == "MissingParameter"
    assert err["type"] == "MissingRequiredParameterException"
    assert err["message"] == "The request must contain the parameter QueueName."


def test_get_attributes_unknown_name_and_modified_time(sqs: Any, loose: Any, server: Any, queue: str) -> None:
    err = error_of(loose.get_queue_attributes, QueueUrl=queue, AttributeNames=["NotAThing"])
    assert (err["code"], err["message"]) == ("InvalidAttributeName", "Unknown Attribute NotAThing.")
    before = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
    server.advance_clock(5)
    sqs.set_queue_attributes(QueueUrl=queue, Attributes={"VisibilityTimeout": "69", "DelaySeconds": "420"})
    after = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
    assert int(after["LastModifiedTimestamp"]) >= int(before["LastModifiedTimestamp"]) + 5
    assert after["CreatedTimestamp"] == before["CreatedTimestamp"]
    assert (after["VisibilityTimeout"], after["DelaySeconds"]) == ("69", "420")


def test_permission_with_several_accounts_and_actions(sqs: Any, queue: str) -> None:
    import json

    sqs.add_permission(
        QueueUrl=queue,
        Label="multi",
        AWSAccountIds=["111111111111", "222222222222"],
        Actions=["SendMessage", "ReceiveMessage"],
    )
    sqs.add_permission(QueueUrl=queue, Label="second", AWSAccountIds=["333333333333"], Actions=["*"])
    policy = json.loads(
        sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["Policy"])["Attributes"]["Policy"]
    )
    first, second = policy["Statement"]
    assert first["Principal"]["AWS"] == ["arn:aws:iam::111111111111:root", "arn:aws:iam::222222222222:root"]
    assert first["Action"] == ["SQS:SendMessage", "SQS:ReceiveMessage"]
    assert (second["Sid"], second["Action"]) == ("second", "SQS:*")
    sqs.remove_permission(QueueUrl=queue, Label="multi")
    policy = json.loads(
        sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["Policy"])["Attributes"]["Policy"]
    )
    assert [s["Sid"] for s in policy["Statement"]] == ["second"]
