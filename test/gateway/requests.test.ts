// The envelope over a real socket: every answer echoes the request id; bad input is a 400 naming
// the field; another user's order is 403; an unknown order is 404. Runs against the real Temporal
// of the global set-up (no worker needed: nothing here reaches a workflow).
import { connectAs, startTestTwin, type GatewayTwin, type TradingClient } from '../support/twin';
import { uniqueUser } from '../support/orders';
import { orderRateLimits } from './helpers';

let twin: GatewayTwin;
let client: TradingClient;
const user = uniqueUser('req');

beforeAll(async () => {
  twin = await startTestTwin();
  client = await connectAs(twin, user);
});
afterAll(async () => {
  await client.close();
  await twin.close();
});

const order = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  orderId: 'o1',
  type: 'BUY',
  coinID: 'BTC',
  quantity: '0.5',
  price: '30000',
  ...over,
});

/** Sends a raw frame and returns the next answer that echoes `id`. */
async function raw(frame: string, id: unknown): Promise<Record<string, unknown>> {
  const before = client.messages.length;
  client.send(frame);
  return client.waitForMessage(
    (m) =>
      client.messages.indexOf(m) >= before &&
      typeof m === 'object' &&
      m !== null &&
      'status' in m &&
      (m as unknown as { id: unknown }).id === id,
  );
}

test('bad JSON → 400 INVALID_JSON with id null', async () => {
  expect(await raw('{"id":"x1","method":', null)).toEqual({
    id: null,
    status: 400,
    error: { code: 'INVALID_JSON', msg: 'the request is not valid JSON' },
    rateLimits: orderRateLimits(0),
  });
});

test('a frame that is JSON but not an object → 400 with id null', async () => {
  expect(await raw('[1,2]', null)).toMatchObject({
    status: 400,
    error: { code: 'INVALID_REQUEST' },
  });
});

test('unknown method → 400 naming `method`, echoing the id', async () => {
  expect(await client.request('order.teleport', {}, { id: 'm1' })).toEqual({
    id: 'm1',
    status: 400,
    error: {
      code: 'UNKNOWN_METHOD',
      msg: expect.stringContaining('order.teleport') as string,
      field: 'method',
    },
    rateLimits: orderRateLimits(0),
  });
});

test('missing method and unknown envelope fields → 400 naming them; numeric ids are echoed', async () => {
  expect(await raw('{"id":7,"params":{}}', 7)).toMatchObject({
    id: 7,
    status: 400,
    error: { code: 'INVALID_METHOD', msg: 'method is required', field: 'method' },
  });
  expect(await raw('{"id":"e2","method":"ping","extra":1}', 'e2')).toMatchObject({
    id: 'e2',
    status: 400,
    error: { code: 'UNKNOWN_FIELD', field: 'extra' },
  });
  expect(await raw('{"id":"e3","method":"order.place","params":[1]}', 'e3')).toMatchObject({
    id: 'e3',
    status: 400,
    error: { field: 'params' },
  });
});

test.each([
  ['quantity off the step', 'INVALID_QUANTITY', 'quantity', order({ quantity: '0.000001' })],
  [
    'quantity as binary float noise',
    'INVALID_QUANTITY',
    'quantity',
    order({ quantity: 0.1 + 0.2 }),
  ],
  ['unknown coinID', 'UNKNOWN_MARKET', 'coinID', order({ coinID: 'DOGE' })],
  [
    'missing price for LIMIT',
    'INVALID_PRICE',
    'price',
    order({ price: undefined, orderType: 'LIMIT' }),
  ],
  ['extra unknown field', 'UNKNOWN_FIELD', 'leverage', order({ leverage: 10 })],
  ['missing orderId', 'INVALID_ORDER_ID', 'orderId', order({ orderId: undefined })],
  ['bad side', 'INVALID_SIDE', 'type', order({ type: 'HOLD' })],
  ['price off the tick', 'INVALID_PRICE', 'price', order({ price: '100.001' })],
  ['below min notional', 'MIN_NOTIONAL', 'quantity', order({ quantity: '0.00001', price: '1' })],
])('order.place with %s → 400 %s naming %s', async (_name, code, field, params) => {
  const answer = await client.request(
    'order.place',
    JSON.parse(JSON.stringify(params)) as Record<string, unknown>,
    { id: `p-${field}` },
  );
  expect(answer).toEqual({
    id: `p-${field}`,
    status: 400,
    error: { code, msg: expect.any(String) as string, field },
    // An order refused at the edge is not counted.
    rateLimits: orderRateLimits(0),
  });
});

test('an order, cancel or status for another user → 403 naming userID', async () => {
  for (const [method, params] of [
    ['order.place', order({ userID: 'someone-else' })],
    ['order.cancel', { orderId: 'o1', userID: 'someone-else' }],
    ['order.status', { orderId: 'o1', userID: 'someone-else' }],
    ['openOrders.status', { userID: 'someone-else' }],
  ] as const) {
    expect(await client.request(method, params)).toMatchObject({
      status: 403,
      error: { code: 'FORBIDDEN', field: 'userID' },
    });
  }
});

test('order.status and order.cancel of an unknown order → 404 UNKNOWN_ORDER', async () => {
  expect(await client.request('order.status', { orderId: 'never-placed' }, { id: 's1' })).toEqual({
    id: 's1',
    status: 404,
    error: { code: 'UNKNOWN_ORDER', msg: 'no such order', field: 'orderId' },
    rateLimits: orderRateLimits(0),
  });
  // userID given and equal to the connection's user is fine.
  expect(
    await client.request('order.cancel', { orderId: 'never-placed', userID: user }, { id: 'c1' }),
  ).toMatchObject({ id: 'c1', status: 404, error: { code: 'UNKNOWN_ORDER' } });
});

test('order.status / order.cancel validate their params', async () => {
  expect(await client.request('order.status', {})).toMatchObject({
    status: 400,
    error: { code: 'INVALID_ORDER_ID', field: 'orderId' },
  });
  expect(await client.request('order.cancel', { orderId: 'a/b' })).toMatchObject({
    status: 400,
    error: { code: 'INVALID_ORDER_ID', field: 'orderId' },
  });
  expect(await client.request('order.status', { orderId: 'x', side: 'BUY' })).toMatchObject({
    status: 400,
    error: { code: 'UNKNOWN_FIELD', field: 'side' },
  });
});

test('openOrders.status of a user without orders is an empty list; an unknown coinID is 400', async () => {
  expect(await client.request('openOrders.status', {}, { id: 'oo' })).toEqual({
    id: 'oo',
    status: 200,
    result: [],
    rateLimits: orderRateLimits(0),
  });
  expect(await client.request('openOrders.status', { coinID: 'BTC' })).toMatchObject({
    status: 200,
    result: [],
  });
  expect(await client.request('openOrders.status', { coinID: 'NOPE' })).toMatchObject({
    status: 400,
    error: { code: 'UNKNOWN_MARKET', field: 'coinID' },
  });
});

test('concurrent requests are answered each with its own id', async () => {
  const answers = await Promise.all(
    Array.from({ length: 10 }, (_, i) => client.request('ping', undefined, { id: `c${i}` })),
  );
  expect(answers.map((a) => a.id)).toEqual(Array.from({ length: 10 }, (_, i) => `c${i}`));
});
