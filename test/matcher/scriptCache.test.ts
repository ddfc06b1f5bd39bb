// Script cache loss (SCRIPT FLUSH here; a restart or failover does the same): the wrapper meets
// NOSCRIPT, loads the script and goes on. On a Redis of its own, because flushing the shared one
// would pull the scripts from under the other test files.
import Redis from 'ioredis';
import { openBook } from '../../matcher/book';
import { freePort, startRedis, type ManagedProcess } from '../../scripts/services';
import { ReferenceBook } from '../support/referenceBook';
import { inRunDir } from '../support/runDir';
import { namespace, placeCmd, story, timeless, tst } from './support';

let server: ManagedProcess | undefined;
let redis: Redis;

beforeAll(async () => {
  const port = await freePort();
  const dataDir = inRunDir(`redis-script-cache-${process.pid}`);
  server = await startRedis({ port, dataDir, sink: { kind: 'file', path: `${dataDir}.log` } });
  redis = new Redis(`redis://127.0.0.1:${port}`);
});
afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

test('NOSCRIPT after SCRIPT FLUSH: the wrapper loads the script and goes on', async () => {
  const book = await openBook(redis, tst, { namespace: namespace('noscript') });
  await book.place(placeCmd({ userID: 'm', orderId: 'a', side: 'SELL', price: 100, quantity: 2 }));
  await redis.script('FLUSH');
  const events = await book.place(
    placeCmd({ userID: 't', orderId: 'b', side: 'BUY', price: 100, quantity: 2 }),
  );
  expect(story(events)).toEqual(['NEW b', 'TRADE b', 'TRADE a']);
  await redis.script('FLUSH');
  expect(await book.depth(3)).toEqual({ bids: [], asks: [] });
});

test('concurrent calls that all meet NOSCRIPT are still applied in call order', async () => {
  const book = await openBook(redis, tst, {
    namespace: namespace('noscript'),
    maxMatchesPerCall: 1,
  });
  const ref = new ReferenceBook(tst);
  await redis.script('FLUSH');
  const cmds = Array.from({ length: 30 }, (_, i) =>
    placeCmd({
      userID: `u${i % 4}`,
      orderId: `o${i}`,
      side: i % 3 === 0 ? 'BUY' : 'SELL',
      price: i % 5 === 0 ? null : 99 + (i % 3),
      quantity: 1 + (i % 7),
    }),
  );
  const results = await Promise.all(cmds.map((c) => book.place(c)));
  results.forEach((events, i) => expect(timeless(events)).toEqual(timeless(ref.apply(cmds[i]!))));
});

test('a batch across a NOSCRIPT flush: loads the script and applies every command once', async () => {
  const book = await openBook(redis, tst, {
    namespace: namespace('noscript'),
    maxMatchesPerCall: 2,
  });
  const ref = new ReferenceBook(tst);
  const cmds = [
    ...Array.from({ length: 6 }, (_, i) =>
      placeCmd({ userID: `m${i}`, orderId: `a${i}`, side: 'SELL', price: 100, quantity: 2 }),
    ),
    placeCmd({ userID: 't', orderId: 'sweep', side: 'BUY', quantity: 11 }), // 3 calls of 2 matches
    placeCmd({ userID: 'u', orderId: 'after', side: 'BUY', price: 99, quantity: 3 }),
  ];
  const expected = cmds.map((c) => timeless(ref.apply(c)));
  // Flush before the batch and again between its script calls (the sweep is pending then).
  await redis.script('FLUSH');
  const evalsha = redis.evalsha.bind(redis);
  let calls = 0;
  const spy = jest
    .spyOn(redis, 'evalsha')
    .mockImplementation(async (...args: Parameters<typeof evalsha>) => {
      if (++calls === 3) await redis.script('FLUSH');
      return evalsha(...args);
    });
  let results;
  try {
    results = await book.applyBatch(cmds);
  } finally {
    spy.mockRestore();
  }
  expect(results.map(timeless)).toEqual(expected);
  // NOSCRIPT, load, then calls; one more NOSCRIPT and load after the second flush.
  expect(calls).toBeGreaterThanOrEqual(5);
  expect(story(results[6]!)).toHaveLength(1 + 2 * 6);
  expect(await book.snapshot()).toEqual(ref.snapshot());
  expect(await book.applyBatch(cmds)).toEqual(results);
});
