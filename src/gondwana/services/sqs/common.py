"""What every SQS operation shares: the service's wire identity, the queue catalogue, queue lookup
by URL, validation wording, and the long-poll wake-ups."""

from __future__ import annotations

import asyncio
import copy
from typing import Any, ClassVar

from gondwana.protocols.errors import ServiceError, Violation
from gondwana.server.context import RequestContext
from gondwana.services.base import Service
from gondwana.services.sqs import dedup, errors
from gondwana.services.sqs.query_names import MODEL_PATCHES
from gondwana.services.sqs.queues import Queue, parse_queue_url, url_for
from gondwana.services.sqs.registry import DELETE_COOLDOWN, Registry
from gondwana.services.sqs.retention import Retention
from gondwana.services.sqs.storage import MIGRATIONS
from gondwana.storage.passes import every

SWEEP_INTERVAL = 60.0
# Records forgotten per pass: ~2 ms of work, most of it the random-order key index's pages. A
# minute of FIFO sends at full speed leaves a million deduplication ids to forget: at once, that
# held up every request for 2-3 s; in passes it costs about twice the work, spread out.
SWEEP_CHUNK = 500


_FORGET_ATTEMPTS = (
    "DELETE FROM sqs_attempts WHERE rowid IN "
    "(SELECT rowid FROM sqs_attempts WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)"
)


class SqsBase(Service):
    name = "sqs"
    model_name = "sqs"
    signing_name = "sqs"
    endpoint_prefix = "sqs"
    target_prefix = "AmazonSQS"
    error_namespace = errors.NAMESPACE
    xml_namespace = "http://queue.amazonaws.com/doc/2012-11-05/"
    speaks_query = True
    model_patches: ClassVar[dict[str, dict[str, Any]]] = MODEL_PATCHES
    error_overrides: ClassVar[dict[str, tuple[int, str]]] = errors.OVERRIDES

    registry: Registry
    retention: Retention

    def load_model(self) -> dict[str, Any]:
        model = super().load_model()
        # ReceiveMessage's legacy AttributeNames carries message system attribute names, though
        # the model types it with the queue attribute enum; give it a plain string list.
        shapes = model["shapes"]
        shapes["ReceiveAttributeNameList"] = copy.deepcopy(shapes["AttributeNameList"])
        shapes["ReceiveAttributeNameList"]["member"]["shape"] = "String"
        shapes["ReceiveMessageRequest"]["members"]["AttributeNames"]["shape"] = "ReceiveAttributeNameList"
        # Query clients may name the queue by the request path instead: `queue()` checks QueueUrl.
        for shape in shapes.values():
            if "QueueUrl" in shape.get("required", ()):
                shape["required"] = [m for m in shape["required"] if m != "QueueUrl"]
        return model

    # ---- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        self.runtime.store.register("sqs", MIGRATIONS)
        self.registry = Registry(self.runtime.store)
        self.registry.load()
        self.retention = Retention(self.runtime.store, self.runtime.later, self.registry, self.now)
        self.runtime.clock_listeners.append(self.wake_all)
        self.resume_tasks()
        store, later = self.runtime.store, self.runtime.later
        self.stop_sweeping = every(store, later, self.sweep, "the SQS sweep", SWEEP_INTERVAL, SWEEP_INTERVAL)

    def reset(self) -> None:
        self.wake_all()
        self.registry.load()  # (the sweep goes on)

    def sweep(self) -> bool:
        """Forget deduplication ids, receive attempts and name reservations past their window, a
        chunk a pass (True: a full chunk, more may be due; the next pass then follows once this
        one is committed, so requests go on between passes). Expired messages are deleted by
        rounds of their own (`retention`), one started here unless one is running."""
        self.retention.start()
        store = self.runtime.store
        now = self.now()
        with store.transaction():
            more = dedup.sweep(store, now, SWEEP_CHUNK)
            more |= store.execute(_FORGET_ATTEMPTS, (now, SWEEP_CHUNK)) == SWEEP_CHUNK
            store.execute("DELETE FROM sqs_deleted WHERE deleted_at <= ?", (now - DELETE_COOLDOWN,))
        return more

    def health(self) -> dict[str, Any]:
        return {"state": "running", "queues": len(self.registry.queues)}

    def resume_tasks(self) -> None:
        """Overridden by the move-task mixin."""

    # ---- helpers -------------------------------------------------------------------------------

    def now(self) -> float:
        return self.runtime.now()

    @staticmethod
    def is_query(ctx: RequestContext) -> bool:
        return ctx.protocol is not None and ctx.protocol.name == "query"

    def queue(self, ctx: RequestContext, url: str | None = None) -> Queue:
        """The queue a QueueUrl names, in any accepted form (ours, AWS's, or account/name)."""
        if not url:
            path = ctx.request.path.strip("/")
            if path.count("/") != 1:
                raise errors.missing_parameter("QueueUrl")
            url = path
        parsed = parse_queue_url(url, ctx.account)
        queue = self.registry.get(parsed[0], ctx.region, parsed[2]) if parsed else None
        if queue is None:
            raise errors.queue_does_not_exist(self.is_query(ctx))
        return queue

    @staticmethod
    def url(ctx: RequestContext, queue: Queue) -> str:
        return url_for(ctx.base_url, queue.account, queue.name)

    def wake(self, queue: Queue, count: int | None = None, *, more: bool = False) -> None:
        """Tell long polls waiting on `queue` to look again: `count` of them, the longest waiting
        first (one per message that may have become receivable: waking every poll for each
        message made N waiting consumers cost N receives a message), or all of them. `more`: how
        many messages showed is not known (the queue's timer), so a poll that takes a full batch
        wakes the next one in turn."""
        waiters = queue.waiters
        while waiters and (count is None or count > 0):
            waiter = next(iter(waiters))
            del waiters[waiter]
            if not waiter.done():
                waiter.set_result(more)
                if count is not None:
                    count -= 1

    def wake_all(self) -> None:
        for queue in list(self.registry.queues.values()):
            if queue.waiters:
                self.wake(queue)

    # ---- validation wording --------------------------------------------------------------------

    def validation_error(self, violations: list[Violation]) -> ServiceError:
        v = violations[0]
        if v.kind == "required":
            if v.name == "DataType" and ".member." in v.path:
                attribute = v.path.rsplit(".member.", 1)[0].rsplit(".", 1)[-1]
                return errors.invalid_parameter(
                    f"The message attribute '{attribute}' must contain non-empty message attribute type."
                )
            return errors.missing_parameter(v.name)
        if v.kind == "enum" and isinstance(v.value, str):
            if "messageSystemAttributes" in v.path:
                return errors.invalid_parameter(f"Message system attribute name '{v.value}' is invalid.")
            return errors.unknown_attribute(v.value)
        return errors.invalid_value(v.value, v.name, v.constraint)


def new_future() -> asyncio.Future[None]:
    return asyncio.get_running_loop().create_future()
