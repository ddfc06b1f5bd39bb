// The SQS consumer's lease against the real SQS server: a message being handled stays invisible
// past its lease (renewed), and one whose consumer stops renewing comes back within the lease,
// not the queue's 30 s visibility timeout.
import { randomUUID } from 'node:crypto';
import {
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import { SNSClient } from '@aws-sdk/client-sns';
import { SqsConsumer } from '../../platform/sqsConsumer';
import { serviceLogger } from '../../platform/log';
import { ensureOrderChannels } from '../../scripts/localAws';
import { eventually } from '../support/eventually';

const sqs = new SQSClient({});
const sns = new SNSClient({});
let queueUrl: string;

beforeAll(async () => {
  const suffix = randomUUID().slice(0, 8);
  ({ ordersQueueUrl: queueUrl } = await ensureOrderChannels(
    {
      ordersQueueName: `lease-orders-${suffix}.fifo`,
      orderEventsTopicName: `lease-events-${suffix}.fifo`,
      relayQueueName: `lease-relay-${suffix}.fifo`,
    },
    { sqs, sns },
  ));
});
afterAll(() => {
  sqs.destroy();
  sns.destroy();
});

const send = (body: string) =>
  sqs.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: body,
      MessageGroupId: 'BTC',
      MessageDeduplicationId: randomUUID(),
    }),
  );

/** What another consumer would get right now (waiting up to `seconds`). */
const receiveElsewhere = async (seconds: number): Promise<Message[]> =>
  (
    await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: seconds,
      }),
    )
  ).Messages ?? [];

test('a message handled for longer than its lease stays invisible, and is handled once', async () => {
  await send('slow');
  const handled: string[] = [];
  let seenElsewhere: Message[] | undefined;
  const consumer = new SqsConsumer({
    sqs,
    queueUrl,
    waitSeconds: 1,
    leaseSeconds: 2,
    log: serviceLogger('lease-test'),
    handleBatch: async (messages) => {
      handled.push(...messages.map((m) => m.Body ?? ''));
      // Three leases long; meanwhile another consumer must not see it.
      seenElsewhere = await receiveElsewhere(6);
      return messages; // deleted by the consumer
    },
  });
  consumer.start();
  await eventually(() => (handled.length > 0 ? true : undefined), 'the message handled');
  // Stopped while the batch is in hand: its renewals go on and it is finished and deleted first.
  await consumer.stop();
  expect(seenElsewhere).toEqual([]);
  expect(handled).toEqual(['slow']);
  // Longer than the lease: a message that was not deleted would be back.
  expect(await receiveElsewhere(3)).toEqual([]);
}, 30_000);

test('a message its consumer stopped renewing comes back within the lease', async () => {
  await send('orphan');
  // A consumer that received with a 2 s lease and died before renewing or deleting.
  const first = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 5, VisibilityTimeout: 2 }),
  );
  expect(first.Messages?.map((m) => m.Body)).toEqual(['orphan']);
  const started = Date.now();
  let again: Message[] = [];
  while (again.length === 0 && Date.now() - started < 10_000) again = await receiveElsewhere(1);
  expect(again.map((m) => m.Body)).toEqual(['orphan']);
  expect(Date.now() - started).toBeLessThan(5_000); // the queue's own timeout is 30 s
  for (const m of again)
    await sqs.send(
      new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }),
    );
}, 30_000);

test('stop() ends a waiting receive at once; a message sent meanwhile is back within the lease', async () => {
  const handled: string[] = [];
  const consumer = new SqsConsumer({
    sqs,
    queueUrl,
    waitSeconds: 20,
    leaseSeconds: 2,
    log: serviceLogger('lease-test'),
    handleBatch: (messages) => {
      handled.push(...messages.map((m) => m.Body ?? ''));
      return Promise.resolve(messages);
    },
  });
  consumer.start();
  await new Promise((r) => setTimeout(r, 500)); // its receive is waiting now
  const started = Date.now();
  await consumer.stop();
  expect(Date.now() - started).toBeLessThan(1_000);
  // The server may still hand this one to the aborted long poll: then it is leased, not lost.
  await send('after-stop');
  let again: Message[] = [];
  while (again.length === 0 && Date.now() - started < 10_000) again = await receiveElsewhere(1);
  expect(again.map((m) => m.Body)).toEqual(['after-stop']);
  expect(Date.now() - started).toBeLessThan(5_000);
  expect(handled).toEqual([]);
  for (const m of again)
    await sqs.send(
      new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }),
    );
}, 30_000);
