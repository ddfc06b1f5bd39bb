// Random command streams for the property and restart tests: several users, three price levels
// next to each other (so orders cross), every order type, time in force and STP mode, cancels,
// duplicates, redeliveries, retries of unmatched remainders, the odd invalid command, and
// "crashes" (one script call only, the rest left pending).
import fc from 'fast-check';
import type Redis from 'ioredis';
import type { MatcherCommand, MatcherEvent, PlaceCommand } from '../../domain/order';
import type { Book, BookSnapshot } from '../../matcher/book';
import { decodeOrder } from '../../matcher/codec';
import type { ReferenceBook } from '../support/referenceBook';
import { outbox, timeless } from './support';

export type Op =
  | {
      kind: 'place';
      user: number;
      side: 'BUY' | 'SELL';
      shape: Pick<PlaceCommand, 'orderType' | 'timeInForce'>;
      stp: PlaceCommand['selfTradePrevention'];
      price: number;
      quantity: number;
      /** Reuse an earlier orderId of this user: a duplicate. */
      reuse: number | null;
      /** Something only the script's validation catches. */
      invalid: number | null;
      crash: boolean;
    }
  | { kind: 'cancel'; pick: number; target: 'live' | 'any' | 'unknown' }
  | { kind: 'redeliver'; pick: number }
  | { kind: 'retry'; pick: number; wrong: number | null };

const shapes: Array<Pick<PlaceCommand, 'orderType' | 'timeInForce'>> = [
  { orderType: 'LIMIT', timeInForce: 'GTC' },
  { orderType: 'LIMIT', timeInForce: 'GTC' },
  { orderType: 'LIMIT', timeInForce: 'GTC' },
  { orderType: 'LIMIT', timeInForce: 'IOC' },
  { orderType: 'LIMIT', timeInForce: 'FOK' },
  { orderType: 'MARKET', timeInForce: 'IOC' },
  { orderType: 'MARKET', timeInForce: 'FOK' },
  { orderType: 'LIMIT_MAKER', timeInForce: 'GTC' },
];

/** null most of the time, a number once in `every`. */
const rarely = (every: number) =>
  fc.oneof({ arbitrary: fc.constant(null), weight: every - 1 }, { arbitrary: fc.nat(), weight: 1 });

const placeOp = fc.record({
  kind: fc.constant('place' as const),
  user: fc.integer({ min: 0, max: 2 }),
  side: fc.constantFrom('BUY' as const, 'SELL' as const),
  shape: fc.constantFrom(...shapes),
  stp: fc.constantFrom(
    'EXPIRE_MAKER' as const,
    'EXPIRE_TAKER' as const,
    'EXPIRE_BOTH' as const,
    'NONE' as const,
  ),
  // 98 with a quantity of 1 is below the minimum notional of 100.
  price: fc.constantFrom(98, 99, 100, 100, 101, 101, 102),
  quantity: fc.integer({ min: 1, max: 8 }),
  reuse: rarely(20),
  invalid: rarely(25),
  crash: fc.integer({ min: 0, max: 19 }).map((n) => n === 0),
});

export const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: placeOp, weight: 70 },
  {
    arbitrary: fc.record({
      kind: fc.constant('cancel' as const),
      pick: fc.nat(),
      target: fc.constantFrom(
        'live' as const,
        'live' as const,
        'live' as const,
        'any' as const,
        'unknown' as const,
      ),
    }),
    weight: 15,
  },
  {
    arbitrary: fc.record({ kind: fc.constant('redeliver' as const), pick: fc.nat() }),
    weight: 8,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('retry' as const),
      pick: fc.nat(),
      wrong: rarely(4),
    }),
    weight: 7,
  },
);

const invalidFields: Array<Partial<Record<keyof PlaceCommand, unknown>>> = [
  { quantity: 0 },
  { quantity: 51 },
  { quantity: 2.5 },
  { price: 0 },
  { price: 100.5 },
  { orderType: 'MARKET', timeInForce: 'GTC', price: null },
  { orderType: 'LIMIT_MAKER', timeInForce: 'IOC' },
  { orderType: 'MARKET', timeInForce: 'IOC', price: 100 },
  { orderType: 'LIMIT', timeInForce: 'GTC', price: null },
  { side: 'HOLD' },
  { market: 'ETH' },
];

/** Turns ops into commands against the state so far (the reference book's records). */
export class StreamBuilder {
  readonly placed: PlaceCommand[] = [];
  readonly sent: MatcherCommand[] = [];
  private n = 0;

  constructor(
    private readonly runId: string,
    private readonly ref: ReferenceBook,
  ) {}

  /** The command for an op, or null when it has nothing to act on yet; `crash` → one step only. */
  next(op: Op): { cmd: MatcherCommand; crash: boolean; redelivery: boolean } | null {
    const commandId = `${this.runId}#${++this.n}`;
    switch (op.kind) {
      case 'place': {
        const userID = `u${op.user}`;
        const own = this.placed.filter((p) => p.userID === userID);
        const reused = op.reuse !== null && own.length > 0 ? own[op.reuse % own.length] : undefined;
        let cmd: PlaceCommand = {
          cmd: 'place',
          commandId,
          userID,
          orderId: reused?.orderId ?? `o${this.n}`,
          market: 'TST',
          side: op.side,
          ...op.shape,
          selfTradePrevention: op.stp,
          price: op.shape.orderType === 'MARKET' ? null : op.price,
          quantity: op.quantity,
          attempt: 0,
        };
        if (op.invalid !== null)
          cmd = { ...cmd, ...invalidFields[op.invalid % invalidFields.length] } as PlaceCommand;
        this.placed.push(cmd);
        return this.send(cmd, op.crash);
      }
      case 'cancel': {
        const { bids, asks } = this.ref.snapshot();
        const live = [...bids, ...asks];
        const target =
          op.target === 'live' && live.length > 0
            ? live[op.pick % live.length]
            : this.placed[op.pick % Math.max(1, this.placed.length)];
        if (!target || op.target === 'unknown')
          return this.send({
            cmd: 'cancel',
            commandId,
            userID: 'u0',
            orderId: 'nope',
            market: 'TST',
          });
        const { userID, orderId } = target;
        return this.send({ cmd: 'cancel', commandId, userID, orderId, market: 'TST' });
      }
      case 'redeliver': {
        const earlier = this.sent[op.pick % Math.max(1, this.sent.length)];
        return earlier ? { cmd: earlier, crash: false, redelivery: true } : null;
      }
      case 'retry': {
        const expired = this.placed.filter((p) => {
          const r = this.ref.orders.get(`${p.userID}/${p.orderId}`);
          return r?.status === 'EXPIRED' && r.reason === 'NO_LIQUIDITY' && p.attempt === 0;
        });
        const original = expired[op.pick % Math.max(1, expired.length)];
        if (!original) return null;
        const record = this.ref.orders.get(`${original.userID}/${original.orderId}`)!;
        const retry: PlaceCommand = {
          ...original,
          commandId,
          attempt: record.attempt + 1,
          quantity: record.quantity - record.filled,
        };
        const wrongs: Array<Partial<PlaceCommand>> = [
          { attempt: record.attempt },
          { quantity: record.quantity },
          {
            selfTradePrevention: original.selfTradePrevention === 'NONE' ? 'EXPIRE_MAKER' : 'NONE',
          },
        ];
        return this.send(
          op.wrong === null ? retry : { ...retry, ...wrongs[op.wrong % wrongs.length] },
        );
      }
    }
  }

  private send(cmd: MatcherCommand, crash = false) {
    this.sent.push(cmd);
    return { cmd, crash, redelivery: false };
  }
}

/** Invariants of any book state, checked after every command. */
export function expectSaneBook(snapshot: BookSnapshot): void {
  const { bids, asks } = snapshot;
  for (const [list, sign] of [
    [bids, -1],
    [asks, 1],
  ] as const) {
    for (let i = 0; i < list.length; i++) {
      const order = list[i]!;
      expect(order.quantity - order.filled).toBeGreaterThan(0);
      expect(['NEW', 'PARTIALLY_FILLED']).toContain(order.status);
      expect(order.price).not.toBeNull();
      if (i > 0) expect(sign * (order.price! - list[i - 1]!.price!)).toBeGreaterThanOrEqual(0);
    }
  }
  if (bids.length > 0 && asks.length > 0) expect(bids[0]!.price!).toBeLessThan(asks[0]!.price!);
}

/** Each TRADE comes as taker then maker: same tradeId, quantity and price, opposite sides. */
export function expectTradePairs(events: MatcherEvent[]): void {
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    if (e.event !== 'TRADE') continue;
    expect(e.maker).toBe(false);
    const m = events[++i];
    expect(m?.event).toBe('TRADE');
    if (m?.event !== 'TRADE') return;
    expect(m.maker).toBe(true);
    expect(m.tradeId).toBe(e.tradeId);
    expect(m.lastQty).toBe(e.lastQty);
    expect(m.lastPrice).toBe(e.lastPrice);
    expect(m.side).not.toBe(e.side);
  }
}

/**
 * Runs ops through the Lua book and the reference model; after every command (or batch): identical
 * events (time aside), sane book, identical book (unless a crash left work pending), and a
 * redelivered command applied once. With several Book handles on the same keys (several
 * producers, e.g. two matcher processes overlapping in a deploy) a batch of commands is in flight
 * at once, one per handle: the script must still apply them in the order they reached Redis.
 * With one handle and `perCall` > 1, up to `perCall` commands at a time go through applyBatch
 * (several per script call, as the SQS consumer sends them); a "crash" goes alone, one step.
 * Returns the number of commands sent.
 */
export async function runStream(
  redis: Redis,
  books: Book[],
  ref: ReferenceBook,
  builder: StreamBuilder,
  ops: Op[],
  perCall = 1,
): Promise<number> {
  const book = books[0]!;
  const batch = books.length > 1 ? books.length : perCall;
  let sent = 0;
  for (let i = 0; i < ops.length; i += batch) {
    const group = ops
      .slice(i, i + batch)
      .map((op) => builder.next(op))
      .filter((next) => next !== null)
      .map((next) => ({ ...next, expected: ref.apply(next.cmd) }));
    if (group.length === 0) continue;
    sent += group.length;
    // A finished command sent again must change nothing at all.
    const only = group.length === 1 ? group[0]! : undefined;
    const finished =
      only?.redelivery &&
      (await redis.hget(book.keys.applied, only.cmd.commandId))?.startsWith('[');
    const before = finished ? await countersAndOutbox(redis, book) : undefined;
    if (books.length === 1 && perCall > 1) await applyInBatches(book, group);
    else
      await Promise.all(
        group.map(async ({ cmd, crash, expected }, j) => {
          const handle = books[j]!;
          if (crash) {
            const step = await handle.applyStep(cmd);
            if (step.status === 'done') expect(timeless(step.events)).toEqual(timeless(expected));
          } else {
            const events = await handle.apply(cmd);
            expect(timeless(events)).toEqual(timeless(expected));
            expectTradePairs(events);
          }
        }),
      );
    if (before) expect(await countersAndOutbox(redis, book)).toEqual(before);
    const [snapshot, pending, queued] = await Promise.all([
      book.snapshot(),
      redis.hget(book.keys.counters, 'pending'),
      redis.llen(book.keys.queue),
    ]);
    expectSaneBook(snapshot);
    // While a crash left work pending the model is ahead: compare once it has been done.
    if (pending === null && queued === 0) expect(snapshot).toEqual(ref.snapshot());
  }
  return sent;
}

/** Commands in order: runs of them through applyBatch, a "crash" alone through applyStep. */
async function applyInBatches(
  book: Book,
  group: Array<{ cmd: MatcherCommand; crash: boolean; expected: MatcherEvent[] }>,
): Promise<void> {
  let run: typeof group = [];
  const flush = async () => {
    if (run.length === 0) return;
    const results = await book.applyBatch(run.map((r) => r.cmd));
    expect(results).toHaveLength(run.length);
    results.forEach((events, i) => {
      expect(timeless(events)).toEqual(timeless(run[i]!.expected));
      expectTradePairs(events);
    });
    run = [];
  };
  for (const next of group) {
    if (!next.crash) {
      run.push(next);
      continue;
    }
    await flush();
    const step = await book.applyStep(next.cmd);
    if (step.status === 'done') expect(timeless(step.events)).toEqual(timeless(next.expected));
  }
  await flush();
}

const countersAndOutbox = (redis: Redis, book: Book) =>
  Promise.all([redis.xlen(book.keys.events), redis.hgetall(book.keys.counters)]);

/** After a stream: the whole outbox, every order record and the counters equal the model's. */
export async function expectSameEndState(
  redis: Redis,
  book: Book,
  ref: ReferenceBook,
  builder: StreamBuilder,
): Promise<void> {
  // Redeliver everything once more: finishes a sweep a crash left pending, and must change nothing else.
  for (const cmd of builder.sent)
    expect(timeless(await book.apply(cmd))).toEqual(timeless(ref.apply(cmd)));
  const events = await outbox(redis, book);
  expect(timeless(events)).toEqual(timeless(ref.log));
  expectTradePairs(events);
  const records = await redis.hgetall(book.keys.orders);
  const parsed = Object.fromEntries(Object.entries(records).map(([k, v]) => [k, decodeOrder(v)]));
  expect(parsed).toEqual(Object.fromEntries(ref.orders));
  expect(await redis.llen(book.keys.queue)).toBe(0);
  expect(await redis.hgetall(book.keys.counters)).toEqual({
    eventSeq: String(ref.eventSeq),
    tradeSeq: String(ref.tradeSeq),
    bookSeq: String(ref.bookSeq),
    queued: '0',
  });
}
