// Per-user order rate limits over a real socket, Redis and Temporal: past the 10 s limit order.place
// is answered 429 with retryAfterMs and nothing reaches Temporal; every answer carries the counts;
// cancels, reads and refused orders count nothing; the limiter's windows on their own (the day,
// several gateway instances, expiry).
import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Answer } from '../../client/node';
import { createDefaultHandler } from '../../gateway/handlers/default';
import { createOrderRateLimiter, type OrderLimit } from '../../gateway/orderRateLimits';
import { eventually } from '../support/eventually';
import { uniqueUser } from '../support/orders';
import { testRedis } from '../support/redis';
import { temporalClient } from '../support/stack';
import { connectAs, startTestTwin, type GatewayTwin } from '../support/twin';
import { orderRateLimits, redisNowMs } from './helpers';

const redis = testRedis();
let twin: GatewayTwin;
let temporal: { client: Client; close: () => Promise<void> };
const started: string[] = [];

const limits = (per10s: number, perDay: number): OrderLimit[] => [
  { interval: 'SECOND', intervalNum: 10, limit: per10s },
  { interval: 'DAY', intervalNum: 1, limit: perDay },
];

beforeAll(async () => {
  temporal = await temporalClient();
  // No worker serves this task queue and the matcher's queue is a stand-in: an admitted order's
  // workflow is started and answered PENDING_NEW.
  twin = await startTestTwin({
    handlers: {
      default: createDefaultHandler({
        taskQueue: `idle-${randomUUID()}`,
        sendCommand: () => Promise.resolve(() => Promise.resolve()),
        timeoutMs: () => 1000,
        orderLimiter: createOrderRateLimiter({ limits: limits(3, 1000) }),
      }),
    },
  });
});
afterAll(async () => {
  for (const id of started)
    await temporal.client.workflow
      .getHandle(id)
      .terminate('test over')
      .catch(() => undefined);
  await temporal.close();
  await twin.close();
  redis.disconnect();
});

const order = (orderId: string): Record<string, unknown> => ({
  orderId,
  type: 'BUY',
  coinID: 'BTC',
  quantity: '0.1',
  price: '100',
});

const admittedAnswer = (id: string, count10s: number, countDay = count10s): Answer => ({
  id,
  status: 200,
  result: expect.objectContaining({ orderId: id, status: 'PENDING_NEW' }) as unknown,
  rateLimits: orderRateLimits(count10s, countDay, { per10s: 3, perDay: 1000 }),
});

/** How far `ms` (from now, by Redis's clock) lands from the next midnight UTC. */
async function fromMidnight(ms: number): Promise<number> {
  const now = await redisNowMs(redis);
  return Math.abs(now + ms - (now - (now % 86_400_000) + 86_400_000));
}

/** Until the current 10 s window has at least `ms` left, so that a burst lands in one window. */
const windowWithTimeLeft = (ms: number): Promise<boolean> =>
  eventually(
    async () => 10_000 - ((await redisNowMs(redis)) % 10_000) >= ms,
    `a 10 s window with ${ms} ms left`,
    { timeoutMs: 10_000 },
  );

test('past the 10 s order limit: 429 with retryAfterMs and the counts, nothing reaches Temporal, and the window resets', async () => {
  const user = uniqueUser('limit');
  const client = await connectAs(twin, user, { backoff: false });
  const workflowId = (orderId: string): string => `order/${user}/${orderId}`;
  await windowWithTimeLeft(3000);

  const answers = await Promise.all(
    ['o1', 'o2', 'o3', 'o4'].map((id) => client.request('order.place', order(id), { id })),
  );
  started.push(...['o1', 'o2', 'o3', 'o4', 'o5'].map(workflowId));
  const refused = answers.filter((a) => a.status === 429);
  expect(refused).toEqual([
    {
      id: expect.any(String) as string,
      status: 429,
      error: {
        code: 'TOO_MANY_REQUESTS',
        msg: expect.stringContaining('at most 3 orders per 10 seconds') as string,
        retryAfterMs: expect.any(Number) as number,
      },
      rateLimits: orderRateLimits(3, 3, { per10s: 3, perDay: 1000 }),
    },
  ]);
  const { retryAfterMs } = refused[0]!.error!;
  // The window is a fixed one: it ends on a multiple of 10 s of Redis's clock.
  const sinceReset = ((await redisNowMs(redis)) + retryAfterMs!) % 10_000;
  expect(sinceReset).toBeLessThan(2000);
  const admitted = answers
    .filter((a) => a.status !== 429)
    .sort((a, b) => a.rateLimits![0]!.count - b.rateLimits![0]!.count);
  expect(admitted).toEqual(admitted.map((a, i) => admittedAnswer(String(a.id), i + 1)));

  // Only the admitted orders started a workflow.
  for (const a of admitted)
    await expect(
      temporal.client.workflow.getHandle(workflowId(String(a.id))).describe(),
    ).resolves.toMatchObject({
      status: { name: 'RUNNING' },
    });
  await expect(
    temporal.client.workflow.getHandle(workflowId(String(refused[0]!.id))).describe(),
  ).rejects.toBeInstanceOf(WorkflowNotFoundError);

  // Cancels, reads and orders refused at the edge count nothing.
  const counts = orderRateLimits(3, 3, { per10s: 3, perDay: 1000 });
  expect(await client.request('order.cancel', { orderId: 'never' }, { id: 'c1' })).toEqual({
    id: 'c1',
    status: 404,
    error: { code: 'UNKNOWN_ORDER', msg: 'no such order', field: 'orderId' },
    rateLimits: counts,
  });
  expect(await client.request('ping', undefined, { id: 'p1' })).toEqual({
    id: 'p1',
    status: 200,
    result: { time: expect.any(Number) as number },
    rateLimits: counts,
  });
  expect(
    await client.request('order.place', { ...order('bad'), quantity: '0.000001' }, { id: 'b1' }),
  ).toEqual({
    id: 'b1',
    status: 400,
    error: { code: 'INVALID_QUANTITY', msg: expect.any(String) as string, field: 'quantity' },
    rateLimits: counts,
  });
  expect(client.rateLimits).toEqual(counts);

  // Once the window has passed, the user may place again; the day goes on counting.
  const again = await eventually(
    async () => {
      const a = await client.request('order.place', order('o5'), { id: 'o5' });
      return a.status === 429 ? undefined : a;
    },
    'the 10 s window to reset',
    { timeoutMs: 15_000, intervalMs: 250 },
  );
  expect(again).toEqual(admittedAnswer('o5', 1, 4));
  await client.close();
});

describe('the limiter on its own', () => {
  const namespace = `test-${randomUUID()}:`;
  const limiterOn = (r: typeof redis, l: OrderLimit[]) =>
    createOrderRateLimiter({ limits: l, namespace, redis: () => Promise.resolve(r) });
  const other = testRedis();
  afterAll(() => other.disconnect());

  test('the day limit, counted across gateway instances: refused orders count nowhere, retryAfterMs runs to midnight UTC, and the key expires then', async () => {
    const user = uniqueUser('day');
    const [a, b] = [limiterOn(redis, limits(100, 2)), limiterOn(other, limits(100, 2))];
    const counts = (n: number) => orderRateLimits(n, n, { per10s: 100, perDay: 2 });
    expect(await a.count(user)).toEqual({ rateLimits: counts(1) });
    expect(await b.current(user)).toEqual(counts(1));
    expect(await b.count(user)).toEqual({ rateLimits: counts(2) });
    const refused = await a.count(user);
    expect(refused.rateLimits).toEqual(counts(2));
    expect(refused.refused).toMatchObject({
      status: 429,
      code: 'TOO_MANY_REQUESTS',
      message: expect.stringContaining('at most 2 orders per day') as string,
    });
    expect(await fromMidnight(refused.refused!.retryAfterMs!)).toBeLessThan(2000);
    expect(await b.current(user)).toEqual(counts(2));
    const ttl = await redis.pttl(`${namespace}rl:orders:${user}`);
    expect(await fromMidnight(ttl)).toBeLessThan(2000);
    // Another user has counts of their own.
    expect(await a.count(uniqueUser('day'))).toEqual({ rateLimits: counts(1) });
  });

  test('when several windows are full, retryAfterMs waits for the last of them to reset', async () => {
    const user = uniqueUser('both');
    const limiter = limiterOn(redis, limits(1, 1));
    await limiter.count(user);
    const { refused } = await limiter.count(user);
    expect(refused?.message).toContain('at most 1 order per day');
    expect(await fromMidnight(refused!.retryAfterMs!)).toBeLessThan(2000);
  });

  test('a user without orders reads zero and leaves no key behind', async () => {
    const user = uniqueUser('none');
    expect(await limiterOn(redis, limits(3, 5)).current(user)).toEqual(
      orderRateLimits(0, 0, { per10s: 3, perDay: 5 }),
    );
    expect(await redis.exists(`${namespace}rl:orders:${user}`)).toBe(0);
  });
});
