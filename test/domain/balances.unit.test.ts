// What an order holds and what a fill moves: exact units, both sides and the fee conserve every
// asset, a BUY gets back what it held above the trade price, commissions round up.
import { parseGrant } from '../../accounts/accounts';
import fc from 'fast-check';
import { assets, assetsOfMarket, markets } from '../../config/markets';
import { formatAmount, parseAmount } from '../../domain/assets';
import {
  commission,
  fillSettlement,
  marketBuyPrice,
  orderHold,
  releaseOf,
} from '../../domain/balances';

const btc = markets.get('BTC')!;
const btcAssets = assetsOfMarket.get('BTC')!;
const usdt = assets.get('USDT')!;

test('a step of BTC is 1000 units and a tick × step 10 units of USDT (8 decimals each)', () => {
  expect(btcAssets.baseUnitsPerStep).toBe(1000n);
  expect(btcAssets.quoteUnitsPerTickStep).toBe(10n);
  expect(assetsOfMarket.get('ETH')).toMatchObject({
    baseUnitsPerStep: 10_000n,
    quoteUnitsPerTickStep: 100n,
  });
});

test('a BUY holds price × quantity of USDT, a SELL its quantity of BTC', () => {
  // 0.5 BTC @ 30000.00
  expect(orderHold(btcAssets, { side: 'BUY', quantity: 50_000, holdPrice: 3_000_000 })).toEqual({
    asset: 'USDT',
    amount: parseAmount(usdt, '15000', 'x', 'X'),
  });
  expect(orderHold(btcAssets, { side: 'SELL', quantity: 50_000, holdPrice: null })).toEqual({
    asset: 'BTC',
    amount: 50_000_000n,
  });
  expect(() => orderHold(btcAssets, { side: 'BUY', quantity: 1, holdPrice: null })).toThrow();
});

test('a MARKET BUY holds at the best ask plus the band, rounded down to a tick', () => {
  expect(marketBuyPrice(btc, 3_000_000)).toBe(3_150_000); // 30000.00 × 1.05
  expect(marketBuyPrice(btc, 333)).toBe(349); // 3.33 × 1.05 = 3.4965 → 3.49
});

test('a BUY filled below its limit gets the difference back; the fee is on the BTC received', () => {
  // 0.1 BTC @ 29000.00, held at 30000.00, taker 0.1 %.
  const s = fillSettlement(btc, btcAssets, 'o1', {
    side: 'BUY',
    price: 2_900_000,
    qty: 10_000,
    maker: false,
    holdPrice: 3_000_000,
  });
  const held = 3_000_000n * 10_000n * 10n;
  const cost = 2_900_000n * 10_000n * 10n;
  expect(s.balances).toEqual([
    { asset: 'USDT', free: held - cost, locked: -held },
    { asset: 'BTC', free: 10_000_000n - 10_000n, locked: 0n },
  ]);
  expect(s.hold).toEqual({ holdId: 'o1', asset: 'USDT', amount: -held });
  expect(s.commission).toEqual({ asset: 'BTC', amount: 10_000n });
  expect(formatAmount(usdt, held - cost)).toBe('100.00000000');
});

test('commissions round up to the unit', () => {
  expect(commission(1n, 1000n)).toBe(1n);
  expect(commission(1000n, 1000n)).toBe(1n);
  expect(commission(1001n, 1000n)).toBe(2n);
  expect(commission(0n, 1000n)).toBe(0n);
});

test('a trade conserves every asset: buyer, seller and the fees add up to nothing', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 10_000_000 }), // trade price, ticks
      fc.integer({ min: 0, max: 1_000_000 }), // buyer's hold price above it
      fc.integer({ min: 1, max: 100_000_000 }), // qty, steps
      fc.boolean(),
      (price, above, qty, buyerIsMaker) => {
        const buy = fillSettlement(btc, btcAssets, 'b', {
          side: 'BUY',
          price,
          qty,
          maker: buyerIsMaker,
          holdPrice: price + above,
        });
        const sell = fillSettlement(btc, btcAssets, 's', {
          side: 'SELL',
          price,
          qty,
          maker: !buyerIsMaker,
          holdPrice: null,
        });
        for (const asset of ['USDT', 'BTC']) {
          const moved = [...buy.balances, ...sell.balances]
            .filter((d) => d.asset === asset)
            .reduce((sum, d) => sum + d.free + d.locked, 0n);
          const fees = [buy.commission, sell.commission]
            .filter((c) => c.asset === asset)
            .reduce((sum, c) => sum + c.amount, 0n);
          expect(moved + fees).toBe(0n);
        }
        // What leaves locked is exactly what leaves the hold.
        for (const s of [buy, sell]) {
          const locked = s.balances.find((d) => d.asset === s.hold.asset)!.locked;
          expect(locked).toBe(s.hold.amount);
        }
      },
    ),
  );
});

test('a release moves what is left from locked to free', () => {
  expect(releaseOf('o1', { asset: 'BTC', amount: 5n })).toEqual({
    balances: [{ asset: 'BTC', free: 5n, locked: -5n }],
    hold: { holdId: 'o1', asset: 'BTC', amount: -5n },
  });
});

test('amounts parse exactly within the asset decimals', () => {
  expect(parseAmount(usdt, '1000', 'amount', 'INVALID_AMOUNT')).toBe(100_000_000_000n);
  expect(() => parseAmount(usdt, '0.000000001', 'amount', 'INVALID_AMOUNT')).toThrow(/8 decimals/);
  expect(() => parseAmount(usdt, '0', 'amount', 'INVALID_AMOUNT')).toThrow(/positive/);
  expect(() => parseAmount(usdt, '-1', 'amount', 'INVALID_AMOUNT')).toThrow();
});

test("the opening grant's setting reads as amounts per asset; a bad part is named", () => {
  expect(parseGrant('USDT=100000, BTC=10,ETH=100', assets)).toEqual(
    new Map([
      ['USDT', 10_000_000_000_000n],
      ['BTC', 1_000_000_000n],
      ['ETH', 10_000_000_000n],
    ]),
  );
  expect(parseGrant('', assets).size).toBe(0);
  expect(() => parseGrant('XRP=1', assets)).toThrow(/"XRP=1" names no configured asset/);
  expect(() => parseGrant('BTC=ten', assets)).toThrow(/ACCOUNT_GRANT BTC/);
});
