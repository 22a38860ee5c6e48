"""Model-based tests: random sequences of SQS calls against the real server, each answer compared
with a small reference model of AWS's documented semantics.

One private server; each example resets it and creates a standard queue and a FIFO queue (content
based deduplication), each with a dead-letter queue (maxReceiveCount 2). Rules send (single and
batch; delays on standard, groups and deduplication ids on FIFO), receive (counts, visibility
timeouts, attempt ids on FIFO), delete and change visibility (single and batch, with the latest,
stale and gone receipt handles), purge, drain the dead-letter queues, read the counters and move
the server's clock.

The clock: the server's time is the model's time plus the wall time the example has taken so far
(a few seconds). Every duration the rules use is a multiple of a minute, so no boundary falls
between the two; at a boundary itself the server's later time always lands on the side the model
takes (visible, expired), except for the 12-hour visibility limit (tolerated both ways).

What the model cannot know exactly it tracks as possibilities: a message received maxReceiveCount
times is moved to the dead-letter queue lazily, by some later receive; until a call tells, it may
be in either queue (counters are compared only while no such message exists).

GONDWANA_FUZZ_EXAMPLES (default 25; a third of it for the crash run) and GONDWANA_FUZZ_STEPS (default 40)
size long campaigns.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError
from hypothesis import event as hypothesis_event
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.conftest import make_client
from tests.support.campaign import campaign_settings

MINUTE = 60
RETENTION = 1800
VISIBILITY = 60
MAX_RECEIVES = 2
WINDOW = 300  # deduplication ids and receive attempt ids
MAX_TOTAL_VISIBILITY = 43_200
PURGE_INTERVAL = 60

SETTINGS = campaign_settings(examples=25)

ADVANCES = st.sampled_from(
    [MINUTE] * 4 + [2 * MINUTE] * 2 + [5 * MINUTE, 10 * MINUTE, 30 * MINUTE, 720 * MINUTE]
)
VISIBILITIES = st.sampled_from([0, 0, MINUTE, MINUTE, 2 * MINUTE, 10 * MINUTE])
CHANGES = st.sampled_from(
    [0, 0, MINUTE, 2 * MINUTE, 10 * MINUTE, MAX_TOTAL_VISIBILITY - MINUTE, MAX_TOTAL_VISIBILITY]
)
DELAYS = st.sampled_from([0, 0, 0, MINUTE, 2 * MINUTE, 15 * MINUTE])
GROUPS = st.sampled_from(["g1", "g2", "g3"])
DEDUP = st.one_of(st.none(), st.none(), st.none(), st.sampled_from(["d1", "d2", "d3", "d4", "d5"]))
BODIES = st.sampled_from(["alpha", "beta", "gamma", "delta"])
UNIQUE = st.sampled_from([True, True, False])  # else the body repeats (content-based deduplication)


@dataclass
class Msg:
    mid: str
    body: str
    queue: str  # "std" or "fifo"
    sent: int
    visible_at: int
    attributes: dict[str, Any] | None = None
    group: str | None = None
    dedup: str | None = None
    number: str | None = None  # FIFO sequence number
    order: int = 0  # send order (FIFO group order)
    count: int = 0  # ApproximateReceiveCount
    handle: str | None = None  # the latest receipt handle
    received_at: int | None = None
    first_receive: str | None = None  # ApproximateFirstReceiveTimestamp as first seen
    epoch: int = 0  # bumped by every visibility change: attempt ids replay only untouched messages

    def visible(self, now: int) -> bool:
        return self.visible_at <= now

    def doomed(self, now: int) -> bool:
        """Visible after its last allowed receive: the next receive to reach it moves it."""
        return self.count >= MAX_RECEIVES and self.visible(now)


@dataclass
class Dead:
    """A message that is, may be or was in a dead-letter queue."""

    msg: Msg
    must_until: float  # surely there (unless drained) before this time
    may_until: float  # possibly there before this time


@dataclass
class Attempt:
    expires: int
    count: int  # MaxNumberOfMessages: a retry repeats its request
    entries: list[tuple[str, str, int]]  # (message id, receipt handle, epoch)


@dataclass
class QueueModel:
    url: str = ""
    dlq_url: str = ""
    arn: str = ""
    msgs: dict[str, Msg] = field(default_factory=dict)  # in the queue (doomed ones maybe not)
    dead: dict[str, Dead] = field(default_factory=dict)
    purged_at: int | None = None
    visibility: int = VISIBILITY  # the queue's VisibilityTimeout
    delay: int = 0  # the queue's DelaySeconds


SEEN: Counter[str] = Counter()  # what the runs exercised (printed with -s)


def event(name: str) -> None:
    SEEN[name] += 1
    try:
        hypothesis_event(name)
    except Exception:  # outside a test run (a debugging session)
        pass


def error_code(error: ClientError) -> str:
    return short(error.response["Error"]["Code"])


def short(code: str) -> str:
    """The error code without the legacy query prefix botocore reports for some."""
    return code.removeprefix("AWS.SimpleQueueService.")


class SqsModel(RuleBasedStateMachine):
    proc: Any = None
    durable = False  # with a data directory: the machine may kill -9 and restart the server

    @initialize(per_group=st.booleans(), fifo_delay=st.sampled_from([0, 0, MINUTE]))
    def setup(self, per_group: bool, fifo_delay: int) -> None:
        """`per_group`: the FIFO queue is high-throughput (deduplication ids count per group);
        `fifo_delay`: its DelaySeconds (FIFO messages cannot have their own)."""
        self.per_group = per_group
        self.proc.reset()
        self.sqs = make_client(self.proc.url, "sqs")
        self.now = 0
        self.sends = 0
        self.handles: dict[str, tuple[str, str]] = {}  # every receipt handle -> (queue, message id)
        self.dedup: dict[str, tuple[int, str, str]] = {}  # id -> (expires, message id, seq number)
        self.attempts: dict[str, Attempt] = {}
        self.queues = {"std": QueueModel(), "fifo": QueueModel()}
        for kind, queue in self.queues.items():
            suffix = ".fifo" if kind == "fifo" else ""
            extra = {"FifoQueue": "true"} if kind == "fifo" else {}
            common = {"MessageRetentionPeriod": str(RETENTION), "VisibilityTimeout": str(VISIBILITY)}
            queue.dlq_url = self.sqs.create_queue(
                QueueName=f"{kind}-dead{suffix}", Attributes={**common, **extra}
            )["QueueUrl"]
            dlq_arn = self.sqs.get_queue_attributes(QueueUrl=queue.dlq_url, AttributeNames=["QueueArn"])
            policy = (
                f'{{"deadLetterTargetArn": "{dlq_arn["Attributes"]["QueueArn"]}", '
                f'"maxReceiveCount": "{MAX_RECEIVES}"}}'
            )
            if kind == "fifo":
                extra["ContentBasedDeduplication"] = "true"
                extra["DelaySeconds"] = str(fifo_delay)
                queue.delay = fifo_delay
                if per_group:
                    extra["DeduplicationScope"] = "messageGroup"
                    extra["FifoThroughputLimit"] = "perMessageGroupId"
            queue.url = self.sqs.create_queue(
                QueueName=f"{kind}-source{suffix}", Attributes={**common, **extra, "RedrivePolicy": policy}
            )["QueueUrl"]
            queue.arn = self.sqs.get_queue_attributes(QueueUrl=queue.url, AttributeNames=["QueueArn"])[
                "Attributes"
            ]["QueueArn"]

    # ---- the clock -------------------------------------------------------------------------------

    @rule(seconds=ADVANCES)
    def advance(self, seconds: int) -> None:
        self.proc.advance_clock(seconds)
        self.now += seconds
        for queue in self.queues.values():
            for mid, msg in list(queue.msgs.items()):
                if msg.sent + RETENTION <= self.now:  # past retention, wherever it is
                    del queue.msgs[mid]
                    if msg.queue == "fifo" and msg.count >= MAX_RECEIVES:  # it may have moved in time
                        queue.dead[mid] = Dead(msg, -1.0, msg.sent + 2 * RETENTION)
            for mid, dead in list(queue.dead.items()):
                if dead.may_until <= self.now:
                    del queue.dead[mid]

    # ---- sending ---------------------------------------------------------------------------------

    def _body(self, body: str) -> str:
        self.sends += 1
        return f"{body}-{self.sends}"

    @rule(body=BODIES, delay=DELAYS, tagged=st.booleans(), group=st.one_of(st.none(), GROUPS))
    def send_standard(self, body: str, delay: int, tagged: bool, group: str | None) -> None:
        """`group`: a fair queue's tenant (a group id on a standard queue: no ordering)."""
        body = self._body(body)
        attributes = {"tag": {"DataType": "String", "StringValue": body}} if tagged else None
        extra: dict[str, Any] = {"MessageAttributes": attributes} if attributes else {}
        if delay:
            extra["DelaySeconds"] = delay
        if group:
            extra["MessageGroupId"] = group
        sent = self.sqs.send_message(QueueUrl=self.queues["std"].url, MessageBody=body, **extra)
        self._stored("std", sent["MessageId"], body, delay, attributes, group=group)

    @rule(kind=st.sampled_from(["std", "fifo"]), value=st.sampled_from([0, MINUTE, 2 * MINUTE]))
    def set_visibility_timeout(self, kind: str, value: int) -> None:
        """A new default visibility timeout applies to later receives only."""
        queue = self.queues[kind]
        self.sqs.set_queue_attributes(QueueUrl=queue.url, Attributes={"VisibilityTimeout": str(value)})
        queue.visibility = value

    @rule(entries=st.lists(st.tuples(BODIES, DELAYS), min_size=1, max_size=4))
    def send_standard_batch(self, entries: list[tuple[str, int]]) -> None:
        bodies = [self._body(body) for body, _ in entries]
        answer = self.sqs.send_message_batch(
            QueueUrl=self.queues["std"].url,
            Entries=[
                {"Id": f"e{i}", "MessageBody": body, "DelaySeconds": delay}
                for i, (body, (_, delay)) in enumerate(zip(bodies, entries, strict=True))
            ],
        )
        assert not answer.get("Failed")
        ids = {entry["Id"]: entry["MessageId"] for entry in answer["Successful"]}
        assert sorted(ids) == [f"e{i}" for i in range(len(entries))]
        for i, (body, (_, delay)) in enumerate(zip(bodies, entries, strict=True)):
            self._stored("std", ids[f"e{i}"], body, delay, None)

    def _stored(self, kind: str, mid: str, body: str, delay: int, attributes: Any, **fifo: Any) -> Msg:
        queue = self.queues[kind]
        assert mid not in queue.msgs and mid not in queue.dead
        msg = Msg(mid, body, kind, self.now, self.now + delay, attributes, order=self.sends, **fifo)
        queue.msgs[mid] = msg
        return msg

    def _fifo_send(self, body: str, group: str, dedup: str | None, answer: dict[str, Any]) -> None:
        """Check one FIFO send's answer against the deduplication ids, and store the message."""
        key = dedup or hashlib.sha256(body.encode()).hexdigest()
        known = self.dedup.get(f"{group}/{key}" if self.per_group else key)
        if known is not None and known[0] > self.now:  # a duplicate: accepted, not stored
            event("fifo: deduplicated")
            assert (answer["MessageId"], answer["SequenceNumber"]) == known[1:], (key, answer, known)
            return
        group_numbers = [int(m.number or 0) for m in self.queues["fifo"].msgs.values() if m.group == group]
        assert all(int(answer["SequenceNumber"]) > n for n in group_numbers)
        self.dedup[f"{group}/{key}" if self.per_group else key] = (
            self.now + WINDOW,
            answer["MessageId"],
            answer["SequenceNumber"],
        )
        self._stored(
            "fifo",
            answer["MessageId"],
            body,
            self.queues["fifo"].delay,
            None,
            group=group,
            dedup=key,
            number=answer["SequenceNumber"],
        )

    @rule(body=BODIES, group=GROUPS, dedup=DEDUP, unique=UNIQUE)
    def send_fifo(self, body: str, group: str, dedup: str | None, unique: bool) -> None:
        if unique:
            body = self._body(body)
        else:
            self.sends += 1
        extra = {"MessageDeduplicationId": dedup} if dedup else {}
        answer = self.sqs.send_message(
            QueueUrl=self.queues["fifo"].url, MessageBody=body, MessageGroupId=group, **extra
        )
        self._fifo_send(body, group, dedup, answer)

    @rule(entries=st.lists(st.tuples(BODIES, GROUPS, DEDUP, UNIQUE), min_size=1, max_size=4))
    def send_fifo_batch(self, entries: list[tuple[str, str, str | None, bool]]) -> None:
        bodies = [
            f"{body}-{self.sends + i}" if unique else body for i, (body, *_, unique) in enumerate(entries)
        ]
        request = []
        for i, (body, (_, group, dedup, _)) in enumerate(zip(bodies, entries, strict=True)):
            entry = {"Id": f"e{i}", "MessageBody": body, "MessageGroupId": group}
            if dedup:
                entry["MessageDeduplicationId"] = dedup
            request.append(entry)
        answer = self.sqs.send_message_batch(QueueUrl=self.queues["fifo"].url, Entries=request)
        assert not answer.get("Failed")
        results = {entry["Id"]: entry for entry in answer["Successful"]}
        assert sorted(results) == [f"e{i}" for i in range(len(entries))]
        for i, (body, (_, group, dedup, _)) in enumerate(zip(bodies, entries, strict=True)):
            self.sends += 1
            self._fifo_send(body, group, dedup, results[f"e{i}"])

    # ---- receiving -------------------------------------------------------------------------------

    def _receive(
        self, url: str, count: int, visibility: int | None, everything: bool, **extra: Any
    ) -> list[Any]:
        if visibility is not None:
            extra["VisibilityTimeout"] = visibility
        if everything:
            extra["MessageSystemAttributeNames"] = ["All"]
            extra["MessageAttributeNames"] = ["All"]
        answer = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=count, WaitTimeSeconds=0, **extra)
        got = answer.get("Messages", [])
        event(f"received {min(len(got), 2)}+ messages")
        assert len(got) <= count
        assert len({m["MessageId"] for m in got}) == len(got), got
        return got

    def _check_message(self, msg: Msg, got: dict[str, Any], everything: bool) -> None:
        assert got["Body"] == msg.body
        assert got["MD5OfBody"] == hashlib.md5(msg.body.encode()).hexdigest()
        if not everything:
            assert "Attributes" not in got and "MessageAttributes" not in got
            return
        attributes = got["Attributes"]
        assert attributes["ApproximateReceiveCount"] == str(msg.count), (msg, got)
        if msg.first_receive is None:
            msg.first_receive = attributes["ApproximateFirstReceiveTimestamp"]
        assert attributes["ApproximateFirstReceiveTimestamp"] == msg.first_receive
        assert int(attributes["SentTimestamp"]) <= int(msg.first_receive)
        assert attributes.get("MessageGroupId") == msg.group
        if msg.queue == "fifo":
            assert attributes["MessageDeduplicationId"] == msg.dedup
            assert attributes["SequenceNumber"] == msg.number
        assert got.get("MessageAttributes") == msg.attributes

    def _received(self, msg: Msg, got: dict[str, Any], visibility: int, everything: bool) -> None:
        msg.count += 1
        msg.visible_at = self.now + visibility
        msg.received_at = self.now
        msg.epoch += 1
        assert got["ReceiptHandle"] not in self.handles
        msg.handle = got["ReceiptHandle"]
        self.handles[msg.handle] = (msg.queue, msg.mid)
        self._check_message(msg, got, everything)

    def _moved(self, kind: str, msg: Msg, surely_since: float) -> None:
        """The message went to its dead-letter queue (some time since it became doomed)."""
        event(f"{kind}: moved to the dead-letter queue")
        queue = self.queues[kind]
        del queue.msgs[msg.mid]
        if kind == "std":  # keeps its age
            queue.dead[msg.mid] = Dead(msg, msg.sent + RETENTION, msg.sent + RETENTION)
        else:  # its age starts again when moved
            queue.dead[msg.mid] = Dead(msg, surely_since + RETENTION, self.now + RETENTION)

    @precondition(lambda self: self.queues["std"].msgs)
    @rule(count=st.integers(1, 10), visibility=st.one_of(st.none(), VISIBILITIES), everything=st.booleans())
    def receive_standard(self, count: int, visibility: int | None, everything: bool) -> None:
        queue = self.queues["std"]
        got = self._receive(queue.url, count, visibility, everything)
        deliverable = {mid for mid, m in queue.msgs.items() if m.visible(self.now) and not m.doomed(self.now)}
        ids = [m["MessageId"] for m in got]
        assert set(ids) <= deliverable, (ids, deliverable)
        # Gondwana looks at every message (AWS's short polls may sample fewer).
        assert len(got) == min(count, len(deliverable)), (ids, deliverable)
        if len(got) < count:  # it looked past every visible message: the doomed ones moved
            for msg in list(queue.msgs.values()):
                if msg.doomed(self.now):
                    self._moved("std", msg, msg.visible_at)
        vt = queue.visibility if visibility is None else visibility
        for item in got:
            self._received(queue.msgs[item["MessageId"]], item, vt, everything)

    def _runs(self) -> dict[str, list[Msg]]:
        """Per FIFO group: the messages a receive may reach, in order (up to the first that is not
        visible; doomed ones included: the receive moves them on its way)."""
        runs: dict[str, list[Msg]] = {}
        blocked: set[str] = set()
        for msg in sorted(self.queues["fifo"].msgs.values(), key=lambda m: m.order):
            assert msg.group is not None
            run = runs.setdefault(msg.group, [])
            if msg.group in blocked:
                continue
            if msg.visible(self.now):
                run.append(msg)
            else:
                blocked.add(msg.group)
        return runs

    @precondition(lambda self: self.queues["fifo"].msgs)
    @rule(
        count=st.integers(1, 10),
        visibility=st.one_of(st.none(), VISIBILITIES),
        everything=st.booleans(),
        attempt=st.one_of(st.none(), st.sampled_from(["a1", "a2"])),
    )
    def receive_fifo(self, count: int, visibility: int | None, everything: bool, attempt: str | None) -> None:
        self._receive_fifo(count, visibility, everything, attempt)

    @precondition(lambda self: self.attempts)
    @rule(visibility=st.one_of(st.none(), VISIBILITIES), everything=st.booleans(), data=st.data())
    def retry_receive_fifo(self, visibility: int | None, everything: bool, data: st.DataObject) -> None:
        """Retry a receive with its attempt id (as an SDK does when the answer got lost)."""
        attempt = data.draw(st.sampled_from(sorted(self.attempts)), label="attempt")
        self._receive_fifo(self.attempts[attempt].count, visibility, everything, attempt)

    def _receive_fifo(
        self, count: int, visibility: int | None, everything: bool, attempt: str | None
    ) -> None:
        queue = self.queues["fifo"]
        vt = queue.visibility if visibility is None else visibility
        extra = {"ReceiveRequestAttemptId": attempt} if attempt else {}
        recorded = self.attempts.pop(attempt, None) if attempt else None
        if recorded is not None:
            count = recorded.count  # a retry repeats its request
        if attempt and recorded is not None and recorded.expires > self.now:
            msgs = [queue.msgs.get(mid) for mid, _, _ in recorded.entries]
            intact = all(
                m is not None and m.handle == handle and m.epoch == epoch
                for m, (_, handle, epoch) in zip(msgs, recorded.entries, strict=True)
            )
            if intact and any(m is not None and m.doomed(self.now) for m in msgs):
                self.attempts[attempt] = recorded
                return  # it is unknown whether the server moved it already
            if intact:
                got = self._receive(queue.url, count, visibility, everything, **extra)
                assert [(g["MessageId"], g["ReceiptHandle"]) for g in got] == [
                    (mid, handle) for mid, handle, _ in recorded.entries
                ], "a receive attempt id replays the same messages and handles"
                for msg, item in zip(msgs, got, strict=True):
                    assert msg is not None
                    msg.visible_at = self.now + vt
                    msg.epoch += 1
                    self._check_message(msg, item, everything)
                event("attempt id replayed")
                recorded.entries = [(m.mid, m.handle or "", m.epoch) for m in msgs if m]
                self.attempts[attempt] = recorded
                return
        runs = self._runs()
        got = self._receive(queue.url, count, visibility, everything, **extra)
        returned: dict[str, list[str]] = {}
        for item in got:
            msg = queue.msgs.get(item["MessageId"])
            assert msg is not None and msg.group is not None, item
            returned.setdefault(msg.group, []).append(msg.mid)
        partial = 0
        deliverable_total = sum(1 for run in runs.values() for m in run if not m.doomed(self.now))
        for group, mids in returned.items():
            offered = [m for m in runs.get(group, []) if not m.doomed(self.now)]
            assert mids == [m.mid for m in offered[: len(mids)]], (
                "a FIFO receive returns each group's available messages in order",
                group,
                mids,
                [m.mid for m in offered],
            )
            if len(mids) < len(offered):
                partial += 1
        assert partial <= 1, "as many messages of one group as fit"
        if len(got) < count:
            assert partial == 0 and len(got) == deliverable_total, (
                "room left, yet an available group was skipped",
                [m["MessageId"] for m in got],
                {g: [m.mid for m in run] for g, run in runs.items()},
            )
        # Doomed messages the receive went past have moved.
        for group, run in runs.items():
            last = returned.get(group, [])
            reach = [m.mid for m in run].index(last[-1]) if last else -1
            for index, msg in enumerate(run):
                if msg.doomed(self.now) and (index < reach or len(got) < count):
                    self._moved("fifo", msg, msg.visible_at)
        for item in got:
            self._received(queue.msgs[item["MessageId"]], item, vt, everything)
        if attempt and got:
            self.attempts[attempt] = Attempt(
                self.now + WINDOW,
                count,
                [(g["MessageId"], g["ReceiptHandle"], queue.msgs[g["MessageId"]].epoch) for g in got],
            )

    @precondition(
        lambda self: any(
            q.dead or any(m.count >= MAX_RECEIVES for m in q.msgs.values()) for q in self.queues.values()
        )
    )
    @rule(kind=st.sampled_from(["std", "fifo"]))
    def drain_dead_letters(self, kind: str) -> None:
        """Receive from a dead-letter queue and delete what came (nothing stays in flight there)."""
        queue = self.queues[kind]
        got = self._receive(queue.dlq_url, 10, None, True)
        for item in got:
            mid = item["MessageId"]
            if mid in queue.dead:
                msg = queue.dead.pop(mid).msg
            else:  # a doomed message the model did not know had moved
                msg = queue.msgs.pop(mid, None)  # type: ignore[assignment]
                assert msg is not None and msg.doomed(self.now), (kind, mid)
            event(f"{kind}: drained a dead letter")
            assert item["Body"] == msg.body
            assert item["Attributes"]["DeadLetterQueueSourceArn"] == queue.arn
            assert int(item["Attributes"]["ApproximateReceiveCount"]) == msg.count + 1
            if kind == "fifo":
                assert item["Attributes"]["MessageGroupId"] == msg.group
            self.sqs.delete_message(QueueUrl=queue.dlq_url, ReceiptHandle=item["ReceiptHandle"])
        if len(got) < 10:
            missing = [mid for mid, dead in queue.dead.items() if dead.must_until > self.now]
            assert not missing, ("messages moved to the dead-letter queue were not there", missing)
            queue.dead.clear()  # whatever was not there is not there

    # ---- deleting and visibility -----------------------------------------------------------------

    def _pick_handle(self, kind: str, data: st.DataObject) -> tuple[str, Msg | None]:
        """A receipt handle of this queue's messages: mostly the latest of one still there."""
        queue = self.queues[kind]
        # In the order the model met them (never sorted: handles are random, and hypothesis
        # must draw the same way when it replays a sequence).
        latest = [m.handle for m in queue.msgs.values() if m.handle]
        if latest and data.draw(st.integers(0, 3), label="latest?"):
            pool = latest
        else:
            pool = [h for h, (k, _) in self.handles.items() if k == kind]
        if not pool:
            return "", None
        handle = data.draw(st.sampled_from(pool), label="handle")
        return handle, queue.msgs.get(self.handles[handle][1])

    def _delete_outcome(self, kind: str, handle: str, msg: Msg | None) -> str | None:
        """Apply a delete to the model: None if it succeeds, else the expected error code; "?"
        when the model cannot tell (a doomed message that may have moved)."""
        queue = self.queues[kind]
        if msg is None:
            return None  # gone: deleting it again is fine
        latest = msg.handle == handle
        if kind == "std":
            if latest:
                if msg.doomed(self.now):  # deleted here, or moved already: either way not here
                    del queue.msgs[msg.mid]
                    queue.dead[msg.mid] = Dead(msg, -1.0, msg.sent + RETENTION)
                    return None
                del queue.msgs[msg.mid]
            return None  # an outdated handle deletes nothing, and says nothing
        if msg.doomed(self.now):
            return "?"  # refused if still here, fine if it moved
        if latest and not msg.visible(self.now):
            del queue.msgs[msg.mid]
            return None
        return "InvalidParameterValue"  # the receipt handle has expired

    def _resolve_doomed(self, kind: str, msg: Msg | None, present: bool) -> None:
        if msg is None:
            return
        if present:
            return
        self._moved(kind, msg, msg.visible_at)

    @precondition(lambda self: self.handles)
    @rule(kind=st.sampled_from(["std", "fifo"]), data=st.data())
    def delete(self, kind: str, data: st.DataObject) -> None:
        handle, msg = self._pick_handle(kind, data)
        if not handle:
            return
        expected = self._delete_outcome(kind, handle, msg)
        try:
            self.sqs.delete_message(QueueUrl=self.queues[kind].url, ReceiptHandle=handle)
        except ClientError as error:
            event(f"{kind}: delete refused")
            assert expected in ("?", error_code(error)), (expected, error.response)
            if expected == "?":
                self._resolve_doomed(kind, msg, present=True)
        else:
            assert expected in (None, "?"), (expected, kind, msg, handle)
            if expected == "?":
                self._resolve_doomed(kind, msg, present=False)

    @precondition(lambda self: self.handles)
    @rule(kind=st.sampled_from(["std", "fifo"]), data=st.data(), size=st.integers(1, 4))
    def delete_batch(self, kind: str, data: st.DataObject, size: int) -> None:
        picks = [self._pick_handle(kind, data) for _ in range(size)]
        picks = list({h: (h, m) for h, m in picks if h}.values())
        if not picks or any(m is not None and m.doomed(self.now) for _, m in picks):
            return  # the model could not tell the outcomes of doomed ones apart in a batch
        expected = []
        for handle, _ in picks:
            msg = self.queues[kind].msgs.get(self.handles[handle][1])
            expected.append(self._delete_outcome(kind, handle, msg))
        answer = self.sqs.delete_message_batch(
            QueueUrl=self.queues[kind].url,
            Entries=[{"Id": f"e{i}", "ReceiptHandle": h} for i, (h, _) in enumerate(picks)],
        )
        outcome = {entry["Id"]: None for entry in answer["Successful"]}
        outcome.update({entry["Id"]: short(entry["Code"]) for entry in answer["Failed"]})
        assert outcome == {f"e{i}": code for i, code in enumerate(expected)}, (outcome, expected)

    def _change_outcome(self, kind: str, handle: str, msg: Msg | None, timeout: int) -> str | None:
        if msg is None or msg.handle != handle:
            return "InvalidParameterValue"  # gone, or not its latest handle
        if kind == "fifo" and msg.visible(self.now):
            return "MessageNotInflight"
        assert msg.received_at is not None
        total = self.now + timeout - msg.received_at
        if total > MAX_TOTAL_VISIBILITY:
            return "InvalidParameterValue"
        if total == MAX_TOTAL_VISIBILITY:
            return "?"  # on the limit: the server's clock has moved on a little
        return None

    def _changed(self, msg: Msg | None, timeout: int) -> None:
        assert msg is not None
        msg.visible_at = self.now + timeout
        msg.epoch += 1

    @precondition(lambda self: self.handles)
    @rule(kind=st.sampled_from(["std", "fifo"]), data=st.data(), timeout=CHANGES)
    def change_visibility(self, kind: str, data: st.DataObject, timeout: int) -> None:
        handle, msg = self._pick_handle(kind, data)
        if not handle:
            return
        doomed = msg is not None and msg.doomed(self.now) and msg.handle == handle
        expected = self._change_outcome(kind, handle, msg, timeout)
        try:
            self.sqs.change_message_visibility(
                QueueUrl=self.queues[kind].url, ReceiptHandle=handle, VisibilityTimeout=timeout
            )
        except ClientError as error:
            code = error_code(error)
            event(f"{kind}: change visibility refused: {code}")
            gone = "does not exist" in error.response["Error"].get("Message", "")  # (not the 12 h limit)
            if doomed and gone and expected != "InvalidParameterValue":
                self._resolve_doomed(kind, msg, present=False)  # it had moved
                return
            assert expected in (code, "?"), (expected, error.response, kind, msg)
            if doomed:
                self._resolve_doomed(kind, msg, present=True)
        else:
            assert expected in (None, "?"), (expected, kind, msg, handle, timeout)
            self._changed(msg, timeout)

    @precondition(lambda self: self.handles)
    @rule(kind=st.sampled_from(["std", "fifo"]), data=st.data(), size=st.integers(1, 4), timeout=CHANGES)
    def change_visibility_batch(self, kind: str, data: st.DataObject, size: int, timeout: int) -> None:
        picks = [self._pick_handle(kind, data) for _ in range(size)]
        picks = list({h: (h, m) for h, m in picks if h}.values())
        if not picks or any(m is not None and m.doomed(self.now) for _, m in picks):
            return
        picks = list({self.handles[h][1]: (h, m) for h, m in picks}.values())  # one entry a message
        expected = [self._change_outcome(kind, h, m, timeout) for h, m in picks]
        if "?" in expected:
            return  # on the 12-hour limit: not in a batch
        for (_, msg), outcome in zip(picks, expected, strict=True):
            if outcome is None:
                self._changed(msg, timeout)
        answer = self.sqs.change_message_visibility_batch(
            QueueUrl=self.queues[kind].url,
            Entries=[
                {"Id": f"e{i}", "ReceiptHandle": h, "VisibilityTimeout": timeout}
                for i, (h, _) in enumerate(picks)
            ],
        )
        outcome = {entry["Id"]: None for entry in answer["Successful"]}
        outcome.update({entry["Id"]: short(entry["Code"]) for entry in answer["Failed"]})
        assert outcome == {f"e{i}": code for i, code in enumerate(expected)}, (outcome, expected)

    @rule(kind=st.sampled_from(["std", "fifo"]), really=st.integers(0, 3))
    def purge(self, kind: str, really: int) -> None:
        if really:
            return  # purges are rare: they empty the queue
        queue = self.queues[kind]
        try:
            self.sqs.purge_queue(QueueUrl=queue.url)
        except ClientError as error:
            event("purge in progress")
            assert error_code(error) == "PurgeQueueInProgress"
            assert queue.purged_at is not None and self.now - queue.purged_at < PURGE_INTERVAL
            return
        assert queue.purged_at is None or self.now - queue.purged_at >= PURGE_INTERVAL
        queue.purged_at = self.now
        for msg in queue.msgs.values():
            if msg.doomed(self.now):  # may have moved before the purge
                queue.dead[msg.mid] = Dead(
                    msg, -1.0, self.now + RETENTION if kind == "fifo" else msg.sent + RETENTION
                )
        queue.msgs.clear()

    @precondition(lambda self: self.durable)
    @rule(really=st.integers(0, 1))
    def crash(self, really: int) -> None:
        """kill -9 and restart: every acknowledged change survives (the clock is set again)."""
        if really:
            return  # restarts are slow: keep them rare
        self.proc.kill()
        self.proc.restart()
        self.proc.advance_clock(self.now)
        event("restarted")

    # ---- counters --------------------------------------------------------------------------------

    @precondition(lambda self: hasattr(self, "queues"))
    @invariant()
    def counters(self) -> None:
        event(f"step; messages {min(len(self.queues['std'].msgs) + len(self.queues['fifo'].msgs), 3)}+")
        for queue in self.queues.values():
            if any(m.doomed(self.now) for m in queue.msgs.values()):
                event("counters unknown")
                continue  # some may have moved already
            got = self.sqs.get_queue_attributes(
                QueueUrl=queue.url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                    "ApproximateNumberOfMessagesDelayed",
                ],
            )["Attributes"]
            msgs = queue.msgs.values()
            assert got == {
                "ApproximateNumberOfMessages": str(sum(m.visible(self.now) for m in msgs)),
                "ApproximateNumberOfMessagesNotVisible": str(
                    sum(not m.visible(self.now) and m.count > 0 for m in msgs)
                ),
                "ApproximateNumberOfMessagesDelayed": str(
                    sum(not m.visible(self.now) and m.count == 0 for m in msgs)
                ),
            }, (got, [(m.mid, m.visible_at, m.count) for m in msgs], self.now)


def test_sqs_matches_the_model(fresh_server: Any) -> None:
    SqsModel.proc = fresh_server(in_memory=True)
    SqsModel.durable = False
    run_state_machine_as_test(SqsModel, settings=SETTINGS)
    report()


def test_sqs_matches_the_model_across_crashes(fresh_server: Any) -> None:
    """The same, on a durable store, with kill -9 and restart among the rules."""
    SqsModel.proc = fresh_server()
    SqsModel.durable = True
    try:
        run_state_machine_as_test(
            SqsModel, settings=settings(SETTINGS, max_examples=max(1, SETTINGS.max_examples // 3))
        )
    finally:
        SqsModel.durable = False
    report()


def report() -> None:
    """What the runs exercised (pytest -s shows it): for tuning, and for long campaigns."""
    print("\n".join(f"{count:6} {name}" for name, count in sorted(SEEN.items())))
    SEEN.clear()
