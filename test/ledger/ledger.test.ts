// One test per ledger rule, against the real Redis of the test run (and, at the end, a Redis of
// its own for script-cache loss and a one-node Redis Cluster). Every test has users of its own.
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import fc from 'fast-check';
import Redis, { Cluster } from 'ioredis';
import {
  ledgerKeys,
  LedgerInputError,
  openLedger,
  type Ledger,
  type LedgerChange,
} from '../../ledger/ledger';
import {
  freePort,
  startProcess,
  startRedis,
  waitHealthy,
  type ManagedProcess,
} from '../../scripts/services';
import { testRedis } from '../support/redis';
import { inRunDir } from '../support/runDir';

let redis: Redis;
let other: Redis;
let ledger: Ledger;

beforeAll(() => {
  redis = testRedis();
  other = testRedis();
  ledger = openLedger(redis);
});
afterAll(() => {
  redis.disconnect();
  other.disconnect();
});

const user = (label: string): string => `test-ledger-${label}-${randomUUID()}`;
let counter = 0;
const nextId = (label: string): string => `${label}:${process.pid}-${++counter}`;

const deposit = (userID: string, asset: string, amount: bigint, changeId = nextId('deposit')) =>
  ({
    userID,
    changeId,
    kind: 'deposit',
    ref: changeId,
    balances: [{ asset, free: amount, locked: 0n }],
  }) satisfies LedgerChange;

const withdrawal = (userID: string, asset: string, amount: bigint) => {
  const changeId = nextId('withdrawal');
  return {
    userID,
    changeId,
    kind: 'withdrawal',
    ref: changeId,
    balances: [{ asset, free: -amount, locked: 0n }],
  } satisfies LedgerChange;
};

const hold = (userID: string, holdId: string, asset: string, amount: bigint) =>
  ({
    userID,
    changeId: `hold:${holdId}`,
    kind: 'hold',
    ref: holdId,
    balances: [{ asset, free: -amount, locked: amount }],
    holds: [{ holdId, asset, amount }],
  }) satisfies LedgerChange;

const release = (userID: string, holdId: string, asset: string, amount: bigint) =>
  ({
    userID,
    changeId: nextId(`release:${holdId}`),
    kind: 'release',
    ref: holdId,
    balances: [{ asset, free: amount, locked: -amount }],
    holds: [{ holdId, asset, amount: -amount }],
  }) satisfies LedgerChange;

/** A cancel's release: names the holds, not what they still have. */
const close = (userID: string, holdIds: string[], changeId = nextId('release')) =>
  ({
    userID,
    changeId,
    kind: 'release',
    ref: holdIds.join(','),
    balances: [],
    closeHolds: holdIds,
  }) satisfies LedgerChange;

async function funded(label: string, asset: string, amount: bigint): Promise<string> {
  const u = user(label);
  expect((await ledger.apply(deposit(u, asset, amount))).applied).toBe(true);
  return u;
}

/** Everything the ledger stores of a user, to show that something changed nothing. */
async function stateOf(userID: string) {
  const k = ledgerKeys(userID);
  const [balances, holds, journal] = await Promise.all([
    redis.hgetall(k.balances),
    redis.hgetall(k.holds),
    redis.xlen(k.journal),
  ]);
  return { balances, holds, journal };
}

describe('applying', () => {
  test('a deposit credits free, answers the balance after and seq 1, and is journalled', async () => {
    const u = user('deposit');
    const change = deposit(u, 'USDT', 1_000n);
    expect(await ledger.apply(change)).toEqual({
      applied: true,
      repeated: false,
      seq: 1,
      balances: [{ asset: 'USDT', free: 1_000n, locked: 0n }],
      released: [],
    });
    expect(await ledger.balances(u)).toEqual([{ asset: 'USDT', free: 1_000n, locked: 0n }]);
    expect(await ledger.holds(u)).toEqual(new Map());
    const [entry, ...rest] = await ledger.journal(u);
    expect(rest).toEqual([]);
    expect(entry).toEqual({
      id: expect.stringMatching(/^\d+-\d+$/) as string,
      changeId: change.changeId,
      kind: 'deposit',
      ref: change.ref,
      time: expect.any(Number) as number,
      changes: [
        { asset: 'USDT', freeBefore: 0n, freeAfter: 1_000n, lockedBefore: 0n, lockedAfter: 0n },
      ],
      holds: [],
    });
    expect(Math.abs(entry!.time - Date.now())).toBeLessThan(60_000);
  });

  test('the Redis layout: balance fields and _seq, hold values, applied results, journal fields', async () => {
    const u = await funded('layout', 'USDT', 500n);
    await ledger.apply(hold(u, 'o1', 'USDT', 200n));
    const k = ledgerKeys(u);
    expect(k).toEqual({
      balances: `{acct:${u}}:balances`,
      holds: `{acct:${u}}:holds`,
      applied: `{acct:${u}}:applied`,
      journal: `{acct:${u}}:journal`,
    });
    expect(await redis.hgetall(k.balances)).toEqual({
      'USDT:free': '300',
      'USDT:locked': '200',
      _seq: '2',
    });
    expect(await redis.hgetall(k.holds)).toEqual({ o1: 'USDT:200' });
    expect(JSON.parse((await redis.hget(k.applied, 'hold:o1'))!)).toEqual({
      applied: true,
      seq: 2,
      balances: [{ asset: 'USDT', free: '300', locked: '200' }],
      released: [],
    });
    const entries = await redis.xrange(k.journal, '-', '+');
    expect(entries).toHaveLength(2);
    const fields = entries[1]![1];
    expect(fields.filter((_, i) => i % 2 === 0)).toEqual([
      'changeId',
      'kind',
      'ref',
      'time',
      'changes',
      'holds',
    ]);
    expect(JSON.parse(fields[9]!)).toEqual([
      { asset: 'USDT', freeBefore: '500', freeAfter: '300', lockedBefore: '0', lockedAfter: '200' },
    ]);
    expect(JSON.parse(fields[11]!)).toEqual([
      { holdId: 'o1', asset: 'USDT', before: '0', after: '200' },
    ]);
  });

  test('hold, partial release, release of the rest: the hold goes at 0, locked with it', async () => {
    const u = await funded('hold', 'USDT', 1_000n);
    expect(await ledger.apply(hold(u, 'o1', 'USDT', 400n))).toMatchObject({
      applied: true,
      seq: 2,
      balances: [{ asset: 'USDT', free: 600n, locked: 400n }],
    });
    expect(await ledger.holds(u)).toEqual(new Map([['o1', { asset: 'USDT', amount: 400n }]]));
    await ledger.apply(release(u, 'o1', 'USDT', 150n));
    expect(await ledger.holds(u)).toEqual(new Map([['o1', { asset: 'USDT', amount: 250n }]]));
    expect(await ledger.apply(release(u, 'o1', 'USDT', 250n))).toMatchObject({
      applied: true,
      seq: 4,
      balances: [{ asset: 'USDT', free: 1_000n, locked: 0n }],
    });
    expect(await ledger.holds(u)).toEqual(new Map());
    expect(await redis.hgetall(ledgerKeys(u).balances)).toEqual({ 'USDT:free': '1000', _seq: '4' });
  });

  test('a trade settles as one change per side plus the fee account, each from its hold', async () => {
    const buyer = await funded('buyer', 'USDT', 100_000n);
    const seller = await funded('seller', 'BTC', 10n);
    const fees = user('fees');
    await ledger.apply(hold(buyer, 'b1', 'USDT', 60_000n));
    await ledger.apply(hold(seller, 's1', 'BTC', 5n));
    // 3 BTC at 15,000 USDT; fees: 1 BTC of the buyer's, 450 USDT of the seller's.
    const buy = await ledger.apply({
      userID: buyer,
      changeId: 'settle:t1:BUY',
      kind: 'settle',
      ref: 't1',
      balances: [
        { asset: 'USDT', free: 0n, locked: -45_000n },
        { asset: 'BTC', free: 2n, locked: 0n },
      ],
      holds: [{ holdId: 'b1', asset: 'USDT', amount: -45_000n }],
    });
    const sell = await ledger.apply({
      userID: seller,
      changeId: 'settle:t1:SELL',
      kind: 'settle',
      ref: 't1',
      balances: [
        { asset: 'BTC', free: 0n, locked: -3n },
        { asset: 'USDT', free: 44_550n, locked: 0n },
      ],
      holds: [{ holdId: 's1', asset: 'BTC', amount: -3n }],
    });
    const fee = await ledger.apply({
      userID: fees,
      changeId: 'fee:t1',
      kind: 'fee',
      ref: 't1',
      balances: [
        { asset: 'BTC', free: 1n, locked: 0n },
        { asset: 'USDT', free: 450n, locked: 0n },
      ],
    });
    expect(buy).toMatchObject({
      applied: true,
      seq: 3,
      balances: [
        { asset: 'USDT', free: 40_000n, locked: 15_000n },
        { asset: 'BTC', free: 2n, locked: 0n },
      ],
    });
    expect(sell).toMatchObject({ applied: true, seq: 3 });
    expect(fee).toMatchObject({ applied: true, seq: 1 });
    expect(await ledger.balances(buyer)).toEqual([
      { asset: 'BTC', free: 2n, locked: 0n },
      { asset: 'USDT', free: 40_000n, locked: 15_000n },
    ]);
    expect(await ledger.balances(seller)).toEqual([
      { asset: 'BTC', free: 5n, locked: 2n },
      { asset: 'USDT', free: 44_550n, locked: 0n },
    ]);
    expect(await ledger.balances(fees)).toEqual([
      { asset: 'BTC', free: 1n, locked: 0n },
      { asset: 'USDT', free: 450n, locked: 0n },
    ]);
    expect(await ledger.holds(buyer)).toEqual(
      new Map([['b1', { asset: 'USDT', amount: 15_000n }]]),
    );
    expect(await ledger.holds(seller)).toEqual(new Map([['s1', { asset: 'BTC', amount: 2n }]]));
  });

  test('balances lists only nonzero assets, sorted; zero fields are removed, _seq stays', async () => {
    const u = await funded('sorted', 'USDT', 5n);
    await ledger.apply(deposit(u, 'BTC', 1n));
    await ledger.apply(deposit(u, 'ETH', 2n));
    await ledger.apply(withdrawal(u, 'USDT', 5n));
    expect(await ledger.balances(u)).toEqual([
      { asset: 'BTC', free: 1n, locked: 0n },
      { asset: 'ETH', free: 2n, locked: 0n },
    ]);
    expect(await redis.hgetall(ledgerKeys(u).balances)).toEqual({
      'BTC:free': '1',
      'ETH:free': '2',
      _seq: '4',
    });
  });

  test('a zero delta touches the asset: answered and journalled, nothing stored', async () => {
    const u = user('zero');
    expect(
      await ledger.apply({
        userID: u,
        changeId: 'grant:0',
        kind: 'grant',
        ref: 'promo',
        balances: [{ asset: 'ETH', free: 0n, locked: 0n }],
      }),
    ).toEqual({
      applied: true,
      repeated: false,
      seq: 1,
      balances: [{ asset: 'ETH', free: 0n, locked: 0n }],
      released: [],
    });
    expect(await ledger.balances(u)).toEqual([]);
    expect(await ledger.journal(u)).toHaveLength(1);
  });
});

describe('exactly once', () => {
  test('a repeated changeId returns the first result (repeated) and changes nothing', async () => {
    const u = user('repeat');
    const change = deposit(u, 'USDT', 70n);
    const first = await ledger.apply(change);
    const state = await stateOf(u);
    expect(await ledger.apply(change)).toEqual({ ...first, repeated: true });
    expect(await stateOf(u)).toEqual(state);
  });

  test('a repeat with other amounts still answers the first outcome and applies nothing', async () => {
    const u = user('repeat-other');
    const change = deposit(u, 'USDT', 70n);
    const first = await ledger.apply(change);
    const changed = { ...change, balances: [{ asset: 'USDT', free: 1_000n, locked: 0n }] };
    expect(await ledger.apply(changed)).toEqual({ ...first, repeated: true });
    expect(await ledger.balances(u)).toEqual([{ asset: 'USDT', free: 70n, locked: 0n }]);
  });

  test('changeIds are per user: the same id applies once in each ledger', async () => {
    const [a, b] = [user('scope-a'), user('scope-b')];
    expect(await ledger.apply(deposit(a, 'BTC', 1n, 'deposit:same'))).toMatchObject({
      applied: true,
      repeated: false,
    });
    expect(await ledger.apply(deposit(b, 'BTC', 1n, 'deposit:same'))).toMatchObject({
      applied: true,
      repeated: false,
    });
  });

  test('the same change sent by two connections at once is applied once', async () => {
    const u = user('race');
    const ledgers = [openLedger(redis), openLedger(other)];
    const changes = Array.from({ length: 50 }, (_, i) => deposit(u, 'USDT', BigInt(i + 1)));
    const results = await Promise.all(
      changes.map((c) => Promise.all(ledgers.map((l) => l.apply(c)))),
    );
    for (const pair of results) {
      expect(pair.map((r) => r.repeated).sort()).toEqual([false, true]);
      expect({ ...pair[0], repeated: null }).toEqual({ ...pair[1], repeated: null });
    }
    expect(results.map((pair) => pair[0]!.applied && pair[0]!.seq).sort((x, y) => +x - +y)).toEqual(
      changes.map((_, i) => i + 1),
    );
    expect(await ledger.balances(u)).toEqual([{ asset: 'USDT', free: 1275n, locked: 0n }]);
    expect(await ledger.journal(u)).toHaveLength(50);
  });

  test('a hold raced against its release by two connections: each applied once', async () => {
    const u = await funded('race-hold', 'BTC', 10n);
    const h = hold(u, 'o1', 'BTC', 4n);
    const r = release(u, 'o1', 'BTC', 4n);
    const results = await Promise.all([
      openLedger(redis).apply(h),
      openLedger(other).apply(h),
      openLedger(redis).apply(r),
      openLedger(other).apply(r),
    ]);
    const applied = results.filter((x) => x.applied && !x.repeated).length;
    // The release may run before the hold (refused, and kept so) or after it (applied).
    expect(applied === 2 || applied === 1).toBe(true);
    const expected = applied === 2 ? { free: 10n, locked: 0n } : { free: 6n, locked: 4n };
    expect(await ledger.balances(u)).toEqual([{ asset: 'BTC', ...expected }]);
  });
});

describe('refusals', () => {
  test('INSUFFICIENT_BALANCE names asset, field, available and needed; nothing changes', async () => {
    const u = await funded('short', 'USDT', 100n);
    const state = await stateOf(u);
    expect(await ledger.apply(withdrawal(u, 'USDT', 101n))).toEqual({
      applied: false,
      repeated: false,
      reason: 'INSUFFICIENT_BALANCE',
      asset: 'USDT',
      field: 'free',
      available: 100n,
      needed: 101n,
    });
    expect(await stateOf(u)).toEqual(state);
  });

  test('a refusal is the first outcome: a repeat after funds arrived is still refused', async () => {
    const u = await funded('refusal-kept', 'USDT', 100n);
    const change = withdrawal(u, 'USDT', 150n);
    const first = await ledger.apply(change);
    expect(first.applied).toBe(false);
    await ledger.apply(deposit(u, 'USDT', 100n));
    expect(await ledger.apply(change)).toEqual({ ...first, repeated: true });
    expect(await ledger.balances(u)).toEqual([{ asset: 'USDT', free: 200n, locked: 0n }]);
  });

  test('a withdrawal from an asset never held: available 0', async () => {
    const u = user('never');
    expect(await ledger.apply(withdrawal(u, 'ETH', 1n))).toMatchObject({
      applied: false,
      reason: 'INSUFFICIENT_BALANCE',
      asset: 'ETH',
      field: 'free',
      available: 0n,
      needed: 1n,
    });
    expect(await ledger.journal(u)).toEqual([]);
  });

  test('locked short: INSUFFICIENT_BALANCE on locked', async () => {
    const u = await funded('locked', 'BTC', 10n);
    await ledger.apply(hold(u, 'o1', 'BTC', 3n));
    expect(
      await ledger.apply({
        userID: u,
        changeId: 'settle:x',
        kind: 'settle',
        ref: 'x',
        balances: [{ asset: 'BTC', free: 0n, locked: -5n }],
      }),
    ).toMatchObject({
      applied: false,
      reason: 'INSUFFICIENT_BALANCE',
      asset: 'BTC',
      field: 'locked',
      available: 3n,
      needed: 5n,
    });
  });

  test('a hold taken past its remaining: HOLD_INSUFFICIENT, though locked would cover it', async () => {
    const u = await funded('hold-short', 'USDT', 1_000n);
    await ledger.apply(hold(u, 'a', 'USDT', 100n));
    await ledger.apply(hold(u, 'b', 'USDT', 500n));
    const state = await stateOf(u);
    expect(await ledger.apply(release(u, 'a', 'USDT', 300n))).toEqual({
      applied: false,
      repeated: false,
      reason: 'HOLD_INSUFFICIENT',
      holdId: 'a',
      available: 100n,
      needed: 300n,
    });
    expect(await stateOf(u)).toEqual(state);
  });

  test('taking from a hold that does not exist: HOLD_INSUFFICIENT, available 0', async () => {
    const u = await funded('no-hold', 'USDT', 1_000n);
    await ledger.apply(hold(u, 'a', 'USDT', 100n));
    expect(await ledger.apply(release(u, 'zzz', 'USDT', 10n))).toMatchObject({
      applied: false,
      reason: 'HOLD_INSUFFICIENT',
      holdId: 'zzz',
      available: 0n,
      needed: 10n,
    });
  });

  test('a delta on a hold of another asset: HOLD_ASSET_MISMATCH', async () => {
    const u = await funded('mismatch', 'USDT', 1_000n);
    await ledger.apply(deposit(u, 'BTC', 5n));
    await ledger.apply(hold(u, 'o/1"x', 'USDT', 100n));
    const state = await stateOf(u);
    expect(
      await ledger.apply({
        ...hold(u, 'o/1"x', 'BTC', 1n),
        changeId: 'hold:again',
      }),
    ).toEqual({
      applied: false,
      repeated: false,
      reason: 'HOLD_ASSET_MISMATCH',
      holdId: 'o/1"x',
    });
    expect(await stateOf(u)).toEqual(state);
  });

  test('all or nothing: the first failing delta is named, the good ones are not applied', async () => {
    const u = await funded('atomic', 'USDT', 100n);
    await ledger.apply(deposit(u, 'BTC', 1n));
    const state = await stateOf(u);
    const result = await ledger.apply({
      userID: u,
      changeId: 'mixed',
      kind: 'grant',
      ref: 'mixed',
      balances: [
        { asset: 'ETH', free: 7n, locked: 0n },
        { asset: 'BTC', free: -2n, locked: 0n },
        { asset: 'USDT', free: -500n, locked: 0n },
      ],
      holds: [{ holdId: 'none', asset: 'ETH', amount: -1n }],
    });
    expect(result).toMatchObject({ reason: 'INSUFFICIENT_BALANCE', asset: 'BTC', field: 'free' });
    expect(await stateOf(u)).toEqual(state);
  });

  test('balances are checked before holds: both short names the balance', async () => {
    const u = user('order');
    expect(await ledger.apply(release(u, 'h', 'BTC', 1n))).toMatchObject({
      reason: 'INSUFFICIENT_BALANCE',
      asset: 'BTC',
      field: 'locked',
    });
  });
});

describe('closing holds', () => {
  test('the last fill settles from the hold and closes it: the rest goes back to free', async () => {
    const u = await funded('close-settle', 'USDT', 100_000n);
    // A BUY of 4 BTC at 15,000 at most: first 1 BTC at 15,000, then the last 3 at 14,000.
    await ledger.apply(hold(u, 'b1', 'USDT', 60_000n));
    await ledger.apply({
      userID: u,
      changeId: 'settle:t1:BUY',
      kind: 'settle',
      ref: 't1',
      balances: [
        { asset: 'USDT', free: 0n, locked: -15_000n },
        { asset: 'BTC', free: 1n, locked: 0n },
      ],
      holds: [{ holdId: 'b1', asset: 'USDT', amount: -15_000n }],
    });
    const last: LedgerChange = {
      userID: u,
      changeId: 'settle:t2:BUY',
      kind: 'settle',
      ref: 't2',
      balances: [
        { asset: 'USDT', free: 0n, locked: -42_000n },
        { asset: 'BTC', free: 3n, locked: 0n },
      ],
      holds: [{ holdId: 'b1', asset: 'USDT', amount: -42_000n }],
      closeHolds: ['b1'],
    };
    expect(await ledger.apply(last)).toEqual({
      applied: true,
      repeated: false,
      seq: 4,
      balances: [
        { asset: 'USDT', free: 43_000n, locked: 0n },
        { asset: 'BTC', free: 4n, locked: 0n },
      ],
      released: [{ holdId: 'b1', asset: 'USDT', amount: 3_000n }],
    });
    expect(await ledger.holds(u)).toEqual(new Map());
    expect(await redis.hgetall(ledgerKeys(u).holds)).toEqual({});
    expect(await ledger.balances(u)).toEqual([
      { asset: 'BTC', free: 4n, locked: 0n },
      { asset: 'USDT', free: 43_000n, locked: 0n },
    ]);
    expect((await ledger.journal(u)).at(-1)).toMatchObject({
      changeId: 'settle:t2:BUY',
      changes: [
        {
          asset: 'USDT',
          freeBefore: 40_000n,
          freeAfter: 43_000n,
          lockedBefore: 45_000n,
          lockedAfter: 0n,
        },
        { asset: 'BTC', freeBefore: 1n, freeAfter: 4n, lockedBefore: 0n, lockedAfter: 0n },
      ],
      holds: [{ holdId: 'b1', asset: 'USDT', before: 45_000n, after: 0n }],
    });
  });

  test('a cancel names only the holds: each asset released is answered, in the order named', async () => {
    const u = await funded('close-cancel', 'USDT', 1_000n);
    await ledger.apply(deposit(u, 'BTC', 10n));
    await ledger.apply(hold(u, 'o1', 'USDT', 300n));
    await ledger.apply(hold(u, 'o2', 'BTC', 4n));
    await ledger.apply(release(u, 'o1', 'USDT', 100n));
    expect(await ledger.apply(close(u, ['o2', 'o1']))).toEqual({
      applied: true,
      repeated: false,
      seq: 6,
      balances: [
        { asset: 'BTC', free: 10n, locked: 0n },
        { asset: 'USDT', free: 1_000n, locked: 0n },
      ],
      released: [
        { holdId: 'o2', asset: 'BTC', amount: 4n },
        { holdId: 'o1', asset: 'USDT', amount: 200n },
      ],
    });
    expect(await ledger.holds(u)).toEqual(new Map());
    expect(await redis.hgetall(ledgerKeys(u).balances)).toEqual({
      'USDT:free': '1000',
      'BTC:free': '10',
      _seq: '6',
    });
  });

  test('a missing hold, or one its own delta empties, releases nothing and is no error', async () => {
    const u = await funded('close-missing', 'USDT', 1_000n);
    await ledger.apply(hold(u, 'o1', 'USDT', 100n));
    const state = await stateOf(u);
    expect(await ledger.apply(close(u, ['gone']))).toEqual({
      applied: true,
      repeated: false,
      seq: 3,
      balances: [],
      released: [],
    });
    // Applied, so journalled (and counted in seq), though nothing moved.
    expect(await stateOf(u)).toEqual({
      ...state,
      balances: { ...state.balances, _seq: '3' },
      journal: state.journal + 1,
    });
    expect((await ledger.journal(u)).at(-1)).toMatchObject({ changes: [], holds: [] });

    expect(
      await ledger.apply({ ...release(u, 'o1', 'USDT', 100n), closeHolds: ['o1', 'gone'] }),
    ).toEqual({
      applied: true,
      repeated: false,
      seq: 4,
      balances: [{ asset: 'USDT', free: 1_000n, locked: 0n }],
      released: [],
    });
    expect((await ledger.journal(u)).at(-1)!.holds).toEqual([
      { holdId: 'o1', asset: 'USDT', before: 100n, after: 0n },
    ]);
    expect(await ledger.holds(u)).toEqual(new Map());
  });

  test('a close that, with another delta, takes locked below zero is refused; nothing applies', async () => {
    const u = await funded('close-short', 'USDT', 1_000n);
    await ledger.apply(hold(u, 'o1', 'USDT', 100n));
    const state = await stateOf(u);
    // 60 off locked without its hold delta, and the hold's 100 released: 100 − 160 < 0.
    const change: LedgerChange = {
      userID: u,
      changeId: 'settle:short',
      kind: 'settle',
      ref: 'short',
      balances: [
        { asset: 'USDT', free: 0n, locked: -60n },
        { asset: 'BTC', free: 1n, locked: 0n },
      ],
      closeHolds: ['o1'],
    };
    const refused = {
      applied: false,
      reason: 'INSUFFICIENT_BALANCE',
      asset: 'USDT',
      field: 'locked',
      available: 100n,
      needed: 160n,
    };
    expect(await ledger.apply(change)).toEqual({ ...refused, repeated: false });
    expect(await stateOf(u)).toEqual(state);
    expect(await ledger.apply(change)).toEqual({ ...refused, repeated: true });
    expect(await stateOf(u)).toEqual(state);
  });

  test('an overdrawn hold is refused though closed; a release counts in the free check', async () => {
    const u = await funded('close-overdrawn', 'USDT', 1_000n);
    await ledger.apply(hold(u, 'o1', 'USDT', 100n));
    await ledger.apply(hold(u, 'o2', 'USDT', 200n));
    const state = await stateOf(u);
    expect(
      await ledger.apply({ ...release(u, 'o1', 'USDT', 150n), closeHolds: ['o1'] }),
    ).toMatchObject({ reason: 'HOLD_INSUFFICIENT', holdId: 'o1', available: 100n, needed: 150n });
    expect(await stateOf(u)).toEqual(state);
    // Free is 700: a withdrawal of 900 fits only with o2's 200 given back in the same change.
    expect(
      await ledger.apply({ ...withdrawal(u, 'USDT', 900n), closeHolds: ['o2'] }),
    ).toMatchObject({
      applied: true,
      balances: [{ asset: 'USDT', free: 0n, locked: 100n }],
      released: [{ holdId: 'o2', asset: 'USDT', amount: 200n }],
    });
  });

  test('a hold of another asset is refused though closed, releasing nothing meanwhile', async () => {
    const u = await funded('close-mismatch', 'USDT', 1_000n);
    await ledger.apply(deposit(u, 'BTC', 5n));
    await ledger.apply(hold(u, 'o1', 'USDT', 100n));
    const state = await stateOf(u);
    // Were o1's 100 (+1) released from BTC, BTC's locked would go negative and be the refusal.
    expect(
      await ledger.apply({
        ...hold(u, 'o1', 'BTC', 1n),
        changeId: 'hold:o1:btc',
        closeHolds: ['o1'],
      }),
    ).toEqual({ applied: false, repeated: false, reason: 'HOLD_ASSET_MISMATCH', holdId: 'o1' });
    expect(await stateOf(u)).toEqual(state);
  });

  test('a repeated closing change answers its first result and closes nothing again', async () => {
    const u = await funded('close-repeat', 'USDT', 1_000n);
    await ledger.apply(hold(u, 'o1', 'USDT', 300n));
    const change = close(u, ['o1']);
    const first = await ledger.apply(change);
    expect(first).toMatchObject({ released: [{ holdId: 'o1', amount: 300n }] });
    // The same hold id held again: the repeat must not close it.
    await ledger.apply({ ...hold(u, 'o1', 'USDT', 50n), changeId: 'hold:o1:again' });
    const state = await stateOf(u);
    expect(await ledger.apply(change)).toEqual({ ...first, repeated: true });
    expect(await stateOf(u)).toEqual(state);
    expect(await ledger.holds(u)).toEqual(new Map([['o1', { asset: 'USDT', amount: 50n }]]));
  });

  test('the journal has each hold a change touched: deltas first, then closes', async () => {
    const u = await funded('close-journal', 'USDT', 1_000n);
    await ledger.apply(hold(u, 'o1', 'USDT', 400n));
    await ledger.apply(hold(u, 'o2', 'USDT', 100n));
    await ledger.apply(release(u, 'o1', 'USDT', 150n));
    expect(
      await ledger.apply({
        userID: u,
        changeId: 'hold-more-and-cancel',
        kind: 'release',
        ref: 'o1,o2',
        balances: [{ asset: 'USDT', free: -50n, locked: 50n }],
        holds: [{ holdId: 'o2', asset: 'USDT', amount: 50n }],
        closeHolds: ['o1', 'o2'],
      }),
    ).toMatchObject({
      balances: [{ asset: 'USDT', free: 1_000n, locked: 0n }],
      released: [
        { holdId: 'o1', asset: 'USDT', amount: 250n },
        { holdId: 'o2', asset: 'USDT', amount: 150n },
      ],
    });
    const journal = await ledger.journal(u);
    expect(journal.map((e) => e.holds)).toEqual([
      [],
      [{ holdId: 'o1', asset: 'USDT', before: 0n, after: 400n }],
      [{ holdId: 'o2', asset: 'USDT', before: 0n, after: 100n }],
      [{ holdId: 'o1', asset: 'USDT', before: 400n, after: 250n }],
      [
        { holdId: 'o2', asset: 'USDT', before: 100n, after: 0n },
        { holdId: 'o1', asset: 'USDT', before: 250n, after: 0n },
      ],
    ]);
    const raw = await redis.xrange(ledgerKeys(u).journal, '-', '+');
    expect(JSON.parse(raw.at(-1)![1][11]!)).toEqual([
      { holdId: 'o2', asset: 'USDT', before: '100', after: '0' },
      { holdId: 'o1', asset: 'USDT', before: '250', after: '0' },
    ]);
  });
});

describe('exact integers beyond 2^53', () => {
  const twoTo53 = 2n ** 53n;
  const int64Max = 2n ** 63n - 1n;
  const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);

  test('2^53 + 1, 10^17 and carries across the 15-digit limbs stay exact', async () => {
    const u = user('big');
    await ledger.apply(deposit(u, 'BTC', twoTo53));
    expect(await ledger.apply(deposit(u, 'BTC', 1n))).toMatchObject({
      balances: [{ asset: 'BTC', free: twoTo53 + 1n, locked: 0n }],
    });
    await ledger.apply(deposit(u, 'BTC', 1n));
    expect(await ledger.balances(u)).toEqual([{ asset: 'BTC', free: twoTo53 + 2n, locked: 0n }]);

    await ledger.apply(deposit(u, 'ETH', 10n ** 17n));
    await ledger.apply(deposit(u, 'ETH', 10n ** 17n - 1n));
    await ledger.apply(hold(u, 'big', 'ETH', 10n ** 17n + 3n));
    expect(await ledger.balances(u)).toContainEqual({
      asset: 'ETH',
      free: 10n ** 17n - 4n,
      locked: 10n ** 17n + 3n,
    });
    expect(await ledger.holds(u)).toEqual(
      new Map([['big', { asset: 'ETH', amount: 10n ** 17n + 3n }]]),
    );
    // 999,999,999,999,999 + 1 carries into the next limb; 10^18 − 1 borrows across both.
    await ledger.apply(deposit(u, 'USDT', 999_999_999_999_999n));
    await ledger.apply(deposit(u, 'USDT', 1n));
    await ledger.apply(deposit(u, 'USDT', 10n ** 18n - 10n ** 15n));
    expect(await ledger.apply(withdrawal(u, 'USDT', 1n))).toMatchObject({
      balances: [{ asset: 'USDT', free: 10n ** 18n - 1n, locked: 0n }],
    });
    expect(await ledger.apply(withdrawal(u, 'USDT', 10n ** 18n))).toMatchObject({
      reason: 'INSUFFICIENT_BALANCE',
      available: 10n ** 18n - 1n,
      needed: 10n ** 18n,
    });
    const raw = await redis.hgetall(ledgerKeys(u).balances);
    expect(raw['USDT:free']).toBe('999999999999999999');
    expect(raw['BTC:free']).toBe('9007199254740994');
    // The stored values are int64 strings: HINCRBY still works on them, exactly.
    expect(await redis.hincrby(ledgerKeys(u).balances, 'BTC:free', 0)).toBe(9007199254740994);
  });

  test('up to int64 max; a value past it is an error that changes and records nothing', async () => {
    const u = await funded('int64', 'USDT', int64Max);
    expect(await ledger.balances(u)).toEqual([{ asset: 'USDT', free: int64Max, locked: 0n }]);
    const state = await stateOf(u);
    const change = deposit(u, 'USDT', 1n);
    await expect(ledger.apply(change)).rejects.toThrow(/overflow int64/);
    expect(await stateOf(u)).toEqual(state);
    expect(await redis.hexists(ledgerKeys(u).applied, change.changeId)).toBe(0);
    expect(await ledger.apply(withdrawal(u, 'USDT', int64Max))).toMatchObject({ applied: true });
    expect(await ledger.apply(change)).toMatchObject({ applied: true, balances: [{ free: 1n }] });
  });

  test('random int64 sums and differences agree with bigint arithmetic', async () => {
    const u = user('fuzz');
    let free = 0n;
    let step = 0;
    // Deltas of every length from 1 to 19 digits, both signs.
    const digits = fc
      .integer({ min: 1, max: 19 })
      .chain((n) => fc.bigInt({ min: 0n, max: min(10n ** BigInt(n) - 1n, int64Max) }));
    const delta = fc.tuple(fc.boolean(), digits).map(([negative, d]) => (negative ? -d : d));
    for (const d of fc.sample(delta, { numRuns: 400, seed: 42 })) {
      const change = { ...deposit(u, 'BTC', d), changeId: `fuzz:${++step}` };
      const after = free + d;
      if (after > int64Max) {
        await expect(ledger.apply(change)).rejects.toThrow(/overflow int64/);
        continue;
      }
      const result = await ledger.apply(change);
      if (after < 0n) {
        expect(result).toMatchObject({ applied: false, available: free, needed: -d });
      } else {
        expect(result).toMatchObject({ applied: true, balances: [{ free: after }] });
        free = after;
      }
    }
    expect(await ledger.balances(u)).toEqual(
      free === 0n ? [] : [{ asset: 'BTC', free, locked: 0n }],
    );
  });
});

describe('input validation', () => {
  const good = (): LedgerChange => deposit(user('valid'), 'USDT', 1n);
  const cases: Array<[string, (c: LedgerChange) => unknown, string]> = [
    ['empty userID', (c) => ({ ...c, userID: '' }), 'userID'],
    ['userID with a space', (c) => ({ ...c, userID: 'a b' }), 'userID'],
    ['userID of 129 characters', (c) => ({ ...c, userID: 'u'.repeat(129) }), 'userID'],
    ['empty changeId', (c) => ({ ...c, changeId: '' }), 'changeId'],
    ['changeId with a tab', (c) => ({ ...c, changeId: 'a\tb' }), 'changeId'],
    ['ref with a newline', (c) => ({ ...c, ref: 'a\nb' }), 'ref'],
    ['unknown kind', (c) => ({ ...c, kind: 'gift' }), 'kind'],
    ['no balance delta', (c) => ({ ...c, balances: [] }), 'balances'],
    [
      'lowercase asset',
      (c) => ({ ...c, balances: [{ asset: 'usdt', free: 1n, locked: 0n }] }),
      'balances.0.asset',
    ],
    [
      'asset of 11 characters',
      (c) => ({ ...c, balances: [{ asset: 'ABCDEFGHIJK', free: 1n, locked: 0n }] }),
      'balances.0.asset',
    ],
    [
      'a number, not a bigint',
      (c) => ({ ...c, balances: [{ asset: 'USDT', free: 1, locked: 0n }] }),
      'balances.0.free',
    ],
    [
      'a delta past int64',
      (c) => ({ ...c, balances: [{ asset: 'USDT', free: 0n, locked: 2n ** 63n }] }),
      'balances.0.locked',
    ],
    [
      'an asset twice',
      (c) => ({
        ...c,
        balances: [
          { asset: 'USDT', free: 1n, locked: 0n },
          { asset: 'USDT', free: 1n, locked: 0n },
        ],
      }),
      'balances.1.asset',
    ],
    [
      'empty holdId',
      (c) => ({ ...c, holds: [{ holdId: '', asset: 'USDT', amount: 1n }] }),
      'holds.0.holdId',
    ],
    [
      'a hold twice',
      (c) => ({
        ...c,
        holds: [
          { holdId: 'h', asset: 'USDT', amount: 1n },
          { holdId: 'h', asset: 'USDT', amount: 1n },
        ],
      }),
      'holds.1.holdId',
    ],
    ['an empty hold id to close', (c) => ({ ...c, closeHolds: [''] }), 'closeHolds.0'],
    ['a hold id to close with a space', (c) => ({ ...c, closeHolds: ['a b'] }), 'closeHolds.0'],
    ['a hold closed twice', (c) => ({ ...c, closeHolds: ['h', 'g', 'h'] }), 'closeHolds.2'],
    [
      '101 holds to close',
      (c) => ({ ...c, closeHolds: Array.from({ length: 101 }, (_, i) => `h${i}`) }),
      'closeHolds',
    ],
    [
      'no balance delta and no hold to close',
      (c) => ({ ...c, balances: [], closeHolds: [] }),
      'balances',
    ],
  ];

  test.each(cases)('%s is refused before Redis, naming the field', async (_, edit, field) => {
    const change = edit(good()) as LedgerChange;
    const error = await ledger.apply(change).then(
      () => null,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(LedgerInputError);
    expect((error as LedgerInputError).field).toBe(field);
    expect((error as Error).message).toContain(field);
    expect(await redis.exists(ledgerKeys(change.userID).applied)).toBe(0);
  });

  test('128 characters without whitespace are fine', async () => {
    const change = { ...good(), changeId: 'c'.repeat(128), ref: 'r'.repeat(128) };
    expect(await ledger.apply(change)).toMatchObject({ applied: true });
  });
});

describe('reading', () => {
  test('journal pages by count and after, in order', async () => {
    const u = user('journal');
    for (let i = 1; i <= 7; i++) await ledger.apply(deposit(u, 'USDT', BigInt(i)));
    const all = await ledger.journal(u);
    expect(all.map((e) => e.changes[0]!.freeAfter)).toEqual([1n, 3n, 6n, 10n, 15n, 21n, 28n]);
    expect(all.map((e) => e.id)).toEqual([...all.map((e) => e.id)].sort());
    const first = await ledger.journal(u, { count: 3 });
    expect(first).toEqual(all.slice(0, 3));
    expect(await ledger.journal(u, { count: 3, after: first[2]!.id })).toEqual(all.slice(3, 6));
    expect(await ledger.journal(u, { after: all[5]!.id })).toEqual(all.slice(6));
    expect(await ledger.journal(u, { after: all[6]!.id })).toEqual([]);
    expect(await ledger.journal(u, { count: 0 })).toEqual([]);
    await expect(ledger.journal(u, { count: -1 })).rejects.toThrow(RangeError);
  });

  test('users lists every user with a balances hash, refused-only users not', async () => {
    const [a, b, c] = [user('users-a'), user('users-b'), user('users-c')];
    await ledger.apply(deposit(a, 'USDT', 1n));
    await ledger.apply(deposit(b, 'USDT', 1n));
    await ledger.apply(withdrawal(b, 'USDT', 1n));
    await ledger.apply(withdrawal(c, 'USDT', 1n));
    const users = await ledger.users();
    expect(users).toEqual(expect.arrayContaining([a, b]));
    expect(users).not.toContain(c);
    expect(users).toEqual([...users].sort());
  });
});

describe('a Redis of its own', () => {
  let server: ManagedProcess | undefined;
  let own: Redis;

  beforeAll(async () => {
    const port = await freePort();
    const dataDir = inRunDir(`redis-ledger-${process.pid}`);
    server = await startRedis({ port, dataDir, sink: { kind: 'file', path: `${dataDir}.log` } });
    own = new Redis(`redis://127.0.0.1:${port}`);
  });
  afterAll(async () => {
    own?.disconnect();
    await server?.stop();
  });

  test('NOSCRIPT after SCRIPT FLUSH: the change is sent with its source and applied once', async () => {
    const l = openLedger(own);
    const u = user('noscript');
    await l.apply(deposit(u, 'USDT', 5n));
    await own.script('FLUSH');
    const changes = Array.from({ length: 10 }, () => deposit(u, 'USDT', 1n));
    const results = await Promise.all(changes.flatMap((c) => [l.apply(c), l.apply(c)]));
    expect(results.filter((r) => r.applied && !r.repeated)).toHaveLength(10);
    expect(await l.balances(u)).toEqual([{ asset: 'USDT', free: 15n, locked: 0n }]);
  });

  test('users scans past one SCAN page', async () => {
    const l = openLedger(own);
    const ids = Array.from({ length: 2_500 }, (_, i) => `scan-${i}`);
    await Promise.all(ids.map((u) => l.apply(deposit(u, 'BTC', 1n))));
    const users = new Set(await l.users());
    expect(ids.filter((u) => !users.has(u))).toEqual([]);
  });
});

describe('Redis Cluster', () => {
  let server: ManagedProcess | undefined;
  let cluster: Cluster;

  // One node owning every slot: enough to run the Cluster client's routing and SCAN per master.
  beforeAll(async () => {
    const port = await freePort();
    const dataDir = inRunDir(`redis-ledger-cluster-${process.pid}`);
    mkdirSync(dataDir, { recursive: true });
    server = startProcess(
      'redis-cluster',
      'redis-server',
      [
        ...['--port', String(port), '--bind', '127.0.0.1', '--dir', dataDir],
        ...['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`],
        // Without it the node reports an empty address in CLUSTER SLOTS until it meets another.
        ...['--cluster-announce-ip', '127.0.0.1'],
        ...['--save', '', '--appendonly', 'no', '--daemonize', 'no'],
      ],
      { sink: { kind: 'file', path: `${dataDir}.log` } },
    );
    const admin = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0 });
    admin.on('error', () => undefined);
    try {
      await waitHealthy(server, () => admin.ping());
      await admin.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
      await waitHealthy(server, async () => {
        const info = (await admin.call('CLUSTER', 'INFO')) as string;
        if (!info.includes('cluster_state:ok')) throw new Error('cluster not ready');
      });
    } finally {
      admin.disconnect();
    }
    cluster = new Cluster([{ host: '127.0.0.1', port }]);
  }, 60_000);
  afterAll(async () => {
    cluster?.disconnect();
    await server?.stop();
  });

  test('every call works through the Cluster client', async () => {
    const l = openLedger(cluster);
    const u = user('cluster');
    await l.apply(deposit(u, 'USDT', 2n ** 60n));
    expect(await l.apply(hold(u, 'o1', 'USDT', 2n ** 59n))).toMatchObject({
      applied: true,
      seq: 2,
    });
    expect(await l.balances(u)).toEqual([{ asset: 'USDT', free: 2n ** 59n, locked: 2n ** 59n }]);
    expect(await l.holds(u)).toEqual(new Map([['o1', { asset: 'USDT', amount: 2n ** 59n }]]));
    expect(await l.journal(u)).toHaveLength(2);
    expect(await l.users()).toContain(u);
    await cluster.script('FLUSH');
    expect(await l.apply(release(u, 'o1', 'USDT', 1n))).toMatchObject({ applied: true, seq: 3 });
  });
});
