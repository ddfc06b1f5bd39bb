// kill -9 of the order worker, the matcher and the relay in the middle of a flow of crossing
// orders, then a restart: every order completes, no fill is lost or duplicated.
import type { Client } from '@temporalio/client';
import { markets } from '../../config/markets';
import { openBook, type Book } from '../../matcher/book';
import type { OrderSnapshot } from '../../domain/orderPresenter';
import type { ManagedProcess } from '../../scripts/services';
import type { orderLifecycle } from '../../workflows/orderLifecycle';
import { acceptedOrder, submitOrder, uniqueUser } from '../support/orders';
import {
  commandSenderFor,
  createTestChannels,
  spawnService,
  temporalClient,
  type ServiceName,
  type TestChannels,
} from '../support/stack';
import { eventually } from '../support/eventually';
import { testRedis } from '../support/redis';

jest.setTimeout(90_000);

let channels: TestChannels;
let client: Client;
let closeClient: () => Promise<void>;
const redis = testRedis();
let book: Book;
const running = new Map<ServiceName, ManagedProcess>();

beforeAll(async () => {
  channels = await createTestChannels('crash');
  ({ client, close: closeClient } = await temporalClient());
  book = await openBook(redis, markets.get('BTC')!, { namespace: channels.namespace });
  await Promise.all(
    (['matcher', 'relay', 'order-worker'] as const).map(async (name) =>
      running.set(name, await spawnService(name, channels)),
    ),
  );
}, 180_000);

afterAll(async () => {
  await Promise.all([...running.values()].map((p) => p.stop()));
  await closeClient?.();
  redis.disconnect();
});

async function killAndRestart(name: ServiceName): Promise<void> {
  const proc = running.get(name)!;
  proc.child.kill('SIGKILL');
  await proc.exited;
  running.set(name, await spawnService(name, channels));
}

/** Buys and sells of equal size at one price, submitted together: whatever the arrival order, all fill. */
async function crossingPairs(label: string, pairs: number): Promise<OrderSnapshot[]> {
  const seller = uniqueUser(`${label}-s`);
  const buyer = uniqueUser(`${label}-b`);
  const orders = Array.from({ length: pairs }, (_, i) => [
    acceptedOrder({
      orderId: `s${i}`,
      type: 'SELL',
      userID: seller,
      coinID: 'BTC',
      quantity: '0.5',
      price: 1000,
    }),
    acceptedOrder({
      orderId: `b${i}`,
      type: 'BUY',
      userID: buyer,
      coinID: 'BTC',
      quantity: '0.5',
      price: 1000,
    }),
  ]).flat();
  return Promise.all(
    orders.map((order) =>
      submitOrder(client, commandSenderFor(channels), order, channels.taskQueue),
    ),
  );
}

/** Everything that must hold after the crash: all FILLED, one trade per pair, two sides each. */
async function expectAllFilledExactlyOnce(orders: OrderSnapshot[]): Promise<void> {
  const finals = await Promise.all(
    orders.map((order) =>
      client.workflow.getHandle<typeof orderLifecycle>(order.workflowId).result(),
    ),
  );
  for (const f of finals) {
    expect(f).toMatchObject({ status: 'FILLED', filledQty: '0.50000', leavesQty: '0.00000' });
  }
  const sidesByTrade = new Map<string, string[]>();
  for (const f of finals) {
    for (const fill of f.fills)
      sidesByTrade.set(fill.tradeId, [...(sidesByTrade.get(fill.tradeId) ?? []), f.side]);
  }
  // A pair may trade in one or several fills, but every trade has exactly one buy and one sell.
  for (const [tradeId, sides] of sidesByTrade)
    expect([tradeId, sides.sort()]).toEqual([tradeId, ['BUY', 'SELL']]);
  const filledTotal = finals.reduce(
    (sum, f) => sum + f.fills.reduce((s, x) => s + Number(x.qty.replace('.', '')), 0),
    0,
  );
  expect(filledTotal).toBe(orders.length * 50000);
  for (const f of finals) {
    expect(await book.order(f.userID, f.orderId)).toMatchObject({
      status: 'FILLED',
      filled: 50000,
      member: null,
    });
  }
}

async function someTraded(orders: OrderSnapshot[]): Promise<void> {
  await eventually(async () => {
    for (const order of orders) {
      if ((await book.order(order.userID, order.orderId))?.status === 'FILLED') return true;
    }
    return undefined;
  }, 'a first trade');
}

test.each<ServiceName>(['matcher', 'relay', 'order-worker'])(
  'kill -9 of the %s mid-flow, then a restart: every order fills exactly once',
  async (name) => {
    const orders = await crossingPairs(name, 8);
    await someTraded(orders);
    await killAndRestart(name);
    await expectAllFilledExactlyOnce(orders);
  },
);
