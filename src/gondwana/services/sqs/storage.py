"""SQS tables. Every message lives in SQLite; the indexes keep receive independent of queue depth.

- standard receive walks `(queue_id, visible_at, seq)` from the front;
- FIFO receive walks one row per message group (`sqs_groups.head`, the group's oldest message),
  so its cost follows the number of groups, never the number of messages, and it seeks past the
  groups parked while their head is hidden (`sqs_groups.parked`); the group index holds only
  messages that have a group;
- a message is stored with the columns a receive sets (token, first_receive, received_at) already
  filled, with placeholders of the same size that `receive_count = 0` marks as meaningless, so a
  receive overwrites its row in place instead of growing it (which splits full pages);
- deduplication ids and receive attempts are rows with an expiry, so they survive restarts; a
  sweep drops the expired ones once a minute: receive attempts by their expiry index,
  deduplication ids (written far more often) by their rowid, as every id is stored for the same
  window and a new (or renewed) record takes the next rowid, so rowid order is expiry order and
  the expired ones are the table's front; each send so writes one B-tree fewer;
- messages and groups are keyed by the queue's space, not its id (a purge gives the queue a new
  space); deduplication ids, receive attempts and receipt handles keep the queue's id, as they
  outlive a purge.
"""

from __future__ import annotations

MIGRATIONS = [
    """
    CREATE TABLE sqs_queues (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL,
        fifo INTEGER NOT NULL, attributes TEXT NOT NULL, tags TEXT NOT NULL,
        created REAL NOT NULL, modified REAL NOT NULL, purged_at REAL,
        UNIQUE (account, region, name));
    CREATE TABLE sqs_deleted (
        account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL, deleted_at REAL NOT NULL,
        PRIMARY KEY (account, region, name));
    CREATE TABLE sqs_messages (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        queue_id INTEGER NOT NULL, message_id TEXT NOT NULL, body TEXT NOT NULL,
        attributes TEXT, md5_body TEXT NOT NULL, md5_attributes TEXT, system TEXT,
        sender_id TEXT NOT NULL, sent_at REAL NOT NULL, visible_at REAL NOT NULL,
        receive_count INTEGER NOT NULL DEFAULT 0, first_receive REAL, received_at REAL, token TEXT,
        group_id TEXT, dedup_id TEXT);
    CREATE INDEX sqs_messages_visible ON sqs_messages (queue_id, visible_at, seq);
    CREATE INDEX sqs_messages_group ON sqs_messages (queue_id, group_id, seq);
    CREATE TABLE sqs_groups (
        queue_id INTEGER NOT NULL, group_id TEXT NOT NULL, head INTEGER NOT NULL,
        PRIMARY KEY (queue_id, group_id));
    CREATE INDEX sqs_groups_head ON sqs_groups (queue_id, head);
    CREATE TABLE sqs_dedup (
        queue_id INTEGER NOT NULL, scope TEXT NOT NULL, dedup_id TEXT NOT NULL,
        message_id TEXT NOT NULL, seq INTEGER NOT NULL, expires_at REAL NOT NULL,
        PRIMARY KEY (queue_id, scope, dedup_id));
    CREATE INDEX sqs_dedup_expiry ON sqs_dedup (expires_at);
    CREATE TABLE sqs_attempts (
        queue_id INTEGER NOT NULL, attempt_id TEXT NOT NULL, handles TEXT NOT NULL, expires_at REAL NOT NULL,
        PRIMARY KEY (queue_id, attempt_id));
    CREATE INDEX sqs_attempts_expiry ON sqs_attempts (expires_at);
    CREATE TABLE sqs_tasks (
        handle TEXT PRIMARY KEY, account TEXT NOT NULL, region TEXT NOT NULL,
        source_arn TEXT NOT NULL, destination_arn TEXT, rate INTEGER, status TEXT NOT NULL,
        started REAL NOT NULL, moved INTEGER NOT NULL, to_move INTEGER NOT NULL, failure TEXT);
    CREATE INDEX sqs_tasks_source ON sqs_tasks (account, region, source_arn, started)
    """,
    # Only FIFO (and fair-queue) messages have a group: the others need no entry in the group
    # index, which spares every standard send, receive and delete a B-tree write.
    """
    DROP INDEX sqs_messages_group;
    CREATE INDEX sqs_messages_group ON sqs_messages (queue_id, group_id, seq) WHERE group_id IS NOT NULL
    """,
    # Deduplication ids are swept in rowid order (see above): their expiry index only cost sends.
    "DROP INDEX sqs_dedup_expiry",
    # The visibility index carries each message's send time, so that the retention sweep finds the
    # expired messages (and the oldest one left) in the index alone, never reading a row it keeps.
    """
    DROP INDEX sqs_messages_visible;
    CREATE INDEX sqs_messages_visible ON sqs_messages (queue_id, visible_at, seq, sent_at)
    """,
    # A queue's messages and groups live in a space of their own (see `Queue.space`), so that a
    # purge is one write: the queue moves to a new, empty space; the old one goes to the reclaimer
    # (the runtime's, registered first, whose pending deletes of queues follow the rename). Spaces
    # are drawn from `sqs_spaces`, which starts past every space in use or still to reclaim.
    """
    ALTER TABLE sqs_queues ADD COLUMN space INTEGER;
    UPDATE sqs_queues SET space = id;
    ALTER TABLE sqs_messages RENAME COLUMN queue_id TO space;
    ALTER TABLE sqs_groups RENAME COLUMN queue_id TO space;
    UPDATE reclaim_pending SET col = 'space' WHERE tbl IN ('sqs_messages', 'sqs_groups');
    CREATE TABLE sqs_spaces (id INTEGER PRIMARY KEY AUTOINCREMENT);
    INSERT INTO sqs_spaces (id) SELECT MAX(used) FROM (SELECT MAX(id) AS used FROM sqs_queues
        UNION ALL SELECT MAX(space) FROM sqs_messages UNION ALL SELECT MAX(space) FROM sqs_groups
        UNION ALL SELECT MAX(value) FROM reclaim_pending WHERE tbl IN ('sqs_messages', 'sqs_groups'))
    """,
    # A FIFO receive passes over the groups whose head is hidden (in flight or delayed). A receive
    # that passes many parks them: `parked` takes their head's `visible_at`, and the group index
    # leads with it, so later receives seek past them until then (see picking.pick_fifo). Groups
    # are found by name, never by head, once the index no longer leads with the head.
    """
    ALTER TABLE sqs_groups ADD COLUMN parked REAL NOT NULL DEFAULT 0;
    DROP INDEX sqs_groups_head;
    CREATE INDEX sqs_groups_head ON sqs_groups (space, parked, head)
    """,
]

MESSAGE_COLUMNS = (
    "seq, space, message_id, body, attributes, md5_body, md5_attributes, system, sender_id, sent_at, "
    "visible_at, receive_count, first_receive, received_at, token, group_id, dedup_id"
)
