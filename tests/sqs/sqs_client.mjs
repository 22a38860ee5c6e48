// Drives @aws-sdk/client-sqs against process.env.ENDPOINT and prints what it saw as JSON.
// The SDK checks MD5OfMessageBody / MD5OfMessageAttributes itself and fails on a mismatch.
import {
  SQSClient, CreateQueueCommand, SendMessageCommand, SendMessageBatchCommand, ReceiveMessageCommand,
  DeleteMessageCommand, GetQueueUrlCommand,
} from "@aws-sdk/client-sqs";

const endpoint = process.env.ENDPOINT;
const prefix = process.env.PREFIX;
const credentials = { accessKeyId: "test", secretAccessKey: "test" };
const sqs = new SQSClient({ endpoint, region: "us-east-1", credentials });
const out = {};

const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `${prefix}-js` }));
out.queueUrl = QueueUrl;
const attributes = {
  s: { DataType: "String", StringValue: "héllo" },
  n: { DataType: "Number", StringValue: "12.5" },
  b: { DataType: "Binary", BinaryValue: new Uint8Array([0, 1, 2, 255]) },
};
const sent = await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "from js ✓", MessageAttributes: attributes }));
out.sentMd5 = sent.MD5OfMessageAttributes;
const batch = await sqs.send(new SendMessageBatchCommand({
  QueueUrl,
  Entries: [1, 2].map((i) => ({ Id: `e${i}`, MessageBody: `batch ${i}`, MessageAttributes: attributes })),
}));
out.batchIds = batch.Successful.map((e) => e.Id);
const got = await sqs.send(new ReceiveMessageCommand({
  QueueUrl, MaxNumberOfMessages: 10, MessageAttributeNames: ["All"], MessageSystemAttributeNames: ["All"],
}));
out.bodies = got.Messages.map((m) => m.Body).sort();
out.binary = Array.from(got.Messages[0].MessageAttributes.b.BinaryValue);
for (const m of got.Messages) {
  await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: m.ReceiptHandle }));
}

// No endpoint configured: the SDK sends queue operations to the host in the QueueUrl itself.
const byUrl = new SQSClient({ region: "us-east-1", credentials });
await byUrl.send(new SendMessageCommand({ QueueUrl, MessageBody: "via queue url" }));
const again = await sqs.send(new ReceiveMessageCommand({ QueueUrl }));
out.viaUrl = again.Messages[0].Body;

try {
  await sqs.send(new GetQueueUrlCommand({ QueueName: `${prefix}-missing` }));
  out.error = "none";
} catch (e) {
  out.error = e.name;
  out.errorStatus = e.$metadata.httpStatusCode;
}
console.log(JSON.stringify(out));
