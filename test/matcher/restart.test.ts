// A Redis crash (kill -9) in the middle of a stream, with a sweep left half done, loses nothing:
// after the restart from the AOF the book, outbox and applied commands carry on as if nothing
// happened (the script cache is gone, so the wrapper meets NOSCRIPT and reloads).
import fc from 'fast-check';
import Redis from 'ioredis';
import { applyScriptSha as applySha, openBook } from '../../matcher/book';
import { freePort, startRedis, type ManagedProcess } from '../../scripts/services';
import { ReferenceBook } from '../support/referenceBook';
import { inRunDir } from '../support/runDir';
import { namespace, tst } from './support';
import { expectSameEndState, opArb, runStream, StreamBuilder, type Op } from './streams';

let server: ManagedProcess | undefined;
afterAll(async () => {
  await server?.stop();
});

test('kill -9 mid-stream and mid-sweep, restart from the AOF: nothing lost', async () => {
  const dataDir = inRunDir(`redis-restart-${process.pid}`);
  const port = await freePort();
  const start = () => startRedis({ port, dataDir, sink: { kind: 'file', path: `${dataDir}.log` } });
  const url = `redis://127.0.0.1:${port}`;

  server = await start();
  let redis = new Redis(url);
  // Every write reaches the AOF before its reply; everysec could lose a postponed write.
  await redis.config('SET', 'appendfsync', 'always');
  const ns = namespace('restart');
  const ref = new ReferenceBook(tst);
  const builder = new StreamBuilder('restart', ref);
  const [firstHalf, secondHalf] = fc.sample(fc.array(opArb, { minLength: 300, maxLength: 300 }), {
    numRuns: 2,
    seed: 42,
  });
  // Three makers and a taker that sweeps them one script call at a time: the crash comes
  // while that sweep is pending.
  const maker: Op = {
    kind: 'place',
    user: 0,
    side: 'SELL',
    shape: { orderType: 'LIMIT', timeInForce: 'GTC' },
    stp: 'NONE',
    price: 100,
    quantity: 2,
    reuse: null,
    invalid: null,
    crash: false,
  };
  const sweep: Op = {
    ...maker,
    user: 1,
    side: 'BUY',
    shape: { orderType: 'MARKET', timeInForce: 'IOC' },
    quantity: 50,
    crash: true,
  };

  let book = await openBook(redis, tst, { namespace: ns, maxMatchesPerCall: 1 });
  await runStream(redis, [book], ref, builder, [...firstHalf!, maker, maker, maker, sweep]);
  expect(await redis.hget(book.keys.counters, 'pending')).not.toBeNull();
  const before = await redis.xlen(book.keys.events);

  server.child.kill('SIGKILL');
  await server.exited;
  redis.disconnect();
  server = await start();
  redis = new Redis(url);
  await redis.config('SET', 'appendfsync', 'always');
  expect(await redis.script('EXISTS', applySha)).toEqual([0]);

  book = await openBook(redis, tst, { namespace: ns, maxMatchesPerCall: 1 });
  expect(await redis.xlen(book.keys.events)).toBe(before);
  expect(await redis.hget(book.keys.counters, 'pending')).not.toBeNull();
  await runStream(redis, [book], ref, builder, secondHalf!);
  expect(await redis.script('EXISTS', applySha)).toEqual([1]);
  await expectSameEndState(redis, book, ref, builder);
  redis.disconnect();
});
