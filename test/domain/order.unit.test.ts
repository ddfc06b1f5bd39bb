// The seed's order message, its optional fields and defaults, and the matcher's schemas.
import marketsJson from '../../config/markets.json';
import { FieldError } from '../../domain/errors';
import { parseMarkets } from '../../domain/markets';
import {
  matcherCommandSchema,
  matcherEventSchema,
  orderKeyFor,
  parseOrder,
  workflowIdFor,
} from '../../domain/order';

const markets = parseMarkets(marketsJson);
const seed = {
  orderId: '12345',
  type: 'SELL',
  userID: 'user1',
  coinID: 'BTC',
  quantity: 5,
  price: 100,
};

function rejection(params: unknown): FieldError {
  try {
    parseOrder(params, markets);
  } catch (err) {
    if (err instanceof FieldError) return err;
    throw err;
  }
  throw new Error('expected a FieldError');
}

test('the seed message is accepted exactly as written', () => {
  const { spec, market, retryUnmatched } = parseOrder(seed, markets);
  expect(spec).toEqual({
    orderId: '12345',
    userID: 'user1',
    market: 'BTC',
    side: 'SELL',
    orderType: 'LIMIT',
    timeInForce: 'GTC',
    selfTradePrevention: 'EXPIRE_MAKER',
    price: 10_000, // ticks of 0.01
    quantity: 500_000, // steps of 0.00001
  });
  expect(market.name).toBe('BTC');
  expect(retryUnmatched).toEqual(marketsJson.BTC.retryUnmatched);
});

test('defaults: no price → MARKET IOC; decimal strings work like numbers', () => {
  const { spec } = parseOrder({ ...seed, price: undefined, quantity: '0.5' }, markets);
  expect(spec).toMatchObject({
    orderType: 'MARKET',
    timeInForce: 'IOC',
    price: null,
    quantity: 50_000,
  });
  expect(parseOrder({ ...seed, price: '100.00' }, markets).spec.price).toBe(10_000);
});

test('optional fields are honoured', () => {
  const { spec, retryUnmatched } = parseOrder(
    {
      ...seed,
      orderType: 'LIMIT_MAKER',
      selfTradePrevention: 'NONE',
      retryUnmatched: { attempts: 1, backoffMs: 10 },
    },
    markets,
  );
  expect(spec).toMatchObject({
    orderType: 'LIMIT_MAKER',
    timeInForce: 'GTC',
    selfTradePrevention: 'NONE',
  });
  expect(retryUnmatched).toEqual({ attempts: 1, backoffMs: 10 });
  expect(parseOrder({ ...seed, price: undefined, timeInForce: 'FOK' }, markets).spec).toMatchObject(
    {
      orderType: 'MARKET',
      timeInForce: 'FOK',
    },
  );
});

test.each([
  ['unknown market', { coinID: 'DOGE' }, 'UNKNOWN_MARKET', 'coinID'],
  ['quantity off the step', { quantity: '0.000001' }, 'INVALID_QUANTITY', 'quantity'],
  ['quantity 0', { quantity: 0 }, 'INVALID_QUANTITY', 'quantity'],
  ['quantity above maxQty', { quantity: 1001 }, 'INVALID_QUANTITY', 'quantity'],
  ['price off the tick', { price: 0.1 + 0.2 }, 'INVALID_PRICE', 'price'],
  ['price 0', { price: 0 }, 'INVALID_PRICE', 'price'],
  ['negative price', { price: -1 }, 'INVALID_PRICE', 'price'],
  ['MARKET with a price', { orderType: 'MARKET' }, 'INVALID_PRICE', 'price'],
  [
    'LIMIT_MAKER without a price',
    { orderType: 'LIMIT_MAKER', price: undefined },
    'INVALID_PRICE',
    'price',
  ],
  ['below min notional', { price: 1, quantity: 1 }, 'MIN_NOTIONAL', 'quantity'],
  ['MARKET GTC', { price: undefined, timeInForce: 'GTC' }, 'INVALID_TIME_IN_FORCE', 'timeInForce'],
  [
    'LIMIT_MAKER IOC',
    { orderType: 'LIMIT_MAKER', timeInForce: 'IOC' },
    'INVALID_TIME_IN_FORCE',
    'timeInForce',
  ],
  ['unknown side', { type: 'HOLD' }, 'INVALID_SIDE', 'type'],
  ['userID with a slash', { userID: 'a/b' }, 'INVALID_USER_ID', 'userID'],
  ['missing orderId', { orderId: undefined }, 'INVALID_ORDER_ID', 'orderId'],
  ['unknown field', { colour: 'red' }, 'UNKNOWN_FIELD', 'colour'],
])('%s → %s naming %s', (_name, change, code, field) => {
  expect(rejection({ ...seed, ...change })).toMatchObject({ code, field });
});

test('min notional is exact at the boundary: 5 USDT passes, a tick less does not', () => {
  expect(parseOrder({ ...seed, quantity: '0.0005', price: '10000' }, markets).spec.quantity).toBe(
    50,
  );
  expect(rejection({ ...seed, quantity: '0.0005', price: '9999.99' }).code).toBe('MIN_NOTIONAL');
});

test('ids: workflow id and book key', () => {
  expect(workflowIdFor('user1', '12345')).toBe('order/user1/12345');
  expect(orderKeyFor('user1', '12345')).toBe('user1/12345');
});

test('matcher command and event schemas', () => {
  const place = {
    cmd: 'place',
    commandId: 'c1',
    orderId: '1',
    userID: 'u',
    market: 'BTC',
    side: 'BUY',
    orderType: 'MARKET',
    timeInForce: 'IOC',
    selfTradePrevention: 'NONE',
    price: null,
    quantity: 3,
    attempt: 0,
  };
  expect(matcherCommandSchema.parse(place)).toEqual(place);
  expect(matcherCommandSchema.safeParse({ ...place, quantity: 1.5 }).success).toBe(false);
  const cancel = { cmd: 'cancel', commandId: 'c2', orderId: '1', userID: 'u', market: 'BTC' };
  expect(matcherCommandSchema.parse(cancel)).toEqual(cancel);
  const base = {
    seq: 1,
    market: 'BTC',
    userID: 'u',
    orderId: '1',
    orderSeq: 2,
    commandId: 'c',
    time: 1,
  };
  const trade = {
    event: 'TRADE',
    ...base,
    tradeId: 'BTC-1',
    side: 'BUY',
    lastQty: 1,
    lastPrice: 100,
    maker: false,
    filledQty: 1,
    leavesQty: 0,
  };
  expect(matcherEventSchema.parse(trade)).toEqual(trade);
  expect(matcherEventSchema.safeParse({ ...trade, lastQty: 0 }).success).toBe(false);
  expect(
    matcherEventSchema.safeParse({
      event: 'CANCEL_REJECTED',
      ...base,
      orderSeq: 0,
      reason: 'UNKNOWN_ORDER',
      msg: '',
    }).success,
  ).toBe(true);
});
