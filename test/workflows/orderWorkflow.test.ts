// The order workflow on Temporal's time-skipping test server, with the matcher played by the test:
// the gateway's send and stub activities record commands, and the test delivers matcher events
// back the way the relay does (an update answering with the reports they owe).
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { MatcherCommand, MatcherEvent } from '../../domain/order';
import type { ExecutionReport } from '../../domain/orderPresenter';
import { temporal } from '@temporalio/proto';
import { projectRoot } from '../../scripts/services';
import {
  cancelUpdate,
  matcherEventsUpdate,
  orderSearchAttributeNames,
  statusQuery,
  type OrderActivities,
} from '../../workflows/messages';
import type { orderLifecycle } from '../../workflows/orderLifecycle';
import type { SendCommand } from '../../gateway/submitOrder';
import { eventually } from '../support/eventually';
import { recordHistory } from '../support/histories';
import { acceptedOrder, submitOrder, uniqueUser } from '../support/orders';

let env: TestWorkflowEnvironment;
const commands: MatcherCommand[] = [];
const sendNumbers: number[] = [];
/** Every report an update answered with or the workflow pushed, in arrival order. */
const reports: ExecutionReport[] = [];
const taskQueue = `wf-${randomUUID()}`;
let worker: Worker;
let running: Promise<void>;

beforeAll(async () => {
  env = await TestWorkflowEnvironment.createTimeSkipping({
    server: {
      executable: {
        type: 'existing-path',
        path: path.join(projectRoot, '.tools/venv/bin/temporal-test-server'),
      },
    },
  });
  // The test server knows no custom search attributes until told (the dev server gets them at start).
  await env.connection.operatorService.addSearchAttributes({
    namespace: 'default',
    searchAttributes: Object.fromEntries(
      orderSearchAttributeNames.map((name) => [
        name,
        temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
      ]),
    ),
  });
  const activities: OrderActivities = {
    enqueueCommand: async (command, sendNumber) => {
      commands.push(command);
      sendNumbers.push(sendNumber);
      return Promise.resolve();
    },
    pushStatus: async (report) => {
      reports.push(report);
      return Promise.resolve();
    },
  };
  worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowsPath: require.resolve('../../workflows'),
    activities,
  });
  running = worker.run();
}, 120_000);

afterAll(async () => {
  worker?.shutdown();
  await running;
  await env?.teardown();
});

/** The gateway's first send of each order's place command. */
const sendCommand: SendCommand = async (command, sendNumber) => {
  commands.push(command);
  sendNumbers.push(sendNumber);
  return Promise.resolve();
};

/** Delivers events the way the relay does; answers with the reports they owe. */
async function deliver(
  handle: {
    executeUpdate: (
      u: typeof matcherEventsUpdate,
      o: { args: [MatcherEvent[]] },
    ) => Promise<ExecutionReport[]>;
  },
  ...events: MatcherEvent[]
): Promise<ExecutionReport[]> {
  const answer = await handle.executeUpdate(matcherEventsUpdate, { args: [events] });
  reports.push(...answer);
  return answer;
}

let seq = 1000;
function eventFor(
  command: MatcherCommand,
  orderSeq: number,
  fields: Record<string, unknown>,
): MatcherEvent {
  return {
    seq: ++seq,
    market: command.market,
    userID: command.userID,
    orderId: command.orderId,
    orderSeq,
    commandId: command.commandId,
    time: 1_700_000_000_000 + seq,
    ...fields,
  } as MatcherEvent;
}

/** The n-th distinct command of an order (re-sends of the same command id count once). */
const commandOf = (orderId: string, n = 0): Promise<MatcherCommand> =>
  eventually(() => {
    const mine = commands.filter((c) => c.orderId === orderId);
    return mine.filter((c, i) => mine.findIndex((d) => d.commandId === c.commandId) === i)[n];
  }, `command ${n} of ${orderId}`);

test('filled at once: events applied once each, in orderSeq order, even duplicated and reordered', async () => {
  const user = uniqueUser('alice');
  const order = acceptedOrder({
    orderId: 'o1',
    type: 'BUY',
    userID: user,
    coinID: 'BTC',
    quantity: 5,
    price: 100,
  });
  const snapshot = await submitOrder(env.client, sendCommand, order, taskQueue);
  expect(snapshot.status).toBe('PENDING_NEW');
  const place = await commandOf('o1');
  expect(place).toMatchObject({ cmd: 'place', quantity: 500000, price: 10000, attempt: 0 });
  const handle = env.client.workflow.getHandle<typeof orderLifecycle>(snapshot.workflowId);
  const trade = (orderSeq: number, lastQty: number, filledQty: number) =>
    eventFor(place, orderSeq, {
      event: 'TRADE',
      tradeId: `BTC-${orderSeq}`,
      side: 'BUY',
      lastQty,
      lastPrice: 10000,
      maker: false,
      filledQty,
      leavesQty: 500000 - filledQty,
    });
  const created = eventFor(place, 1, {
    event: 'NEW',
    side: 'BUY',
    orderType: 'LIMIT',
    timeInForce: 'GTC',
    price: 10000,
    quantity: 500000,
  });
  // Out of order and twice: the second fill arrives before the first, NEW arrives last and again.
  // Events ahead of a gap wait for it and owe nothing yet; a repeat owes its reports again.
  expect(await deliver(handle, trade(3, 300000, 500000))).toEqual([]);
  expect(await deliver(handle, trade(2, 200000, 200000))).toEqual([]);
  expect(await deliver(handle, trade(2, 200000, 200000))).toEqual([]);
  const answer = await deliver(handle, created);
  expect(answer.map((r) => [r.seq, r.execType, r.status, r.filledQty])).toEqual([
    [1, 'NEW', 'NEW', '0.00000'],
    [2, 'TRADE', 'PARTIALLY_FILLED', '2.00000'],
    [3, 'TRADE', 'FILLED', '5.00000'],
  ]);
  expect(await deliver(handle, created).catch((e: unknown) => e)).toEqual(
    expect.objectContaining({ name: 'WorkflowNotFoundError' }),
  );
  const final = await handle.result();
  expect(final).toMatchObject({
    status: 'FILLED',
    filledQty: '5.00000',
    avgPrice: '100.00',
    fillCount: 2,
    cumQuote: '500.0000000',
  });
});

test('a repeated delivery answers with the same reports again, in order', async () => {
  const user = uniqueUser('amy');
  const order = acceptedOrder({
    orderId: 'r1',
    type: 'SELL',
    userID: user,
    coinID: 'BTC',
    quantity: 1,
    price: 100,
  });
  const snapshot = await submitOrder(env.client, sendCommand, order, taskQueue);
  const place = await commandOf('r1');
  const handle = env.client.workflow.getHandle<typeof orderLifecycle>(snapshot.workflowId);
  const created = eventFor(place, 1, {
    event: 'NEW',
    side: 'SELL',
    orderType: 'LIMIT',
    timeInForce: 'GTC',
    price: 10000,
    quantity: 100000,
  });
  const half = eventFor(place, 2, {
    event: 'TRADE',
    tradeId: 'BTC-9',
    side: 'SELL',
    lastQty: 50000,
    lastPrice: 10000,
    maker: false,
    filledQty: 50000,
    leavesQty: 50000,
  });
  const first = await deliver(handle, created, half);
  expect(first.map((r) => r.seq)).toEqual([1, 2]);
  // The relay crashed before pushing and deleting: the same events come again, then a part.
  expect(await deliver(handle, created, half)).toEqual(first);
  expect(await deliver(handle, half)).toEqual([first[1]]);
  await handle.terminate('test done');
});

test('the same order twice is one order; the same id with other fields is DUPLICATE_ORDER_ID', async () => {
  const user = uniqueUser('bob');
  const params = {
    orderId: 'dup',
    type: 'SELL',
    userID: user,
    coinID: 'BTC',
    quantity: '1',
    price: '200',
  };
  const first = await submitOrder(env.client, sendCommand, acceptedOrder(params), taskQueue);
  const again = await submitOrder(
    env.client,
    sendCommand,
    acceptedOrder(params, Date.now() + 5000),
    taskQueue,
  );
  expect(again.workflowId).toBe(first.workflowId);
  // Unanswered yet, so the re-send sends the same command again (SQS and the matcher drop it).
  expect(new Set(commands.filter((c) => c.userID === user).map((c) => c.commandId)).size).toBe(1);
  const err = await submitOrder(
    env.client,
    sendCommand,
    acceptedOrder({ ...params, price: '201' }),
    taskQueue,
  ).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
  expect(((err as WorkflowUpdateFailedError).cause as { type?: string }).type).toBe(
    'DUPLICATE_ORDER_ID',
  );
  await env.client.workflow
    .getHandle<typeof orderLifecycle>(first.workflowId)
    .terminate('test done');
});

test('cancel of a resting order: cancel command, CANCELED answer, final snapshot', async () => {
  const user = uniqueUser('carol');
  const snapshot = await submitOrder(
    env.client,
    sendCommand,
    acceptedOrder({
      orderId: 'c1',
      type: 'BUY',
      userID: user,
      coinID: 'ETH',
      quantity: 2,
      price: 10,
    }),
    taskQueue,
  );
  const place = await commandOf('c1');
  const handle = env.client.workflow.getHandle<typeof orderLifecycle>(snapshot.workflowId);
  await deliver(
    handle,
    eventFor(place, 1, {
      event: 'NEW',
      side: 'BUY',
      orderType: 'LIMIT',
      timeInForce: 'GTC',
      price: 1000,
      quantity: 20000,
    }),
  );
  const canceled = handle.executeUpdate(cancelUpdate);
  const cancel = await eventually(
    () => commands.find((c) => c.userID === user && c.cmd === 'cancel'),
    'cancel command',
  );
  await deliver(handle, eventFor(cancel, 2, { event: 'CANCELED', filledQty: 0 }));
  expect((await canceled).status).toBe('CANCELED');
  expect((await handle.result()).status).toBe('CANCELED');
  const err = await handle.executeUpdate(cancelUpdate).catch((e: unknown) => e);
  expect(err).toBeDefined();
});

test('a MARKET order without liquidity is re-placed after durable backoffs, then EXPIRED', async () => {
  const user = uniqueUser('dave');
  const order = acceptedOrder({
    orderId: 'm1',
    type: 'BUY',
    userID: user,
    coinID: 'BTC',
    quantity: 1,
    retryUnmatched: { attempts: 2, backoffMs: 60_000 },
  });
  const snapshot = await submitOrder(env.client, sendCommand, order, taskQueue);
  const handle = env.client.workflow.getHandle<typeof orderLifecycle>(snapshot.workflowId);
  const place = await commandOf('m1');
  await deliver(
    handle,
    eventFor(place, 1, {
      event: 'NEW',
      side: 'BUY',
      orderType: 'MARKET',
      timeInForce: 'IOC',
      price: null,
      quantity: 100000,
    }),
  );
  await deliver(
    handle,
    eventFor(place, 2, {
      event: 'EXPIRED',
      reason: 'NO_LIQUIDITY',
      filledQty: 0,
      expiredQty: 100000,
    }),
  );
  expect((await handle.query(statusQuery)).status).toBe('NEW'); // not final: a retry is pending
  // Time skips through the backoff: the retry command arrives.
  await env.sleep(61_000);
  const retry1 = await commandOf('m1', 1);
  expect(retry1).toMatchObject({ cmd: 'place', attempt: 1, quantity: 100000 });
  // Half fills, the rest finds nothing again.
  await deliver(
    handle,
    eventFor(retry1, 3, {
      event: 'TRADE',
      tradeId: 'BTC-77',
      side: 'BUY',
      lastQty: 50000,
      lastPrice: 10000,
      maker: false,
      filledQty: 50000,
      leavesQty: 50000,
    }),
  );
  await deliver(
    handle,
    eventFor(retry1, 4, {
      event: 'EXPIRED',
      reason: 'NO_LIQUIDITY',
      filledQty: 50000,
      expiredQty: 50000,
    }),
  );
  await env.sleep(121_000);
  const retry2 = await commandOf('m1', 2);
  expect(retry2).toMatchObject({ attempt: 2, quantity: 50000 });
  await deliver(
    handle,
    eventFor(retry2, 5, {
      event: 'EXPIRED',
      reason: 'NO_LIQUIDITY',
      filledQty: 50000,
      expiredQty: 50000,
    }),
  );
  const final = await handle.result();
  expect(final).toMatchObject({
    status: 'EXPIRED',
    filledQty: '0.50000',
    expireReason: 'NO_LIQUIDITY',
    retries: 2,
  });
  const history = await handle.fetchHistory();
  const timers = (history.events ?? []).filter((e) => e.timerStartedEventAttributes);
  expect(
    timers.map((t) => Number(t.timerStartedEventAttributes?.startToFireTimeout?.seconds)),
  ).toEqual(expect.arrayContaining([60, 120]));
  expect(reports.filter((r) => r.userID === user).map((r) => r.status)).toEqual([
    'NEW',
    'PARTIALLY_FILLED',
    'EXPIRED',
  ]);
  recordHistory(handle, 'market-retried-then-expired', env.address);
});

test('a command the matcher never answers is sent again after the acknowledgement timeout', async () => {
  const user = uniqueUser('erin');
  const snapshot = await submitOrder(
    env.client,
    sendCommand,
    acceptedOrder({
      orderId: 'lost',
      type: 'SELL',
      userID: user,
      coinID: 'BTC',
      quantity: 1,
      price: 100,
    }),
    taskQueue,
  );
  const handle = env.client.workflow.getHandle<typeof orderLifecycle>(snapshot.workflowId);
  const first = await commandOf('lost', 0);
  // Time skips to the acknowledgement timeout (the delayed start wakes the workflow), then twice it.
  await env.sleep(31_000);
  const resent = await eventually(
    () => commands.filter((c) => c.orderId === 'lost')[1],
    'the re-send',
  );
  expect(resent.commandId).toBe(first.commandId);
  expect(sendNumbers[commands.lastIndexOf(resent)]).toBe(1);
  // Stamped once, when first issued: the re-send keeps it (the matcher judges staleness by it).
  expect(first.issuedAt).toEqual(expect.any(Number));
  expect(resent.issuedAt).toBe(first.issuedAt);
  // Each further re-send waits twice as long (30 s, then 60 s): a slow path gets fewer copies.
  await env.sleep(61_000);
  const again = await eventually(
    () => commands.filter((c) => c.orderId === 'lost')[2],
    'the second re-send',
  );
  // The first send is the gateway's, right after the workflow started; the re-sends are the
  // workflow's local activities, recorded as markers.
  const history = await handle.fetchHistory();
  const t0 = Number(history.events?.[0]?.eventTime?.seconds) * 1000;
  const [t1, t2] = (history.events ?? [])
    .filter((e) => e.markerRecordedEventAttributes)
    .map((e) => Number(e.eventTime?.seconds) * 1000) as [number, number];
  expect(t1 - t0).toBeGreaterThanOrEqual(29_000);
  expect(t1 - t0).toBeLessThan(36_000);
  expect(t2 - t1).toBeGreaterThanOrEqual(59_000);
  expect(t2 - t1).toBeLessThan(66_000);
  await deliver(
    handle,
    eventFor(again, 1, { event: 'REJECTED', reason: 'MIN_NOTIONAL', msg: 'too small' }),
  );
  expect(await handle.result()).toMatchObject({ status: 'REJECTED', rejectReason: 'MIN_NOTIONAL' });
  recordHistory(handle, 'command-resent-after-ack-timeout', env.address);
});
