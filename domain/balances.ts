// What an order holds and what a fill moves, in asset units (pure; the ledger applies it).
// A BUY holds price × quantity of the quote asset, a SELL its quantity of the base asset. A fill
// settles both sides: the buyer's held quote goes to the seller, the seller's held base to the
// buyer; a BUY filled below its hold price gets the difference back; the commission is charged on
// the asset received, at the maker or taker rate, rounded up to the asset's unit.
import type { MarketAssets } from './assets';
import type { Market } from './markets';
import type { Side } from './orderVocabulary';

/** A change of a user's free and locked amounts of one asset. */
export interface BalanceDelta {
  asset: string;
  free: bigint;
  locked: bigint;
}

/** A change of what an order (or a withdrawal) still holds. */
export interface HoldDelta {
  holdId: string;
  asset: string;
  amount: bigint;
}

export interface Hold {
  asset: string;
  amount: bigint;
}

export interface OrderTermsForHold {
  side: Side;
  /** Steps. */
  quantity: number;
  /** Ticks the order holds at: its limit price, or a MARKET BUY's protection price. */
  holdPrice: number | null;
}

/** What an order holds while it is open. A BUY needs a price (its limit or its protection price). */
export function orderHold(assets: MarketAssets, order: OrderTermsForHold): Hold {
  if (order.side === 'SELL') {
    return { asset: assets.base.name, amount: BigInt(order.quantity) * assets.baseUnitsPerStep };
  }
  if (order.holdPrice === null) throw new Error('a BUY holds at a price');
  return {
    asset: assets.quote.name,
    amount: BigInt(order.holdPrice) * BigInt(order.quantity) * assets.quoteUnitsPerTickStep,
  };
}

/**
 * A MARKET BUY's protection price: the best ask at placement raised by the market's band, rounded
 * down to a tick. The order holds at it and never fills above it.
 */
export function marketBuyPrice(market: Market, bestAskTicks: number): number {
  return Number((BigInt(bestAskTicks) * (1_000_000n + market.marketPriceBandPpm)) / 1_000_000n);
}

/** The commission on `received` units at `ratePpm`, rounded up. */
export function commission(received: bigint, ratePpm: bigint): bigint {
  return (received * ratePpm + 999_999n) / 1_000_000n;
}

export interface Fill {
  side: Side;
  /** Ticks and steps of the trade. */
  price: number;
  qty: number;
  maker: boolean;
  /** The ticks the order holds at (BUY); the difference to the trade price comes back. */
  holdPrice: number | null;
}

/** One side of a fill: the user's balance changes, the hold's decrease and the commission. */
export interface FillSettlement {
  balances: BalanceDelta[];
  hold: HoldDelta;
  commission: { asset: string; amount: bigint };
}

export function fillSettlement(
  market: Market,
  assets: MarketAssets,
  holdId: string,
  fill: Fill,
): FillSettlement {
  const ratePpm = fill.maker ? market.makerFeePpm : market.takerFeePpm;
  const qty = BigInt(fill.qty);
  const cost = BigInt(fill.price) * qty * assets.quoteUnitsPerTickStep;
  const baseAmount = qty * assets.baseUnitsPerStep;
  if (fill.side === 'BUY') {
    if (fill.holdPrice === null) throw new Error('a BUY holds at a price');
    if (fill.price > fill.holdPrice) throw new Error('a BUY never fills above its hold price');
    const held = BigInt(fill.holdPrice) * qty * assets.quoteUnitsPerTickStep;
    const fee = commission(baseAmount, ratePpm);
    return {
      balances: [
        { asset: assets.quote.name, free: held - cost, locked: -held },
        { asset: assets.base.name, free: baseAmount - fee, locked: 0n },
      ],
      hold: { holdId, asset: assets.quote.name, amount: -held },
      commission: { asset: assets.base.name, amount: fee },
    };
  }
  const fee = commission(cost, ratePpm);
  return {
    balances: [
      { asset: assets.base.name, free: 0n, locked: -baseAmount },
      { asset: assets.quote.name, free: cost - fee, locked: 0n },
    ],
    hold: { holdId, asset: assets.base.name, amount: -baseAmount },
    commission: { asset: assets.quote.name, amount: fee },
  };
}

/** Gives back what an ended order still holds. */
export function releaseOf(
  holdId: string,
  remaining: Hold,
): { balances: BalanceDelta[]; hold: HoldDelta } {
  return {
    balances: [{ asset: remaining.asset, free: remaining.amount, locked: -remaining.amount }],
    hold: { holdId, asset: remaining.asset, amount: -remaining.amount },
  };
}
