// The ledger changes of an order's life (pure): its hold when placed, each fill settled on its own
// side with the commission credited to the fee account, and the release of what is left when it
// ends. Each change has an id of its own (per order, per trade and side), so a redelivered event
// or a re-run step applies nothing twice. A BUY's fill takes exactly its cost out of the hold; the
// difference to its limit comes back when the order ends (its last fill closes the hold, as a
// cancel or an expiry does).
import { fillSettlement, type Hold } from '../domain/balances';
import type { MarketAssets } from '../domain/assets';
import type { Market } from '../domain/markets';
import type { TradeEvent } from '../domain/order';
import type { LedgerChange } from '../ledger/ledger';

/** The account that receives every commission. */
export const feeAccountID = 'exchange-fees';

/** An order's hold id in its user's ledger. */
export const orderHoldId = (orderId: string): string => `order:${orderId}`;

export function holdChange(userID: string, orderId: string, hold: Hold): LedgerChange {
  const holdId = orderHoldId(orderId);
  return {
    userID,
    changeId: `hold:${holdId}`,
    kind: 'hold',
    ref: orderId,
    balances: [{ asset: hold.asset, free: -hold.amount, locked: hold.amount }],
    holds: [{ holdId, asset: hold.asset, amount: hold.amount }],
  };
}

export function releaseChange(userID: string, orderId: string): LedgerChange {
  const holdId = orderHoldId(orderId);
  return {
    userID,
    changeId: `release:${holdId}`,
    kind: 'release',
    ref: orderId,
    balances: [],
    closeHolds: [holdId],
  };
}

/** One side of one trade: the user's change and, when there is a commission, the fee account's. */
export interface TradeSettlement {
  change: LedgerChange;
  fee: LedgerChange | null;
  commission: { asset: string; amount: bigint };
}

export function tradeSettlement(
  market: Market,
  assets: MarketAssets,
  trade: TradeEvent,
  feeAccount = feeAccountID,
): TradeSettlement {
  const holdId = orderHoldId(trade.orderId);
  const s = fillSettlement(market, assets, holdId, {
    side: trade.side,
    price: trade.lastPrice,
    qty: trade.lastQty,
    maker: trade.maker,
    holdPrice: trade.side === 'BUY' ? trade.lastPrice : null,
  });
  const id = `${trade.tradeId}:${trade.side}`;
  return {
    change: {
      userID: trade.userID,
      changeId: `settle:${id}`,
      kind: 'settle',
      ref: trade.tradeId,
      balances: s.balances,
      holds: [s.hold],
      ...(trade.leavesQty === 0 && { closeHolds: [holdId] }),
    },
    fee:
      s.commission.amount > 0n
        ? {
            userID: feeAccount,
            changeId: `fee:${id}`,
            kind: 'fee',
            ref: trade.tradeId,
            balances: [{ asset: s.commission.asset, free: s.commission.amount, locked: 0n }],
          }
        : null,
    commission: s.commission,
  };
}
