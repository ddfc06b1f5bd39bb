// The life of one order as its workflow sees it: matcher events applied exactly once and in order,
// the status they imply, and the execution reports owed to the client. Pure and deterministic,
// so the workflow can hold it and replay it.
import { formatScaled, formatUnits, unitSize } from './fixedPoint';
import {
  terminalStatuses,
  workflowIdFor,
  type AcceptedOrder,
  type ExecType,
  type MatcherEvent,
  type OrderStatus,
  type PlaceCommand,
  type CancelCommand,
} from './order';

/** Fills kept in the snapshot; the full history is in the workflow's events. */
export const recentFillsKept = 50;

export interface FillRecord {
  tradeId: string;
  qty: number;
  price: number;
  maker: boolean;
  time: number;
}

/** What the client sees pushed on every change (numbers as decimal strings). */
export interface ExecutionReport {
  event: 'executionReport';
  orderId: string;
  userID: string;
  coinID: string;
  side: AcceptedOrder['side'];
  orderType: AcceptedOrder['orderType'];
  timeInForce: AcceptedOrder['timeInForce'];
  status: OrderStatus;
  execType: ExecType;
  price: string | null;
  quantity: string;
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
export interface OrderSnapshot {
  workflowId: string;
  orderId: string;
  userID: string;
  coinID: string;
  side: AcceptedOrder['side'];
  orderType: AcceptedOrder['orderType'];
  timeInForce: AcceptedOrder['timeInForce'];
  selfTradePrevention: AcceptedOrder['selfTradePrevention'];
  price: string | null;
  quantity: string;
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

/** Everything the state needs to continue in a new run (continueAsNew); JSON-safe. */
export interface OrderStateData {
  order: AcceptedOrder;
  status: OrderStatus;
  filled: number;
  /** Σ price×qty in tick×step units, as a decimal string (can pass 2^53). */
  cumQuote: string;
  appliedOrderSeq: number;
  /** Events that arrived ahead of a gap in orderSeq, waiting for it. */
  early: MatcherEvent[];
  recentFills: FillRecord[];
  fillCount: number;
  reportSeq: number;
  unpushed: ExecutionReport[];
  rejectReason: string | null;
  expireReason: string | null;
  /** Attempt number of the latest place command (0 = first placement). */
  attempt: number;
  /** Commands sent so far, for command ids and deduplication ids. */
  commandCount: number;
  /** Command ids the matcher has answered (any event carrying the id). */
  answered: string[];
  /** Set when the latest place command's remainder expired with no liquidity and may be retried. */
  unmatchedRemainder: boolean;
  updatedAt: number;
}

export class OrderState {
  private readonly data: OrderStateData;
  private readonly tick;
  private readonly step;

  constructor(orderOrData: AcceptedOrder | OrderStateData) {
    this.data =
      'order' in orderOrData
        ? orderOrData
        : {
            order: orderOrData,
            status: 'PENDING_NEW',
            filled: 0,
            cumQuote: '0',
            appliedOrderSeq: 0,
            early: [],
            recentFills: [],
            fillCount: 0,
            reportSeq: 0,
            unpushed: [],
            rejectReason: null,
            expireReason: null,
            attempt: 0,
            commandCount: 0,
            answered: [],
            unmatchedRemainder: false,
            updatedAt: orderOrData.acceptedAt,
          };
    this.tick = unitSize(this.data.order.tickSize);
    this.step = unitSize(this.data.order.stepSize);
  }

  get order(): AcceptedOrder {
    return this.data.order;
  }
  get status(): OrderStatus {
    return this.data.status;
  }
  get workflowId(): string {
    return workflowIdFor(this.order.userID, this.order.orderId);
  }
  get isTerminal(): boolean {
    return terminalStatuses.has(this.data.status) && !this.data.unmatchedRemainder;
  }
  get leaves(): number {
    return this.order.quantity - this.data.filled;
  }
  get hasUnpushedReports(): boolean {
    return this.data.unpushed.length > 0;
  }
  /** The remainder expired for lack of liquidity and the retry policy allows another attempt. */
  get retryDue(): boolean {
    return this.data.unmatchedRemainder && this.data.attempt < this.order.retryUnmatched.attempts;
  }
  get retries(): number {
    return this.data.attempt;
  }
  isAnswered(commandId: string): boolean {
    return this.data.answered.includes(commandId);
  }

  carryOver(): OrderStateData {
    return JSON.parse(JSON.stringify(this.data)) as OrderStateData;
  }

  // ── Commands ──────────────────────────────────────────────────────────────────────────────

  /** A new command id and the order's identity, shared by every command. */
  private nextCommandBase(): Pick<CancelCommand, 'commandId' | 'orderId' | 'userID' | 'coinID'> {
    this.data.commandCount += 1;
    const { orderId, userID, coinID } = this.order;
    return { commandId: `${this.workflowId}#${this.data.commandCount}`, orderId, userID, coinID };
  }

  placeCommand(): PlaceCommand {
    const o = this.order;
    return {
      cmd: 'place',
      ...this.nextCommandBase(),
      side: o.side,
      orderType: o.orderType,
      timeInForce: o.timeInForce,
      selfTradePrevention: o.selfTradePrevention,
      price: o.price,
      quantity: o.quantity,
      attempt: 0,
    };
  }

  /** Re-places the unfilled remainder of an unmatched MARKET/IOC order. */
  retryCommand(): PlaceCommand {
    if (!this.retryDue) throw new Error('no retry due');
    this.data.attempt += 1;
    this.data.unmatchedRemainder = false;
    this.data.status = this.data.filled > 0 ? 'PARTIALLY_FILLED' : 'NEW';
    return { ...this.placeCommand(), quantity: this.leaves, attempt: this.data.attempt };
  }

  cancelCommand(): CancelCommand {
    return { cmd: 'cancel', ...this.nextCommandBase() };
  }

  /** A cancel while a retry waits: the order is not on the book, so the workflow ends it itself. */
  cancelWhileUnmatched(time: number): void {
    this.data.unmatchedRemainder = false;
    this.data.expireReason = null;
    this.transition('CANCELED', 'CANCELED', time);
  }

  // ── Matcher events ────────────────────────────────────────────────────────────────────────

  /**
   * Applies a matcher event exactly once: duplicates (orderSeq already applied) are dropped, an
   * event ahead of a gap waits until the gap is filled. Returns whether anything changed.
   */
  apply(event: MatcherEvent): boolean {
    if (!this.data.answered.includes(event.commandId)) this.data.answered.push(event.commandId);
    // orderSeq 0: an answer about the order, not a change of it (cancel of nothing, duplicate id).
    if (event.orderSeq === 0) return false;
    if (event.orderSeq <= this.data.appliedOrderSeq) return false;
    if (event.orderSeq > this.data.appliedOrderSeq + 1) {
      if (!this.data.early.some((e) => e.orderSeq === event.orderSeq)) this.data.early.push(event);
      return false;
    }
    this.applyInOrder(event);
    let next: MatcherEvent | undefined;
    while ((next = this.data.early.find((e) => e.orderSeq === this.data.appliedOrderSeq + 1))) {
      this.data.early = this.data.early.filter((e) => e !== next);
      this.applyInOrder(next);
    }
    return true;
  }

  private applyInOrder(event: MatcherEvent): void {
    this.data.appliedOrderSeq = event.orderSeq;
    switch (event.event) {
      case 'NEW':
        this.transition('NEW', 'NEW', event.time);
        break;
      case 'TRADE': {
        this.data.filled = event.filledQty;
        this.data.cumQuote = (
          BigInt(this.data.cumQuote) +
          BigInt(event.lastQty) * BigInt(event.lastPrice)
        ).toString();
        const fill = {
          tradeId: event.tradeId,
          qty: event.lastQty,
          price: event.lastPrice,
          maker: event.maker,
          time: event.time,
        };
        this.data.recentFills = [...this.data.recentFills, fill].slice(-recentFillsKept);
        this.data.fillCount += 1;
        this.transition(
          event.leavesQty === 0 ? 'FILLED' : 'PARTIALLY_FILLED',
          'TRADE',
          event.time,
          fill,
        );
        break;
      }
      case 'CANCELED':
        this.transition('CANCELED', 'CANCELED', event.time);
        break;
      case 'EXPIRED':
        this.data.expireReason = event.reason;
        if (
          event.reason === 'NO_LIQUIDITY' &&
          this.data.attempt < this.order.retryUnmatched.attempts
        ) {
          // Not final yet: the workflow re-places the remainder after a backoff.
          this.data.unmatchedRemainder = true;
          this.data.status = 'EXPIRED';
          this.data.updatedAt = event.time;
        } else {
          this.transition('EXPIRED', 'EXPIRED', event.time);
        }
        break;
      case 'REJECTED':
        this.data.rejectReason = event.reason;
        this.transition('REJECTED', 'REJECTED', event.time);
        break;
      case 'CANCEL_REJECTED':
        break;
    }
  }

  /** Marks the order rejected before it reached the matcher (e.g. enqueue refused for bad input). */
  reject(reason: string, time: number): void {
    this.data.rejectReason = reason;
    this.transition('REJECTED', 'REJECTED', time);
  }

  private transition(
    status: OrderStatus,
    execType: ExecType,
    time: number,
    fill?: FillRecord,
  ): void {
    this.data.status = status;
    this.data.updatedAt = time;
    this.data.reportSeq += 1;
    const o = this.order;
    this.data.unpushed.push({
      event: 'executionReport',
      orderId: o.orderId,
      userID: o.userID,
      coinID: o.coinID,
      side: o.side,
      orderType: o.orderType,
      timeInForce: o.timeInForce,
      status,
      execType,
      price: o.price === null ? null : formatUnits(o.price, this.tick),
      quantity: formatUnits(o.quantity, this.step),
      filledQty: formatUnits(this.data.filled, this.step),
      lastQty: fill ? formatUnits(fill.qty, this.step) : null,
      lastPrice: fill ? formatUnits(fill.price, this.tick) : null,
      tradeId: fill?.tradeId ?? null,
      rejectReason: this.data.rejectReason,
      seq: this.data.reportSeq,
      time,
    });
  }

  /** Reports not yet pushed, oldest first; call `markPushed` after the push succeeded. */
  peekReports(): ExecutionReport[] {
    return [...this.data.unpushed];
  }
  markPushed(count: number): void {
    this.data.unpushed = this.data.unpushed.slice(count);
  }

  // ── Views ─────────────────────────────────────────────────────────────────────────────────

  /** Average price with two digits more than the tick, trailing zeros trimmed to the tick. */
  private avgPrice(): string | null {
    if (this.data.filled === 0) return null;
    const extra = 2;
    const scaled =
      (BigInt(this.data.cumQuote) * this.tick.units * 10n ** BigInt(extra)) /
      BigInt(this.data.filled);
    const text = formatScaled(scaled, this.tick.scale + extra);
    return text.replace(new RegExp(`0{1,${extra}}$`), '').replace(/\.$/, '');
  }

  snapshot(): OrderSnapshot {
    const o = this.order;
    const quoteScale = this.tick.scale + this.step.scale;
    return {
      workflowId: this.workflowId,
      orderId: o.orderId,
      userID: o.userID,
      coinID: o.coinID,
      side: o.side,
      orderType: o.orderType,
      timeInForce: o.timeInForce,
      selfTradePrevention: o.selfTradePrevention,
      price: o.price === null ? null : formatUnits(o.price, this.tick),
      quantity: formatUnits(o.quantity, this.step),
      status: this.data.unmatchedRemainder
        ? this.data.filled > 0
          ? 'PARTIALLY_FILLED'
          : 'NEW'
        : this.data.status,
      filledQty: formatUnits(this.data.filled, this.step),
      leavesQty: formatUnits(this.leaves, this.step),
      avgPrice: this.avgPrice(),
      cumQuote: formatScaled(
        BigInt(this.data.cumQuote) * this.tick.units * this.step.units,
        quoteScale,
      ),
      fills: this.data.recentFills.map((f) => ({
        tradeId: f.tradeId,
        qty: formatUnits(f.qty, this.step),
        price: formatUnits(f.price, this.tick),
        maker: f.maker,
        time: f.time,
      })),
      fillCount: this.data.fillCount,
      rejectReason: this.data.rejectReason,
      expireReason: this.data.expireReason,
      retries: this.data.attempt,
      createdAt: o.acceptedAt,
      updatedAt: this.data.updatedAt,
    };
  }

  /** One line for Temporal UI: `PARTIALLY_FILLED 2/5, avg 100.00`. */
  details(): string {
    const s = this.snapshot();
    const avg = s.avgPrice === null ? '' : `, avg ${s.avgPrice}`;
    const reason = s.rejectReason ?? (s.status === 'EXPIRED' ? s.expireReason : null);
    const retry = this.data.unmatchedRemainder
      ? ` (no liquidity, retry ${this.data.attempt + 1}/${this.order.retryUnmatched.attempts} pending)`
      : '';
    return `${s.status} ${trimZeros(s.filledQty)}/${trimZeros(s.quantity)}${avg}${reason ? ` (${reason})` : ''}${retry}`;
  }

  /** The static summary: `BUY 5 BTC @ 100.00 · user1`, `SELL 1 BTC MARKET · bob`, `… LIMIT/IOC`. */
  summary(): string {
    const s = this.snapshot();
    const price = s.price === null ? 'MARKET' : `@ ${s.price}`;
    const usual =
      (s.orderType === 'LIMIT' && s.timeInForce === 'GTC') ||
      (s.orderType === 'MARKET' && s.timeInForce === 'IOC');
    const type = usual ? '' : ` ${s.orderType}/${s.timeInForce}`;
    return `${s.side} ${trimZeros(s.quantity)} ${s.coinID} ${price}${type} · ${s.userID}`;
  }
}

/** "0.40000" → "0.4", "5.00000" → "5": quantities read as people write them. */
const trimZeros = (decimal: string): string =>
  decimal.includes('.') ? decimal.replace(/\.?0+$/, '') : decimal;
