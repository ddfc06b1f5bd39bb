// A plain TypeScript model of matcher/lua/apply.lua: the same rules written the obvious way
// (arrays, no budget, no Redis). Property tests run random command streams through both and
// require the same events and the same book. `time` is 0 here; comparisons ignore it.
import type { BookSnapshot, OrderRecord } from '../../matcher/book';
import type { Market } from '../../domain/markets';
import {
  orderKeyFor,
  orderTypes,
  selfTradePreventionModes,
  sides,
  timeInForces,
  type ExpireReason,
  type MatcherCommand,
  type MatcherEvent,
  type RejectCode,
} from '../../domain/order';

interface Entry {
  score: number;
  member: string;
  key: string;
}

const isSafeInt = (v: unknown, min: number): v is number =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= min;

const oneOf = <T extends string>(list: readonly T[], v: unknown): v is T =>
  typeof v === 'string' && (list as readonly string[]).includes(v);

const byPriority = (a: Entry, b: Entry): number =>
  a.score - b.score || (a.member < b.member ? -1 : a.member > b.member ? 1 : 0);

export class ReferenceBook {
  readonly orders = new Map<string, OrderRecord>();
  readonly applied = new Map<string, MatcherEvent[]>();
  /** Every event in outbox order. */
  readonly log: MatcherEvent[] = [];
  eventSeq = 0;
  tradeSeq = 0;
  bookSeq = 0;
  private bids: Entry[] = [];
  private asks: Entry[] = [];
  private out: MatcherEvent[] = [];
  private commandId = '';
  /** The market the command being applied names (it may name another). */
  private commandMarket = '';

  constructor(readonly market: Market) {}

  apply(command: MatcherCommand): MatcherEvent[] {
    const previous = this.applied.get(command.commandId);
    if (previous) return previous;
    // What the script sees: the command after a JSON round trip.
    const cmd = JSON.parse(JSON.stringify(command)) as Record<string, unknown>;
    this.out = [];
    this.commandId = command.commandId;
    this.commandMarket = command.market;
    if (cmd.cmd === 'place') this.place(cmd);
    else this.cancel(cmd);
    this.applied.set(command.commandId, this.out);
    return this.out;
  }

  snapshot(): BookSnapshot {
    const records = (entries: Entry[]) => entries.map((e) => ({ ...this.orders.get(e.key)! }));
    return { bids: records(this.bids), asks: records(this.asks) };
  }

  private emit(
    event: string,
    userID: string,
    orderId: string,
    orderSeq: number,
    rest: object,
  ): void {
    this.eventSeq += 1;
    const e = {
      event,
      seq: this.eventSeq,
      market: this.commandMarket,
      userID,
      orderId,
      orderSeq,
      commandId: this.commandId,
      time: 0,
      ...rest,
    } as MatcherEvent;
    this.out.push(e);
    this.log.push(e);
  }

  private side(side: string): Entry[] {
    return side === 'BUY' ? this.bids : this.asks;
  }

  private opposite(side: string): Entry[] {
    return side === 'BUY' ? this.asks : this.bids;
  }

  private acceptable(taker: { side: string; price: number | null }, entry?: Entry): boolean {
    if (!entry) return false;
    const price = taker.side === 'BUY' ? entry.score : -entry.score;
    if (taker.price === null) return true;
    return taker.side === 'BUY' ? price <= taker.price : price >= taker.price;
  }

  private removeResting(record: OrderRecord): void {
    const list = this.side(record.side);
    list.splice(
      list.findIndex((e) => e.member === record.member),
      1,
    );
    record.member = null;
  }

  private expire(record: OrderRecord, reason: ExpireReason): void {
    record.orderSeq += 1;
    record.status = 'EXPIRED';
    record.reason = reason;
    this.emit('EXPIRED', record.userID, record.orderId, record.orderSeq, {
      reason,
      filledQty: record.filled,
      expiredQty: record.quantity - record.filled,
    });
  }

  private fill(
    record: OrderRecord,
    qty: number,
    price: number,
    tradeId: string,
    maker: boolean,
  ): void {
    record.filled += qty;
    record.orderSeq += 1;
    record.status = record.filled === record.quantity ? 'FILLED' : 'PARTIALLY_FILLED';
    this.emit('TRADE', record.userID, record.orderId, record.orderSeq, {
      tradeId,
      side: record.side,
      lastQty: qty,
      lastPrice: price,
      maker,
      filledQty: record.filled,
      leavesQty: record.quantity - record.filled,
    });
  }

  private sweep(t: OrderRecord): void {
    const opp = this.opposite(t.side);
    const stp = t.selfTradePrevention;
    if (t.timeInForce === 'FOK') {
      let acc = 0;
      for (let i = 0; acc < t.quantity - t.filled; i++) {
        const entry = opp[i];
        if (!this.acceptable(t, entry)) return this.expire(t, 'FOK_NOT_FILLABLE');
        const maker = this.orders.get(entry!.key)!;
        if (maker.userID === t.userID && stp !== 'NONE') {
          if (stp !== 'EXPIRE_MAKER') return this.expire(t, 'FOK_NOT_FILLABLE');
        } else acc += maker.quantity - maker.filled;
      }
    }
    while (t.filled < t.quantity) {
      const entry = opp[0];
      if (!this.acceptable(t, entry)) break;
      const maker = this.orders.get(entry!.key)!;
      if (maker.userID === t.userID && stp !== 'NONE') {
        if (stp === 'EXPIRE_MAKER') {
          this.removeResting(maker);
          this.expire(maker, 'SELF_TRADE_PREVENTION');
          continue;
        }
        this.expire(t, 'SELF_TRADE_PREVENTION');
        if (stp === 'EXPIRE_BOTH') {
          this.removeResting(maker);
          this.expire(maker, 'SELF_TRADE_PREVENTION');
        }
        return;
      }
      const qty = Math.min(t.quantity - t.filled, maker.quantity - maker.filled);
      this.tradeSeq += 1;
      const tradeId = `${this.market.name}-${this.tradeSeq}`;
      this.fill(t, qty, maker.price!, tradeId, false);
      this.fill(maker, qty, maker.price!, tradeId, true);
      if (maker.status === 'FILLED') this.removeResting(maker);
    }
    if (t.filled < t.quantity) {
      if (t.timeInForce === 'GTC') {
        this.bookSeq += 1;
        const key = orderKeyFor(t.userID, t.orderId);
        t.member = `${String(this.bookSeq).padStart(16, '0')}:${key}`;
        const list = this.side(t.side);
        list.push({ score: t.side === 'BUY' ? -t.price! : t.price!, member: t.member, key });
        list.sort(byPriority);
      } else this.expire(t, 'NO_LIQUIDITY');
    }
  }

  private place(c: Record<string, unknown>): void {
    const userID = c.userID as string;
    const orderId = c.orderId as string;
    const reject = (reason: RejectCode, msg: string, orderSeq: number) =>
      this.emit('REJECTED', userID, orderId, orderSeq, { reason, msg });
    if (c.market !== this.market.name)
      return reject('UNKNOWN_MARKET', `no book for market ${String(c.market)}`, 1);
    const price = c.price ?? null;
    const attempt = c.attempt ?? 0;
    const key = orderKeyFor(userID, orderId);
    const r = this.orders.get(key);
    if (r) {
      if (
        r.status === 'EXPIRED' &&
        r.reason === 'NO_LIQUIDITY' &&
        isSafeInt(attempt, 0) &&
        attempt > r.attempt &&
        c.side === r.side &&
        c.orderType === r.orderType &&
        c.timeInForce === r.timeInForce &&
        c.selfTradePrevention === r.selfTradePrevention &&
        price === r.price &&
        c.quantity === r.quantity - r.filled
      ) {
        r.attempt = attempt;
        r.reason = null;
        return this.sweep(r);
      }
      return reject('DUPLICATE_ORDER_ID', `orderId ${orderId} is already used by ${userID}`, 0);
    }
    const { side, orderType, timeInForce, selfTradePrevention: stp, quantity } = c;
    if (!oneOf(sides, side)) return reject('INVALID_ORDER', 'side must be BUY or SELL', 1);
    if (!oneOf(orderTypes, orderType))
      return reject('INVALID_ORDER', 'orderType must be LIMIT, MARKET or LIMIT_MAKER', 1);
    if (!oneOf(timeInForces, timeInForce))
      return reject('INVALID_ORDER', 'timeInForce must be GTC, IOC or FOK', 1);
    if (!oneOf(selfTradePreventionModes, stp))
      return reject(
        'INVALID_ORDER',
        'selfTradePrevention must be EXPIRE_MAKER, EXPIRE_TAKER, EXPIRE_BOTH or NONE',
        1,
      );
    if (!isSafeInt(attempt, 0))
      return reject('INVALID_ORDER', 'attempt must be a non-negative integer', 1);
    if (orderType === 'MARKET' && timeInForce === 'GTC')
      return reject('INVALID_ORDER', 'a MARKET order is IOC or FOK, never GTC', 1);
    if (orderType === 'LIMIT_MAKER' && timeInForce !== 'GTC')
      return reject('INVALID_ORDER', 'a LIMIT_MAKER order rests on the book: GTC only', 1);
    const { minQty, maxQty, minNotional } = this.market;
    if (!isSafeInt(quantity, 1) || quantity < minQty || quantity > maxQty)
      return reject(
        'INVALID_QUANTITY',
        `quantity must be a whole number of steps from ${minQty} to ${maxQty}`,
        1,
      );
    if (orderType === 'MARKET') {
      if (price !== null) return reject('INVALID_PRICE', 'a MARKET order takes no price', 1);
    } else {
      if (!isSafeInt(price, 1))
        return reject('INVALID_PRICE', 'price must be a positive whole number of ticks', 1);
      if (BigInt(price) * BigInt(quantity) < minNotional)
        return reject(
          'MIN_NOTIONAL',
          `price * quantity is below the minimum notional of ${minNotional}`,
          1,
        );
    }
    const limit = price;
    if (
      orderType === 'LIMIT_MAKER' &&
      this.acceptable({ side, price: limit }, this.opposite(side)[0])
    )
      return reject('WOULD_CROSS', 'a LIMIT_MAKER order would trade at once', 1);
    const t: OrderRecord = {
      userID,
      orderId,
      side,
      orderType,
      timeInForce,
      selfTradePrevention: stp,
      price: limit,
      quantity,
      filled: 0,
      status: 'NEW',
      orderSeq: 1,
      attempt,
      member: null,
      reason: null,
    };
    this.orders.set(key, t);
    this.emit('NEW', userID, orderId, 1, { side, orderType, timeInForce, price: limit, quantity });
    this.sweep(t);
  }

  private cancel(c: Record<string, unknown>): void {
    const userID = c.userID as string;
    const orderId = c.orderId as string;
    const record =
      c.market === this.market.name ? this.orders.get(orderKeyFor(userID, orderId)) : undefined;
    if (!record || record.member === null) {
      return this.emit('CANCEL_REJECTED', userID, orderId, 0, {
        reason: 'UNKNOWN_ORDER',
        msg: `no open order ${orderId} of ${userID}`,
      });
    }
    this.removeResting(record);
    record.status = 'CANCELED';
    record.orderSeq += 1;
    this.emit('CANCELED', userID, orderId, record.orderSeq, { filledQty: record.filled });
  }
}
