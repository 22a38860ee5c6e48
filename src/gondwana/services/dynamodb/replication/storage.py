"""SQL for replication: the durable outbox of changes still to deliver, and delete tombstones.

An outbox row is one item change for one target region, written in the same store transaction as
the local change and deleted in the same transaction as its application in the target, so a change
is delivered exactly once across `kill -9`. A put's row holds the new item (`keys` empty: the key
is in the item), a delete's row the key (`item` NULL). Tombstones keep a deleted item's (written,
origin) so a late, older write cannot bring it back. Auto scaling settings have a table of their own.
"""

MIGRATIONS = [
    """
    CREATE TABLE dynamodb_repl_outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, account TEXT NOT NULL, name TEXT NOT NULL,
        source TEXT NOT NULL, target TEXT NOT NULL, keys TEXT NOT NULL, item TEXT,
        written REAL NOT NULL, origin TEXT NOT NULL);
    CREATE INDEX dynamodb_repl_outbox_by_pair ON dynamodb_repl_outbox (source, target, seq);
    CREATE TABLE dynamodb_repl_tombstones (
        tid INTEGER NOT NULL, spread INTEGER NOT NULL, hk BLOB NOT NULL, rk BLOB NOT NULL,
        written REAL NOT NULL, origin TEXT NOT NULL,
        PRIMARY KEY (tid, spread, hk, rk)) WITHOUT ROWID;
    """,
    # UpdateTableReplicaAutoScaling's settings, one row per enabled dimension (see autoscaling.py).
    """
    CREATE TABLE dynamodb_repl_autoscaling (
        account TEXT NOT NULL, name TEXT NOT NULL, region TEXT NOT NULL, idx TEXT NOT NULL,
        dim TEXT NOT NULL, settings TEXT NOT NULL,
        PRIMARY KEY (account, name, region, idx, dim)) WITHOUT ROWID;
    """,
    # Tombstones are forgotten by age, a chunk at a time (ttl.py): without this index, each chunk
    # read them all.
    "CREATE INDEX dynamodb_repl_tombstones_by_age ON dynamodb_repl_tombstones (written)",
    # A region that left a table's replication group voids the table's outbox rows from or to it
    # up to `below` (replicator.py): deleting them in the call took 0.2 s per 100,000 queued.
    """
    CREATE TABLE dynamodb_repl_cutoffs (
        account TEXT NOT NULL, name TEXT NOT NULL, region TEXT NOT NULL, below INTEGER NOT NULL,
        PRIMARY KEY (account, name, region)) WITHOUT ROWID
    """,
]
