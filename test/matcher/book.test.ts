// One test per matching rule, against the real Redis of the test run. Market TST: tick 1, step 1,
// quantity 1–50, minimum notional 100, so the numbers read as the rules state them.
import { setTimeout as sleep } from 'node:timers/promises';
import type Redis from 'ioredis';
import {
  BatchApplyError,
  bookKeys,
  defaultAppliedRetentionMs,
  keyList,
  maxCommandsPerCall,
  openBook,
  type Book,
  type BookOptions,
} from '../../matcher/book';
import { parseOrder, type MatcherEvent, type PlaceCommand } from '../../domain/order';
import { ReferenceBook } from '../support/referenceBook';
import { testRedis } from '../support/redis';
import {
  btc,
  cancelCmd,
  expectValidEvents,
  limit,
  markets,
  namespace,
  outbox,
  placeCmd,
  story,
  timeless,
  tst,
} from './support';

let redis: Redis;
const books: Book[] = [];

beforeAll(() => {
  redis = testRedis();
});
afterAll(async () => {
  await Promise.all(books.map((b) => b.destroy()));
  redis.disconnect();
});

async function newBook(opts: BookOptions = {}, market = tst): Promise<Book> {
  const book = await openBook(redis, market, { namespace: namespace('book'), ...opts });
  books.push(book);
  return book;
}

const market = (
  userID: string,
  orderId: string,
  side: 'BUY' | 'SELL',
  quantity: number,
  more: Partial<PlaceCommand> = {},
) => placeCmd({ userID, orderId, side, quantity, ...more });

/** Places every command in order and returns the events of the last one. */
async function run(book: Book, ...cmds: PlaceCommand[]): Promise<MatcherEvent[]> {
  let events: MatcherEvent[] = [];
  for (const cmd of cmds) events = await book.apply(cmd);
  return events;
}

describe('placing', () => {
  test('a LIMIT GTC order gets NEW (orderSeq 1) and rests on its side', async () => {
    const book = await newBook();
    const cmd = limit('u1', 'a', 'BUY', 100, 5);
    const events = await book.place(cmd);
    expect(events).toEqual([
      {
        event: 'NEW',
        seq: 1,
        market: 'TST',
        userID: 'u1',
        orderId: 'a',
        orderSeq: 1,
        commandId: cmd.commandId,
        time: expect.any(Number) as number,
        side: 'BUY',
        orderType: 'LIMIT',
        timeInForce: 'GTC',
        price: 100,
        quantity: 5,
      },
    ]);
    expect(Math.abs(events[0]!.time - Date.now())).toBeLessThan(5000);
    expect(await book.depth(5)).toEqual({ bids: [{ price: 100, quantity: 5 }], asks: [] });
    expect(await book.order('u1', 'a')).toMatchObject({
      status: 'NEW',
      filled: 0,
      orderSeq: 1,
      member: '0000000000000001:u1/a',
      reason: null,
    });
    expectValidEvents(events);
  });

  test('price-time priority: better price first, then earlier order at the same price', async () => {
    const book = await newBook();
    await run(
      book,
      limit('m1', 'late', 'SELL', 100, 2),
      limit('m2', 'worse', 'SELL', 101, 2),
      limit('m3', 'later', 'SELL', 100, 2),
      limit('m4', 'best', 'SELL', 99, 2),
    );
    const snap = await book.snapshot();
    expect(snap.asks.map((order) => order.orderId)).toEqual(['best', 'late', 'later', 'worse']);
    const events = await book.place(market('t', 'sweep', 'BUY', 5));
    expect(story(events)).toEqual([
      'NEW sweep',
      'TRADE sweep',
      'TRADE best',
      'TRADE sweep',
      'TRADE late',
      'TRADE sweep',
      'TRADE later',
    ]);
    expect((await book.order('m3', 'later'))?.status).toBe('PARTIALLY_FILLED');
  });

  test("trades at the maker's price; both sides share one tradeId, taker first", async () => {
    const book = await newBook();
    await book.place(limit('maker', 'm', 'SELL', 100, 3));
    const events = await book.place(limit('taker', 't', 'BUY', 105, 3));
    const [, takerTrade, makerTrade] = events;
    expect(takerTrade).toMatchObject({
      event: 'TRADE',
      orderId: 't',
      side: 'BUY',
      maker: false,
      lastPrice: 100,
      lastQty: 3,
      filledQty: 3,
      leavesQty: 0,
      tradeId: 'TST-1',
      orderSeq: 2,
    });
    expect(makerTrade).toMatchObject({
      event: 'TRADE',
      orderId: 'm',
      side: 'SELL',
      maker: true,
      lastPrice: 100,
      lastQty: 3,
      tradeId: 'TST-1',
      orderSeq: 2,
    });
    expect(events.map((e) => e.seq)).toEqual([2, 3, 4]);
    expect((await book.order('taker', 't'))?.status).toBe('FILLED');
    expect((await book.order('maker', 'm'))?.member).toBeNull();
    expect(await book.depth(5)).toEqual({ bids: [], asks: [] });
    expectValidEvents(events);
  });

  test('partial fills: the maker keeps its remainder, a GTC taker rests its own', async () => {
    const book = await newBook();
    await book.place(limit('m', 'big', 'SELL', 100, 10));
    await book.place(limit('t', 'small', 'BUY', 100, 4));
    expect(await book.order('m', 'big')).toMatchObject({ status: 'PARTIALLY_FILLED', filled: 4 });
    const events = await book.place(limit('t', 'more', 'BUY', 101, 9));
    expect(events[1]).toMatchObject({ lastQty: 6, filledQty: 6, leavesQty: 3 });
    expect(events[2]).toMatchObject({ orderId: 'big', filledQty: 10, leavesQty: 0 });
    expect(await book.order('t', 'more')).toMatchObject({
      status: 'PARTIALLY_FILLED',
      filled: 6,
    });
    expect(await book.depth(5)).toEqual({ bids: [{ price: 101, quantity: 3 }], asks: [] });
  });

  test('MARKET sweeps levels and expires what is left: EXPIRED NO_LIQUIDITY', async () => {
    const book = await newBook();
    await run(book, limit('m', 'a', 'BUY', 100, 2), limit('m', 'b', 'BUY', 99, 2));
    const events = await book.place(market('t', 'sell', 'SELL', 7));
    expect(events.at(-1)).toMatchObject({
      event: 'EXPIRED',
      orderId: 'sell',
      reason: 'NO_LIQUIDITY',
      filledQty: 4,
      expiredQty: 3,
      orderSeq: 4,
    });
    expect(events[0]).toMatchObject({ event: 'NEW', price: null, orderType: 'MARKET' });
    expect(await book.order('t', 'sell')).toMatchObject({
      status: 'EXPIRED',
      reason: 'NO_LIQUIDITY',
    });
    expectValidEvents(events);
  });

  test('MARKET on an empty book: NEW then EXPIRED with nothing filled', async () => {
    const book = await newBook();
    const events = await book.place(market('t', 'x', 'BUY', 3));
    expect(story(events)).toEqual(['NEW x', 'EXPIRED x']);
    expect(events[1]).toMatchObject({ filledQty: 0, expiredQty: 3, orderSeq: 2 });
  });

  test('LIMIT IOC trades what crosses and expires the rest instead of resting', async () => {
    const book = await newBook();
    await book.place(limit('m', 'a', 'SELL', 100, 2));
    await book.place(limit('m', 'b', 'SELL', 102, 2));
    const events = await book.place(limit('t', 'ioc', 'BUY', 101, 5, { timeInForce: 'IOC' }));
    expect(story(events)).toEqual(['NEW ioc', 'TRADE ioc', 'TRADE a', 'EXPIRED ioc']);
    expect(events[3]).toMatchObject({ reason: 'NO_LIQUIDITY', filledQty: 2, expiredQty: 3 });
    expect((await book.depth(5)).bids).toEqual([]);
  });

  test('FOK not fillable: NEW then EXPIRED FOK_NOT_FILLABLE, book untouched', async () => {
    const book = await newBook();
    await run(book, limit('m', 'a', 'SELL', 100, 2), limit('m', 'b', 'SELL', 102, 5));
    const before = await book.snapshot();
    const events = await book.place(limit('t', 'fok', 'BUY', 101, 3, { timeInForce: 'FOK' }));
    expect(story(events)).toEqual(['NEW fok', 'EXPIRED fok']);
    expect(events[1]).toMatchObject({
      reason: 'FOK_NOT_FILLABLE',
      filledQty: 0,
      expiredQty: 3,
      orderSeq: 2,
    });
    expect(await book.snapshot()).toEqual(before);
    expect(await book.order('t', 'fok')).toMatchObject({
      status: 'EXPIRED',
      reason: 'FOK_NOT_FILLABLE',
    });
  });

  test('FOK fillable across levels fills whole', async () => {
    const book = await newBook();
    await run(book, limit('m', 'a', 'SELL', 100, 2), limit('m', 'b', 'SELL', 101, 5));
    const events = await book.place(limit('t', 'fok', 'BUY', 101, 6, { timeInForce: 'FOK' }));
    expect(story(events)).toEqual(['NEW fok', 'TRADE fok', 'TRADE a', 'TRADE fok', 'TRADE b']);
    expect((await book.order('t', 'fok'))?.status).toBe('FILLED');
    expect(await book.depth(5)).toEqual({ bids: [], asks: [{ price: 101, quantity: 1 }] });
  });

  test('MARKET FOK: the whole quantity or nothing', async () => {
    const book = await newBook();
    await book.place(limit('m', 'a', 'SELL', 100, 2));
    const no = await book.place(market('t', 'x', 'BUY', 3, { timeInForce: 'FOK' }));
    expect(story(no)).toEqual(['NEW x', 'EXPIRED x']);
    const yes = await book.place(market('t', 'y', 'BUY', 2, { timeInForce: 'FOK' }));
    expect(story(yes)).toEqual(['NEW y', 'TRADE y', 'TRADE a']);
  });

  test('LIMIT_MAKER rests when it would not cross', async () => {
    const book = await newBook();
    await book.place(limit('m', 'ask', 'SELL', 101, 2));
    const events = await book.place(
      limit('t', 'maker', 'BUY', 100, 2, { orderType: 'LIMIT_MAKER' }),
    );
    expect(story(events)).toEqual(['NEW maker']);
    expect((await book.depth(1)).bids).toEqual([{ price: 100, quantity: 2 }]);
  });

  test('LIMIT_MAKER that would cross is REJECTED WOULD_CROSS: no NEW, no record', async () => {
    const book = await newBook();
    await book.place(limit('m', 'ask', 'SELL', 101, 2));
    const events = await book.place(
      limit('t', 'maker', 'BUY', 101, 2, { orderType: 'LIMIT_MAKER' }),
    );
    expect(events).toEqual([
      expect.objectContaining({ event: 'REJECTED', reason: 'WOULD_CROSS', orderSeq: 1 }),
    ]);
    expect(await book.order('t', 'maker')).toBeNull();
    expect((await book.snapshot()).asks).toHaveLength(1);
    expectValidEvents(events);
  });
});

describe('self-trade prevention (decided by the taker, when the next maker is the same user)', () => {
  async function sameUserBook(): Promise<Book> {
    const book = await newBook();
    await run(book, limit('u1', 'own', 'SELL', 100, 3), limit('u2', 'other', 'SELL', 100, 3));
    return book;
  }

  test('EXPIRE_MAKER removes the maker (EXPIRED SELF_TRADE_PREVENTION) and goes on', async () => {
    const book = await sameUserBook();
    const events = await book.place(limit('u1', 't', 'BUY', 100, 4));
    expect(story(events)).toEqual(['NEW t', 'EXPIRED own', 'TRADE t', 'TRADE other']);
    expect(events[1]).toMatchObject({
      reason: 'SELF_TRADE_PREVENTION',
      filledQty: 0,
      expiredQty: 3,
      orderSeq: 2,
    });
    expect(await book.order('u1', 'own')).toMatchObject({ status: 'EXPIRED', member: null });
    expect(await book.order('u1', 't')).toMatchObject({ status: 'PARTIALLY_FILLED', filled: 3 });
  });

  test('EXPIRE_TAKER expires the taker remainder, maker untouched (even GTC)', async () => {
    const book = await sameUserBook();
    const events = await book.place(
      limit('u1', 't', 'BUY', 100, 4, { selfTradePrevention: 'EXPIRE_TAKER' }),
    );
    expect(story(events)).toEqual(['NEW t', 'EXPIRED t']);
    expect(events[1]).toMatchObject({ reason: 'SELF_TRADE_PREVENTION', expiredQty: 4 });
    expect((await book.snapshot()).asks.map((order) => order.orderId)).toEqual(['own', 'other']);
  });

  test('EXPIRE_BOTH expires the taker, then the maker', async () => {
    const book = await sameUserBook();
    const events = await book.place(
      limit('u1', 't', 'BUY', 100, 4, { selfTradePrevention: 'EXPIRE_BOTH' }),
    );
    expect(story(events)).toEqual(['NEW t', 'EXPIRED t', 'EXPIRED own']);
    expect((await book.snapshot()).asks.map((order) => order.orderId)).toEqual(['other']);
  });

  test('NONE lets the same user trade with itself', async () => {
    const book = await sameUserBook();
    const events = await book.place(
      limit('u1', 't', 'BUY', 100, 4, { selfTradePrevention: 'NONE' }),
    );
    expect(story(events)).toEqual(['NEW t', 'TRADE t', 'TRADE own', 'TRADE t', 'TRADE other']);
  });

  test('STP only looks at the next maker: a stranger ahead trades first', async () => {
    const book = await newBook();
    await run(book, limit('u2', 'other', 'SELL', 100, 1), limit('u1', 'own', 'SELL', 100, 3));
    const events = await book.place(
      limit('u1', 't', 'BUY', 100, 4, { selfTradePrevention: 'EXPIRE_TAKER' }),
    );
    expect(story(events)).toEqual(['NEW t', 'TRADE t', 'TRADE other', 'EXPIRED t']);
    expect(events[3]).toMatchObject({ filledQty: 1, expiredQty: 3 });
  });

  test('FOK walk: same-user makers count with NONE, are skipped with EXPIRE_MAKER', async () => {
    const book = await newBook();
    await run(book, limit('u1', 'own', 'SELL', 100, 3), limit('u2', 'other', 'SELL', 100, 2));
    const skip = await book.place(limit('u1', 'f1', 'BUY', 100, 3, { timeInForce: 'FOK' }));
    expect(story(skip)).toEqual(['NEW f1', 'EXPIRED f1']); // own skipped: only 2 available
    expect((await book.snapshot()).asks).toHaveLength(2); // nothing changed, own still there
    const count = await book.place(
      limit('u1', 'f2', 'BUY', 100, 4, { timeInForce: 'FOK', selfTradePrevention: 'NONE' }),
    );
    expect(story(count)).toEqual(['NEW f2', 'TRADE f2', 'TRADE own', 'TRADE f2', 'TRADE other']);
  });

  test('FOK walk stops at a same-user maker with EXPIRE_TAKER / EXPIRE_BOTH', async () => {
    const book = await newBook();
    await run(book, limit('u1', 'own', 'SELL', 100, 3), limit('u2', 'other', 'SELL', 100, 5));
    for (const mode of ['EXPIRE_TAKER', 'EXPIRE_BOTH'] as const) {
      const events = await book.place(
        limit('u1', `f-${mode}`, 'BUY', 100, 2, {
          timeInForce: 'FOK',
          selfTradePrevention: mode,
        }),
      );
      expect(events[1]).toMatchObject({ event: 'EXPIRED', reason: 'FOK_NOT_FILLABLE' });
    }
    const ok = await book.place(limit('u1', 'f3', 'BUY', 100, 4, { timeInForce: 'FOK' }));
    expect(story(ok)).toEqual(['NEW f3', 'EXPIRED own', 'TRADE f3', 'TRADE other']);
  });
});

describe('rejections (validated in Lua too: producers can send anything)', () => {
  const cases: Array<[string, string, Partial<PlaceCommand> | Record<string, unknown>]> = [
    ['quantity 0', 'INVALID_QUANTITY', { quantity: 0 }],
    ['fractional quantity', 'INVALID_QUANTITY', { quantity: 2.5 }],
    ['quantity above maxQty', 'INVALID_QUANTITY', { quantity: 51 }],
    ['quantity as a string', 'INVALID_QUANTITY', { quantity: '5' }],
    ['LIMIT without price', 'INVALID_PRICE', { price: null }],
    ['price 0', 'INVALID_PRICE', { price: 0 }],
    ['negative price', 'INVALID_PRICE', { price: -100 }],
    ['fractional price', 'INVALID_PRICE', { price: 100.5 }],
    ['price above 2^53', 'INVALID_PRICE', { price: 2 ** 60 }],
    ['MARKET with a price', 'INVALID_PRICE', { orderType: 'MARKET', timeInForce: 'IOC' }],
    ['notional below minimum', 'MIN_NOTIONAL', { price: 99, quantity: 1 }],
    [
      'LIMIT_MAKER below minimum',
      'MIN_NOTIONAL',
      { orderType: 'LIMIT_MAKER', price: 20, quantity: 1 },
    ],
    ['MARKET GTC', 'INVALID_ORDER', { orderType: 'MARKET', price: null, timeInForce: 'GTC' }],
    ['LIMIT_MAKER IOC', 'INVALID_ORDER', { orderType: 'LIMIT_MAKER', timeInForce: 'IOC' }],
    ['unknown side', 'INVALID_ORDER', { side: 'HOLD' }],
    ['unknown order type', 'INVALID_ORDER', { orderType: 'STOP' }],
    ['unknown time in force', 'INVALID_ORDER', { timeInForce: 'GTD' }],
    ['unknown STP mode', 'INVALID_ORDER', { selfTradePrevention: 'MAYBE' }],
    ['negative attempt', 'INVALID_ORDER', { attempt: -1 }],
    ['another market', 'UNKNOWN_MARKET', { market: 'ETH' }],
  ];
  test.each(cases)('%s → REJECTED %s', async (_name, code, fields) => {
    const book = await newBook();
    const cmd = { ...limit('u1', 'bad', 'BUY', 100, 5), ...fields } as PlaceCommand;
    const events = await book.place(cmd);
    expect(events).toEqual([
      expect.objectContaining({
        event: 'REJECTED',
        reason: code,
        orderSeq: 1,
        userID: 'u1',
        orderId: 'bad',
      }),
    ]);
    expectValidEvents(events);
    expect(await book.order('u1', 'bad')).toBeNull();
    expect(timeless(events)).toEqual(timeless(new ReferenceBook(tst).apply(cmd)));
  });

  test('a book without config (unknown market) rejects UNKNOWN_MARKET', async () => {
    const book = await newBook();
    await redis.del(book.keys.config);
    const events = await book.place(limit('u1', 'x', 'BUY', 100, 5));
    expect(events[0]).toMatchObject({ event: 'REJECTED', reason: 'UNKNOWN_MARKET' });
  });

  test('minimum notional is exact in tick×step units on the real BTC market', async () => {
    const book = await newBook({}, btc);
    // 5 USDT minimum: 10 000.00 × 0.0005 = 5 passes, 9 999.99 × 0.0005 does not.
    const order = (orderId: string, price: string) =>
      parseOrder(
        { orderId, type: 'BUY', userID: 'u', coinID: 'BTC', quantity: '0.0005', price },
        markets,
      ).spec;
    const ok = order('ok', '10000.00');
    const low = { ...order('ok2', '10000.00'), price: 999_999 };
    const toCmd = (s: typeof ok): PlaceCommand => ({
      cmd: 'place',
      commandId: `c-${s.orderId}`,
      attempt: 0,
      ...s,
    });
    expect((await book.place(toCmd(ok)))[0]?.event).toBe('NEW');
    expect((await book.place(toCmd(low)))[0]).toMatchObject({ reason: 'MIN_NOTIONAL' });
  });

  test('integers up to 2^53 survive the round trip exactly (no 14-digit cjson numbers)', async () => {
    const book = await newBook({}, btc);
    const price = Number.MAX_SAFE_INTEGER;
    const events = await book.place({
      ...limit('u', 'huge', 'SELL', price, 1),
      market: 'BTC',
    });
    expect(events[0]).toMatchObject({ event: 'NEW', price });
    expect((await book.order('u', 'huge'))?.price).toBe(price);
    expect(await book.depth(1)).toEqual({ bids: [], asks: [{ price, quantity: 1 }] });
  });
});

describe('cancel', () => {
  test('a resting order is removed: CANCELED with its filled quantity', async () => {
    const book = await newBook();
    await book.place(limit('m', 'a', 'SELL', 100, 5));
    await book.place(limit('t', 'b', 'BUY', 100, 2));
    const events = await book.cancel(cancelCmd('m', 'a'));
    expect(events).toEqual([
      expect.objectContaining({ event: 'CANCELED', orderId: 'a', filledQty: 2, orderSeq: 3 }),
    ]);
    expect(await book.depth(5)).toEqual({ bids: [], asks: [] });
    expect(await book.order('m', 'a')).toMatchObject({ status: 'CANCELED', member: null });
    expectValidEvents(events);
  });

  test('unknown, filled, already canceled, other market → CANCEL_REJECTED, orderSeq 0', async () => {
    const book = await newBook();
    await book.place(limit('m', 'a', 'SELL', 100, 5));
    await book.place(limit('m', 'gone', 'SELL', 100, 5));
    await book.place(market('t', 'fill', 'BUY', 5));
    await book.cancel(cancelCmd('m', 'gone')); // fine once
    for (const cmd of [
      cancelCmd('m', 'nope'),
      cancelCmd('m', 'a'), // filled by the market order
      cancelCmd('m', 'gone'),
      cancelCmd('x', 'gone'), // another user's id
      cancelCmd('t', 'fill'), // expired/filled taker
    ]) {
      const events = await book.cancel(cmd);
      expect(events).toEqual([
        expect.objectContaining({
          event: 'CANCEL_REJECTED',
          reason: 'UNKNOWN_ORDER',
          orderSeq: 0,
          orderId: cmd.orderId,
        }),
      ]);
      expectValidEvents(events);
    }
    await book.place(limit('m', 'live', 'SELL', 100, 5));
    const wrongMarket = await book.cancel(cancelCmd('m', 'live', 'ETH'));
    expect(wrongMarket[0]?.event).toBe('CANCEL_REJECTED');
    expect((await book.snapshot()).asks).toHaveLength(1);
  });
});

describe('exactly once', () => {
  test('a command id applied again returns the stored events and changes nothing', async () => {
    const book = await newBook();
    await book.place(limit('m', 'a', 'SELL', 100, 5));
    const cmd = limit('t', 'b', 'BUY', 100, 3);
    const first = await book.place(cmd);
    const counters = await redis.hgetall(book.keys.counters);
    const events = await outbox(redis, book);
    const snapshot = await book.snapshot();
    for (let i = 0; i < 3; i++) expect(await book.place(cmd)).toEqual(first);
    expect(await redis.hgetall(book.keys.counters)).toEqual(counters);
    expect(await outbox(redis, book)).toEqual(events);
    expect(await book.snapshot()).toEqual(snapshot);
    const cancel = cancelCmd('m', 'a');
    const canceled = await book.cancel(cancel);
    expect(await book.cancel(cancel)).toEqual(canceled);
    expect(canceled[0]?.event).toBe('CANCELED');
  });

  test('a rejection is stored too: the same command id stays rejected', async () => {
    const book = await newBook();
    const cmd = limit('u', 'x', 'BUY', 100, 0);
    const first = await book.place(cmd);
    expect(await book.place({ ...cmd, quantity: 5 })).toEqual(first);
  });

  test('the same orderId under another command id → DUPLICATE_ORDER_ID, record untouched', async () => {
    const book = await newBook();
    await book.place(limit('u', 'a', 'BUY', 100, 5));
    const record = await book.order('u', 'a');
    for (const again of [
      limit('u', 'a', 'BUY', 100, 5), // identical fields, new command id
      limit('u', 'a', 'SELL', 120, 1),
      limit('u', 'a', 'BUY', 100, 0), // invalid too: the duplicate is what is reported
    ]) {
      const events = await book.place(again);
      expect(events).toEqual([
        expect.objectContaining({ event: 'REJECTED', reason: 'DUPLICATE_ORDER_ID', orderSeq: 0 }),
      ]);
      expectValidEvents(events);
    }
    expect(await book.order('u', 'a')).toEqual(record);
    // Terminal orders keep their id too.
    await book.cancel(cancelCmd('u', 'a'));
    const later = await book.place(limit('u', 'a', 'BUY', 100, 5));
    expect(later[0]).toMatchObject({ reason: 'DUPLICATE_ORDER_ID' });
  });

  test('a rejected order leaves no record: its id can be placed again', async () => {
    const book = await newBook();
    await book.place(limit('u', 'a', 'BUY', 99, 1)); // MIN_NOTIONAL
    expect((await book.place(limit('u', 'a', 'BUY', 100, 5)))[0]?.event).toBe('NEW');
  });
});

describe('retry of an unmatched MARKET/IOC remainder', () => {
  test('continues the same record: no NEW, filled cumulative, orderSeq continuing', async () => {
    const book = await newBook();
    await book.place(limit('m', 'a', 'SELL', 100, 2));
    const first = market('t', 'r', 'BUY', 5);
    const events1 = await book.place(first);
    expect(events1.at(-1)).toMatchObject({ event: 'EXPIRED', reason: 'NO_LIQUIDITY', orderSeq: 3 });
    await book.place(limit('m', 'b', 'SELL', 101, 1));
    const retry = { ...first, commandId: `${first.commandId}-retry1`, attempt: 1, quantity: 3 };
    const events2 = await book.place(retry);
    expect(story(events2)).toEqual(['TRADE r', 'TRADE b', 'EXPIRED r']);
    expect(events2[0]).toMatchObject({ orderSeq: 4, filledQty: 3, leavesQty: 2, lastPrice: 101 });
    expect(events2[2]).toMatchObject({ orderSeq: 5, filledQty: 3, expiredQty: 2 });
    expect(await book.order('t', 'r')).toMatchObject({ attempt: 1, filled: 3, status: 'EXPIRED' });
    // A second retry that fills the rest.
    await book.place(limit('m', 'c', 'SELL', 100, 9));
    const events3 = await book.place({
      ...first,
      commandId: `${first.commandId}-retry2`,
      attempt: 2,
      quantity: 2,
    });
    expect(story(events3)).toEqual(['TRADE r', 'TRADE c']);
    expect(await book.order('t', 'r')).toMatchObject({ status: 'FILLED', filled: 5, reason: null });
  });

  test('anything but an exact retry of the remainder is a DUPLICATE_ORDER_ID', async () => {
    const book = await newBook();
    await book.place(limit('m', 'a', 'SELL', 100, 2));
    const first = limit('t', 'r', 'BUY', 100, 5, { timeInForce: 'IOC' });
    await book.place(first);
    const bad: Array<Partial<PlaceCommand>> = [
      { attempt: 0 }, // not a later attempt
      { attempt: 1, quantity: 5 }, // not the remainder
      { attempt: 1, quantity: 3, price: 101 },
      { attempt: 1, quantity: 3, side: 'SELL' },
      { attempt: 1, quantity: 3, selfTradePrevention: 'NONE' },
      { attempt: 1, quantity: 3, timeInForce: 'FOK' },
    ];
    let n = 0;
    for (const fields of bad) {
      const events = await book.place({
        ...first,
        commandId: `bad-${++n}-${first.commandId}`,
        ...fields,
      });
      expect(events).toEqual([expect.objectContaining({ reason: 'DUPLICATE_ORDER_ID' })]);
    }
    const ok = await book.place({
      ...first,
      commandId: `ok-${first.commandId}`,
      attempt: 1,
      quantity: 3,
    });
    expect(story(ok)).toEqual(['EXPIRED r']);
    expect(ok[0]).toMatchObject({
      orderSeq: 4,
      reason: 'NO_LIQUIDITY',
      filledQty: 2,
      expiredQty: 3,
    });
  });

  test('orders expired by STP or FOK are never retried', async () => {
    const book = await newBook();
    const fok = limit('t', 'f', 'BUY', 100, 5, { timeInForce: 'FOK' });
    await book.place(fok);
    const events = await book.place({ ...fok, commandId: `${fok.commandId}-r`, attempt: 1 });
    expect(events[0]).toMatchObject({ reason: 'DUPLICATE_ORDER_ID' });
  });
});

describe('retention: applied entries and closed orders are forgotten', () => {
  const publishAll = async (book: Book) => {
    // What the publisher does once SNS took an entry's events.
    const ids = (await redis.xrange(book.keys.events, '-', '+')).map(([id]) => id);
    if (ids.length > 0) await redis.xdel(book.keys.events, ...ids);
  };

  test('an entry goes once older than the retention time and published, two calls per call', async () => {
    const book = await newBook({ appliedRetentionMs: 40 });
    const ask = limit('m', 'a', 'SELL', 100, 5);
    const bid = limit('t', 'b', 'BUY', 100, 2);
    const cancel = cancelCmd('m', 'a');
    const first = [await book.place(ask), await book.place(bid), await book.cancel(cancel)];
    expect(await redis.llen(book.keys.history)).toBe(3);
    await sleep(60);
    // Old enough, but the events are not published yet: they stay.
    await book.place(limit('x', 'x1', 'BUY', 90, 1));
    expect(await redis.hlen(book.keys.applied)).toBe(4);
    await publishAll(book);
    await book.place(limit('x', 'x2', 'BUY', 90, 1));
    // At most two history entries go per call: ask's and bid's.
    expect(await redis.hexists(book.keys.applied, ask.commandId)).toBe(0);
    expect(await redis.hexists(book.keys.applied, bid.commandId)).toBe(0);
    expect(await redis.hexists(book.keys.applied, cancel.commandId)).toBe(1);
    expect(await redis.llen(book.keys.history)).toBe(3);
    // Within the retention time a redelivery answers with the first outcome.
    expect(await book.cancel(cancel)).toEqual(first[2]);
  });

  test('after an order is forgotten, a redelivered command changes nothing', async () => {
    const book = await newBook({ appliedRetentionMs: 0 });
    const issuedAt = Date.now();
    const ask = { ...limit('m', 'a', 'SELL', 100, 5), issuedAt };
    const bid = { ...limit('t', 'b', 'BUY', 100, 5), issuedAt };
    const rest = { ...limit('m', 'r', 'SELL', 101, 1), issuedAt };
    const cancel = cancelCmd('m', 'r');
    for (const c of [ask, bid, rest, cancel]) await book.apply(c);
    await publishAll(book);
    const later = Date.now() + 3_600_000; // issued well after anything forgotten
    await book.apply({ ...limit('x', 'x1', 'BUY', 90, 2), issuedAt: later });
    await book.apply({ ...limit('x', 'x2', 'BUY', 90, 2), issuedAt: later });
    // Filled and canceled orders are forgotten with their commands; the resting one stays.
    for (const c of [ask, bid, rest, cancel])
      expect(await redis.hexists(book.keys.applied, c.commandId)).toBe(0);
    expect(Object.keys(await redis.hgetall(book.keys.orders)).sort()).toEqual(['x/x1', 'x/x2']);
    const forgottenTo = Number(await redis.hget(book.keys.counters, 'forgottenTo'));
    expect(forgottenTo).toBeGreaterThanOrEqual(issuedAt);
    const snapshot = await book.snapshot();
    const records = await redis.hgetall(book.keys.orders);
    // Placed again they would trade twice: refused, as is a place without issuedAt.
    const answers = await book.applyBatch([ask, bid, cancel, limit('y', 'y1', 'SELL', 90, 1)]);
    expect(answers.map(story)).toEqual([
      ['REJECTED a'],
      ['REJECTED b'],
      ['CANCEL_REJECTED r'],
      ['REJECTED y1'],
    ]);
    expect(answers.flat().map((e) => [e.orderSeq, 'reason' in e && e.reason])).toEqual([
      [1, 'STALE_COMMAND'],
      [1, 'STALE_COMMAND'],
      [0, 'UNKNOWN_ORDER'],
      [1, 'STALE_COMMAND'],
    ]);
    expect(await book.snapshot()).toEqual(snapshot);
    expect(await redis.hgetall(book.keys.orders)).toEqual(records);
    // A place issued after what was forgotten (beyond the clocks' 5 minutes of skew) goes on.
    const fresh = { ...limit('y', 'y2', 'SELL', 90, 2), issuedAt: forgottenTo + 300_001 };
    expect(story(await book.place(fresh))).toEqual(['NEW y2', 'TRADE y2', 'TRADE x1']);
  });
});

describe('outbox and keys', () => {
  test('every event is appended to the outbox stream by the same call, seq rising by one', async () => {
    const book = await newBook();
    const all: MatcherEvent[] = [];
    all.push(...(await book.place(limit('m', 'a', 'SELL', 100, 2))));
    all.push(...(await book.place(limit('m', 'b', 'SELL', 101, 2))));
    all.push(...(await book.place(market('t', 'c', 'BUY', 3))));
    all.push(...(await book.cancel(cancelCmd('m', 'b'))));
    all.push(...(await book.cancel(cancelCmd('m', 'b'))));
    expect(await outbox(redis, book)).toEqual(all);
    expect(all.map((e) => e.seq)).toEqual(all.map((_, i) => i + 1));
    expect(await redis.hgetall(book.keys.counters)).toEqual({
      eventSeq: String(all.length),
      tradeSeq: '2',
      bookSeq: '2',
      queued: '0',
    });
  });

  test('production keys share the market hash tag; all are passed to the script', () => {
    expect(bookKeys('BTC')).toEqual({
      bids: '{BTC}:bids',
      asks: '{BTC}:asks',
      orders: '{BTC}:orders',
      applied: '{BTC}:applied',
      events: '{BTC}:events',
      counters: '{BTC}:counters',
      config: '{BTC}:config',
      queue: '{BTC}:queue',
      history: '{BTC}:history',
    });
    expect(keyList(bookKeys('ETH')).length).toBe(Object.keys(bookKeys('ETH')).length);
    expect(keyList(bookKeys('ETH', 'ns:')).every((k) => k.startsWith('ns:{ETH}:'))).toBe(true);
  });

  test('openBook writes the market rules as integer strings', async () => {
    const book = await newBook({}, btc);
    expect(await redis.hgetall(book.keys.config)).toEqual({
      market: 'BTC',
      minQty: '1',
      maxQty: '100000000',
      minNotional: '50000000',
      retentionMs: String(defaultAppliedRetentionMs),
    });
  });

  test('depth aggregates each price level in priority order, best levels first', async () => {
    const book = await newBook();
    await run(
      book,
      limit('a', '1', 'BUY', 100, 2),
      limit('b', '2', 'BUY', 101, 3),
      limit('c', '3', 'BUY', 100, 4),
      limit('d', '4', 'BUY', 98, 5),
      limit('e', '5', 'SELL', 103, 1),
      limit('f', '6', 'SELL', 105, 2),
      limit('g', '7', 'SELL', 103, 6),
    );
    expect(await book.depth(2)).toEqual({
      bids: [
        { price: 101, quantity: 3 },
        { price: 100, quantity: 6 },
      ],
      asks: [
        { price: 103, quantity: 7 },
        { price: 105, quantity: 2 },
      ],
    });
    await book.place(market('h', '8', 'SELL', 4));
    expect((await book.depth(1)).bids).toEqual([{ price: 100, quantity: 5 }]);
  });

  test('order records keep ids holding bars, slashes, quotes, backslashes and non-ASCII', async () => {
    const book = await newBook();
    const ref = new ReferenceBook(tst);
    const cmds: PlaceCommand[] = [
      limit('ü|/"x', 'o|1\\', 'SELL', 100, 3),
      limit('b|', '|', 'BUY', 100, 1),
    ];
    for (const c of cmds) expect(timeless(await book.apply(c))).toEqual(timeless(ref.apply(c)));
    expect(await book.order('ü|/"x', 'o|1\\')).toEqual(ref.orders.get('ü|/"x/o|1\\'));
    expect(await book.order('b|', '|')).toEqual(ref.orders.get('b|/|'));
    expect(await book.snapshot()).toEqual(ref.snapshot());
    const cancel = cancelCmd('ü|/"x', 'o|1\\');
    expect(timeless(await book.apply(cancel))).toEqual(timeless(ref.apply(cancel)));
    expect(await book.snapshot()).toEqual(ref.snapshot());
  });
});

describe('bounded work per script call', () => {
  async function wideBook(makers: number, opts: BookOptions): Promise<Book> {
    const book = await newBook(opts);
    for (let i = 0; i < makers; i++) await book.place(limit(`m${i}`, `a${i}`, 'SELL', 100, 2));
    return book;
  }

  test('a sweep through many makers takes several calls; apply returns all events', async () => {
    const book = await wideBook(10, { maxMatchesPerCall: 3 });
    const cmd = market('t', 'sweep', 'BUY', 19);
    const steps: string[] = [];
    for (;;) {
      const step = await book.applyStep(cmd);
      steps.push(step.status);
      if (step.status === 'done') {
        expect(step.events).toHaveLength(1 + 2 * 10);
        break;
      }
      // Mid-sweep the taker record is visible with what it has filled so far.
      expect(await book.order('t', 'sweep')).toMatchObject({ status: 'PARTIALLY_FILLED' });
    }
    expect(steps).toEqual(['continue', 'continue', 'continue', 'done']);
    expect(await book.place(cmd)).toHaveLength(21);
    const pending = await redis.hget(book.keys.counters, 'pending');
    expect(pending).toBeNull();
  });

  test('apply continues by itself and matches the reference model', async () => {
    const book = await wideBook(7, { maxMatchesPerCall: 2 });
    const ref = new ReferenceBook(tst);
    for (let i = 0; i < 7; i++) ref.apply(limit(`m${i}`, `a${i}`, 'SELL', 100, 2));
    ref.log.length = 0;
    const cmd = limit('m3', 'x', 'BUY', 100, 13); // meets its own maker: EXPIRE_MAKER
    expect(timeless(await book.place(cmd))).toEqual(timeless(ref.apply(cmd)));
  });

  test('the FOK walk is bounded too', async () => {
    const book = await wideBook(6, { maxMatchesPerCall: 2 });
    const cmd = limit('t', 'fok', 'BUY', 100, 13, { timeInForce: 'FOK' });
    expect((await book.applyStep(cmd)).status).toBe('continue');
    expect((await book.applyStep(cmd)).status).toBe('continue');
    const step = await book.applyStep(cmd);
    expect(step.status === 'done' && story(step.events)).toEqual(['NEW fok', 'EXPIRED fok']);
  });

  test('crash mid-sweep, then another command: the pending sweep finishes first', async () => {
    const book = await wideBook(6, { maxMatchesPerCall: 2 });
    const sweep = market('t', 'sweep', 'BUY', 12);
    expect((await book.applyStep(sweep)).status).toBe('continue');
    // The caller died; a different command arrives (another producer, or the next message).
    const cancel = cancelCmd('m5', 'a5');
    const cancelEvents = await book.cancel(cancel);
    // The cancel ran after the sweep had finished: the maker was already filled.
    expect(story(cancelEvents)).toEqual(['CANCEL_REJECTED a5']);
    const sweepEvents = await book.place(sweep); // redelivery: the stored, complete story
    expect(story(sweepEvents)).toHaveLength(1 + 2 * 6);
    expect(cancelEvents[0]!.seq).toBe(sweepEvents.at(-1)!.seq + 1);
    const all = await outbox(redis, book);
    expect(all.slice(-14)).toEqual([...sweepEvents, ...cancelEvents]);
  });

  test('a redelivered in-progress command continues where it stopped', async () => {
    const book = await wideBook(5, { maxMatchesPerCall: 2 });
    const sweep = market('t', 'sweep', 'BUY', 10);
    expect((await book.applyStep(sweep)).status).toBe('continue');
    const applied = await redis.hget(book.keys.applied, sweep.commandId);
    expect(applied).toMatch(/^\{"inProgress":true,"events":\[/);
    const events = await book.place(sweep);
    expect(story(events)).toEqual([
      'NEW sweep',
      ...Array.from({ length: 5 }, (_, i) => [`TRADE sweep`, `TRADE a${i}`]).flat(),
    ]);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => 6 + i));
  });
});

describe('arrival order while a sweep is pending', () => {
  test('a command arriving mid-sweep is queued and applied right after, in order', async () => {
    const book = await newBook({ maxMatchesPerCall: 1 });
    for (let i = 0; i < 3; i++) await book.place(limit(`m${i}`, `a${i}`, 'SELL', 100, 2));
    const sweep = market('t', 'sweep', 'BUY', 6);
    const late = limit('m0', 'late', 'SELL', 100, 2);
    expect((await book.applyStep(sweep)).status).toBe('continue');
    // Its client dies too: the command waits in the queue, marked in the applied hash.
    expect((await book.applyStep(late)).status).toBe('continue');
    expect(await redis.lrange(book.keys.queue, 0, -1)).toHaveLength(1);
    expect(await redis.hget(book.keys.applied, late.commandId)).toBe('{"queued":true}');
    // A third command drives both to the end first.
    const third = cancelCmd('m0', 'late');
    expect(story(await book.cancel(third))).toEqual(['CANCELED late']);
    expect(await redis.llen(book.keys.queue)).toBe(0);
    expect(story(await book.place(late))).toEqual(['NEW late']);
    const all = await outbox(redis, book);
    expect(story(all.slice(3))).toEqual([
      'NEW sweep',
      ...['a0', 'a1', 'a2'].flatMap((a) => ['TRADE sweep', `TRADE ${a}`]),
      'NEW late',
      'CANCELED late',
    ]);
  });

  test('a long queue drains 500 commands per call, in order', async () => {
    const ns = namespace('book');
    const slow = await newBook({ namespace: ns, maxMatchesPerCall: 1 });
    // The taker's own asks: self-trade prevention expires one per call, so the sweep stays
    // pending for 700 calls while later commands queue up.
    const own = Array.from({ length: 700 }, (_, i) => limit('t', `a${i}`, 'SELL', 100, 1));
    await slow.applyBatch(own);
    const sweep = market('t', 'sweep', 'BUY', 1, { selfTradePrevention: 'EXPIRE_MAKER' });
    expect((await slow.applyStep(sweep)).status).toBe('continue');
    const late = Array.from({ length: 600 }, (_, i) => limit(`q${i}`, `b${i}`, 'BUY', 90, 2));
    for (const cmd of late) expect((await slow.applyStep(cmd)).status).toBe('continue');
    expect(await redis.llen(slow.keys.queue)).toBe(600);
    // Budget to spare: the sweep ends, then 500 queued commands, then the call stops.
    const fast = await openBook(redis, tst, { namespace: ns, maxMatchesPerCall: 1000 });
    expect((await fast.applyStep(late[0]!)).status).toBe('done');
    expect(await redis.llen(slow.keys.queue)).toBe(100);
    expect(story(await fast.apply(sweep)).slice(-2)).toEqual(['EXPIRED a699', 'EXPIRED sweep']);
    const answers = await fast.applyBatch(late);
    expect(answers.map(story)).toEqual(late.map((c) => [`NEW ${c.orderId}`]));
    expect(await redis.llen(slow.keys.queue)).toBe(0);
    const news = (await outbox(redis, slow)).filter((e) => e.event === 'NEW');
    expect(news.map((e) => e.orderId).slice(-600)).toEqual(late.map((c) => c.orderId));
  });

  test('one handle: concurrent calls are applied in call order', async () => {
    const book = await newBook({ maxMatchesPerCall: 1 });
    const ref = new ReferenceBook(tst);
    const cmds = [
      limit('m0', 'a0', 'SELL', 100, 2),
      limit('m1', 'a1', 'SELL', 100, 2),
      market('t', 'sweep', 'BUY', 3),
      limit('m2', 'a2', 'SELL', 100, 2),
      market('u', 'sweep2', 'BUY', 9),
    ];
    const results = await Promise.all(cmds.map((c) => book.place(c)));
    results.forEach((events, i) => expect(timeless(events)).toEqual(timeless(ref.apply(cmds[i]!))));
  });

  test('many producers at once, sweeps needing several calls: arrival order holds', async () => {
    const ref = new ReferenceBook(tst);
    const cmds: PlaceCommand[] = [];
    for (let i = 0; i < 10; i++) cmds.push(limit(`m${i % 3}`, `a${i}`, 'SELL', 100 + (i % 3), 2));
    cmds.push(market('t', 'sweep1', 'BUY', 7), limit('t', 'b1', 'BUY', 101, 9));
    cmds.push(limit('m1', 'a-late', 'SELL', 100, 3), market('u', 'sweep2', 'BUY', 20));
    // One handle per command on the same keys (as several processes would): all in flight at once.
    const ns = namespace('producers');
    const handles = await Promise.all(
      cmds.map(() => openBook(redis, tst, { namespace: ns, maxMatchesPerCall: 1 })),
    );
    const book = handles[0]!;
    books.push(book);
    const results = await Promise.all(cmds.map((c, i) => handles[i]!.place(c)));
    results.forEach((events, i) => expect(timeless(events)).toEqual(timeless(ref.apply(cmds[i]!))));
    expect(timeless(await outbox(redis, book))).toEqual(timeless(ref.log));
    expect(await book.snapshot()).toEqual(ref.snapshot());
  });
});

describe('several commands per script call (applyBatch)', () => {
  test('a batch applies in order, as one call, with the same events as one by one', async () => {
    const book = await newBook();
    const ref = new ReferenceBook(tst);
    const cmds = [
      limit('m0', 'a0', 'SELL', 100, 2),
      limit('m1', 'a1', 'SELL', 101, 2),
      market('t', 'x', 'BUY', 3),
      cancelCmd('m1', 'a1'),
      limit('m0', 'a2', 'BUY', 99, 2),
    ];
    // A first command loads the script (a NOSCRIPT reply would be a second call).
    const warm = limit('w', 'w0', 'BUY', 90, 2);
    expect(timeless(await book.apply(warm))).toEqual(timeless(ref.apply(warm)));
    const [results, calls] = await scriptCalls(() => book.applyBatch(cmds));
    expect(calls).toBe(1);
    expect(results.map(timeless)).toEqual(cmds.map((c) => timeless(ref.apply(c))));
    expect(timeless(await outbox(redis, book))).toEqual(timeless(ref.log));
    // Each call's events make one outbox entry.
    expect(await redis.xlen(book.keys.events)).toBe(2);
    expect(await book.snapshot()).toEqual(ref.snapshot());
  });

  test('a redelivered command inside a batch returns its first outcome and changes nothing', async () => {
    const book = await newBook();
    const ref = new ReferenceBook(tst);
    const first = limit('m0', 'a0', 'SELL', 100, 5);
    const taker = limit('t', 'b', 'BUY', 100, 2);
    const firstEvents = await book.applyBatch([first, taker]);
    [first, taker].forEach((c) => ref.apply(c));
    const next = limit('t', 'c', 'BUY', 100, 1);
    // Redelivered before, between and after new ones, and twice in the same batch.
    const results = await book.applyBatch([taker, next, first, next, taker]);
    expect(results[0]).toEqual(firstEvents[1]);
    expect(results[2]).toEqual(firstEvents[0]);
    expect(results[4]).toEqual(firstEvents[1]);
    expect(results[3]).toEqual(results[1]);
    expect(timeless(results[1]!)).toEqual(timeless(ref.apply(next)));
    expect(timeless(await outbox(redis, book))).toEqual(timeless(ref.log));
    // A batch of nothing but redeliveries writes nothing at all.
    const counters = await redis.hgetall(book.keys.counters);
    const entries = await redis.xlen(book.keys.events);
    expect(await book.applyBatch([next, first])).toEqual([results[1], firstEvents[0]]);
    expect(await redis.hgetall(book.keys.counters)).toEqual(counters);
    expect(await redis.xlen(book.keys.events)).toBe(entries);
  });

  test('a command sweeping past maxMatchesPerCall: the call stops there, the rest follow', async () => {
    const book = await newBook({ maxMatchesPerCall: 3 });
    const ref = new ReferenceBook(tst);
    const makers = Array.from({ length: 8 }, (_, i) => limit(`m${i}`, `a${i}`, 'SELL', 100, 2));
    const cmds = [
      ...makers,
      market('t', 'sweep', 'BUY', 15), // 8 makers: three calls of 3
      limit('u', 'after', 'BUY', 100, 1),
      cancelCmd('m7', 'a7'),
    ];
    const [results, calls] = await scriptCalls(() => book.applyBatch(cmds));
    // Makers and the first 3 matches, then 3, then the last 2 and the two commands after.
    expect(calls).toBe(3);
    expect(results.map(timeless)).toEqual(cmds.map((c) => timeless(ref.apply(c))));
    expect(story(results[8]!)).toHaveLength(1 + 2 * 8);
    expect(await redis.hget(book.keys.counters, 'pending')).toBeNull();
    expect(await book.snapshot()).toEqual(ref.snapshot());
    expect(timeless(await outbox(redis, book))).toEqual(timeless(ref.log));
  });

  test('a batch stopped by the budget and resent by another producer keeps arrival order', async () => {
    const book = await newBook({ maxMatchesPerCall: 1 });
    const ref = new ReferenceBook(tst);
    const makers = [0, 1, 2].map((i) => limit(`m${i}`, `a${i}`, 'SELL', 100, 2));
    const sweep = market('t', 'sweep', 'BUY', 6);
    const later = limit('u', 'later', 'SELL', 100, 2);
    await book.applyBatch(makers);
    makers.forEach((c) => ref.apply(c));
    // One call only: the sweep is left pending and `later` was never looked at.
    expect((await book.applyStep(sweep)).status).toBe('continue');
    const other = limit('v', 'other', 'BUY', 100, 1);
    // Another producer's batch: the pending sweep finishes first (over several calls).
    const expected = [sweep, other, later].map((c) => timeless(ref.apply(c)));
    const results = await book.applyBatch([other, later]);
    expect(results.map(timeless)).toEqual(expected.slice(1));
    expect(timeless(await book.apply(sweep))).toEqual(expected[0]);
    expect(timeless(await outbox(redis, book))).toEqual(timeless(ref.log));
  });

  test('commands beyond maxCommandsPerCall go in further calls, in order', async () => {
    const book = await newBook();
    const ref = new ReferenceBook(tst);
    const cmds = Array.from({ length: maxCommandsPerCall * 2 + 3 }, (_, i) =>
      limit(`u${i % 5}`, `o${i}`, i % 2 === 0 ? 'BUY' : 'SELL', 100 + (i % 3) - 1, 1 + (i % 4)),
    );
    const [results, calls] = await scriptCalls(() => book.applyBatch(cmds));
    expect(calls).toBe(3);
    expect(results.map(timeless)).toEqual(cmds.map((c) => timeless(ref.apply(c))));
  });

  test('a failed call names the commands applied before it; resending applies the rest once', async () => {
    const book = await newBook({ maxMatchesPerCall: 1 });
    const ref = new ReferenceBook(tst);
    const cmds = [
      limit('m0', 'a0', 'SELL', 100, 2),
      limit('m1', 'a1', 'SELL', 100, 2),
      market('t', 'sweep', 'BUY', 4), // needs a second call
      limit('u', 'late', 'BUY', 99, 1),
    ];
    const expected = cmds.map((c) => timeless(ref.apply(c)));
    // The second script call fails (as a lost connection would).
    const evalsha = redis.evalsha.bind(redis);
    let n = 0;
    const spy = jest
      .spyOn(redis, 'evalsha')
      .mockImplementation(async (...args: Parameters<typeof evalsha>) => {
        if (++n === 2) throw new Error('connection lost');
        return evalsha(...args);
      });
    let failure: unknown;
    try {
      await book.applyBatch(cmds);
    } catch (err) {
      failure = err;
    } finally {
      spy.mockRestore();
    }
    expect(failure).toBeInstanceOf(BatchApplyError);
    const { applied, cause } = failure as BatchApplyError;
    expect(applied.map(timeless)).toEqual(expected.slice(0, 2));
    expect(String(cause)).toContain('connection lost');
    // The consumer sends the rest again, in order: the sweep resumes, nothing twice.
    const rest = await book.applyBatch(cmds.slice(applied.length));
    expect(rest.map(timeless)).toEqual(expected.slice(2));
    expect(timeless(await outbox(redis, book))).toEqual(timeless(ref.log));
  });

  test('an invalid command anywhere in a batch fails the call before anything is written', async () => {
    const book = await newBook();
    const good = limit('m0', 'a0', 'SELL', 100, 2);
    const bad = { ...limit('m0', 'a1', 'SELL', 100, 2), cmd: 'amend' } as unknown as PlaceCommand;
    await expect(book.applyBatch([good, bad])).rejects.toThrow(BatchApplyError);
    expect(await redis.hlen(book.keys.applied)).toBe(0);
    expect(await redis.exists(book.keys.events, book.keys.counters)).toBe(0);
  });
});

/** Runs `work` and counts the script calls (EVALSHA) it made through the test's client. */
async function scriptCalls<T>(work: () => Promise<T>): Promise<[T, number]> {
  const spy = jest.spyOn(redis, 'evalsha');
  try {
    const result = await work();
    return [result, spy.mock.calls.length];
  } finally {
    spy.mockRestore();
  }
}
