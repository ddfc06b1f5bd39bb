// order.place up to Temporal and the matcher's queue: the seed's message exactly as written passes
// validation, starts the order's workflow with the contract's options and sends its first place
// command. The full flow (a worker running the workflow) is in the end-to-end tests.
import { processAccounts } from '../../accounts/process';
import '../support/quietGateway';
import { randomUUID } from 'node:crypto';
import {
  ApplicationFailure,
  Client,
  Connection,
  WorkflowExecutionAlreadyStartedError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  type WorkflowStartOptions,
} from '@temporalio/client';
import { markets } from '../../config/markets';
import type { AcceptedOrder, MatcherCommand } from '../../domain/order';
import type { OrderSnapshot } from '../../domain/orderPresenter';
import { createDefaultHandler } from '../../gateway/handlers/default';
import { createMethods, type CallContext } from '../../gateway/methods';
import { createOrderRateLimiter } from '../../gateway/orderRateLimits';
import { serviceLogger } from '../../platform/log';
import type { WebSocketEvent } from '../../gateway/types';
import { submitUpdate } from '../../workflows/messages';
import { seedOrderText, uniqueUser } from '../support/orders';
import { testRedis } from '../support/redis';
import { orderRateLimits } from './helpers';

const log = serviceLogger('gateway');
const redis = testRedis();
afterAll(() => redis.disconnect());

/** Order counts of their own (the seed's user is everyone's), so a handler's start from zero. */
const orderLimiter = () =>
  createOrderRateLimiter({
    redis: () => Promise.resolve(redis),
    namespace: `test-${randomUUID()}:`,
  });

function messageEvent(body: string, userID: string): WebSocketEvent {
  return {
    requestContext: {
      routeKey: '$default',
      eventType: 'MESSAGE',
      connectionId: 'Abc123=',
      domainName: 'abc.execute-api.us-east-1.amazonaws.com',
      stage: 'prod',
      apiId: 'abc',
      requestId: 'req-1',
      messageId: 'msg-1',
      messageDirection: 'IN',
      requestTime: '09/Apr/2020:18:03:43 +0000',
      requestTimeEpoch: Date.now(),
      connectedAt: Date.now(),
      identity: { sourceIp: '127.0.0.1' },
      authorizer: { principalId: userID, userID },
    },
    body,
    isBase64Encoded: false,
  };
}

/** A Temporal client double that records workflow starts and updates to a running workflow. */
function fakeTemporal(
  start: (options: WorkflowStartOptions) => Promise<unknown> = () => Promise.resolve(),
  update: (accepted: AcceptedOrder) => Promise<unknown> = () => Promise.reject(new Error('no')),
) {
  const starts: Array<{ workflowType: string; options: WorkflowStartOptions }> = [];
  const updates: Array<{ workflowId: string; update: unknown; args: [AcceptedOrder] }> = [];
  const client = {
    withDeadline: <T>(_deadline: number, fn: () => Promise<T>) => fn(),
    workflow: {
      start: (workflowType: string, options: WorkflowStartOptions) => {
        starts.push({ workflowType, options });
        return start(options);
      },
      getHandle: (workflowId: string) => ({
        executeUpdate: (u: unknown, { args }: { args: [AcceptedOrder] }) => {
          updates.push({ workflowId, update: u, args });
          return update(args[0]);
        },
      }),
    },
  } as unknown as Client;
  return { starts, updates, temporal: () => Promise.resolve(client) };
}

const snapshotOf = (a: AcceptedOrder): Partial<OrderSnapshot> => ({
  workflowId: `order/${a.userID}/${a.orderId}`,
  orderId: a.orderId,
  status: 'PENDING_NEW',
});

/** A stand-in for the matcher's queue that records what is sent. */
function fakeQueue() {
  const sent: Array<{ command: MatcherCommand; sendNumber: number }> = [];
  return {
    sent,
    sendCommand: () =>
      Promise.resolve((command: MatcherCommand, sendNumber: number) => {
        sent.push({ command, sendNumber });
        return Promise.resolve();
      }),
  };
}

test("the seed's message, sent exactly as written, passes validation, starts the order's workflow and sends its place command", async () => {
  const { starts, temporal } = fakeTemporal();
  const queue = fakeQueue();
  const handler = createDefaultHandler({
    temporal,
    sendCommand: queue.sendCommand,
    now: () => 1_700_000_000_000,
    orderLimiter: orderLimiter(),
  });
  const frame = `{"id":"r1","method":"order.place","params":${seedOrderText}}`;
  const result = await handler(messageEvent(frame, 'user1'));

  expect(result.statusCode).toBe(200);
  const answer = JSON.parse(result.body!) as {
    id: string;
    status: number;
    result: OrderSnapshot;
    rateLimits: unknown;
  };
  expect(answer).toMatchObject({ id: 'r1', status: 200, rateLimits: orderRateLimits(1) });
  expect(answer.result).toMatchObject({
    workflowId: 'order/user1/12345',
    orderId: '12345',
    status: 'PENDING_NEW',
    price: '100.00',
    quantity: '5.00000',
    filledQty: '0.00000',
  });
  expect(starts).toHaveLength(1);
  const { workflowType, options } = starts[0]!;
  const accepted: AcceptedOrder = {
    orderId: '12345',
    userID: 'user1',
    market: 'BTC',
    side: 'SELL',
    orderType: 'LIMIT',
    timeInForce: 'GTC',
    selfTradePrevention: 'EXPIRE_MAKER',
    price: 10_000, // ticks of 0.01
    quantity: 500_000, // steps of 0.00001
    retryUnmatched: { attempts: 3, backoffMs: 2000 },
    tickSize: '0.01',
    stepSize: '0.00001',
    acceptedAt: 1_700_000_000_000,
  };
  expect(workflowType).toBe('orderLifecycle');
  expect(options).toMatchObject({
    workflowId: 'order/user1/12345',
    taskQueue: 'orders',
    args: [accepted],
    startDelay: 30_000,
    workflowIdConflictPolicy: 'FAIL',
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
    staticSummary: 'SELL 5 BTC @ 100.00 · user1',
  });
  const attributes = Object.fromEntries(
    (options.typedSearchAttributes as Array<{ key: { name: string }; value: unknown }>).map((p) => [
      p.key.name,
      p.value,
    ]),
  );
  expect(attributes).toEqual({
    OrderStatus: 'NEW',
    CoinID: 'BTC',
    UserID: 'user1',
    OrderSide: 'SELL',
    OrderType: 'LIMIT',
  });
  expect(queue.sent).toEqual([
    {
      sendNumber: 0,
      command: {
        cmd: 'place',
        commandId: 'order/user1/12345#1',
        orderId: '12345',
        userID: 'user1',
        market: 'BTC',
        side: 'SELL',
        orderType: 'LIMIT',
        timeInForce: 'GTC',
        selfTradePrevention: 'EXPIRE_MAKER',
        price: 10_000,
        quantity: 500_000,
        attempt: 0,
        issuedAt: 1_700_000_000_000,
      },
    },
  ]);
});

test('a re-sent order answers from its running workflow and sends the same place command again while unanswered', async () => {
  const { starts, updates, temporal } = fakeTemporal(
    () =>
      Promise.reject(new WorkflowExecutionAlreadyStartedError('started', 'id', 'orderLifecycle')),
    (a) => Promise.resolve({ ...snapshotOf(a), createdAt: 1_600_000_000_000 }),
  );
  const queue = fakeQueue();
  const methods = createMethods({
    temporal,
    sendCommand: queue.sendCommand,
    markets,
    accounts: processAccounts,
  });
  const ctx: CallContext = { userID: 'user1', connectionId: 'c', log, annotate: () => undefined };
  const answer = await methods['order.place'](
    JSON.parse(seedOrderText) as Record<string, unknown>,
    ctx,
  );
  expect(answer).toMatchObject({ status: 'PENDING_NEW', createdAt: 1_600_000_000_000 });
  expect(starts).toHaveLength(1);
  expect(updates.map((u) => [u.workflowId, u.update])).toEqual([
    ['order/user1/12345', submitUpdate],
  ]);
  expect(queue.sent.map((s) => [s.command.commandId, s.command.issuedAt, s.sendNumber])).toEqual([
    ['order/user1/12345#1', 1_600_000_000_000, 0],
  ]);
});

test('userID may be left out of params: the connection’s user places the order', async () => {
  const { starts, temporal } = fakeTemporal();
  const handler = createDefaultHandler({
    temporal,
    sendCommand: fakeQueue().sendCommand,
    orderLimiter: orderLimiter(),
  });
  const frame = JSON.stringify({
    id: 'r2',
    method: 'order.place',
    params: { orderId: 'm1', type: 'BUY', coinID: 'ETH', quantity: '1.5' },
  });
  const answer = JSON.parse((await handler(messageEvent(frame, 'carol'))).body!) as {
    status: number;
  };
  expect(answer.status).toBe(200);
  expect(starts[0]!.options.args![0]).toMatchObject({
    userID: 'carol',
    orderType: 'MARKET',
    timeInForce: 'IOC',
    price: null,
  });
  expect(starts[0]!.options.staticSummary).toBe('BUY 1.5 ETH MARKET · carol');
});

describe('Temporal failures become answers', () => {
  const ctx: CallContext = {
    userID: 'user1',
    connectionId: 'c',
    log,
    annotate: () => undefined,
  };
  const params = JSON.parse(seedOrderText) as Record<string, unknown>;

  test('DUPLICATE_ORDER_ID from the workflow → 409 naming orderId', async () => {
    const { temporal } = fakeTemporal(
      () => Promise.reject(new WorkflowExecutionAlreadyStartedError('started', 'id', 'type')),
      () =>
        Promise.reject(
          new WorkflowUpdateFailedError(
            'update failed',
            ApplicationFailure.create({
              type: 'DUPLICATE_ORDER_ID',
              message: 'order 12345 exists with other fields',
            }),
          ),
        ),
    );
    const handler = createDefaultHandler({
      temporal,
      sendCommand: fakeQueue().sendCommand,
      orderLimiter: orderLimiter(),
    });
    const frame = `{"id":"d1","method":"order.place","params":${seedOrderText}}`;
    expect(JSON.parse((await handler(messageEvent(frame, 'user1'))).body!)).toEqual({
      id: 'd1',
      status: 409,
      error: {
        code: 'DUPLICATE_ORDER_ID',
        msg: 'order 12345 exists with other fields',
        field: 'orderId',
      },
      rateLimits: orderRateLimits(1),
    });
  });

  test('no answer in time → 504 TIMEOUT; an unexpected error → 500 INTERNAL', async () => {
    const timeout = fakeTemporal(() =>
      Promise.reject(new WorkflowUpdateRPCTimeoutOrCancelledError('deadline')),
    );
    await expect(
      createMethods({
        temporal: timeout.temporal,
        sendCommand: fakeQueue().sendCommand,
        markets,
        accounts: processAccounts,
      })['order.place'](params, ctx),
    ).rejects.toMatchObject({ status: 504, code: 'TIMEOUT' });
    const handler = createDefaultHandler({
      temporal: fakeTemporal(() => Promise.reject(new Error('boom'))).temporal,
      sendCommand: fakeQueue().sendCommand,
      orderLimiter: orderLimiter(),
    });
    const frame = `{"id":"i1","method":"order.place","params":${seedOrderText}}`;
    expect(JSON.parse((await handler(messageEvent(frame, 'user1'))).body!)).toEqual({
      id: 'i1',
      status: 500,
      error: { code: 'INTERNAL', msg: 'internal error' },
      rateLimits: orderRateLimits(1),
    });
  });
});

describe('against the real Temporal server (no worker on the queue)', () => {
  let connection: Connection;
  let client: Client;
  beforeAll(async () => {
    connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
    client = new Client({ connection });
  });
  afterAll(() => connection.close());

  test('place starts the order workflow with its search attributes and summary; its status reads PENDING_NEW (its OrderStatus attribute NEW) before any worker runs it; a finished id is 409 DUPLICATE_ORDER_ID', async () => {
    const taskQueue = `gateway-test-${randomUUID()}`;
    const user = uniqueUser('tq');
    const queue = fakeQueue();
    const methods = createMethods({
      temporal: () => Promise.resolve(client),
      sendCommand: queue.sendCommand,
      markets,
      taskQueue,
      accounts: processAccounts,
      timeoutMs: () => 1500,
    });
    const userCtx: CallContext = {
      userID: user,
      connectionId: 'c',
      log,
      annotate: () => undefined,
    };
    const params = { ...(JSON.parse(seedOrderText) as Record<string, unknown>), userID: user };

    const placed = await methods['order.place'](params, userCtx);
    expect(placed).toMatchObject({ status: 'PENDING_NEW' });
    expect(queue.sent.map((s) => s.command.commandId)).toEqual([`order/${user}/12345#1`]);
    const handle = client.workflow.getHandle(`order/${user}/12345`);
    const description = await handle.describe();
    expect(description.type).toBe('orderLifecycle');
    expect(description.taskQueue).toBe(taskQueue);
    expect(description.status.name).toBe('RUNNING');
    expect(await description.staticSummary()).toBe(`SELL 5 BTC @ 100.00 · ${user}`);
    const attributes = Object.fromEntries(
      description.typedSearchAttributes.getAll().map((p) => [p.key.name, p.value]),
    );
    expect(attributes).toEqual({
      OrderStatus: 'NEW',
      CoinID: 'BTC',
      UserID: user,
      OrderSide: 'SELL',
      OrderType: 'LIMIT',
    });

    // No worker has run it yet (its start waits for the matcher's answer): the gateway reads the
    // snapshot from the workflow's input instead of a query that would wait.
    expect(await methods['order.status']({ orderId: '12345' }, userCtx)).toEqual(placed);

    // A finished workflow keeps its id: re-sending does not start the order again.
    await handle.terminate('test over');
    await expect(methods['order.place'](params, userCtx)).rejects.toMatchObject({
      status: 409,
      code: 'DUPLICATE_ORDER_ID',
    });
    await expect(methods['order.cancel']({ orderId: '12345' }, userCtx)).rejects.toMatchObject({
      status: 409,
      code: 'ORDER_NOT_CANCELLABLE',
    });
    await expect(methods['order.status']({ orderId: '12345' }, userCtx)).rejects.toMatchObject({
      status: 500,
      code: 'ORDER_UNAVAILABLE',
    });
  });
});
