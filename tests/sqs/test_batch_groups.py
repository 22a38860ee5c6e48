"""FIFO batches and their groups' heads: a delete of one receive's handles moves every group it
led on at once (and forgets the groups it empties); a refused handle leaves its message at the head;
an entry that fails its checks stores nothing and records no deduplication id; all of it survives
kill -9."""

from __future__ import annotations

from typing import Any

from tests.conftest import make_client
from tests.sqs.test_fifo import bodies, fifo_entries, make_fifo


def _send(sqs: Any, url: str, *pairs: tuple[str, str]) -> None:
    entries = [
        {"Id": str(i), "MessageBody": body, "MessageGroupId": group} for i, (body, group) in enumerate(pairs)
    ]
    assert not sqs.send_message_batch(QueueUrl=url, Entries=entries).get("Failed")


def _delete_all(sqs: Any, url: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
    entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
    return sqs.delete_message_batch(QueueUrl=url, Entries=entries)


def test_deleting_runs_of_several_groups_moves_each_head_on(sqs: Any, name: Any) -> None:
    url = make_fifo(sqs, name, ContentBasedDeduplication="true")
    _send(sqs, url, ("a1", "a"), ("b1", "b"), ("a2", "a"), ("c1", "c"), ("b2", "b"))
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=3, VisibilityTimeout=60)["Messages"]
    assert bodies({"Messages": got}) == ["a1", "a2", "b1"]  # group a's run, then b's head
    assert len(_delete_all(sqs, url, got)["Successful"]) == 3
    # a is empty (forgotten), b's head is now b2; c1 was sent before b2, so group c comes first.
    assert bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60)) == [
        "c1",
        "b2",
    ]


def test_an_emptied_group_starts_again_with_its_next_message(sqs: Any, name: Any) -> None:
    url = make_fifo(sqs, name, ContentBasedDeduplication="true")
    _send(sqs, url, ("x1", "g"), ("x2", "g"), ("y1", "h"))
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60)["Messages"]
    assert bodies({"Messages": got}) == ["x1", "x2", "y1"]
    assert len(_delete_all(sqs, url, got)["Successful"]) == 3
    assert bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)) == []
    _send(sqs, url, ("x3", "g"), ("y2", "h"), ("x4", "g"))
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60)["Messages"]
    assert bodies({"Messages": got}) == ["x3", "x4", "y2"]
    single = sqs.receive_message(QueueUrl=url)  # every group is locked by its messages in flight
    assert bodies(single) == []
    for message in got:  # one by one, the single delete moves the heads on too
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    _send(sqs, url, ("y3", "h"))
    assert bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)) == ["y3"]


def test_a_refused_handle_keeps_its_message_at_the_head(sqs: Any, name: Any) -> None:
    url = make_fifo(sqs, name, ContentBasedDeduplication="true")
    _send(sqs, url, ("m0", "g"), ("m1", "g"), ("m2", "g"), ("m3", "g"))
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=3, VisibilityTimeout=60)["Messages"]
    assert bodies({"Messages": got}) == ["m0", "m1", "m2"]
    # m1 is visible again: no longer in flight, its handle cannot delete it.
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=got[1]["ReceiptHandle"], VisibilityTimeout=0)
    result = _delete_all(sqs, url, got)
    assert [e["Id"] for e in result["Successful"]] == ["0", "2"]
    (failed,) = result["Failed"]
    assert (failed["Id"], failed["Code"], failed["SenderFault"]) == ("1", "InvalidParameterValue", True)
    assert failed["Message"] == (
        f"Value {got[1]['ReceiptHandle']} for parameter ReceiptHandle is invalid. "
        "Reason: The receipt handle has expired."
    )
    # The group goes on from m1 (the oldest left), then m3.
    assert bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)) == ["m1", "m3"]


def test_a_failing_entry_of_a_fifo_batch_stores_and_remembers_nothing(
    sqs: Any, loose: Any, name: Any
) -> None:
    url = make_fifo(sqs, name)
    entries = [
        {"Id": "a", "MessageBody": "a", "MessageGroupId": "g", "MessageDeduplicationId": "da"},
        {"Id": "bad", "MessageBody": "b", "MessageGroupId": "g" * 129, "MessageDeduplicationId": "db"},
        {"Id": "c", "MessageBody": "c", "MessageGroupId": "g", "MessageDeduplicationId": "dc"},
    ]
    result = loose.send_message_batch(QueueUrl=url, Entries=entries)
    assert [e["Id"] for e in result["Successful"]] == ["a", "c"]
    numbers = [int(e["SequenceNumber"]) for e in result["Successful"]]
    assert numbers == sorted(numbers)
    (failed,) = result["Failed"]
    assert (failed["Id"], failed["Code"]) == ("bad", "InvalidParameterValue")
    # Its deduplication id was not recorded: sent again, properly, it is stored.
    again = sqs.send_message(QueueUrl=url, MessageBody="b", MessageGroupId="g", MessageDeduplicationId="db")
    assert int(again["SequenceNumber"]) > numbers[-1]
    assert bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)) == ["a", "c", "b"]


def test_a_batch_repeating_an_earlier_id_stores_only_the_new_messages(
    sqs: Any, server: Any, name: Any
) -> None:
    url = make_fifo(sqs, name)
    first = sqs.send_message(QueueUrl=url, MessageBody="old", MessageGroupId="g", MessageDeduplicationId="d2")
    entries = fifo_entries(4)
    result = sqs.send_message_batch(QueueUrl=url, Entries=entries)
    assert [e["Id"] for e in result["Successful"]] == ["0", "1", "2", "3"]
    by_id = {e["Id"]: e for e in result["Successful"]}
    assert (by_id["2"]["MessageId"], by_id["2"]["SequenceNumber"]) == (
        first["MessageId"],
        first["SequenceNumber"],
    )
    numbers = [int(by_id[k]["SequenceNumber"]) for k in ("0", "1", "3")]
    assert numbers == sorted(numbers) and numbers[0] > int(first["SequenceNumber"])
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60)["Messages"]
    assert sorted(bodies({"Messages": got})) == ["m0", "m1", "m3", "old"]  # m2 was not stored, nothing twice
    assert {m["MessageId"] for m in got} == {
        first["MessageId"],
        *(by_id[k]["MessageId"] for k in ("0", "1", "3")),
    }
    # Past the window, the same ids store new messages (their old records are replaced).
    server.advance_clock(301)
    again = sqs.send_message_batch(QueueUrl=url, Entries=entries)["Successful"]
    assert all(int(e["SequenceNumber"]) > numbers[-1] for e in again)
    assert len({e["MessageId"] for e in again} | {m["MessageId"] for m in got}) == 8


def test_batch_sends_and_deletes_survive_kill(fresh_server: Any) -> None:
    proc = fresh_server()
    sqs = make_client(proc.url, "sqs")
    url = make_fifo(sqs, lambda suffix: "kill-batch" + suffix)
    entries = fifo_entries(6)
    sent = {e["Id"]: e for e in sqs.send_message_batch(QueueUrl=url, Entries=entries)["Successful"]}
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=4, VisibilityTimeout=60)["Messages"]
    assert bodies({"Messages": got}) == ["m0", "m2", "m4", "m1"]
    assert len(_delete_all(sqs, url, got)["Successful"]) == 4

    proc.kill()
    proc.restart()
    sqs = make_client(proc.url, "sqs")

    # The deletes held (g0 is empty, g1 goes on from m3), and the ids still deduplicate.
    again = sqs.send_message_batch(QueueUrl=url, Entries=entries)["Successful"]
    assert [(e["MessageId"], e["SequenceNumber"]) for e in again] == [
        (sent[e["Id"]]["MessageId"], sent[e["Id"]]["SequenceNumber"]) for e in again
    ]
    assert bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)) == ["m3", "m5"]
