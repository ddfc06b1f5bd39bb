// Property: for any command stream, the Lua book and the plain TypeScript model produce the same
// events (time aside) and the same book, whatever the work budget per script call and however
// many producers send at once, and whether commands go one per script call or several (applyBatch,
// up to 10 per call as the SQS consumer sends them); invariants hold after every command (or
// batch). About 13,000 commands in total across the runs.
import fc from 'fast-check';
import type Redis from 'ioredis';
import { openBook } from '../../matcher/book';
import { ReferenceBook } from '../support/referenceBook';
import { testRedis } from '../support/redis';
import { namespace, tst } from './support';
import { expectSameEndState, opArb, runStream, StreamBuilder } from './streams';

let redis: Redis;
beforeAll(() => {
  redis = testRedis();
});
afterAll(() => redis.disconnect());

const runs = 40;
let commands = 0;

test('random streams: Lua book ≡ reference model, invariants after every command', async () => {
  let run = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(opArb, { minLength: 250, maxLength: 400 }),
      // 1–3 forces sweeps across several script calls; 200 is production's default.
      fc.constantFrom(1, 2, 3, 200),
      // Book handles (producers) sending at once; 1 = one command at a time.
      fc.constantFrom(1, 1, 4, 8),
      // Commands per applyBatch with one producer; 1 = apply, one command per call.
      fc.constantFrom(1, 10),
      async (ops, maxMatchesPerCall, producers, perCall) => {
        const ns = namespace('prop');
        const books = await Promise.all(
          Array.from({ length: producers }, () =>
            openBook(redis, tst, { namespace: ns, maxMatchesPerCall }),
          ),
        );
        const book = books[0]!;
        try {
          const ref = new ReferenceBook(tst);
          const builder = new StreamBuilder(`run${++run}`, ref);
          commands += await runStream(redis, books, ref, builder, ops, perCall);
          await expectSameEndState(redis, book, ref, builder);
        } finally {
          await book.destroy();
        }
      },
    ),
    { numRuns: runs, endOnFailure: true },
  );
  expect(commands).toBeGreaterThanOrEqual(10_000);
}, 120_000);
