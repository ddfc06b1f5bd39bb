// Orders through the real path: workflow start and SQS FIFO → Lua book in Redis → outbox → SNS
// FIFO → SQS → relay → workflow update. Services run in this process; servers are real.
import type { Client } from '@temporalio/client';
import { openBook, type Book } from '../../matcher/book';
import { markets } from '../../config/markets';
import type { ExecutionReport, OrderSnapshot } from '../../domain/orderPresenter';
import { cancelUpdate } from '../../workflows/messages';
import type { orderLifecycle } from '../../workflows/orderLifecycle';
import { recordHistory } from '../support/histories';
import { acceptedOrder, statusBecomes, submitOrder, uniqueUser } from '../support/orders';
import {
  createTestChannels,
  commandSenderFor,
  startServicesInProcess,
  temporalClient,
  type TestChannels,
} from '../support/stack';
import { eventually } from '../support/eventually';
import { testRedis } from '../support/redis';
import { visibleWorkflowIds } from '../support/visibility';

let channels: TestChannels;
let client: Client;
let closeClient: () => Promise<void>;
const stops: Array<() => Promise<void>> = [];
const reports: ExecutionReport[] = [];
const redis = testRedis();
let book: Book;

beforeAll(async () => {
  channels = await createTestChannels('lifecycle');
  ({ client, close: closeClient } = await temporalClient());
  const services = await startServicesInProcess(channels, async (report) => {
    reports.push(report);
    return Promise.resolve();
  });
  stops.push(() => services.stop());
  book = await openBook(redis, markets.get('BTC')!, { namespace: channels.namespace });
}, 120_000);

afterAll(async () => {
  for (const stop of stops) await stop();
  await closeClient?.();
  redis.disconnect();
});

const place = (params: Record<string, unknown>): Promise<OrderSnapshot> =>
  submitOrder(
    client,
    commandSenderFor(channels),
    acceptedOrder({ coinID: 'BTC', ...params }),
    channels.taskQueue,
  );
const handleOf = (snapshot: OrderSnapshot) =>
  client.workflow.getHandle<typeof orderLifecycle>(snapshot.workflowId);
const reportsOf = (userID: string, orderId: string) =>
  reports.filter((r) => r.userID === userID && r.orderId === orderId);

test('crossing orders of two users both end FILLED with the same trade id', async () => {
  const seller = uniqueUser('seller');
  const buyer = uniqueUser('buyer');
  // The seed's message exactly as written, but for a unique user.
  const sell = await place({
    orderId: '12345',
    type: 'SELL',
    userID: seller,
    quantity: 5,
    price: 100,
  });
  // Answered once durably enqueued: PENDING_NEW, or NEW when the matcher was quicker.
  expect(['PENDING_NEW', 'NEW']).toContain(sell.status);
  await statusBecomes(client, sell, 'NEW');
  const buy = await place({
    orderId: 'b-1',
    type: 'BUY',
    userID: buyer,
    quantity: '5',
    price: '100',
  });
  const [sold, bought] = await Promise.all([handleOf(sell).result(), handleOf(buy).result()]);
  expect(sold).toMatchObject({
    status: 'FILLED',
    filledQty: '5.00000',
    avgPrice: '100.00',
    fillCount: 1,
  });
  expect(bought).toMatchObject({
    status: 'FILLED',
    filledQty: '5.00000',
    avgPrice: '100.00',
    fillCount: 1,
  });
  expect(sold.fills[0]?.tradeId).toBe(bought.fills[0]?.tradeId);
  expect(sold.fills[0]).toMatchObject({ maker: true, qty: '5.00000', price: '100.00' });
  expect(bought.fills[0]).toMatchObject({ maker: false });
  // The relay pushes the reports an update answered with, so they may follow the workflow's end.
  await eventually(
    () =>
      [reportsOf(buyer, 'b-1'), reportsOf(seller, '12345')].every((mine) =>
        mine.some((r) => r.status === 'FILLED'),
      )
        ? true
        : undefined,
    'reports',
  );
  expect(reportsOf(seller, '12345').map((r) => r.status)).toEqual(['NEW', 'FILLED']);
  expect(reportsOf(buyer, 'b-1').map((r) => [r.execType, r.status])).toEqual([
    ['NEW', 'NEW'],
    ['TRADE', 'FILLED'],
  ]);
  expect(await book.order(seller, '12345')).toMatchObject({ status: 'FILLED', member: null });
  recordHistory(handleOf(buy), 'filled-at-once');
  recordHistory(handleOf(sell), 'rests-then-filled');
});

test('partial fill: the maker rests PARTIALLY_FILLED and operators find it by search attributes', async () => {
  const maker = uniqueUser('maker');
  const taker = uniqueUser('taker');
  const resting = await place({
    orderId: 'p-1',
    type: 'SELL',
    userID: maker,
    quantity: 5,
    price: 101,
  });
  await statusBecomes(client, resting, 'NEW');
  const take = await place({ orderId: 'p-2', type: 'BUY', userID: taker, quantity: 2, price: 101 });
  expect(await handleOf(take).result()).toMatchObject({ status: 'FILLED', filledQty: '2.00000' });
  const partial = await statusBecomes(client, resting, 'PARTIALLY_FILLED');
  expect(partial).toMatchObject({ filledQty: '2.00000', leavesQty: '3.00000' });
  const found = await visibleWorkflowIds(
    client,
    `OrderStatus="PARTIALLY_FILLED" AND CoinID="BTC" AND UserID="${maker}"`,
  );
  expect(found).toEqual([resting.workflowId]);
  const final = await handleOf(resting).executeUpdate(cancelUpdate);
  expect(final).toMatchObject({ status: 'CANCELED', filledQty: '2.00000' });
  recordHistory(handleOf(resting), 'partial-fill-then-cancel');
});

test('cancel of a resting order removes it from the book', async () => {
  const user = uniqueUser('canceller');
  const order = await place({ orderId: 'c-1', type: 'BUY', userID: user, quantity: 1, price: 50 });
  await statusBecomes(client, order, 'NEW');
  expect((await book.order(user, 'c-1'))?.member).not.toBeNull();
  const canceled = await handleOf(order).executeUpdate(cancelUpdate);
  expect(canceled.status).toBe('CANCELED');
  expect(await handleOf(order).result()).toMatchObject({ status: 'CANCELED' });
  expect(await book.order(user, 'c-1')).toMatchObject({ status: 'CANCELED', member: null });
  const snapshot = await book.snapshot();
  expect(snapshot.bids.some((order) => order.userID === user)).toBe(false);
});

test('a LIMIT_MAKER that would cross is REJECTED with its reason', async () => {
  const maker = uniqueUser('ask');
  const user = uniqueUser('lm');
  const ask = await place({ orderId: 'a-1', type: 'SELL', userID: maker, quantity: 1, price: 90 });
  await statusBecomes(client, ask, 'NEW');
  const order = await place({
    orderId: 'lm-1',
    type: 'BUY',
    userID: user,
    quantity: 1,
    price: 95,
    orderType: 'LIMIT_MAKER',
  });
  expect(await handleOf(order).result()).toMatchObject({
    status: 'REJECTED',
    rejectReason: 'WOULD_CROSS',
  });
  await eventually(() => (reportsOf(user, 'lm-1').length > 0 ? true : undefined), 'the report');
  expect(reportsOf(user, 'lm-1').map((r) => [r.status, r.rejectReason])).toEqual([
    ['REJECTED', 'WOULD_CROSS'],
  ]);
  recordHistory(handleOf(order), 'rejected');
  await handleOf(ask).executeUpdate(cancelUpdate);
});

test('the same order submitted twice is one order, one command', async () => {
  const user = uniqueUser('twice');
  const params = { orderId: 'd-1', type: 'BUY', userID: user, quantity: 1, price: 10 };
  const [first, second] = await Promise.all([place(params), place(params)]);
  expect(second.workflowId).toBe(first.workflowId);
  await statusBecomes(client, first, 'NEW');
  // The gateway sends the place command (twice here, one id): the workflow sent none itself.
  const history = await handleOf(first).fetchHistory();
  expect((history.events ?? []).filter((e) => e.markerRecordedEventAttributes)).toHaveLength(0);
  expect((await book.snapshot()).bids.filter((order) => order.userID === user)).toHaveLength(1);
  await handleOf(first).executeUpdate(cancelUpdate);
  recordHistory(handleOf(first), 'submitted-twice');
});

test('a MARKET order with no liquidity is retried after durable timers, then EXPIRED', async () => {
  const user = uniqueUser('mkt');
  // ETH has no resting orders in this file's book.
  const order = await submitOrder(
    client,
    commandSenderFor(channels),
    acceptedOrder({
      orderId: 'm-1',
      type: 'BUY',
      userID: user,
      coinID: 'ETH',
      quantity: 1,
      retryUnmatched: { attempts: 2, backoffMs: 200 },
    }),
    channels.taskQueue,
  );
  const final = await handleOf(order).result();
  expect(final).toMatchObject({
    status: 'EXPIRED',
    expireReason: 'NO_LIQUIDITY',
    retries: 2,
    filledQty: '0.0000',
  });
  const history = await handleOf(order).fetchHistory();
  // Backoff timers of 200 ms then 400 ms (the 30 s ones wait for the matcher's acknowledgements).
  const timers = (history.events ?? [])
    .map((e) => e.timerStartedEventAttributes?.startToFireTimeout)
    .filter((t) => t);
  const backoffs = timers
    .filter((t) => !t?.seconds || Number(t.seconds) < 30)
    .map((t) => (t?.nanos ?? 0) / 1e6);
  expect(backoffs).toEqual([200, 400]);
  await eventually(
    () => (reportsOf(user, 'm-1').some((r) => r.status === 'EXPIRED') ? true : undefined),
    'the final report',
  );
  expect(reportsOf(user, 'm-1').map((r) => r.status)).toEqual(['NEW', 'EXPIRED']);
});
