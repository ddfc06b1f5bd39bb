// The wire formats between matcher/book.ts and matcher/lua/apply.lua: commands as script
// arguments, and applied entries (each command's events, compact) back to full events.
import type {
  ExpireReason,
  MatcherCommand,
  MatcherEvent,
  OrderType,
  RejectCode,
  Side,
  TimeInForce,
} from '../domain/order';

/**
 * A command as apply.lua's argument: a JSON array of kind ('p' place, 'c' cancel), ids, then
 * (place) the order's fields. Values keep their JSON types, so the script validates them as sent.
 */
export function commandArg(cmd: MatcherCommand): string {
  if (cmd.cmd === 'place')
    return JSON.stringify([
      'p',
      cmd.commandId,
      cmd.coinID,
      cmd.userID,
      cmd.orderId,
      cmd.side,
      cmd.orderType,
      cmd.timeInForce,
      cmd.selfTradePrevention,
      cmd.price,
      cmd.quantity,
      cmd.attempt,
      cmd.issuedAt ?? null,
    ]);
  if (cmd.cmd === 'cancel')
    return JSON.stringify(['c', cmd.commandId, cmd.coinID, cmd.userID, cmd.orderId]);
  return JSON.stringify(cmd); // not a command kind the script knows: it refuses the call
}

const kinds = [
  undefined,
  'NEW',
  'TRADE',
  'CANCELED',
  'EXPIRED',
  'REJECTED',
  'CANCEL_REJECTED',
] as const;

type Compact = [number, number, number, number, string, string, ...unknown[]];

/**
 * The events of an applied entry, in order: a finished entry ('[…]') or an in-progress one
 * ('{"inProgress":true,"events":[…]}'). Events are compact arrays (apply.lua's header lists
 * them) named by the entry's command and the book's market, or — written by earlier versions —
 * whole event objects.
 */
export function entryEvents(entry: string, commandId: string, coinID: string): MatcherEvent[] {
  const parsed = JSON.parse(entry) as unknown[] | { events?: unknown[] };
  const events = Array.isArray(parsed) ? parsed : parsed.events;
  if (!Array.isArray(events))
    throw new Error(`unreadable applied entry of ${commandId}: ${entry.slice(0, 200)}`);
  return events.map((e) =>
    Array.isArray(e) ? expand(e as Compact, commandId, coinID) : (e as MatcherEvent),
  );
}

function expand(e: Compact, commandId: string, coinID: string): MatcherEvent {
  const [kind, seq, orderSeq, time, userID, orderId] = e;
  const event = kinds[kind];
  const base = { seq, coinID, userID, orderId, orderSeq, commandId, time };
  switch (event) {
    case 'NEW': {
      const [, , , , , , side, orderType, timeInForce, price, quantity] = e;
      return {
        event,
        ...base,
        side: side as Side,
        orderType: orderType as OrderType,
        timeInForce: timeInForce as TimeInForce,
        price: price as number | null,
        quantity: quantity as number,
      };
    }
    case 'TRADE': {
      const [, , , , , , tradeSeq, side, lastQty, lastPrice, maker, filledQty, leavesQty] = e;
      return {
        event,
        ...base,
        tradeId: `${coinID}-${tradeSeq as number}`,
        side: side as Side,
        lastQty: lastQty as number,
        lastPrice: lastPrice as number,
        maker: maker === 1,
        filledQty: filledQty as number,
        leavesQty: leavesQty as number,
      };
    }
    case 'CANCELED':
      return { event, ...base, filledQty: e[6] as number };
    case 'EXPIRED':
      return {
        event,
        ...base,
        reason: e[6] as ExpireReason,
        filledQty: e[7] as number,
        expiredQty: e[8] as number,
      };
    case 'REJECTED':
      return {
        event,
        ...base,
        coinID: e[8] as string,
        reason: e[6] as RejectCode,
        msg: e[7] as string,
      };
    case 'CANCEL_REJECTED':
      return {
        event,
        ...base,
        coinID: e[8] as string,
        reason: 'UNKNOWN_ORDER',
        msg: e[7] as string,
      };
    default:
      throw new Error(`unreadable event of ${commandId}: ${JSON.stringify(e).slice(0, 200)}`);
  }
}
