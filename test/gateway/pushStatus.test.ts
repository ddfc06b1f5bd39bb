// The pushStatus activity, called directly as a function against a real twin and Redis.
import { useTestTwin } from './helpers';
import { eventually } from '../support/eventually';
import { uniqueUser } from '../support/orders';
import { connectAs } from '../support/twin';
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { createPushStatus } from '../../activities/pushStatus';
import { connectionKeys, registerConnection } from '../../connections/registry';
import type { ExecutionReport } from '../../domain/orderPresenter';

const env = useTestTwin();
const { redis } = env;

const report = (userID: string, over: Partial<ExecutionReport> = {}): ExecutionReport => ({
  event: 'executionReport',
  orderId: 'o-1',
  userID,
  coinID: 'BTC',
  side: 'BUY',
  orderType: 'LIMIT',
  timeInForce: 'GTC',
  status: 'NEW',
  execType: 'NEW',
  price: '30000.00',
  quantity: '0.50000',
  filledQty: '0.00000',
  lastQty: null,
  lastPrice: null,
  tradeId: null,
  rejectReason: null,
  seq: 1,
  time: Date.now(),
  ...over,
});

test('delivers a report to every connection of the user, drops a gone one from Redis, and leaves other users alone', async () => {
  const user = uniqueUser('push');
  const [a, b] = [await connectAs(env.twin, user), await connectAs(env.twin, user)];
  const other = await connectAs(env.twin, uniqueUser('other'));
  await eventually(
    async () => (await redis.zcard(connectionKeys.byUser(user))) === 2,
    'both connections in Redis',
  );
  // A connection whose $disconnect was lost: recorded in Redis, gone from the gateway.
  await registerConnection(redis, { connectionId: 'Stale000000000=', userID: user });

  const pushStatus = createPushStatus({ redis, managementUrl: env.twin.httpUrl });
  const sent = report(user, {
    seq: 3,
    status: 'PARTIALLY_FILLED',
    execType: 'TRADE',
    tradeId: '42',
  });
  await expect(pushStatus(sent)).resolves.toBeUndefined();

  for (const client of [a, b]) {
    await expect(client.waitForReport((r) => r.orderId === 'o-1' && r.seq === 3)).resolves.toEqual(
      sent,
    );
  }
  expect(await redis.zrange(connectionKeys.byUser(user), 0, -1)).not.toContain('Stale000000000=');
  expect(await redis.exists(connectionKeys.byId('Stale000000000='))).toBe(0);
  expect(await redis.zcard(connectionKeys.byUser(user))).toBe(2);
  await new Promise((r) => setTimeout(r, 100));
  expect(other.reports).toEqual([]);
  await Promise.all([a.close(), b.close(), other.close()]);
});

test('a user without connections: nothing to do, no error', async () => {
  const pushStatus = createPushStatus({ redis, managementUrl: env.twin.httpUrl });
  await expect(pushStatus(report(uniqueUser('nobody')))).resolves.toBeUndefined();
});

test('a failure other than GoneException throws, so Temporal retries the activity', async () => {
  const user = uniqueUser('down');
  await registerConnection(redis, { connectionId: 'Down0000000000=', userID: user });
  const management = new ApiGatewayManagementApiClient({
    endpoint: 'http://127.0.0.1:9', // nothing listens on the discard port
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
  try {
    await expect(createPushStatus({ redis, management })(report(user))).rejects.toThrow();
    // The connection is kept: it may be alive, only the push failed.
    expect(await redis.zrange(connectionKeys.byUser(user), 0, -1)).toEqual(['Down0000000000=']);
  } finally {
    management.destroy();
  }
});
