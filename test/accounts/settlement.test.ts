// An order's money on the real ledger: held when placed, each fill settled once on each side with
// the commission to the fee account, the BUY's price improvement back when its last fill closes the
// hold, a cancel's hold released; every asset accounted for (ledger/check.ts).
import { assetsOfMarket, markets } from '../../config/markets';
import { orderHold } from '../../domain/balances';
import type { TradeEvent } from '../../domain/order';
import { processAccounts } from '../../accounts/process';
import { holdChange, orderHoldId, releaseChange, tradeSettlement } from '../../accounts/settlement';
import { checkLedger } from '../../ledger/check';
import { processLedger } from '../../ledger/connection';
import type { Ledger, LedgerChange } from '../../ledger/ledger';
import { closeClients } from '../../platform/lazy';
import { uniqueUser } from '../support/orders';

const btc = markets.get('BTC')!;
const btcAssets = assetsOfMarket.get('BTC')!;
let ledger: Ledger;
beforeAll(async () => {
  ledger = await processLedger();
});
afterAll(() => closeClients());

async function apply(change: LedgerChange): Promise<void> {
  const result = await ledger.apply(change);
  if (!result.applied)
    throw new Error(
      `refused: ${JSON.stringify(result, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`,
    );
}

let seq = 0;
const trade = (
  fields: Pick<
    TradeEvent,
    'userID' | 'orderId' | 'tradeId' | 'side' | 'lastQty' | 'lastPrice' | 'maker' | 'leavesQty'
  >,
): TradeEvent => ({
  event: 'TRADE',
  seq: ++seq,
  market: 'BTC',
  orderSeq: seq,
  commandId: `cmd-${seq}`,
  time: Date.now(),
  filledQty: fields.lastQty,
  ...fields,
});

const balancesOf = async (userID: string) =>
  Object.fromEntries(
    (await (await processAccounts()).status(userID)).balances.map((b) => [
      b.asset,
      `${b.free} / ${b.locked}`,
    ]),
  );

test('a BUY and a SELL: held, settled fill by fill with fees, the BUY’s saving back at its last fill', async () => {
  const [alice, bob, fees] = ['alice', 'bob', 'fees'].map((r) => uniqueUser(`settle-${r}`)) as [
    string,
    string,
    string,
  ];
  const accounts = await processAccounts();
  await accounts.deposit(alice, 'USDT', '100000', `${alice}-d`);
  await accounts.deposit(bob, 'BTC', '2', `${bob}-d`);
  // alice: BUY 1 BTC @ 30000.00; bob: SELL 1 BTC @ 29000.00 (resting, the maker).
  await apply(
    holdChange(
      alice,
      'a1',
      orderHold(btcAssets, { side: 'BUY', quantity: 100_000, holdPrice: 3_000_000 }),
    ),
  );
  await apply(
    holdChange(
      bob,
      'b1',
      orderHold(btcAssets, { side: 'SELL', quantity: 100_000, holdPrice: null }),
    ),
  );
  expect(await balancesOf(alice)).toMatchObject({ USDT: '70000.00000000 / 30000.00000000' });
  expect(await balancesOf(bob)).toMatchObject({ BTC: '1.00000000 / 1.00000000' });

  const fills = [
    { tradeId: 'BTC-t1', lastQty: 40_000, leaves: 60_000 },
    { tradeId: 'BTC-t2', lastQty: 60_000, leaves: 0 },
  ];
  for (const f of fills) {
    for (const [userID, orderId, side, maker] of [
      [alice, 'a1', 'BUY', false],
      [bob, 'b1', 'SELL', true],
    ] as const) {
      const s = tradeSettlement(
        btc,
        btcAssets,
        trade({
          userID,
          orderId,
          tradeId: f.tradeId,
          side,
          lastQty: f.lastQty,
          lastPrice: 2_900_000,
          maker,
          leavesQty: f.leaves,
        }),
        fees,
      );
      await apply(s.change);
      if (s.fee) await apply(s.fee);
      // Delivered again (a relay crash before the delete): nothing changes.
      expect(await ledger.apply(s.change)).toMatchObject({ applied: true, repeated: true });
      if (s.fee) expect(await ledger.apply(s.fee)).toMatchObject({ applied: true, repeated: true });
    }
    if (f.tradeId === 'BTC-t1') {
      // 0.4 BTC for 11600 USDT; 0.1 % taker fee on alice's BTC, maker fee on bob's USDT.
      expect(await balancesOf(alice)).toMatchObject({
        USDT: '70000.00000000 / 18400.00000000',
        BTC: '0.39960000 / 0.00000000',
      });
      expect(await balancesOf(bob)).toMatchObject({
        BTC: '1.00000000 / 0.60000000',
        USDT: '11588.40000000 / 0.00000000',
      });
    }
  }
  // Filled at 29000 with 30000 held: the last fill closed the hold and 1000 USDT came back.
  expect(await balancesOf(alice)).toEqual({
    USDT: '71000.00000000 / 0.00000000',
    BTC: '0.99900000 / 0.00000000',
    ETH: '0.00000000 / 0.00000000',
  });
  expect(await balancesOf(bob)).toEqual({
    USDT: '28971.00000000 / 0.00000000',
    BTC: '1.00000000 / 0.00000000',
    ETH: '0.00000000 / 0.00000000',
  });
  expect(await balancesOf(fees)).toMatchObject({
    USDT: '29.00000000 / 0.00000000',
    BTC: '0.00100000 / 0.00000000',
  });
  expect((await ledger.holds(alice)).size).toBe(0);
  const check = await checkLedger(ledger, { users: [alice, bob, fees] });
  expect(check.problems).toEqual([]);
});

test('a cancelled order gets back what it still holds, once', async () => {
  const carol = uniqueUser('settle-carol');
  await (await processAccounts()).deposit(carol, 'USDT', '20000', `${carol}-d`);
  await apply(
    holdChange(
      carol,
      'c1',
      orderHold(btcAssets, { side: 'BUY', quantity: 50_000, holdPrice: 3_000_000 }),
    ),
  );
  expect((await ledger.holds(carol)).get(orderHoldId('c1'))).toEqual({
    asset: 'USDT',
    amount: 1_500_000_000_000n,
  });
  await apply(releaseChange(carol, 'c1'));
  expect(await ledger.apply(releaseChange(carol, 'c1'))).toMatchObject({
    applied: true,
    repeated: true,
  });
  expect(await balancesOf(carol)).toMatchObject({ USDT: '20000.00000000 / 0.00000000' });
  expect((await ledger.holds(carol)).size).toBe(0);
});

test('a hold larger than what is free is refused, naming the asset, and holds nothing', async () => {
  const dave = uniqueUser('settle-dave');
  await (await processAccounts()).deposit(dave, 'USDT', '100', `${dave}-d`);
  const result = await ledger.apply(
    holdChange(
      dave,
      'd1',
      orderHold(btcAssets, { side: 'BUY', quantity: 100_000, holdPrice: 3_000_000 }),
    ),
  );
  expect(result).toMatchObject({
    applied: false,
    reason: 'INSUFFICIENT_BALANCE',
    asset: 'USDT',
    field: 'free',
  });
  expect(await balancesOf(dave)).toMatchObject({ USDT: '100.00000000 / 0.00000000' });
  expect((await ledger.holds(dave)).size).toBe(0);
});
