// One readable line per execution report or order snapshot for the terminal client:
//   12:00:01 NEW              BUY 0.5 BTC @ 30000.00  filled 0/0.5
//   12:00:03 PARTIALLY_FILLED BUY 0.5 BTC @ 30000.00  filled 0.2/0.5  last 0.2 @ 29990.00  trade 17
import type { ExecutionReport, OrderSnapshot } from '../domain/orderPresenter';

/** A quantity without trailing zeros: "0.50000" → "0.5", "5.00000" → "5". */
export function trimQty(qty: string): string {
  return qty.includes('.') ? qty.replace(/0+$/, '').replace(/\.$/, '') : qty;
}

const clock = (epochMs: number): string => new Date(epochMs).toTimeString().slice(0, 8);

function orderText(order: {
  side: string;
  quantity: string;
  coinID: string;
  price: string | null;
  orderType: string;
  timeInForce: string;
}): string {
  const price = order.price === null ? 'MARKET' : `@ ${order.price}`;
  // The defaults need no label: LIMIT is GTC, MARKET (shown in place of the price) is IOC.
  let kind = ` ${order.orderType}/${order.timeInForce}`;
  if (order.orderType === 'MARKET')
    kind = order.timeInForce === 'IOC' ? '' : ` ${order.timeInForce}`;
  else if (order.orderType === 'LIMIT' && order.timeInForce === 'GTC') kind = '';
  return `${order.side} ${trimQty(order.quantity)} ${order.coinID} ${price}${kind}`;
}

export function formatReport(r: ExecutionReport): string {
  const parts = [
    `${clock(r.time)} ${r.status.padEnd(16)} ${orderText(r)}`,
    `filled ${trimQty(r.filledQty)}/${trimQty(r.quantity)}`,
  ];
  if (r.lastQty !== null && r.lastPrice !== null)
    parts.push(`last ${trimQty(r.lastQty)} @ ${r.lastPrice}`);
  if (r.tradeId !== null) parts.push(`trade ${r.tradeId}`);
  if (r.rejectReason !== null) parts.push(`(${r.rejectReason})`);
  parts.push(`#${r.orderId}`);
  return parts.join('  ');
}

export function formatSnapshot(s: OrderSnapshot): string {
  const parts = [
    `${clock(s.updatedAt)} ${s.status.padEnd(16)} ${orderText(s)}`,
    `filled ${trimQty(s.filledQty)}/${trimQty(s.quantity)}`,
  ];
  if (s.avgPrice !== null) parts.push(`avg ${s.avgPrice}`);
  const reason = s.rejectReason ?? (s.status === 'EXPIRED' ? s.expireReason : null);
  if (reason) parts.push(`(${reason})`);
  parts.push(`#${s.orderId}`);
  return parts.join('  ');
}

/** One asset of an account: `USDT   free 100000.00000000  locked 0.00000000`. */
export function formatBalance(b: { asset: string; free: string; locked: string }): string {
  return `${b.asset.padEnd(6)} free ${b.free}  locked ${b.locked}`;
}
