// Market rules: tick and step sizes, quantity bounds, minimum notional, and the retry policy for
// MARKET/IOC orders that find no liquidity. Loaded from config/markets.json.
import { z } from 'zod';
import { formatUnits, parseDecimal, toUnits, unitSize, type Decimal } from './fixedPoint';

const decimalText = z.string().regex(/^\d+(\.\d+)?$/, 'a decimal string like "0.01"');
/** A rate such as a fee or a price band: a decimal below 1 with at most 6 places ("0.001"). */
const rateText = z
  .string()
  .regex(/^0(\.\d{1,6})?$/, 'a decimal rate below 1 with at most 6 places, like "0.001"');

export const retryUnmatchedSchema = z.strictObject({
  attempts: z.int().min(0).max(20),
  backoffMs: z.int().min(0).max(3_600_000),
});
export type RetryUnmatched = z.infer<typeof retryUnmatchedSchema>;

const marketConfigSchema = z.strictObject({
  quoteAsset: z.string().min(1),
  tickSize: decimalText,
  stepSize: decimalText,
  minQty: decimalText,
  maxQty: decimalText,
  minNotional: decimalText,
  /** Commission on the asset received, for the resting side of a trade and for the taker. */
  makerFee: rateText,
  takerFee: rateText,
  /** A MARKET BUY holds, and fills at most, this far above the best ask at its placement. */
  marketPriceBand: rateText,
  retryUnmatched: retryUnmatchedSchema,
});
export const marketsConfigSchema = z.record(
  z.string().regex(/^[A-Z0-9]{2,10}$/),
  marketConfigSchema,
);
export type MarketConfig = z.infer<typeof marketConfigSchema>;

/** A market with its rules in integer units, as the matcher uses them. */
export interface Market {
  /** The market's name, its base asset (e.g. BTC): `coinID` on the wire. */
  name: string;
  quoteAsset: string;
  tickSize: string;
  stepSize: string;
  tick: Decimal;
  step: Decimal;
  /** Bounds in steps. */
  minQty: number;
  maxQty: number;
  /** Minimum price × quantity, in tick×step units (an integer). */
  minNotional: bigint;
  /** Rates in parts per million. */
  makerFeePpm: bigint;
  takerFeePpm: bigint;
  marketPriceBandPpm: bigint;
  retryUnmatched: RetryUnmatched;
}

/** "0.001" → 1000n parts per million. */
export function ppm(rate: string): bigint {
  const [, fraction = ''] = rate.split('.');
  return BigInt(fraction.padEnd(6, '0'));
}

export function buildMarket(name: string, config: MarketConfig): Market {
  const tick = unitSize(config.tickSize);
  const step = unitSize(config.stepSize);
  const minQty = toUnits(config.minQty, step, `${name}.minQty`, 'INVALID_CONFIG', config.stepSize);
  const maxQty = toUnits(config.maxQty, step, `${name}.maxQty`, 'INVALID_CONFIG', config.stepSize);
  // minNotional / (tick × step), rounded up: notional is compared in tick×step units.
  const notionalUnit: Decimal = { units: tick.units * step.units, scale: tick.scale + step.scale };
  const min = parseDecimal(config.minNotional, `${name}.minNotional`, 'INVALID_CONFIG');
  const scale = Math.max(min.scale, notionalUnit.scale);
  const numerator = min.units * 10n ** BigInt(scale - min.scale);
  const denominator = notionalUnit.units * 10n ** BigInt(scale - notionalUnit.scale);
  const minNotional = (numerator + denominator - 1n) / denominator;
  return {
    name,
    quoteAsset: config.quoteAsset,
    tickSize: config.tickSize,
    stepSize: config.stepSize,
    tick,
    step,
    minQty,
    maxQty,
    minNotional,
    makerFeePpm: ppm(config.makerFee),
    takerFeePpm: ppm(config.takerFee),
    marketPriceBandPpm: ppm(config.marketPriceBand),
    retryUnmatched: config.retryUnmatched,
  };
}

export type Markets = ReadonlyMap<string, Market>;

export function parseMarkets(json: unknown): Markets {
  const config = marketsConfigSchema.parse(json);
  return new Map(Object.entries(config).map(([name, c]) => [name, buildMarket(name, c)]));
}

export const formatPrice = (market: Market, ticks: number): string =>
  formatUnits(ticks, market.tick);
export const formatQty = (market: Market, steps: number | bigint): string =>
  formatUnits(steps, market.step);
