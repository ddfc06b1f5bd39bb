// End to end over a real WebSocket: the API Gateway twin runs the real handlers, which start real
// workflows; the matcher, relay and order worker run the real path; reports come back through the
// twin's @connections API. Only the servers' ports and names are this file's own.
import { createPushStatus } from '../../activities/pushStatus';
import type { ExecutionReport, OrderSnapshot } from '../../domain/orderPresenter';
import { seedOrderText, uniqueUser } from '../support/orders';
import {
  ConnectRefusedError,
  connectAs,
  startTestTwin,
  TradingClient,
  type GatewayTwin,
} from '../support/twin';
import {
  commandSenderFor,
  createTestChannels,
  startServicesInProcess,
  type TestChannels,
} from '../support/stack';

let channels: TestChannels;
let twin: GatewayTwin;
const stops: Array<() => Promise<void>> = [];
const clients: TradingClient[] = [];

beforeAll(async () => {
  channels = await createTestChannels('e2e');
  const sendCommand = commandSenderFor(channels);
  twin = await startTestTwin({
    orders: { taskQueue: channels.taskQueue, sendCommand: () => Promise.resolve(sendCommand) },
  });
  const services = await startServicesInProcess(
    channels,
    createPushStatus({ managementUrl: twin.httpUrl }),
  );
  stops.push(
    () => services.stop(),
    () => twin.close(),
  );
}, 120_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  for (const stop of stops) await stop();
}, 60_000);

async function trader(userID: string): Promise<TradingClient> {
  const client = await connectAs(twin, userID);
  clients.push(client);
  return client;
}

const reportsFor = (client: TradingClient, orderId: string): ExecutionReport[] =>
  client.reports.filter((r) => r.orderId === orderId);

test('two users trade and each sees NEW → FILLED with the same trade id', async () => {
  const alice = await trader(uniqueUser('alice'));
  const bob = await trader(uniqueUser('bob'));
  const sell = await alice.request<OrderSnapshot>('order.place', {
    orderId: 'a1',
    type: 'SELL',
    coinID: 'BTC',
    quantity: '0.5',
    price: '30000',
  });
  expect(sell).toMatchObject({
    status: 200,
    result: { quantity: '0.50000', price: '30000.00' },
  });
  // Answered once durably enqueued: PENDING_NEW, or NEW when the matcher was quicker.
  expect(['PENDING_NEW', 'NEW']).toContain(sell.result?.status);
  await alice.waitForReport((r) => r.orderId === 'a1' && r.status === 'NEW');
  const buy = await bob.request('order.place', {
    orderId: 'b1',
    type: 'BUY',
    coinID: 'BTC',
    quantity: 0.5,
    price: 30000,
  });
  expect(buy.status).toBe(200);
  const aliceFilled = await alice.waitForReport((r) => r.orderId === 'a1' && r.status === 'FILLED');
  const bobFilled = await bob.waitForReport((r) => r.orderId === 'b1' && r.status === 'FILLED');
  expect(aliceFilled.tradeId).toBeTruthy();
  expect(aliceFilled.tradeId).toBe(bobFilled.tradeId);
  expect(aliceFilled).toMatchObject({
    execType: 'TRADE',
    lastQty: '0.50000',
    lastPrice: '30000.00',
    filledQty: '0.50000',
  });
  expect(reportsFor(alice, 'a1').map((r) => r.status)).toEqual(['NEW', 'FILLED']);
  expect(reportsFor(bob, 'b1').map((r) => r.status)).toEqual(['NEW', 'FILLED']);
  expect(reportsFor(bob, 'b1').map((r) => r.seq)).toEqual([1, 2]);
  // Neither sees the other's orders.
  expect(alice.reports.some((r) => r.orderId === 'b1')).toBe(false);
});

test('partial fill, then cancel: NEW → PARTIALLY_FILLED → CANCELED', async () => {
  const maker = await trader(uniqueUser('maker'));
  const taker = await trader(uniqueUser('taker'));
  await maker.request('order.place', {
    orderId: 'm1',
    type: 'SELL',
    coinID: 'ETH',
    quantity: 3,
    price: 2000,
  });
  await maker.waitForReport((r) => r.orderId === 'm1' && r.status === 'NEW');
  await taker.request('order.place', {
    orderId: 't1',
    type: 'BUY',
    coinID: 'ETH',
    quantity: 1,
    price: 2000,
  });
  await maker.waitForReport((r) => r.orderId === 'm1' && r.status === 'PARTIALLY_FILLED');
  const open = await maker.request<OrderSnapshot[]>('openOrders.status', {});
  expect(open.status).toBe(200);
  const canceled = await maker.request<OrderSnapshot>('order.cancel', { orderId: 'm1' });
  expect(canceled).toMatchObject({
    status: 200,
    result: { status: 'CANCELED', filledQty: '1.0000' },
  });
  await maker.waitForReport((r) => r.orderId === 'm1' && r.status === 'CANCELED');
  expect(reportsFor(maker, 'm1').map((r) => r.status)).toEqual([
    'NEW',
    'PARTIALLY_FILLED',
    'CANCELED',
  ]);
  const status = await maker.request<OrderSnapshot>('order.status', { orderId: 'm1' });
  expect(status.result).toMatchObject({
    status: 'CANCELED',
    filledQty: '1.0000',
    leavesQty: '2.0000',
  });
});

test('a resting order filled later reaches its owner on a new connection', async () => {
  const ownerId = uniqueUser('owner');
  const first = await trader(ownerId);
  await first.request('order.place', {
    orderId: 'r1',
    type: 'BUY',
    coinID: 'BTC',
    quantity: 1,
    price: 25000,
  });
  await first.waitForReport((r) => r.orderId === 'r1' && r.status === 'NEW');
  await first.close(); // the owner goes away…
  await new Promise((r) => setTimeout(r, 1500));
  const second = await trader(ownerId); // …and comes back on a new connection
  const other = await trader(uniqueUser('other'));
  await other.request('order.place', {
    orderId: 'x1',
    type: 'SELL',
    coinID: 'BTC',
    quantity: 1,
    price: 25000,
  });
  const filled = await second.waitForReport((r) => r.orderId === 'r1' && r.status === 'FILLED');
  expect(filled).toMatchObject({ execType: 'TRADE', lastPrice: '25000.00', filledQty: '1.00000' });
});

test('invalid input is a 400 naming the field; another user is a 403; no token is refused', async () => {
  const me = await trader(uniqueUser('me'));
  const offStep = await me.request('order.place', {
    orderId: 'bad1',
    type: 'BUY',
    coinID: 'BTC',
    quantity: '0.000001',
    price: 100,
  });
  expect(offStep).toMatchObject({
    status: 400,
    error: { code: 'INVALID_QUANTITY', field: 'quantity' },
  });
  const drift = await me.request('order.place', {
    orderId: 'bad2',
    type: 'BUY',
    coinID: 'BTC',
    quantity: 0.1 + 0.2,
    price: 100,
  });
  expect(drift).toMatchObject({
    status: 400,
    error: { code: 'INVALID_QUANTITY', field: 'quantity' },
  });
  const foreign = await me.request('order.place', {
    orderId: 'f1',
    type: 'BUY',
    userID: 'someone-else',
    coinID: 'BTC',
    quantity: 1,
    price: 100,
  });
  expect(foreign).toMatchObject({ status: 403 });
  const foreignCancel = await me.request('order.cancel', { orderId: 'f1', userID: 'someone-else' });
  expect(foreignCancel).toMatchObject({ status: 403 });
  await expect(TradingClient.connect(twin.url)).rejects.toBeInstanceOf(ConnectRefusedError);
  await expect(TradingClient.connect(twin.url, { token: 'not-a-jwt' })).rejects.toMatchObject({
    statusCode: 401,
  });
});

test("the seed's message sent exactly as written is accepted and rests on the book", async () => {
  const user1 = await trader('user1');
  user1.send(`{"id":"seed","method":"order.place","params":${seedOrderText}}`);
  const answer = await user1.waitForMessage<{ id: string; status: number; result: OrderSnapshot }>(
    (m) => (m as { id?: string }).id === 'seed',
  );
  expect(answer).toMatchObject({
    status: 200,
    result: { orderId: '12345', side: 'SELL', quantity: '5.00000', price: '100.00' },
  });
  await user1.waitForReport((r) => r.orderId === '12345' && r.status === 'NEW');
  const again = await user1.request<OrderSnapshot>(
    'order.place',
    JSON.parse(seedOrderText) as Record<string, unknown>,
  );
  expect(again).toMatchObject({ status: 200, result: { workflowId: 'order/user1/12345' } });
  expect((await user1.request('order.cancel', { orderId: '12345' })).status).toBe(200);
});
