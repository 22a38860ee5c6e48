"""SQS (issue 3): send, and receive then delete, in batches of 1 and 10, on standard and FIFO queues
(10 message groups), 256-byte bodies; the same on a queue holding 100,000 messages (standard, and
FIFO in 10,000 groups).

Receive + delete is a Lua flow: the load generator sends ReceiveMessage, keeps the receipt handles
it gets back, and spends them in DeleteMessage (or DeleteMessageBatch) requests; it counts the
messages whose delete it sent, so units/s is messages received and deleted per second. Those
queues are filled first (SendMessageBatch through wrk), for a limited time so a slow peer gets a
few thousand messages instead of taking an hour.
"""

from __future__ import annotations

from typing import Any

from harness.requests import SEQ, Call, Clients
from workloads import Workload

BODY = "x" * 256
GROUPS = 10
VISIBILITY = 2  # the receive workloads' visibility timeout (s); each load waits it out first
FILL_SECONDS = 25  # the receive workloads' fill: at most this long (Gondwana fills far more than it drains)


def _queue(clients: Clients, fifo: bool, name: str) -> str:
    """Create (or find: CreateQueue is idempotent) the workload's queue; its URL."""
    attributes = {"FifoQueue": "true"} if fifo else {}
    sqs = clients.client("sqs")
    return sqs.create_queue(QueueName=name + (".fifo" if fifo else ""), Attributes=attributes)["QueueUrl"]


def _entry(fifo: bool, k: int) -> dict[str, Any]:
    """One message; on FIFO, group k % 10 and a deduplication id unique in the run (SEQ plus k,
    as every SEQ in one request gets the same number)."""
    if not fifo:
        return {"MessageBody": BODY}
    return {"MessageBody": BODY, "MessageGroupId": f"g{k % GROUPS}", "MessageDeduplicationId": f"{SEQ}-{k}"}


def _sends(fifo: bool, batch: int, name: str):
    def build(clients: Clients) -> list[Call]:
        url = _queue(clients, fifo, name)
        if batch == 1:  # one request per group, in rotation
            return [Call("sqs", "send_message", {"QueueUrl": url, **_entry(fifo, k)}) for k in range(GROUPS)]
        entries = [{"Id": str(k), **_entry(fifo, k)} for k in range(batch)]
        return [Call("sqs", "send_message_batch", {"QueueUrl": url, "Entries": entries})]

    return build


def _receive_delete(fifo: bool, batch: int, name: str):
    def build(clients: Clients) -> list[Call]:
        url = _queue(clients, fifo, name)
        # A short visibility timeout: on FIFO, the messages a load leaves received but not deleted
        # lock their groups until it expires (each load waits it out first: `pause`).
        params = {"QueueUrl": url, "MaxNumberOfMessages": batch, "WaitTimeSeconds": 0}
        params["VisibilityTimeout"] = VISIBILITY
        receive = Call("sqs", "receive_message", params)
        if batch == 1:
            delete = Call("sqs", "delete_message", {"QueueUrl": url, "ReceiptHandle": "ZhandlesZ"})
        else:
            entries = [{"Id": "0", "ReceiptHandle": "ZhandlesZ"}]
            delete = Call("sqs", "delete_message_batch", {"QueueUrl": url, "Entries": entries})
        return [receive, delete]

    return build


# Receive, then delete what was received. For a batch, the placeholder (the first entry's handle)
# becomes `h1"},{"Id":"1","ReceiptHandle":"h2 ...`: the entries follow it, whatever the spacing.
_RECEIVE_DELETE_LUA = """
local handles = {}
local per_delete = %d
units = 0

function request()
  -- Delete only whole batches, oldest handles first, as consumers delete what they received: the
  -- pool is shared by the connections, and a partial batch would only be an artifact of their timing.
  if #handles < per_delete then return reqs[1] end
  local take = per_delete
  local value = table.remove(handles, 1)
  for k = 1, take - 1 do
    value = value .. '"},{"Id":"' .. k .. '","ReceiptHandle":"' .. table.remove(handles, 1)
  end
  units = units + take
  return substitute(reqs[2], "ZhandlesZ", value)
end

function response(status, headers, body)
  if status ~= 200 then return end
  for handle in body:gmatch('"ReceiptHandle"%%s*:%%s*"([^"]+)"') do handles[#handles + 1] = handle end
end
"""


def _cycle(name: str, fifo: bool = False):
    """On FIFO, every message sent is a group of its own (as with a group per user or order)."""

    def build(clients: Clients) -> list[Call]:
        url = _queue(clients, fifo, name)
        ids = {"MessageGroupId": f"u{SEQ}", "MessageDeduplicationId": f"{SEQ}"} if fifo else {}
        return [
            Call("sqs", "send_message", {"QueueUrl": url, "MessageBody": BODY, **ids}),
            Call("sqs", "receive_message", {"QueueUrl": url, "WaitTimeSeconds": 0}),
            Call("sqs", "delete_message", {"QueueUrl": url, "ReceiptHandle": "ZhandlesZ"}),
        ]

    return build


# Send, receive, delete what was received: the queue's depth stays where the fill left it.
# units = messages deleted (one per cycle).
_CYCLE_LUA = """
local handles = {}
local send_next = true
units = 0

function request()
  if #handles > 0 then
    units = units + 1
    return substitute(reqs[3], "ZhandlesZ", table.remove(handles))
  end
  send_next = not send_next
  if send_next then return reqs[2] end
  return numbered(1)  -- the send (on FIFO, its ids carry SEQ)
end

function response(status, headers, body)
  if status ~= 200 then return end
  for handle in body:gmatch('"ReceiptHandle"%s*:%s*"([^"]+)"') do handles[#handles + 1] = handle end
end
"""


def _fill(fifo: bool, name: str):
    return _sends(fifo, 10, name)


DEEP_GROUPS = 10_000  # the deep FIFO queue's groups: 10 messages each after 10,000 batches


def _fill_groups(name: str):
    """Batches of 10 to a FIFO queue, across DEEP_GROUPS groups in rotation."""

    def build(clients: Clients) -> list[Call]:
        url = _queue(clients, True, name)
        return [
            Call(
                "sqs",
                "send_message_batch",
                {
                    "QueueUrl": url,
                    "Entries": [
                        {
                            "Id": str(k),
                            "MessageBody": BODY,
                            "MessageGroupId": f"g{j * 10 + k}",
                            "MessageDeduplicationId": f"{SEQ}-{k}",
                        }
                        for k in range(10)
                    ],
                },
            )
            for j in range(DEEP_GROUPS // 10)
        ]

    return build


def _variant(fifo: bool, batch: int) -> str:
    return f"{'fifo' if fifo else 'std'}.x{batch}"


WORKLOADS: list[Workload] = []
for _fifo in (False, True):
    _basic = ("moto",) if not _fifo else ()
    for _batch in (1, 10):
        _v = _variant(_fifo, _batch)
        WORKLOADS.append(
            Workload(
                f"sqs.Send.{_v}",
                f"SendMessage{'Batch of 10' if _batch == 10 else ''}, 256-byte bodies, "
                f"{'FIFO queue, 10 groups' if _fifo else 'standard queue'}",
                _sends(_fifo, _batch, f"send-{_v}".replace(".", "-")),
                peers=_basic,
                units_per_request=_batch,
                unit="msg",
                target_pct=20 if _batch == 1 else None,
                baseline=f"sqs.Send.{_variant(_fifo, 1)}" if _batch == 10 else "",
            )
        )
        WORKLOADS.append(
            Workload(
                f"sqs.RecvDel.{_v}",
                f"ReceiveMessage (max {_batch}) then Delete{'MessageBatch' if _batch == 10 else 'Message'}"
                f" of what came back, {'FIFO, 10 groups' if _fifo else 'standard'}",
                _receive_delete(_fifo, _batch, f"recv-{_v}".replace(".", "-")),
                peers=_basic if _batch == 1 else (),
                unit="msg",
                target_pct=20 if _batch == 1 else None,
                lua=_RECEIVE_DELETE_LUA % _batch,
                prefill=_fill(_fifo, f"recv-{_v}".replace(".", "-")),
                # More than a full run drains (warm-up and three loads, 16 s) on the fastest machine
                # seen: a queue that runs dry turns receives into cheap empty ones, and its row then
                # measures them (80,000 and 600,000 messages ran dry on a 157,000 req/s ceiling).
                prefill_requests=40_000 if _batch == 1 else 120_000,
                prefill_seconds=FILL_SECONDS,
                pause=VISIBILITY + 0.5,
                baseline=f"sqs.RecvDel.{_variant(_fifo, 1)}" if _batch == 10 else "",
            )
        )

WORKLOADS += [
    Workload(
        "sqs.Send.std.x1.100k",
        "SendMessage on a standard queue already holding 100,000 messages",
        _sends(False, 1, "deep"),
        unit="msg",
        prefill=_fill(False, "deep"),
        prefill_requests=10_000,
        baseline="sqs.Send.std.x1",
    ),
    Workload(
        "sqs.Cycle.empty",
        "send, receive, delete (one message per cycle) on an empty standard queue",
        _cycle("cycle"),
        unit="msg",
        lua=_CYCLE_LUA,
    ),
    Workload(
        "sqs.Cycle.100k",
        "the same on a queue holding 100,000 messages: the cost must not grow with depth",
        _cycle("deep"),
        unit="msg",
        lua=_CYCLE_LUA,
        prefill=_fill(False, "deep"),
        prefill_requests=10_000,
        baseline="sqs.Cycle.empty",
    ),
    Workload(
        "sqs.Cycle.fifo.empty",
        "send, receive, delete on an empty FIFO queue, every message sent a group of its own",
        _cycle("cycle", fifo=True),
        unit="msg",
        lua=_CYCLE_LUA,
    ),
    Workload(
        "sqs.Cycle.fifo.100k",
        f"the same on a FIFO queue holding 100,000 messages in {DEEP_GROUPS:,} groups",
        _cycle("deep", fifo=True),
        unit="msg",
        lua=_CYCLE_LUA,
        prefill=_fill_groups("deep"),
        prefill_requests=10_000,
        baseline="sqs.Cycle.fifo.empty",
    ),
]
