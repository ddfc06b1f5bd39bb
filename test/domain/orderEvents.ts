// Orders and the matcher's events for them, built as the gateway and the matcher would, for the
// pure tests of the order's state and its presenter.
import marketsJson from '../../config/markets.json';
import { parseMarkets } from '../../domain/markets';
import {
  parseOrder,
  toAcceptedOrder,
  type AcceptedOrder,
  type MatcherEvent,
} from '../../domain/order';
import type { OrderState } from '../../domain/orderState';

const markets = parseMarkets(marketsJson);

/** A BTC order of user1, accepted at t = 1000. */
export const testOrder = (params: Record<string, unknown>): AcceptedOrder =>
  toAcceptedOrder(parseOrder({ userID: 'user1', coinID: 'BTC', ...params }, markets), 1_000);

/** An event of the order's first command, at t = 2000 + orderSeq. */
export function matcherEvent(
  state: OrderState,
  orderSeq: number,
  fields: Record<string, unknown>,
): MatcherEvent {
  return {
    seq: orderSeq,
    market: state.order.market,
    userID: state.order.userID,
    orderId: state.order.orderId,
    orderSeq,
    commandId: `${state.workflowId}#1`,
    time: 2_000 + orderSeq,
    ...fields,
  } as MatcherEvent;
}

export const newEvent = (state: OrderState): MatcherEvent =>
  matcherEvent(state, 1, {
    event: 'NEW',
    side: state.order.side,
    orderType: state.order.orderType,
    timeInForce: state.order.timeInForce,
    price: state.order.price,
    quantity: state.order.quantity,
  });

/** A taker fill at 30000.00 unless told; `filled` defaults to what the state has filled plus qty. */
export const tradeEvent = (
  state: OrderState,
  orderSeq: number,
  fill: { qty: number; price?: number; filled?: number },
): MatcherEvent => {
  const filled = fill.filled ?? state.filled + fill.qty;
  return matcherEvent(state, orderSeq, {
    event: 'TRADE',
    tradeId: `BTC-${orderSeq}`,
    side: state.order.side,
    lastQty: fill.qty,
    lastPrice: fill.price ?? 3_000_000,
    maker: false,
    filledQty: filled,
    leavesQty: state.order.quantity - filled,
  });
};

/** The remainder expired: nothing (more) to match against. */
export const noLiquidityEvent = (state: OrderState, orderSeq: number): MatcherEvent =>
  matcherEvent(state, orderSeq, {
    event: 'EXPIRED',
    reason: 'NO_LIQUIDITY',
    filledQty: state.filled,
    expiredQty: state.leaves,
  });
