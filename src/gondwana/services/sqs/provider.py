"""SQS queue operations: create, find, list, attributes, purge, delete, tags and permissions.

Message operations live in `sending.py` and `receiving.py`, dead-letter queues and message move
tasks in `redrive.py`; `SqsService` combines them.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from gondwana.protocols.errors import ServiceError
from gondwana.server.context import RequestContext
from gondwana.services.sqs import engine, errors, queues, retention
from gondwana.services.sqs.common import SqsBase
from gondwana.services.sqs.deleting import DeleteOps
from gondwana.services.sqs.queues import Queue
from gondwana.services.sqs.receiving import ReceiveOps
from gondwana.services.sqs.redrive import RedriveOps
from gondwana.services.sqs.sending import SendOps

PURGE_INTERVAL = 60.0
MAX_TAGS = 50


class SqsService(SendOps, ReceiveOps, DeleteOps, RedriveOps, SqsBase):
    # ---- queues --------------------------------------------------------------------------------

    def create_queue(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["QueueName"]
        attributes = dict(params.get("Attributes") or {})
        fifo_flag = attributes.get("FifoQueue", "false").lower()
        if fifo_flag not in ("true", "false"):
            raise errors.invalid_attribute_value("FifoQueue")
        fifo = fifo_flag == "true"
        queues.check_name(name, fifo or name.endswith(".fifo"))
        if name.endswith(".fifo") and not fifo:
            raise errors.invalid_parameter(
                "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, "
                "must end with .fifo suffix and be 1 to 80 in length."
            )
        stored = queues.validate(attributes, fifo, creating=True)
        self.check_policies(ctx, stored, fifo, name)
        tags = params.get("tags") or {}
        existing = self.registry.get(ctx.account, ctx.region, name)
        if existing is not None:
            current = existing.effective()
            for key, value in stored.items():
                if current.get(key, "") != value:
                    raise ServiceError(
                        "QueueNameExists",
                        f"A queue already exists with the same name and a different value for attribute "
                        f"{key}",
                    )
            return {"QueueUrl": self.url(ctx, existing)}
        now = self.now()
        if self.registry.recently_deleted(ctx.account, ctx.region, name, now):
            raise ServiceError(
                "QueueDeletedRecently",
                "You must wait 60 seconds after deleting a queue before you can create another "
                "with the same name.",
            )
        if len(tags) > MAX_TAGS:
            raise errors.invalid_parameter(f"Too many tags added for queue {name}.")
        stored = {k: v for k, v in stored.items() if v != ""}
        queue = self.registry.create(ctx.account, ctx.region, name, fifo, stored, dict(tags), now)
        return {"QueueUrl": self.url(ctx, queue)}

    def get_queue_url(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account = params.get("QueueOwnerAWSAccountId") or ctx.account
        queue = self.registry.get(account, ctx.region, params["QueueName"])
        if queue is None:
            raise errors.queue_does_not_exist(self.is_query(ctx))
        return {"QueueUrl": self.url(ctx, queue)}

    def list_queues(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        prefix = params.get("QueueNamePrefix") or ""
        limit = params.get("MaxResults")
        if limit is not None and not 1 <= limit <= 1000:
            raise errors.invalid_value(
                limit, "MaxResults", "MaxResults must be an integer between 1 and 1000."
            )
        after = ""
        if params.get("NextToken"):
            try:
                after = base64.b64decode(params["NextToken"], validate=True).decode()
            except (binascii.Error, UnicodeError, ValueError):
                raise errors.invalid_parameter("Invalid NextToken value.") from None
        found = self.registry.named_from(ctx.account, ctx.region, prefix, after, (limit or 1000) + 1)
        page = found[: limit or 1000]
        result: dict[str, Any] = {}
        if page:
            result["QueueUrls"] = [self.url(ctx, q) for q in page]
        if limit is not None and len(found) > limit:
            result["NextToken"] = base64.b64encode(page[-1].name.encode()).decode()
        return result

    def delete_queue(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        queue = self.queue(ctx, params.get("QueueUrl"))
        store = self.runtime.store
        with store.transaction():
            engine.drop_queue(self.runtime.reclaimer, queue)
            self.registry.delete(queue, self.now())
        self.wake(queue)

    def purge_queue(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        queue = self.queue(ctx, params.get("QueueUrl"))
        now = self.now()
        if queue.purged_at is not None and now - queue.purged_at < PURGE_INTERVAL:
            raise ServiceError(
                "PurgeQueueInProgress",
                f"Only one PurgeQueue operation on {queue.name} is allowed every 60 seconds.",
            )
        # One write whatever the queue's depth: the queue moves to a new, empty space, and the
        # messages are deleted in the background (in the request, 300,000 of them held up every
        # request for 0.7 s).
        with self.runtime.store.transaction():
            engine.drop_space(self.runtime.reclaimer, self.registry.move_to_new_space(queue))
            queue.purged_at = now
            queue.inflight_bound = queue.oldest_sent = None
            self.registry.save(queue)

    # ---- attributes ----------------------------------------------------------------------------

    def get_queue_attributes(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        queue = self.queue(ctx, params.get("QueueUrl"))
        wanted = set(params.get("AttributeNames") or ())
        if not wanted:
            return {}
        now = self.now()
        values = queue.effective()
        values["QueueArn"] = queue.arn
        values["CreatedTimestamp"] = str(int(queue.created))
        values["LastModifiedTimestamp"] = str(int(queue.modified))
        if "All" in wanted or wanted & set(queues.COUNTERS):
            may_have_expired = retention.due(queue, now)
            if may_have_expired:  # a round learns the oldest message: the next calls count less
                self.retention.start()
            values.update(engine.counters(self.runtime.store, queue, now, may_have_expired))
        if "All" not in wanted:
            values = {k: v for k, v in values.items() if k in wanted}
        return {"Attributes": values} if values else {}

    def set_queue_attributes(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        queue = self.queue(ctx, params.get("QueueUrl"))
        attributes = params.get("Attributes") or {}
        stored = queues.validate(attributes, queue.fifo, creating=False)
        self.check_policies(ctx, stored, queue.fifo, queue.name)
        merged = dict(queue.attributes)
        if stored.get("KmsMasterKeyId"):
            merged.pop("SqsManagedSseEnabled", None)
        if stored.get("SqsManagedSseEnabled") == "true":
            merged.pop("KmsMasterKeyId", None)
        for key, value in stored.items():
            if value == "":
                merged.pop(key, None)
            else:
                merged[key] = value
        store = self.runtime.store
        with store.transaction():
            queue.attributes = merged
            queue.modified = self.now()
            self.registry.save(queue)
        self.wake(queue)  # a shorter retention or delay may change what a waiting receive sees

    def check_policies(self, ctx: RequestContext, stored: dict[str, str], fifo: bool, name: str) -> None:
        redrive = stored.get("RedrivePolicy")
        if redrive:
            arn, _ = queues.redrive_target(redrive)
            parsed = queues.parse_arn(arn)
            target = self.registry.get(parsed[1], parsed[0], parsed[2]) if parsed else None
            prefix = f"Value {redrive} for parameter RedrivePolicy is invalid. Reason: "
            if target is None:
                raise errors.invalid_parameter(prefix + "Dead-letter target does not exist.")
            if target.fifo != fifo:
                raise errors.invalid_parameter(
                    prefix + "Dead-letter queue must be same type of queue as the source."
                )
            if not queues.allows_source(target, queues.arn_for(ctx.region, ctx.account, name)):
                raise errors.invalid_parameter(
                    prefix + f"Queue {arn} does not allow this queue to use it as a dead-letter queue."
                )
            stored["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": arn, "maxReceiveCount": queues.redrive_target(redrive)[1]},
                separators=(",", ":"),
            )
        if stored.get("RedriveAllowPolicy"):
            queues.check_redrive_allow(stored["RedriveAllowPolicy"])

    # ---- tags ----------------------------------------------------------------------------------

    def tag_queue(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        queue = self.queue(ctx, params.get("QueueUrl"))
        tags = {**queue.tags, **(params.get("Tags") or {})}
        if len(tags) > MAX_TAGS:
            raise errors.invalid_parameter(f"Too many tags added for queue {queue.name}.")
        self._save_tags(queue, tags)

    def untag_queue(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        queue = self.queue(ctx, params.get("QueueUrl"))
        drop = set(params.get("TagKeys") or ())
        self._save_tags(queue, {k: v for k, v in queue.tags.items() if k not in drop})

    def _save_tags(self, queue: Queue, tags: dict[str, str]) -> None:
        store = self.runtime.store
        with store.transaction():
            queue.tags = tags
            self.registry.save(queue)

    def list_queue_tags(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        queue = self.queue(ctx, params.get("QueueUrl"))
        return {"Tags": dict(queue.tags)} if queue.tags else {}

    # ---- permissions ---------------------------------------------------------------------------

    def add_permission(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        queue = self.queue(ctx, params.get("QueueUrl"))
        label = params["Label"]
        policy = self._policy(queue)
        if any(s.get("Sid") == label for s in policy["Statement"]):
            raise errors.invalid_value(label, "Label", "Already exists.")
        principals = [f"arn:aws:iam::{account}:root" for account in params["AWSAccountIds"]]
        actions = [f"SQS:{action}" for action in params["Actions"]]
        policy["Statement"].append(
            {
                "Sid": label,
                "Effect": "Allow",
                "Principal": {"AWS": principals[0] if len(principals) == 1 else principals},
                "Action": actions[0] if len(actions) == 1 else actions,
                "Resource": queue.arn,
            }
        )
        self._save_policy(queue, policy)

    def remove_permission(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        queue = self.queue(ctx, params.get("QueueUrl"))
        label = params["Label"]
        policy = self._policy(queue)
        kept = [s for s in policy["Statement"] if s.get("Sid") != label]
        if len(kept) == len(policy["Statement"]):
            raise errors.invalid_value(label, "Label", "can't find label.")
        policy["Statement"] = kept
        self._save_policy(queue, policy)

    @staticmethod
    def _policy(queue: Queue) -> dict[str, Any]:
        text = queue.attributes.get("Policy")
        policy = json.loads(text) if text else {}
        policy.setdefault("Version", "2008-10-17")
        policy.setdefault("Id", f"{queue.arn}/SQSDefaultPolicy")
        policy.setdefault("Statement", [])
        return policy

    def _save_policy(self, queue: Queue, policy: dict[str, Any]) -> None:
        store = self.runtime.store
        with store.transaction():
            if policy["Statement"]:
                queue.attributes["Policy"] = json.dumps(policy, separators=(",", ":"))
            else:
                queue.attributes.pop("Policy", None)
            queue.modified = self.now()
            self.registry.save(queue)
