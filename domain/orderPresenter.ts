// The order written for people: the execution reports and snapshots clients receive (decimal
// strings in the market's units) and the lines Temporal UI shows. Pure; reads domain/orderState.ts.
import { formatScaled, formatUnits, unitSize, type Decimal } from './fixedPoint';
import type { AcceptedOrder, ExecType, OrderStatus } from './order';
import { awaitingRetry, type OrderState, type StatusChange } from './orderState';

/** What makes an order the order it is, as the client wrote it (price and quantity as decimals). */
export interface OrderTerms {
  orderId: string;
  userID: string;
  coinID: string;
  side: AcceptedOrder['side'];
  orderType: AcceptedOrder['orderType'];
  timeInForce: AcceptedOrder['timeInForce'];
  selfTradePrevention: AcceptedOrder['selfTradePrevention'];
  /** null for MARKET. */
  price: string | null;
  quantity: string;
}

/** What the client sees pushed on every change (numbers as decimal strings). */
export interface ExecutionReport extends Omit<OrderTerms, 'selfTradePrevention'> {
  event: 'executionReport';
  status: OrderStatus;
  execType: ExecType;
  filledQty: string;
  lastQty: string | null;
  lastPrice: string | null;
  tradeId: string | null;
  rejectReason: string | null;
  /** Rises by one per report of this order, so a client drops duplicates. */
  seq: number;
  time: number;
}

/** The answer to `order.status` and the workflow's result. */
export interface OrderSnapshot extends OrderTerms {
  workflowId: string;
  status: OrderStatus;
  filledQty: string;
  leavesQty: string;
  /** Volume-weighted average fill price; null before the first fill. */
  avgPrice: string | null;
  /** Sum of price × quantity of the fills, in the quote asset. */
  cumQuote: string;
  fills: Array<{ tradeId: string; qty: string; price: string; maker: boolean; time: number }>;
  fillCount: number;
  rejectReason: string | null;
  expireReason: string | null;
  /** Re-placements of an unmatched MARKET/IOC remainder so far. */
  retries: number;
  createdAt: number;
  updatedAt: number;
}

const termFields = [
  'orderId',
  'userID',
  'coinID',
  'side',
  'orderType',
  'timeInForce',
  'selfTradePrevention',
  'price',
  'quantity',
] as const satisfies ReadonlyArray<keyof OrderTerms>;

interface Units {
  tick: Decimal;
  step: Decimal;
}
const unitsOf = (order: AcceptedOrder): Units => ({
  tick: unitSize(order.tickSize),
  step: unitSize(order.stepSize),
});

export function orderTerms(order: AcceptedOrder): OrderTerms {
  const { tick, step } = unitsOf(order);
  return {
    orderId: order.orderId,
    userID: order.userID,
    coinID: order.market,
    side: order.side,
    orderType: order.orderType,
    timeInForce: order.timeInForce,
    selfTradePrevention: order.selfTradePrevention,
    price: order.price === null ? null : formatUnits(order.price, tick),
    quantity: formatUnits(order.quantity, step),
  };
}

/**
 * Whether two submissions of an order id are the same order (an idempotent re-send), not another
 * order under a used id: the same terms. A snapshot is terms too, so a finished order compares.
 */
export function sameTerms(a: OrderTerms, b: OrderTerms): boolean {
  return termFields.every((field) => a[field] === b[field]);
}

export function executionReport(order: AcceptedOrder, change: StatusChange): ExecutionReport {
  const { tick, step } = unitsOf(order);
  const terms = orderTerms(order);
  return {
    event: 'executionReport',
    orderId: terms.orderId,
    userID: terms.userID,
    coinID: terms.coinID,
    side: terms.side,
    orderType: terms.orderType,
    timeInForce: terms.timeInForce,
    status: change.status,
    execType: change.execType,
    price: terms.price,
    quantity: terms.quantity,
    filledQty: formatUnits(change.filled, step),
    lastQty: change.fill ? formatUnits(change.fill.qty, step) : null,
    lastPrice: change.fill ? formatUnits(change.fill.price, tick) : null,
    tradeId: change.fill?.tradeId ?? null,
    rejectReason: change.rejectReason,
    seq: change.seq,
    time: change.time,
  };
}

/** Average price with two digits more than the tick, trailing zeros trimmed to the tick. */
function avgPrice(state: OrderState, tick: Decimal): string | null {
  if (state.filled === 0) return null;
  const extra = 2;
  const scaled = (state.cumQuote * tick.units * 10n ** BigInt(extra)) / BigInt(state.filled);
  const text = formatScaled(scaled, tick.scale + extra);
  return text.replace(new RegExp(`0{1,${extra}}$`), '').replace(/\.$/, '');
}

export function orderSnapshot(state: OrderState): OrderSnapshot {
  const { tick, step } = unitsOf(state.order);
  return {
    workflowId: state.workflowId,
    ...orderTerms(state.order),
    status: state.status,
    filledQty: formatUnits(state.filled, step),
    leavesQty: formatUnits(state.leaves, step),
    avgPrice: avgPrice(state, tick),
    cumQuote: formatScaled(state.cumQuote * tick.units * step.units, tick.scale + step.scale),
    fills: state.recentFills.map((fill) => ({
      tradeId: fill.tradeId,
      qty: formatUnits(fill.qty, step),
      price: formatUnits(fill.price, tick),
      maker: fill.maker,
      time: fill.time,
    })),
    fillCount: state.fillCount,
    rejectReason: state.rejectReason,
    expireReason: state.expireReason,
    retries: state.retries,
    createdAt: state.order.acceptedAt,
    updatedAt: state.updatedAt,
  };
}

/** Temporal UI's current details: `PARTIALLY_FILLED 2/5, avg 100.00`. */
export function orderDetails(state: OrderState): string {
  const s = orderSnapshot(state);
  const avg = s.avgPrice === null ? '' : `, avg ${s.avgPrice}`;
  const reason = s.rejectReason ?? (s.status === 'EXPIRED' ? s.expireReason : null);
  const retry =
    state.phase === awaitingRetry
      ? ` (no liquidity, retry ${state.retries + 1}/${state.order.retryUnmatched.attempts} pending)`
      : '';
  return `${s.status} ${trimZeros(s.filledQty)}/${trimZeros(s.quantity)}${avg}${reason ? ` (${reason})` : ''}${retry}`;
}

/** Temporal UI's static summary: `BUY 5 BTC @ 100.00 · user1`, `SELL 1 BTC MARKET · bob`, `… LIMIT/IOC`. */
export function orderSummary(order: AcceptedOrder): string {
  const terms = orderTerms(order);
  const price = terms.price === null ? 'MARKET' : `@ ${terms.price}`;
  const usual =
    (terms.orderType === 'LIMIT' && terms.timeInForce === 'GTC') ||
    (terms.orderType === 'MARKET' && terms.timeInForce === 'IOC');
  const type = usual ? '' : ` ${terms.orderType}/${terms.timeInForce}`;
  return `${terms.side} ${trimZeros(terms.quantity)} ${terms.coinID} ${price}${type} · ${terms.userID}`;
}

/** "0.40000" → "0.4", "5.00000" → "5": quantities read as people write them. */
const trimZeros = (decimal: string): string =>
  decimal.includes('.') ? decimal.replace(/\.?0+$/, '') : decimal;
