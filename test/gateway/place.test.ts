// order.place up to the Temporal call: the seed's message exactly as written passes validation and
// becomes update-with-start of orderWorkflow with the contract's options. The full flow (a worker
// running the workflow) is in the end-to-end tests.
import '../support/quietGateway';
import { randomUUID } from 'node:crypto';
import {
  ApplicationFailure,
  Client,
  Connection,
  WithStartWorkflowOperation,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from '@temporalio/client';
import { markets } from '../../config/markets';
import type { AcceptedOrder } from '../../domain/order';
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

/** A Temporal client double that records update-with-start calls. */
function fakeTemporal(answer: (accepted: AcceptedOrder) => Promise<unknown>) {
  const calls: Array<{
    update: unknown;
    options: { args: [AcceptedOrder]; startWorkflowOperation: WithStartWorkflowOperation<never> };
  }> = [];
  const client = {
    withDeadline: <T>(_deadline: number, fn: () => Promise<T>) => fn(),
    workflow: {
      executeUpdateWithStart: (update: unknown, options: (typeof calls)[number]['options']) => {
        calls.push({ update, options });
        return answer(options.args[0]);
      },
    },
  } as unknown as Client;
  return { calls, temporal: () => Promise.resolve(client) };
}

const snapshotOf = (a: AcceptedOrder): Partial<OrderSnapshot> => ({
  workflowId: `order/${a.userID}/${a.orderId}`,
  orderId: a.orderId,
  status: 'PENDING_NEW',
});

test("the seed's message, sent exactly as written, passes validation and reaches update-with-start", async () => {
  const { calls, temporal } = fakeTemporal((a) => Promise.resolve(snapshotOf(a)));
  const handler = createDefaultHandler({
    temporal,
    now: () => 1_700_000_000_000,
    orderLimiter: orderLimiter(),
  });
  const frame = `{"id":"r1","method":"order.place","params":${seedOrderText}}`;
  const result = await handler(messageEvent(frame, 'user1'));

  expect(result.statusCode).toBe(200);
  expect(JSON.parse(result.body!)).toEqual({
    id: 'r1',
    status: 200,
    result: { workflowId: 'order/user1/12345', orderId: '12345', status: 'PENDING_NEW' },
    rateLimits: orderRateLimits(1),
  });
  expect(calls).toHaveLength(1);
  const { update, options } = calls[0]!;
  expect(update).toBe(submitUpdate);
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
  expect(options.args).toEqual([accepted]);
  const op = options.startWorkflowOperation;
  expect(op).toBeInstanceOf(WithStartWorkflowOperation);
  expect(op.workflowTypeOrFunc).toBe('orderWorkflow');
  expect(op.options).toMatchObject({
    workflowId: 'order/user1/12345',
    taskQueue: 'orders',
    args: [accepted],
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
    staticSummary: 'SELL 5 BTC @ 100.00 · user1',
  });
  const attributes = Object.fromEntries(
    (op.options.typedSearchAttributes as Array<{ key: { name: string }; value: unknown }>).map(
      (p) => [p.key.name, p.value],
    ),
  );
  expect(attributes).toEqual({
    OrderStatus: 'PENDING_NEW',
    CoinID: 'BTC',
    UserID: 'user1',
    OrderSide: 'SELL',
    OrderType: 'LIMIT',
  });
});

test('userID may be left out of params: the connection’s user places the order', async () => {
  const { calls, temporal } = fakeTemporal((a) => Promise.resolve(snapshotOf(a)));
  const handler = createDefaultHandler({ temporal, orderLimiter: orderLimiter() });
  const frame = JSON.stringify({
    id: 'r2',
    method: 'order.place',
    params: { orderId: 'm1', type: 'BUY', coinID: 'ETH', quantity: '1.5' },
  });
  const answer = JSON.parse((await handler(messageEvent(frame, 'carol'))).body!) as {
    status: number;
  };
  expect(answer.status).toBe(200);
  expect(calls[0]!.options.args[0]).toMatchObject({
    userID: 'carol',
    orderType: 'MARKET',
    timeInForce: 'IOC',
    price: null,
  });
  expect(calls[0]!.options.startWorkflowOperation.options.staticSummary).toBe(
    'BUY 1.5 ETH MARKET · carol',
  );
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
    const { temporal } = fakeTemporal(() =>
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
    const handler = createDefaultHandler({ temporal, orderLimiter: orderLimiter() });
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
      createMethods({ temporal: timeout.temporal, markets })['order.place'](params, ctx),
    ).rejects.toMatchObject({ status: 504, code: 'TIMEOUT' });
    const handler = createDefaultHandler({
      temporal: fakeTemporal(() => Promise.reject(new Error('boom'))).temporal,
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

  test('update-with-start starts the order workflow with its search attributes and summary; 504 when unanswered; a finished id is 409 DUPLICATE_ORDER_ID', async () => {
    const taskQueue = `gateway-test-${randomUUID()}`;
    const user = uniqueUser('tq');
    const methods = createMethods({
      temporal: () => Promise.resolve(client),
      markets,
      taskQueue,
      timeoutMs: () => 1500,
    });
    const userCtx: CallContext = {
      userID: user,
      connectionId: 'c',
      log,
      annotate: () => undefined,
    };
    const params = { ...(JSON.parse(seedOrderText) as Record<string, unknown>), userID: user };

    await expect(methods['order.place'](params, userCtx)).rejects.toMatchObject({
      status: 504,
      code: 'TIMEOUT',
    });
    const handle = client.workflow.getHandle(`order/${user}/12345`);
    const description = await handle.describe();
    expect(description.type).toBe('orderWorkflow');
    expect(description.taskQueue).toBe(taskQueue);
    expect(description.status.name).toBe('RUNNING');
    expect(await description.staticSummary()).toBe(`SELL 5 BTC @ 100.00 · ${user}`);
    const attributes = Object.fromEntries(
      description.typedSearchAttributes.getAll().map((p) => [p.key.name, p.value]),
    );
    expect(attributes).toEqual({
      OrderStatus: 'PENDING_NEW',
      CoinID: 'BTC',
      UserID: user,
      OrderSide: 'SELL',
      OrderType: 'LIMIT',
    });

    // Without a worker, order.status cannot be answered in time either. (The cause is part of
    // the comparison so that a failure shows it: once, under load, this was a 500.)
    const statusError = await methods['order.status']({ orderId: '12345' }, userCtx).then(
      () => undefined,
      (err: { status?: number; cause?: Error }) => ({
        status: err.status,
        cause: `${String(err.cause)} ← ${String(err.cause?.cause)}`,
      }),
    );
    expect(statusError).toMatchObject({ status: 504 });

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
