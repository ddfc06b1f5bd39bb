// Admission control over a real socket and Redis: while a stage of the order path reports a lag past
// the limit, order.place is answered at once with 503 OVERLOADED and a retryAfterMs, nothing reaches
// Temporal, cancels still go through, and orders are admitted again once the path catches up.
import { randomUUID } from 'node:crypto';
import { createAdmission } from '../../gateway/admission';
import { LagReporter, readLag } from '../../admission/lag';
import { createDefaultHandler } from '../../gateway/handlers/default';
import { uniqueUser } from '../support/orders';
import { testRedis } from '../support/redis';
import { temporalClient } from '../support/stack';
import { connectAs, startTestTwin, type GatewayTwin } from '../support/twin';

const redis = testRedis();
let twin: GatewayTwin;

beforeAll(async () => {
  twin = await startTestTwin({
    handlers: {
      default: createDefaultHandler({
        taskQueue: `idle-${randomUUID()}`,
        sendCommand: () => Promise.resolve(() => Promise.resolve()),
        admission: createAdmission({
          readLag: () => readLag(redis),
          shedLagMs: 500,
          maxInFlight: 8,
          lagCacheMs: 0,
        }),
      }),
    },
  });
});
afterAll(async () => {
  await redis.del('{orderpath}:lag:relay');
  await twin.close();
  redis.disconnect();
});

test('a lagging order path refuses new orders at once with 503 OVERLOADED and retryAfterMs; they are admitted once it catches up', async () => {
  const user = uniqueUser('shed');
  const client = await connectAs(twin, user, { backoff: false });
  const order = { orderId: 's1', type: 'BUY', coinID: 'BTC', quantity: '0.1', price: '100' };
  // The relay delivers events made 4 s ago.
  new LagReporter(() => Promise.resolve(redis), 'relay').sample(Date.now() - 4000);
  // (The report is written in the background.)
  for (let i = 0; i < 50 && (await readLag(redis)) < 4000; i++)
    await new Promise((r) => setTimeout(r, 10));

  const shed = await client.request('order.place', order);
  expect(shed).toMatchObject({ status: 503, error: { code: 'OVERLOADED' } });
  const retryAfterMs = (shed.error as { retryAfterMs?: number } | undefined)?.retryAfterMs;
  expect(retryAfterMs).toBeGreaterThanOrEqual(2000);
  expect(retryAfterMs).toBeLessThanOrEqual(5000);
  const { client: temporal, close } = await temporalClient();
  await expect(temporal.workflow.getHandle(`order/${user}/s1`).describe()).rejects.toThrow();
  await close();
  // Cancels are never refused (this one finds no order).
  expect(await client.request('order.cancel', { orderId: 's1' })).toMatchObject({ status: 404 });

  await redis.del('{orderpath}:lag:relay');
  expect(await client.request('order.place', order)).toMatchObject({
    status: 200,
    result: { status: 'PENDING_NEW' },
  });
  await client.close();
});
