// Assets and their precision (config/assets.json): balances are integers of an asset's smallest
// decimal, on the wire decimal strings with exactly that many places.
import { z } from 'zod';
import { FieldError } from './errors';
import { formatScaled, parseDecimal } from './fixedPoint';
import type { Market } from './markets';

export const assetName = z.string().regex(/^[A-Z0-9]{2,10}$/, 'an asset like "USDT"');

const assetsConfigSchema = z.record(
  assetName,
  z.strictObject({ decimals: z.int().min(0).max(18) }),
);

export interface Asset {
  name: string;
  decimals: number;
}
export type Assets = ReadonlyMap<string, Asset>;

export function parseAssets(json: unknown): Assets {
  const config = assetsConfigSchema.parse(json);
  return new Map(Object.entries(config).map(([name, c]) => [name, { name, decimals: c.decimals }]));
}

/** An amount in the asset's units as a decimal string: (150000000n, 8 decimals) → "1.50000000". */
export const formatAmount = (asset: Asset, units: bigint): string =>
  formatScaled(units, asset.decimals);

/** A positive decimal amount of `asset`, exactly, in its units; `field` names it in the error. */
export function parseAmount(asset: Asset, input: unknown, field: string, code: string): bigint {
  const value = parseDecimal(input, field, code);
  if (value.scale > asset.decimals) {
    throw new FieldError(code, `${field} has more than ${asset.decimals} decimals`, field);
  }
  const units = value.units * 10n ** BigInt(asset.decimals - value.scale);
  if (units === 0n) throw new FieldError(code, `${field} must be positive`, field);
  return units;
}

/** How a market's ticks and steps become amounts of its two assets. */
export interface MarketAssets {
  base: Asset;
  quote: Asset;
  /** Base units in one step of quantity. */
  baseUnitsPerStep: bigint;
  /** Quote units in one tick × one step (price × quantity). */
  quoteUnitsPerTickStep: bigint;
}

/** Exact, or throws: a step must be whole base units and a tick × step whole quote units. */
export function marketAssets(market: Market, assets: Assets): MarketAssets {
  const base = assets.get(market.name);
  const quote = assets.get(market.quoteAsset);
  if (!base || !quote) {
    throw new Error(
      `market ${market.name}: assets ${market.name} and ${market.quoteAsset} must be configured`,
    );
  }
  const unitsOf = (units: bigint, scale: number, asset: Asset, what: string): bigint => {
    const shift = asset.decimals - scale;
    if (shift < 0)
      throw new Error(`market ${market.name}: ${what} is finer than ${asset.name} has decimals`);
    return units * 10n ** BigInt(shift);
  };
  return {
    base,
    quote,
    baseUnitsPerStep: unitsOf(market.step.units, market.step.scale, base, 'a step'),
    quoteUnitsPerTickStep: unitsOf(
      market.tick.units * market.step.units,
      market.tick.scale + market.step.scale,
      quote,
      'a tick × step',
    ),
  };
}
