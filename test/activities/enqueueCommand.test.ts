// The matcher-command sender against real SQS (moto): one command is one SendMessageBatch request
// sent at once; many at once share requests (group commit), and every command arrives once, with
// its deduplication id and attributes.
import { randomUUID } from 'node:crypto';
import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import { SNSClient } from '@aws-sdk/client-sns';
import { createEnqueueCommand, deduplicationId } from '../../activities/enqueueCommand';
import type { MatcherCommand } from '../../domain/order';
import { ensureOrderChannels } from '../../scripts/localAws';
import { placeCmd } from '../matcher/support';

const sqs = new SQSClient({});
const sns = new SNSClient({});
let queueUrl: string;
const requests: string[] = [];

beforeAll(async () => {
  const suffix = randomUUID().slice(0, 8);
  const channels = await ensureOrderChannels(
    {
      ordersQueueName: `enq-orders-${suffix}.fifo`,
      orderEventsTopicName: `enq-events-${suffix}.fifo`,
      relayQueueName: `enq-relay-${suffix}.fifo`,
    },
    { sqs, sns },
  );
  queueUrl = channels.ordersQueueUrl;
  sqs.middlewareStack.add(
    (next, context) => (args) => {
      requests.push(context.commandName ?? '?');
      return next(args);
    },
    { step: 'initialize', name: 'countRequests' },
  );
});
afterAll(() => {
  sqs.destroy();
  sns.destroy();
});

/** Receives (and deletes, so the FIFO group moves on) until `count` messages came or time ran out. */
async function receive(count: number, waitMs = 20_000): Promise<Message[]> {
  const messages: Message[] = [];
  const deadline = Date.now() + waitMs;
  while (messages.length < count && Date.now() < deadline) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['MessageDeduplicationId', 'MessageGroupId'],
      }),
    );
    const got = out.Messages ?? [];
    messages.push(...got);
    if (got.length > 0) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: got.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
    }
  }
  return messages;
}

const place = (orderId: string): MatcherCommand =>
  placeCmd({ userID: 'u-enq', orderId, side: 'BUY', price: 100, quantity: 1 });

test('one command is one request, sent at once, with its attributes', async () => {
  const send = createEnqueueCommand(sqs, queueUrl);
  const command = place('o-single');
  requests.length = 0;
  await send({ ...command, issuedAt: Date.now() }, 2);
  expect(requests).toEqual(['SendMessageBatchCommand']);

  const [message] = await receive(1);
  expect(JSON.parse(message?.Body ?? '{}')).toMatchObject({ commandId: command.commandId });
  expect(message?.Attributes).toMatchObject({
    MessageGroupId: 'TST',
    MessageDeduplicationId: deduplicationId(command.commandId, 2),
  });
  expect(message?.MessageAttributes?.cmd?.StringValue).toBe('place');
  expect(message?.MessageAttributes?.side?.StringValue).toBe('BUY');
});

test('25 commands at once share requests and each arrives once', async () => {
  const send = createEnqueueCommand(sqs, queueUrl);
  const commands = Array.from({ length: 25 }, (_, i) => place(`o-many-${i}`));
  requests.length = 0;
  await Promise.all(commands.map((c) => send(c, 0)));
  // 4 go alone while no request is under way; the other 21 wait for one and go in batches of 10.
  expect(requests.every((name) => name === 'SendMessageBatchCommand')).toBe(true);
  expect(requests.length).toBeLessThanOrEqual(7);

  const messages = await receive(25);
  const ids = messages.map((m) => (JSON.parse(m.Body ?? '{}') as MatcherCommand).commandId);
  expect(ids.sort()).toEqual(commands.map((c) => c.commandId).sort());
  // Nothing more came.
  expect(await receive(1, 2_000)).toEqual([]);
});
