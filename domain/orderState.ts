// The life of one order as its workflow sees it: matcher events applied exactly once and in order,
// the state they imply, and the status changes owed to the client. Pure and deterministic, so the
// workflow can hold it and replay it. Integers only: domain/orderPresenter.ts writes it for people.
import type { AcceptedOrder, CancelCommand, MatcherEvent, PlaceCommand } from './order';
import {
  terminalStatuses,
  workflowIdFor,
  type ExecType,
  type OrderStatus,
} from './orderVocabulary';

/** Fills kept in the state (and the snapshot); the full history is in the workflow's events. */
export const recentFillsKept = 50;
/** Changes kept to hand out again to a repeated delivery of the events that made them. */
export const recentChangesKept = 50;

/**
 * The remainder of a MARKET/IOC order expired for lack of liquidity and the retry policy allows
 * another placement: the workflow re-places it after a backoff. Not final, and not on the book.
 */
export const awaitingRetry = 'AWAITING_RETRY';

/** Where the order is in its life: a status the client sees, or waiting to re-place the remainder. */
export type OrderPhase = OrderStatus | typeof awaitingRetry;

export interface FillRecord {
  tradeId: string;
  /** Steps. */
  qty: number;
  /** Ticks. */
  price: number;
  maker: boolean;
  time: number;
}

/** A change of the order owed to the client as an execution report (integers; see orderPresenter). */
export interface StatusChange {
  /** Rises by one per change of this order: the report's `seq`. */
  seq: number;
  status: OrderStatus;
  execType: ExecType;
  /** Steps filled after the change. */
  filled: number;
  /** The fill of a TRADE change. */
  fill: FillRecord | null;
  rejectReason: string | null;
  time: number;
  /** The orderSeq of the matcher event that made the change; null for the workflow's own. */
  orderSeq: number | null;
}

/** Everything the state needs to continue in a new run (continueAsNew); JSON-safe. */
export interface OrderStateData {
  order: AcceptedOrder;
  phase: OrderPhase;
  /** Steps filled so far. */
  filled: number;
  /** Σ price×qty in tick×step units, as a decimal string (can pass 2^53). */
  cumQuote: string;
  /** The orderSeq of the latest event applied; events apply in orderSeq order. */
  appliedOrderSeq: number;
  /** Events that arrived ahead of a gap in orderSeq, held until the gap is filled. */
  eventsAheadOfGap: MatcherEvent[];
  recentFills: FillRecord[];
  /** Fills applied so far (recentFills keeps only the latest). */
  fillCount: number;
  /** Changes recorded so far; the seq of the latest one. */
  reportSeq: number;
  /** Changes not yet pushed to the client, oldest first. */
  unpushed: StatusChange[];
  /** The latest changes, oldest first: handed out again when an event is delivered again. */
  recentChanges: StatusChange[];
  rejectReason: string | null;
  expireReason: string | null;
  /** Re-placements of an unmatched remainder so far; the latest place command's `attempt`. */
  retries: number;
  /** Commands issued so far; the n-th command's id ends in `#n`. */
  commandCount: number;
  /** Command ids the matcher has answered (any event carrying the id). */
  answered: string[];
  updatedAt: number;
}

export class OrderState {
  private readonly data: OrderStateData;

  constructor(orderOrData: AcceptedOrder | OrderStateData) {
    this.data =
      'order' in orderOrData
        ? orderOrData
        : {
            order: orderOrData,
            phase: 'PENDING_NEW',
            filled: 0,
            cumQuote: '0',
            appliedOrderSeq: 0,
            eventsAheadOfGap: [],
            recentFills: [],
            fillCount: 0,
            reportSeq: 0,
            unpushed: [],
            recentChanges: [],
            rejectReason: null,
            expireReason: null,
            retries: 0,
            commandCount: 0,
            answered: [],
            updatedAt: orderOrData.acceptedAt,
          };
  }

  get order(): AcceptedOrder {
    return this.data.order;
  }
  get phase(): OrderPhase {
    return this.data.phase;
  }
  /** The status clients and operators see: while a retry waits, the order counts as open. */
  get status(): OrderStatus {
    if (this.data.phase !== awaitingRetry) return this.data.phase;
    return this.data.filled > 0 ? 'PARTIALLY_FILLED' : 'NEW';
  }
  get workflowId(): string {
    return workflowIdFor(this.order.userID, this.order.orderId);
  }
  get isTerminal(): boolean {
    return this.data.phase !== awaitingRetry && terminalStatuses.has(this.data.phase);
  }
  /** The remainder expired for lack of liquidity and the retry policy allows another attempt. */
  get retryDue(): boolean {
    return this.data.phase === awaitingRetry;
  }
  get filled(): number {
    return this.data.filled;
  }
  get leaves(): number {
    return this.order.quantity - this.data.filled;
  }
  /** Σ price×qty of the fills in tick×step units. */
  get cumQuote(): bigint {
    return BigInt(this.data.cumQuote);
  }
  get recentFills(): readonly FillRecord[] {
    return this.data.recentFills;
  }
  get fillCount(): number {
    return this.data.fillCount;
  }
  get rejectReason(): string | null {
    return this.data.rejectReason;
  }
  get expireReason(): string | null {
    return this.data.expireReason;
  }
  get retries(): number {
    return this.data.retries;
  }
  get updatedAt(): number {
    return this.data.updatedAt;
  }
  /** The seq of the latest change (0 before the first). */
  get lastReportSeq(): number {
    return this.data.reportSeq;
  }
  get hasUnpushedReports(): boolean {
    return this.data.unpushed.length > 0;
  }
  isAnswered(commandId: string): boolean {
    return this.data.answered.includes(commandId);
  }

  carryOver(): OrderStateData {
    return JSON.parse(JSON.stringify(this.data)) as OrderStateData;
  }

  // ── Commands ──────────────────────────────────────────────────────────────────────────────

  /** A new command id and the order's identity, shared by every command. */
  private nextCommandBase(): Pick<CancelCommand, 'commandId' | 'orderId' | 'userID' | 'market'> {
    this.data.commandCount += 1;
    const { orderId, userID, market } = this.order;
    return { commandId: `${this.workflowId}#${this.data.commandCount}`, orderId, userID, market };
  }

  placeCommand(): PlaceCommand {
    const order = this.order;
    return {
      cmd: 'place',
      ...this.nextCommandBase(),
      side: order.side,
      orderType: order.orderType,
      timeInForce: order.timeInForce,
      selfTradePrevention: order.selfTradePrevention,
      price: order.price,
      quantity: order.quantity,
      attempt: 0,
    };
  }

  /** Re-places the unfilled remainder of an unmatched MARKET/IOC order. */
  retryCommand(): PlaceCommand {
    if (!this.retryDue) throw new Error('no retry due');
    this.data.retries += 1;
    this.data.phase = this.status;
    return { ...this.placeCommand(), quantity: this.leaves, attempt: this.data.retries };
  }

  /**
   * The first place command, issued when the order was accepted: the gateway sends it right after
   * starting the workflow, and the workflow sends the same command again if it goes unanswered.
   */
  firstPlaceCommand(): PlaceCommand {
    if (this.data.commandCount !== 0) throw new Error('the first place command is already issued');
    return { ...this.placeCommand(), issuedAt: this.order.acceptedAt };
  }

  cancelCommand(): CancelCommand {
    return { cmd: 'cancel', ...this.nextCommandBase() };
  }

  /** A cancel while a retry waits: the order is not on the book, so the workflow ends it itself. */
  cancelWhileAwaitingRetry(time: number): void {
    this.data.expireReason = null;
    this.transition('CANCELED', 'CANCELED', time, null);
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
    const held = this.data.eventsAheadOfGap;
    if (event.orderSeq > this.data.appliedOrderSeq + 1) {
      if (!held.some((e) => e.orderSeq === event.orderSeq)) held.push(event);
      return false;
    }
    this.applyInOrder(event);
    let next: MatcherEvent | undefined;
    while ((next = held.find((e) => e.orderSeq === this.data.appliedOrderSeq + 1))) {
      held.splice(held.indexOf(next), 1);
      this.applyInOrder(next);
    }
    return true;
  }

  private applyInOrder(event: MatcherEvent): void {
    this.data.appliedOrderSeq = event.orderSeq;
    switch (event.event) {
      case 'NEW':
        this.transition('NEW', 'NEW', event.time, event.orderSeq);
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
          event.orderSeq,
          fill,
        );
        break;
      }
      case 'CANCELED':
        this.transition('CANCELED', 'CANCELED', event.time, event.orderSeq);
        break;
      case 'EXPIRED':
        this.data.expireReason = event.reason;
        if (
          event.reason === 'NO_LIQUIDITY' &&
          this.data.retries < this.order.retryUnmatched.attempts
        ) {
          // Not final: the workflow re-places the remainder after a backoff. Nothing to report.
          this.data.phase = awaitingRetry;
          this.data.updatedAt = event.time;
        } else {
          this.transition('EXPIRED', 'EXPIRED', event.time, event.orderSeq);
        }
        break;
      case 'REJECTED':
        this.data.rejectReason = event.reason;
        this.transition('REJECTED', 'REJECTED', event.time, event.orderSeq);
        break;
      case 'CANCEL_REJECTED':
        break;
    }
  }

  /** Marks the order rejected before it reached the matcher (e.g. enqueue refused for bad input). */
  reject(reason: string, time: number): void {
    this.data.rejectReason = reason;
    this.transition('REJECTED', 'REJECTED', time, null);
  }

  private transition(
    status: OrderStatus,
    execType: ExecType,
    time: number,
    orderSeq: number | null,
    fill?: FillRecord,
  ): void {
    this.data.phase = status;
    this.data.updatedAt = time;
    this.data.reportSeq += 1;
    const change: StatusChange = {
      seq: this.data.reportSeq,
      status,
      execType,
      filled: this.data.filled,
      fill: fill ?? null,
      rejectReason: this.data.rejectReason,
      time,
      orderSeq,
    };
    this.data.unpushed.push(change);
    this.data.recentChanges = [...this.data.recentChanges, change].slice(-recentChangesKept);
  }

  /** Changes not yet pushed, oldest first; call `markPushed` after the push succeeded. */
  peekReports(): StatusChange[] {
    return [...this.data.unpushed];
  }
  markPushed(count: number): void {
    this.data.unpushed = this.data.unpushed.slice(count);
  }

  /**
   * What a delivery of these events owes its caller, oldest first: every change not yet handed
   * out, and again the kept changes these events made before (a repeated delivery whose first
   * answer was lost). Marks them handed out.
   */
  takeReportsFor(events: readonly Pick<MatcherEvent, 'orderSeq'>[]): StatusChange[] {
    const delivered = new Set(events.map((e) => e.orderSeq));
    const owed = new Map<number, StatusChange>();
    for (const change of this.data.recentChanges) {
      if (change.orderSeq !== null && delivered.has(change.orderSeq)) owed.set(change.seq, change);
    }
    for (const change of this.data.unpushed) owed.set(change.seq, change);
    this.data.unpushed = [];
    return [...owed.values()].sort((a, b) => a.seq - b.seq);
  }
}
