"""@aws-sdk/client-kinesis (JavaScript v3) against Kinesis: PutRecords, GetRecords, SubscribeToShard.

The JS Kinesis client speaks HTTP/2 (h2c with prior knowledge on an http:// endpoint) by default.
"""

from __future__ import annotations

from typing import Any

from tests.kinesis.conftest import unique
from tests.support.node import run_js


def test_js_sdk_put_get_and_subscribe(server: Any) -> None:
    name = unique("js")
    out = run_js(
        """
        import { KinesisClient, CreateStreamCommand, PutRecordsCommand, GetShardIteratorCommand,
                 GetRecordsCommand, RegisterStreamConsumerCommand, SubscribeToShardCommand,
                 waitUntilStreamExists } from "@aws-sdk/client-kinesis";
        const client = new KinesisClient({ endpoint: process.env.ENDPOINT, region: process.env.REGION });
        const StreamName = process.env.STREAM;
        await client.send(new CreateStreamCommand({ StreamName, ShardCount: 1 }));
        await waitUntilStreamExists({ client, minDelay: 1, maxWaitTime: 20 }, { StreamName });
        const put = await client.send(new PutRecordsCommand({ StreamName, Records: [
          { Data: new TextEncoder().encode("one"), PartitionKey: "a" },
          { Data: new Uint8Array([0, 255, 1]), PartitionKey: "b" } ] }));
        const it = await client.send(new GetShardIteratorCommand({
          StreamName, ShardId: put.Records[0].ShardId, ShardIteratorType: "TRIM_HORIZON" }));
        const got = await client.send(new GetRecordsCommand({ ShardIterator: it.ShardIterator }));
        const StreamARN = `arn:aws:kinesis:${process.env.REGION}:000000000000:stream/${StreamName}`;
        const consumer = await client.send(new RegisterStreamConsumerCommand({ StreamARN, ConsumerName: "js" }));
        const sub = await client.send(new SubscribeToShardCommand({ ConsumerARN: consumer.Consumer.ConsumerARN,
          ShardId: put.Records[0].ShardId, StartingPosition: { Type: "TRIM_HORIZON" } }));
        let pushed = [];
        for await (const event of sub.EventStream) {
          pushed = event.SubscribeToShardEvent.Records.map(r => r.SequenceNumber);
          if (pushed.length) break;
        }
        console.log(JSON.stringify({
          failed: put.FailedRecordCount, seqs: put.Records.map(r => r.SequenceNumber), pushed,
          records: got.Records.map(r => ({ seq: r.SequenceNumber, data: Array.from(r.Data), key: r.PartitionKey,
                                          dated: r.ApproximateArrivalTimestamp instanceof Date })),
          next: typeof got.NextShardIterator, behind: got.MillisBehindLatest }));
        process.exit(0);  // leave the HTTP/2 session behind
        """,
        server.url,
        STREAM=name,
    )
    assert out["failed"] == 0
    assert [r["seq"] for r in out["records"]] == out["seqs"] == out["pushed"]
    assert [r["data"] for r in out["records"]] == [list(b"one"), [0, 255, 1]]
    assert [r["key"] for r in out["records"]] == ["a", "b"]
    assert all(r["dated"] for r in out["records"])
    assert (out["next"], out["behind"]) == ("string", 0)
