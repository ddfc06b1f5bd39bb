import { randomUUID } from 'node:crypto';
import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { deadLetterQueue, workQueue } from '../../config/queues';
import { ensureOrderChannels, type OrderChannels } from '../../scripts/localAws';

const sqs = new SQSClient({});
const sns = new SNSClient({});
let channels: OrderChannels;

beforeAll(async () => {
  const suffix = randomUUID().slice(0, 8);
  const names = {
    ordersQueueName: `smoke-orders-${suffix}.fifo`,
    orderEventsTopicName: `smoke-events-${suffix}.fifo`,
    relayQueueName: `smoke-relay-${suffix}.fifo`,
  };
  channels = await ensureOrderChannels(names, { sqs, sns });
  // A second call (the next `npm start`) finds the same resources.
  expect(await ensureOrderChannels(names, { sqs, sns })).toEqual(channels);
});

afterAll(() => {
  sqs.destroy();
  sns.destroy();
});

async function receiveOne(queueUrl: string) {
  for (let i = 0; i < 10; i++) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 1,
        WaitTimeSeconds: 1,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    if (out.Messages?.[0]) return out.Messages[0];
  }
  throw new Error(`nothing arrived in ${queueUrl}`);
}

test('the local queues have the attributes of config/queues.ts, as the CDK stack does', async () => {
  const attributes = async (queueUrl: string): Promise<Record<string, string>> =>
    (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['All'] })))
      .Attributes ?? {};
  for (const [queueUrl, dlqUrl] of [
    [channels.ordersQueueUrl, channels.ordersDlqUrl],
    [channels.relayQueueUrl, channels.relayDlqUrl],
  ] as const) {
    const queue = await attributes(queueUrl);
    expect(queue).toMatchObject({
      FifoQueue: String(workQueue.fifo),
      ContentBasedDeduplication: String(workQueue.contentBasedDeduplication),
      VisibilityTimeout: String(workQueue.visibilityTimeoutSeconds),
    });
    const dlq = await attributes(dlqUrl);
    expect(JSON.parse(queue.RedrivePolicy ?? '{}')).toMatchObject({
      deadLetterTargetArn: dlq.QueueArn,
      maxReceiveCount: workQueue.maxReceiveCount,
    });
    expect(dlq).toMatchObject({
      FifoQueue: String(deadLetterQueue.fifo),
      MessageRetentionPeriod: String(deadLetterQueue.retentionSeconds),
    });
  }
});

test('SQS FIFO: send, receive, delete; a duplicate deduplication id is dropped', async () => {
  expect(channels.ordersQueueUrl.endsWith('.fifo')).toBe(true);
  const body = JSON.stringify({ cmd: 'place', orderId: '12345' });
  for (let i = 0; i < 2; i++) {
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: channels.ordersQueueUrl,
        MessageBody: body,
        MessageGroupId: 'BTC',
        MessageDeduplicationId: 'order/user1/12345#1',
      }),
    );
  }
  const message = await receiveOne(channels.ordersQueueUrl);
  expect(message.Body).toBe(body);
  expect(message.Attributes?.MessageGroupId).toBe('BTC');
  await sqs.send(
    new DeleteMessageCommand({
      QueueUrl: channels.ordersQueueUrl,
      ReceiptHandle: message.ReceiptHandle!,
    }),
  );
  const left = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: channels.ordersQueueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  expect(left.Attributes).toMatchObject({
    ApproximateNumberOfMessages: '0',
    ApproximateNumberOfMessagesNotVisible: '0',
  });
});

test('SNS FIFO publish arrives raw in the subscribed SQS FIFO queue', async () => {
  const event = JSON.stringify({ event: 'TRADE', market: 'BTC', seq: 7 });
  await sns.send(
    new PublishCommand({
      TopicArn: channels.orderEventsTopicArn,
      Message: event,
      MessageGroupId: 'BTC',
      MessageDeduplicationId: 'BTC-7',
    }),
  );
  const message = await receiveOne(channels.relayQueueUrl);
  expect(message.Body).toBe(event); // raw delivery: no SNS envelope
  expect(message.Attributes?.MessageGroupId).toBe('BTC');
  await sqs.send(
    new DeleteMessageCommand({
      QueueUrl: channels.relayQueueUrl,
      ReceiptHandle: message.ReceiptHandle!,
    }),
  );
});
