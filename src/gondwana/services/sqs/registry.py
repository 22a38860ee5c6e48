"""The queue catalogue: rows in `sqs_queues`, mirrored in memory so resolving a QueueUrl is a dict hit."""

from __future__ import annotations

import bisect
import json

from gondwana.services.sqs.queues import Queue
from gondwana.storage import Store

DELETE_COOLDOWN = 60.0  # seconds a deleted queue's name stays reserved


class Registry:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.queues: dict[tuple[str, str, str], Queue] = {}
        self.by_id: dict[int, Queue] = {}
        # The queues whose RedrivePolicy names each dead-letter queue (by its ARN), and the ARN
        # each such queue names: ListDeadLetterSourceQueues read every queue's policy instead.
        self._sources: dict[str, dict[int, Queue]] = {}
        self._target: dict[int, str] = {}
        # Each region's queue names in order, for ListQueues' pages (sorting them all for each page
        # took 8 ms at 10,000 queues).
        self._names: dict[tuple[str, str], list[str]] = {}

    def load(self) -> None:
        self.queues.clear()
        self.by_id.clear()
        self._sources.clear()
        self._target.clear()
        self._names.clear()
        for row in self.store.query(
            "SELECT id, account, region, name, fifo, attributes, tags, created, modified, "
            "space, purged_at FROM sqs_queues"
        ):
            self._remember(
                Queue(
                    row[0],
                    row[1],
                    row[2],
                    row[3],
                    bool(row[4]),
                    json.loads(row[5]),
                    json.loads(row[6]),
                    row[7],
                    row[8],
                    row[9],
                    row[10],
                )
            )

    def _remember(self, queue: Queue) -> None:
        self.queues[(queue.account, queue.region, queue.name)] = queue
        self.by_id[queue.id] = queue
        bisect.insort(self._names.setdefault((queue.account, queue.region), []), queue.name)
        self._index_redrive(queue)

    def _index_redrive(self, queue: Queue) -> None:
        """File the queue under the dead-letter queue its RedrivePolicy names now (if any)."""
        old = self._target.pop(queue.id, None)
        if old is not None:
            self._sources[old].pop(queue.id, None)
        policy = queue.redrive() if queue.id in self.by_id else None
        target = policy.get("deadLetterTargetArn") if policy else None
        if target:
            self._target[queue.id] = target
            self._sources.setdefault(target, {})[queue.id] = queue

    def sources_of(self, dlq_arn: str) -> list[Queue]:
        """The queues whose RedrivePolicy names this dead-letter queue, by name."""
        return sorted(self._sources.get(dlq_arn, {}).values(), key=lambda q: q.name)

    def get(self, account: str, region: str, name: str) -> Queue | None:
        return self.queues.get((account, region, name))

    def named_from(self, account: str, region: str, prefix: str, after: str, limit: int) -> list[Queue]:
        """Up to `limit` of the region's queues whose names start with `prefix` and come after
        `after`, in name order."""
        names = self._names.get((account, region), [])
        start = max(bisect.bisect_left(names, prefix), bisect.bisect_right(names, after))
        found = []
        for name in names[start : start + limit]:
            if not name.startswith(prefix):
                break
            found.append(self.queues[(account, region, name)])
        return found

    def recently_deleted(self, account: str, region: str, name: str, now: float) -> bool:
        row = self.store.query_one(
            "SELECT deleted_at FROM sqs_deleted WHERE account = ? AND region = ? AND name = ?",
            (account, region, name),
        )
        return row is not None and now - row[0] < DELETE_COOLDOWN

    def create(
        self,
        account: str,
        region: str,
        name: str,
        fifo: bool,
        attributes: dict[str, str],
        tags: dict[str, str],
        now: float,
    ) -> Queue:
        with self.store.transaction():
            space = self._new_space()
            queue_id = self.store.insert(
                "INSERT INTO sqs_queues (account, region, name, fifo, attributes, tags, created, modified, "
                "space) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (account, region, name, int(fifo), json.dumps(attributes), json.dumps(tags), now, now, space),
            )
            self.store.execute(
                "DELETE FROM sqs_deleted WHERE account = ? AND region = ? AND name = ?",
                (account, region, name),
            )
        queue = Queue(queue_id, account, region, name, fifo, attributes, tags, now, now, space)
        queue.oldest_sent = now  # no message yet: every one will be sent after now
        queue.depth, queue.depth_undone = 0, self.store.undone
        self._remember(queue)
        return queue

    def save(self, queue: Queue) -> None:
        """Persist attributes, tags and purge time (call inside a transaction)."""
        self._index_redrive(queue)
        self.store.execute(
            "UPDATE sqs_queues SET attributes = ?, tags = ?, modified = ?, purged_at = ? WHERE id = ?",
            (json.dumps(queue.attributes), json.dumps(queue.tags), queue.modified, queue.purged_at, queue.id),
        )

    def move_to_new_space(self, queue: Queue) -> int:
        """Give the queue a new, empty space for its messages (call inside a transaction); the old
        one, which it takes back should the commit fail."""
        old, queue.space = queue.space, self._new_space()
        queue.depth, queue.depth_undone = 0, self.store.undone
        self.store.execute("UPDATE sqs_queues SET space = ? WHERE id = ?", (queue.space, queue.id))
        new = queue.space

        def undone(error: BaseException | None) -> None:
            if error is not None and queue.space == new:
                queue.space = old

        self.store.after_commit(undone)
        return old

    def _new_space(self) -> int:
        """A space never used before (the table keeps only its last row; its sequence goes on)."""
        space = self.store.insert("INSERT INTO sqs_spaces DEFAULT VALUES")
        self.store.execute("DELETE FROM sqs_spaces WHERE id < ?", (space,))
        return space

    def delete(self, queue: Queue, now: float) -> None:
        """Forget the queue (call inside a transaction, with its messages)."""
        self.store.execute("DELETE FROM sqs_queues WHERE id = ?", (queue.id,))
        self.store.execute(
            "INSERT INTO sqs_deleted (account, region, name, deleted_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (account, region, name) DO UPDATE SET deleted_at = excluded.deleted_at",
            (queue.account, queue.region, queue.name, now),
        )
        self.queues.pop((queue.account, queue.region, queue.name), None)
        self.by_id.pop(queue.id, None)
        names = self._names[(queue.account, queue.region)]
        del names[bisect.bisect_left(names, queue.name)]
        self._index_redrive(queue)
