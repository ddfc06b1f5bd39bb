// A deploy of the current apply.lua over a book written by an earlier one — v1: JSON order records,
// events copied into the outbox entries; v2: events as JSON objects in the applied entries,
// commands as JSON — with a sweep left pending and a command queued behind it: the book carries
// on, redeliveries return their first outcome, and the outbox of every format drains in seq order.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type Redis from 'ioredis';
import type { MatcherCommand, MatcherEvent } from '../../domain/order';
import { decodeOrder, keyList, openBook, type Book } from '../../matcher/book';
import { outboxEventBodies } from '../../matcher/publisher';
import { ReferenceBook } from '../support/referenceBook';
import { testRedis } from '../support/redis';
import { cancelCmd, limit, namespace, placeCmd, timeless, tst } from './support';

const fixture = (name: string) => readFileSync(path.join(__dirname, 'fixtures', name), 'utf8');
const v1 = fixture('apply.v1.lua');
const v2 = fixture('apply.v2.lua');

let redis: Redis;
let book: Book;

beforeAll(async () => {
  redis = testRedis();
  book = await openBook(redis, tst, { namespace: namespace('upgrade'), maxMatchesPerCall: 2 });
});
afterAll(async () => {
  await book.destroy();
  redis.disconnect();
});

/** One call of an earlier script (commands as JSON): the events of the commands it finished. */
async function applyOld(
  script: string,
  target: Book,
  cmds: MatcherCommand[],
): Promise<MatcherEvent[][]> {
  const entries = (await redis.eval(
    script,
    8, // the keys of the earlier scripts: all but the history
    ...keyList(target.keys).slice(0, 8),
    '2',
    ...cmds.map((c) => JSON.stringify(c)),
  )) as string[];
  return entries.map((e) => JSON.parse(e) as MatcherEvent[]);
}
const applyV1 = (cmds: MatcherCommand[]) => applyOld(v1, book, cmds);

test('a book written by the previous script carries on, and its outbox drains', async () => {
  const ref = new ReferenceBook(tst);
  const makers = [0, 1, 2, 3].map((i) => limit(`m${i}`, `a${i}`, 'SELL', 100 + (i % 2), 2));
  const bid = limit('b', 'b0', 'BUY', 95, 3);
  const far = limit('f', 'far', 'SELL', 120, 1);
  const sweep = placeCmd({ userID: 't', orderId: 'sweep', side: 'BUY', quantity: 5 });
  const before = [...makers, bid, far].map((c) => timeless(ref.apply(c)));
  expect((await applyV1([...makers, bid, far])).map(timeless)).toEqual(before);
  // The sweep needs three calls at 2 makers each: the previous script leaves it pending.
  expect(await applyV1([sweep])).toEqual([]);
  const records = Object.values(await redis.hgetall(book.keys.orders));
  expect(records.every((r) => r.startsWith('{'))).toBe(true);

  // The current script: the sweep resumes, then new commands; old records are read and rewritten.
  const cancel = cancelCmd('b', 'b0');
  const after = [limit('n', 'n0', 'SELL', 96, 2), cancel, limit('b', 'b1', 'BUY', 101, 4)];
  const expected = [sweep, ...after].map((c) => timeless(ref.apply(c)));
  expect((await book.applyBatch([sweep, ...after])).map(timeless)).toEqual(expected);
  // Redeliveries of commands the previous script applied return their first outcome.
  expect((await book.applyBatch([makers[0]!, bid])).map(timeless)).toEqual([before[0], before[4]]);
  const snapshot = ref.snapshot();
  expect(await book.snapshot()).toEqual(snapshot);
  // depth.lua reads records of both formats (far is still as the previous script wrote it).
  const levels = (orders: typeof snapshot.bids) => {
    const out: Array<{ price: number; quantity: number }> = [];
    for (const o of orders) {
      const last = out.at(-1);
      if (last?.price === o.price) last.quantity += o.quantity - o.filled;
      else out.push({ price: o.price!, quantity: o.quantity - o.filled });
    }
    return out;
  };
  expect(snapshot.asks.some((o) => o.orderId === 'far')).toBe(true);
  expect(await book.depth(5)).toEqual({ bids: levels(snapshot.bids), asks: levels(snapshot.asks) });
  const stored = await redis.hgetall(book.keys.orders);
  expect(Object.fromEntries(Object.entries(stored).map(([k, v]) => [k, decodeOrder(v)]))).toEqual(
    Object.fromEntries(ref.orders),
  );
  // An order the new script never touched is still a JSON record, read as one.
  expect(stored['f/far']).toMatch(/^\{/);
  expect(await book.order('f', 'far')).toEqual(ref.orders.get('f/far'));
  expect(await book.order('m3', 'a3')).toEqual(ref.orders.get('m3/a3'));

  // The outbox: entries of the previous format (the events) then references, in seq order.
  const entries = await redis.xrange(book.keys.events, '-', '+');
  expect(entries[0]![1][0]).toBe('events');
  expect(entries.at(-1)![1][0]).toBe('seq');
  const bodies = (
    await outboxEventBodies(redis, book.keys.applied, book.market.coinID, entries)
  ).flat();
  expect(timeless(bodies.map((b) => JSON.parse(b) as MatcherEvent))).toEqual(timeless(ref.log));
});

test('a book written by v2 (a sweep pending, a command queued behind it) carries on', async () => {
  const own = await openBook(redis, tst, {
    namespace: namespace('upgrade-v2'),
    maxMatchesPerCall: 2,
  });
  try {
    const ref = new ReferenceBook(tst);
    const makers = [0, 1, 2, 3, 4, 5].map((i) => limit(`m${i}`, `a${i}`, 'SELL', 100 + (i % 2), 2));
    const bid = limit('b', 'b0', 'BUY', 95, 3);
    const sweep = placeCmd({ userID: 't', orderId: 'sweep', side: 'BUY', quantity: 11 });
    const queued = limit('q', 'q0', 'SELL', 99, 2);
    const before = [...makers, bid].map((c) => timeless(ref.apply(c)));
    expect((await applyOld(v2, own, [...makers, bid])).map(timeless)).toEqual(before);
    // v2 leaves the sweep pending and queues the next command behind it (as JSON).
    expect(await applyOld(v2, own, [sweep])).toEqual([]);
    expect(await applyOld(v2, own, [queued])).toEqual([]);
    expect(await redis.hget(own.keys.applied, sweep.commandId)).toMatch(
      /^\{"inProgress":true,"events":\[\{/,
    );
    expect(await redis.lrange(own.keys.queue, 0, -1)).toEqual([JSON.stringify(queued)]);

    // The current script: the sweep goes on (its entry now mixes both event forms), the queued
    // command follows, then new ones.
    const cancel = cancelCmd('b', 'b0');
    const after = [limit('n', 'n0', 'SELL', 96, 2), cancel];
    const expected = [sweep, queued, ...after].map((c) => timeless(ref.apply(c)));
    expect((await own.applyBatch([sweep, queued, ...after])).map(timeless)).toEqual(expected);
    expect(await redis.hget(own.keys.applied, sweep.commandId)).toMatch(/^\[\{.*\},\[2,/);
    expect(await redis.llen(own.keys.queue)).toBe(0);
    // Redeliveries of commands v2 applied return their first outcome.
    expect((await own.applyBatch([makers[0]!, bid])).map(timeless)).toEqual([before[0], before[6]]);
    expect(await own.snapshot()).toEqual(ref.snapshot());
    const stored = await redis.hgetall(own.keys.orders);
    expect(Object.fromEntries(Object.entries(stored).map(([k, v]) => [k, decodeOrder(v)]))).toEqual(
      Object.fromEntries(ref.orders),
    );
    // The outbox drains every event once, in seq order, as the publisher reads it.
    const entries = await redis.xrange(own.keys.events, '-', '+');
    const bodies = (await outboxEventBodies(redis, own.keys.applied, tst.coinID, entries)).flat();
    expect(timeless(bodies.map((b) => JSON.parse(b) as MatcherEvent))).toEqual(timeless(ref.log));
  } finally {
    await own.destroy();
  }
});

test('outbox entries of the earliest format (one event each) still read', async () => {
  const event = '{"event":"NEW","seq":1}';
  const events = '[{"event":"NEW","seq":2},{"event":"TRADE","seq":3}]';
  const bodies = await outboxEventBodies(redis, book.keys.applied, book.market.coinID, [
    ['1-0', ['event', event]],
    ['2-0', ['events', events]],
  ]);
  expect(bodies).toEqual([
    [event],
    (JSON.parse(events) as unknown[]).map((e) => JSON.stringify(e)),
  ]);
});

test('order records keep ids holding bars, slashes, quotes, backslashes and non-ASCII', async () => {
  const own = await openBook(redis, tst, { namespace: namespace('upgrade-ids') });
  try {
    const ref = new ReferenceBook(tst);
    const cmds: MatcherCommand[] = [
      limit('ü|/"x', 'o|1\\', 'SELL', 100, 3),
      limit('b|', '|', 'BUY', 100, 1),
    ];
    for (const c of cmds) expect(timeless(await own.apply(c))).toEqual(timeless(ref.apply(c)));
    expect(await own.order('ü|/"x', 'o|1\\')).toEqual(ref.orders.get('ü|/"x/o|1\\'));
    expect(await own.order('b|', '|')).toEqual(ref.orders.get('b|/|'));
    expect(await own.snapshot()).toEqual(ref.snapshot());
    const cancel = cancelCmd('ü|/"x', 'o|1\\');
    expect(timeless(await own.apply(cancel))).toEqual(timeless(ref.apply(cancel)));
    expect(await own.snapshot()).toEqual(ref.snapshot());
  } finally {
    await own.destroy();
  }
});
