// Two matcher replicas publish one market's outbox: only the lock holder publishes, and when it
// drops off the network another takes over, re-publishing what the first had read but not
// acknowledged. Every event reaches the subscribed queue once, in seq order (real Redis, real
// SNS → SQS FIFO).
import { randomUUID } from 'node:crypto';
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { SNSClient } from '@aws-sdk/client-sns';
import type Redis from 'ioredis';
import { serviceLogger } from '../../platform/log';
import { openBook, type Book } from '../../matcher/book';
import { OutboxPublisher } from '../../matcher/publisher';
import { ensureOrderChannels, type OrderChannels } from '../../scripts/localAws';
import { eventually } from '../support/eventually';
import { testRedis } from '../support/redis';
import { namespace, placeCmd, tst } from './support';

const sqs = new SQSClient({});
const sns = new SNSClient({});
let channels: OrderChannels;
let redis: Redis;
let book: Book;
const connections: Redis[] = [];

beforeAll(async () => {
  const suffix = randomUUID().slice(0, 8);
  channels = await ensureOrderChannels(
    {
      ordersQueueName: `pub-orders-${suffix}.fifo`,
      orderEventsTopicName: `pub-events-${suffix}.fifo`,
      relayQueueName: `pub-relay-${suffix}.fifo`,
    },
    { sqs, sns },
  );
  redis = testRedis();
  book = await openBook(redis, tst, { namespace: namespace('publisher') });
});
afterAll(async () => {
  await book.destroy();
  for (const c of [redis, ...connections]) c.disconnect();
  sqs.destroy();
  sns.destroy();
});

function publisher(): OutboxPublisher {
  const own = testRedis();
  own.on('error', () => undefined); // the test cuts it off on purpose
  connections.push(own);
  return new OutboxPublisher({
    redis: own,
    sns,
    topicArn: channels.orderEventsTopicArn,
    market: tst.name,
    streamKey: book.keys.events,
    appliedKey: book.keys.applied,
    log: serviceLogger('publisher-test'),
    lockMs: 1500,
  });
}

/** The seqs of the events on the subscribed queue, in arrival order, until `count` came. */
async function received(count: number, waitMs = 20_000): Promise<number[]> {
  const seqs: number[] = [];
  const deadline = Date.now() + waitMs;
  while (seqs.length < count && Date.now() < deadline) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: channels.relayQueueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
      }),
    );
    for (const m of out.Messages ?? []) {
      // One message per order of a script call: its events, in order.
      for (const event of JSON.parse(m.Body ?? '[]') as Array<{ seq: number }>)
        seqs.push(event.seq);
      await sqs.send(
        new DeleteMessageCommand({
          QueueUrl: channels.relayQueueUrl,
          ReceiptHandle: m.ReceiptHandle,
        }),
      );
    }
  }
  return seqs;
}

const resting = (i: number) =>
  placeCmd({ userID: `u${i}`, orderId: `o${i}`, side: 'SELL', price: 100 + i, quantity: 1 });

test('one publisher per market at a time; a successor re-publishes what was left', async () => {
  const a = publisher();
  const b = publisher();
  a.start();
  b.start();
  await eventually(() => (a.active || b.active ? true : undefined), 'an active publisher');
  expect([a.active, b.active].filter(Boolean)).toHaveLength(1);
  const [first, second] = a.active ? [a, b] : [b, a];
  expect(await redis.get(first.lockKey)).toBe(first.owner);

  for (let i = 0; i < 5; i++) await book.apply(resting(i));
  expect(await received(5)).toEqual([1, 2, 3, 4, 5]);

  // The holder drops off the network: its lock runs out, the other takes over.
  connections[a.active ? 0 : 1]!.disconnect();
  for (let i = 5; i < 10; i++) await book.apply(resting(i));
  await eventually(() => (second.active ? true : undefined), 'the other publisher to take over');
  expect(await received(5)).toEqual([6, 7, 8, 9, 10]);
  expect(await received(1, 3000)).toEqual([]); // nothing twice
  expect(await redis.xlen(book.keys.events)).toBe(0);

  await second.stop();
  expect(await redis.exists(second.lockKey)).toBe(0); // handed back on a clean stop
  await first.stop();
}, 60_000);
