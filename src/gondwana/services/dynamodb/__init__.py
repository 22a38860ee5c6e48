"""Amazon DynamoDB (API 2012-08-10) and DynamoDB Streams.

provider.py        operations dispatch (DynamoDBService); streams.py is the second service
tables.py          control plane: lifecycle, DescribeTable shape; table_specs.py (CreateTable rules),
                   table_updates.py (UpdateTable), index_updates.py (its GSI updates), provisioning.py
                   (throughput changes), misc.py (TTL, backups, policies), tags.py, limits.py, warm.py,
                   insights.py, kinesis_destinations.py (settings only)
items.py           PutItem/GetItem/UpdateItem/DeleteItem; params.py (expression vs legacy rules)
query.py           Query and Scan; batch.py; transactions.py; partiql*.py
writes.py          the one write path: item row, index entries, counters, stream record
backups.py         on-demand backups; snapshots.py (their items copied in passes, as at the request),
                   recovery.py (point in time), restoring.py (a table made and filled from either)
schema.py          a table's keys, attribute types, indexes; keys.py (sortable key bytes)
types.py           attribute values, numbers, sizes; codec.py (stored form); capacity.py
storage.py         SQL schema and table metadata; shards.py (stream shards); ttl.py (sweeper),
                   expiry_index.py (the items' expiry set again in passes when TTL is turned on or off)
expressions/       the expression language (conditions, updates, projections, key conditions)
"""
