// The ledger check on real Redis: a consistent set of accounts passes with its totals; a negative
// balance, locked without holds and money from nowhere are each named.
import { checkLedger } from '../../ledger/check';
import { ledgerKeys, openLedger } from '../../ledger/ledger';
import { uniqueUser } from '../support/orders';
import { testRedis } from '../support/redis';

const redis = testRedis();
const ledger = openLedger(redis);
afterAll(() => redis.disconnect());

async function tradeBetweenTwo(): Promise<{ buyer: string; seller: string; fees: string }> {
  const [buyer, seller, fees] = ['buyer', 'seller', 'fees'].map((r) => uniqueUser(`chk-${r}`)) as [
    string,
    string,
    string,
  ];
  await ledger.apply({
    userID: buyer,
    changeId: 'd1',
    kind: 'deposit',
    ref: 'd1',
    balances: [{ asset: 'USDT', free: 1000n, locked: 0n }],
  });
  await ledger.apply({
    userID: seller,
    changeId: 'd2',
    kind: 'deposit',
    ref: 'd2',
    balances: [{ asset: 'BTC', free: 10n, locked: 0n }],
  });
  // Both hold, then one trade of 4 BTC for 400 USDT with 1 unit of fee each side.
  await ledger.apply({
    userID: buyer,
    changeId: 'hold:b',
    kind: 'hold',
    ref: 'b',
    balances: [{ asset: 'USDT', free: -500n, locked: 500n }],
    holds: [{ holdId: 'b', asset: 'USDT', amount: 500n }],
  });
  await ledger.apply({
    userID: seller,
    changeId: 'hold:s',
    kind: 'hold',
    ref: 's',
    balances: [{ asset: 'BTC', free: -10n, locked: 10n }],
    holds: [{ holdId: 's', asset: 'BTC', amount: 10n }],
  });
  await ledger.apply({
    userID: buyer,
    changeId: 'settle:t1:BUY',
    kind: 'settle',
    ref: 't1',
    balances: [
      { asset: 'USDT', free: 0n, locked: -400n },
      { asset: 'BTC', free: 3n, locked: 0n },
    ],
    holds: [{ holdId: 'b', asset: 'USDT', amount: -400n }],
  });
  await ledger.apply({
    userID: seller,
    changeId: 'settle:t1:SELL',
    kind: 'settle',
    ref: 't1',
    balances: [
      { asset: 'BTC', free: 0n, locked: -4n },
      { asset: 'USDT', free: 399n, locked: 0n },
    ],
    holds: [{ holdId: 's', asset: 'BTC', amount: -4n }],
  });
  await ledger.apply({
    userID: fees,
    changeId: 'fee:t1',
    kind: 'fee',
    ref: 't1',
    balances: [
      { asset: 'BTC', free: 1n, locked: 0n },
      { asset: 'USDT', free: 1n, locked: 0n },
    ],
  });
  return { buyer, seller, fees };
}

test('balances, holds and fees that add up pass, with the totals per asset', async () => {
  const { buyer, seller, fees } = await tradeBetweenTwo();
  const check = await checkLedger(ledger, { users: [buyer, seller, fees] });
  expect(check.problems).toEqual([]);
  expect(check.ok).toBe(true);
  expect(check.totals).toEqual([
    { asset: 'BTC', free: 4n, locked: 6n, held: 6n, cameIn: 10n, wentOut: 0n },
    { asset: 'USDT', free: 900n, locked: 100n, held: 100n, cameIn: 1000n, wentOut: 0n },
  ]);
});

test('a trade with one side missing, locked without a hold and a negative balance are named', async () => {
  const { buyer, seller, fees } = await tradeBetweenTwo();
  // Leave out the fee account: its 1 BTC and 1 USDT are then missing from the totals.
  const partial = await checkLedger(ledger, { users: [buyer, seller] });
  expect(partial.ok).toBe(false);
  expect(partial.problems).toEqual([
    'BTC: balances add up to 9, but 10 came in and 0 went out (-1 unaccounted)',
    'USDT: balances add up to 999, but 1000 came in and 0 went out (-1 unaccounted)',
  ]);
  // Tampering under the ledger's feet.
  await redis.hset(ledgerKeys(buyer).balances, 'USDT:locked', '150');
  await redis.hset(ledgerKeys(seller).balances, 'BTC:free', '-1');
  const broken = await checkLedger(ledger, { users: [buyer, seller, fees] });
  expect(broken.problems).toEqual([
    `${buyer}: USDT locked 150 but its holds add up to 100`,
    `${seller}: BTC is negative (free -1, locked 6)`,
    'BTC: balances add up to 9, but 10 came in and 0 went out (-1 unaccounted)',
    'USDT: balances add up to 1050, but 1000 came in and 0 went out (50 unaccounted)',
  ]);
});
