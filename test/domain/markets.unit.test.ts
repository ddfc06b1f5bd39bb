// Market rules from config/markets.json, in the integer units the matcher compares.
import marketsJson from '../../config/markets.json';
import { buildMarket, formatPrice, formatQty, parseMarkets } from '../../domain/markets';

const markets = parseMarkets(marketsJson);

test('BTC and ETH are quoted in USDT', () => {
  expect([...markets.keys()]).toEqual(expect.arrayContaining(['BTC', 'ETH']));
  for (const coin of ['BTC', 'ETH']) expect(markets.get(coin)?.quoteAsset).toBe('USDT');
});

test('bounds in steps and minimum notional in tick×step units', () => {
  expect(markets.get('BTC')).toMatchObject({
    tickSize: '0.01',
    stepSize: '0.00001',
    minQty: 1,
    maxQty: 100_000_000,
    minNotional: 50_000_000n, // 5 USDT / (0.01 × 0.00001)
  });
  expect(markets.get('ETH')).toMatchObject({
    minQty: 1,
    maxQty: 100_000_000,
    minNotional: 5_000_000n,
  });
});

test('minimum notional rounds up to whole tick×step units', () => {
  const market = buildMarket('X', {
    quoteAsset: 'USDT',
    tickSize: '0.3',
    stepSize: '1',
    minQty: '1',
    maxQty: '10',
    minNotional: '1',
    makerFee: '0.001',
    takerFee: '0.001',
    marketPriceBand: '0.05',
    retryUnmatched: { attempts: 0, backoffMs: 0 },
  });
  expect(market.minNotional).toBe(4n); // 1 / 0.3 = 3.33… → 4
});

test('prices and quantities print with the market scale', () => {
  const btc = markets.get('BTC')!;
  expect(formatPrice(btc, 1_000_050)).toBe('10000.50');
  expect(formatQty(btc, 150_000)).toBe('1.50000');
});

test('malformed config is refused', () => {
  expect(() => parseMarkets({ BTC: { ...marketsJson.BTC, tickSize: '1e-2' } })).toThrow();
  expect(() => parseMarkets({ btc: marketsJson.BTC })).toThrow();
  expect(() => parseMarkets({ BTC: { ...marketsJson.BTC, extra: 1 } })).toThrow();
  expect(() => parseMarkets({ BTC: { ...marketsJson.BTC, minQty: '0.000001' } })).toThrow(
    /multiple of 0.00001/,
  );
});
