// The load of both benches: real WebSocket clients (one connection and one user each, with a
// token) placing a realistic mix of orders, paced open-loop at a fixed rate. Latency is measured
// from each request's *scheduled* send time, not from when it was actually sent, so a stall of the
// system (or of this process) shows up in the figures instead of silently lowering the load
// ("coordinated omission"). Clients survive the gateway going away: the trading client reconnects
// and re-sends an unanswered request (order.place with the same orderId is idempotent), and the
// load re-queries order.status for the client's outstanding orders.
import { setTimeout as sleep } from 'node:timers/promises';
import type * as hdr from 'hdr-histogram-js';
import { terminalStatuses, type OrderStatus } from '../../domain/order';
import type { ExecutionReport, OrderSnapshot } from '../../domain/orderPresenter';
import { signToken } from '../../gateway/auth';
import { ClientClosedError, TradingClient, type Answer } from '../../client/node';
import { latencyHistogram, recordMs, summarize, type LatencySummary } from './report';
import type { CheckInput } from './checker';

export type OrderKind = 'cross' | 'rest' | 'market';

export interface LoadOptions {
  url: string;
  clients: number;
  /** order.place requests per second, across all clients. */
  rate: number;
  durationMs: number;
  market: string;
  /** Mid price in the quote asset; orders are placed around it in steps of 0.50. */
  mid: number;
  /** Cancels of own resting orders, as a share of the place rate. */
  cancelShare: number;
  seed: number;
  /** Prefix of the users' ids, unique per run. */
  runTag: string;
  /** Past this many resting orders of the run, each place also cancels the oldest (a steady book). */
  maxResting?: number;
}

/** Deterministic randomness (mulberry32), so two runs with one seed send the same mix. */
export function rng(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) % n;
  };
}

export interface TrackedOrder {
  key: string;
  userID: string;
  orderId: string;
  clientIndex: number;
  kind: OrderKind;
  side: 'BUY' | 'SELL';
  params: Record<string, unknown>;
  /** performance.now() when the place was due. */
  scheduledAt: number;
  sentAt?: number;
  ackAt?: number;
  accepted: boolean;
  /** The final answer's error code when the place was not accepted. */
  errorCode?: string;
  /** The matcher's decision reached the client (first report, or a decided snapshot). */
  decidedAt?: number;
  finalAt?: number;
  finalVia?: 'report' | 'answer' | 'status';
  status?: OrderStatus;
  filledQty?: string;
  cancelRequested: boolean;
}

const transientStatuses = new Set([0, 429, 500, 502, 503, 504]);
const maxAttempts = 6;
const requestTimeoutMs = 35_000;

/** One user of the load: its own connection (reconnecting, re-sending) and token. */
export interface BenchClient {
  index: number;
  userID: string;
  connection: TradingClient;
}

export interface LoadProgress {
  elapsedS: number;
  scheduled: number;
  accepted: number;
  completed: number;
  open: number;
  errors: number;
  reconnects: number;
}

export interface LoadSummary {
  offered: { rate: number; clients: number; durationS: number; cancelShare: number };
  scheduled: { places: number; cancels: number };
  accepted: number;
  acceptedInWindow: number;
  completed: number;
  completedInWindow: number;
  finalCount: number;
  /** orders/s in the steady state: seconds steadyFromS… of the load window. */
  acceptedPerS: number;
  completedPerS: number;
  steadyFromS: number;
  byKind: Record<OrderKind, { placed: number; completed: number; final: number }>;
  byStatus: Record<string, number>;
  finalVia: Record<string, number>;
  latency: {
    placeToAck: LatencySummary;
    placeToDecided: LatencySummary;
    placeToFinal: LatencySummary;
    placeToFinalByKind: Record<string, LatencySummary>;
    cancelToAck: LatencySummary;
    /** Each sending refused with 503 OVERLOADED: from that sending to its answer. */
    shedAnswer: LatencySummary;
  };
  errors: Record<string, number>;
  transientRetried: Record<string, number>;
  cancelOutcomes: Record<string, number>;
  reconnects: number;
  resentAfterDisconnect: number;
  /** How late the generator sent requests after their scheduled time. */
  schedulerLagMs: { p99: number; max: number };
  stillOpen: { count: number; examples: string[] };
  unanswered: number;
  restingAtEnd: number;
  /** Per second of the run: places accepted and orders completed. */
  perSecond: { accepted: number[]; completed: number[] };
}

export class LoadRun {
  readonly orders = new Map<string, TrackedOrder>();
  readonly clients: BenchClient[] = [];
  /** Transient answers (5xx, 429, no answer) that were retried, by code. */
  private readonly transient = new Map<string, number>();
  private readonly resting: Array<Set<string>> = [];
  private readonly random: (n: number) => number;
  private readonly h = {
    ack: latencyHistogram(),
    decided: latencyHistogram(),
    final: latencyHistogram(),
    cancel: latencyHistogram(),
    lag: latencyHistogram(),
    shed: latencyHistogram(),
    finalByKind: {
      cross: latencyHistogram(),
      rest: latencyHistogram(),
      market: latencyHistogram(),
    } as Record<OrderKind, hdr.Histogram>,
  };
  private readonly errors = new Map<string, number>();
  private readonly cancelOutcomes = new Map<string, number>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly perSecond = { accepted: [] as number[], completed: [] as number[] };
  private t0 = 0;
  private endAt = Infinity;
  private placesScheduled = 0;
  private cancelsScheduled = 0;
  private stopRequested = false;
  private closing = false;

  constructor(readonly options: LoadOptions) {
    this.random = rng(options.seed);
  }

  /** Connects every client (each a user of its own with a token). */
  async connect(): Promise<void> {
    await Promise.all(
      Array.from({ length: this.options.clients }, async (_, i) => {
        const userID = `${this.options.runTag}-u${i}`;
        const connection = await TradingClient.connect(this.options.url, {
          token: await signToken(userID),
          keepHistory: false,
          timeoutMs: 5000,
          reconnect: { firstConnectMs: 30_000, giveUpMs: 300_000, maxDelayMs: 1000 },
        });
        const client: BenchClient = { index: i, userID, connection };
        connection.onReport((r) => this.onReport(client, r));
        connection.onRefused((r) => {
          if (r.code === 'OVERLOADED') recordMs(this.h.shed, r.answeredInMs);
        });
        connection.onReconnect(() => void this.track(this.refreshClient(client)));
        this.clients[i] = client;
        this.resting[i] = new Set();
      }),
    );
  }

  /**
   * A request with its answer, retried after a transient answer (5xx, 429, no answer) up to
   * `maxAttempts` times; the client itself re-sends it after a reconnect. Every method the
   * benches use is idempotent (order.place by orderId).
   */
  private async request<T>(
    client: BenchClient,
    method: string,
    params: Record<string, unknown>,
  ): Promise<Answer<T>> {
    for (let attempt = 1; ; attempt++) {
      let answer: Answer<T>;
      try {
        answer = await client.connection.request<T>(method, params, {
          timeoutMs: requestTimeoutMs,
        });
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        if (err instanceof ClientClosedError)
          return { id: null, status: 0, error: { code: 'DISCONNECTED', msg } };
        answer = { id: null, status: 0, error: { code: 'NO_ANSWER', msg } };
      }
      // A refusal to wait out (429, 503 OVERLOADED) was already sent again by the client
      // library's back-off; when it gives the refusal back, the order is shed, as for any client.
      const waitedOut = answer.error?.retryAfterMs !== undefined;
      if (
        transientStatuses.has(answer.status) &&
        !waitedOut &&
        attempt < maxAttempts &&
        !this.closing
      ) {
        const code = answer.error?.code ?? String(answer.status);
        this.transient.set(code, (this.transient.get(code) ?? 0) + 1);
        await sleep(Math.min(250 * attempt, 2000));
        continue;
      }
      return answer;
    }
  }

  /** Connections lost and requests re-sent after a reconnect, over all clients. */
  private connectionStats(): { reconnects: number; resent: number } {
    let reconnects = 0;
    let resent = 0;
    for (const c of this.clients) {
      reconnects += c.connection.stats.disconnects;
      resent += c.connection.stats.resent;
    }
    return { reconnects, resent };
  }

  get startedAt(): number {
    return this.t0;
  }

  /** Runs the paced schedule for durationMs (or until stop()). */
  async run(onTick?: () => void): Promise<void> {
    const interval = 1000 / this.options.rate;
    const cancelEvery = this.options.cancelShare > 0 ? 1 / this.options.cancelShare : Infinity;
    this.t0 = performance.now();
    this.endAt = this.t0 + this.options.durationMs;
    let k = 0;
    let nextCancel = cancelEvery;
    let lastTick = 0;
    while (!this.stopRequested) {
      const now = performance.now();
      if (now >= this.endAt) break;
      while (this.t0 + k * interval <= now && this.t0 + k * interval < this.endAt) {
        const due = this.t0 + k * interval;
        recordMs(this.h.lag, now - due);
        this.place(k, due);
        if (k + 1 >= nextCancel) {
          nextCancel += cancelEvery;
          this.cancelOne(k, due);
        }
        if (this.restingCount() > (this.options.maxResting ?? Infinity)) this.cancelOldest(due);
        k++;
      }
      if (onTick && now - lastTick >= 250) {
        lastTick = now;
        onTick();
      }
      await sleep(Math.max(0, Math.min(50, this.t0 + k * interval - performance.now())));
    }
    this.endAt = Math.min(this.endAt, performance.now());
  }

  stop(): void {
    this.stopRequested = true;
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p)).catch(() => undefined);
    return p;
  }

  private countError(code: string): void {
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
  }

  private bucket(series: number[], at: number): void {
    const second = Math.max(0, Math.floor((at - this.t0) / 1000));
    while (series.length <= second) series.push(0);
    series[second] = (series[second] ?? 0) + 1;
  }

  /** The k-th order of the mix: 40% crossing limit, 45% resting limit, 15% market. */
  private orderParams(k: number): {
    kind: OrderKind;
    side: 'BUY' | 'SELL';
    params: Record<string, unknown>;
  } {
    const r = this.random;
    const side = r(2) === 0 ? 'BUY' : 'SELL';
    const roll = r(100);
    const sign = side === 'BUY' ? 1 : -1;
    const qty = (steps: number): string => (steps / 100_000).toFixed(5);
    const price = (halfDollars: number): string =>
      (this.options.mid + halfDollars * 0.5).toFixed(2);
    const base = { orderId: `o${k}`, type: side, coinID: this.options.market };
    if (roll < 40) {
      // Crossing: up to 2.00 through the mid on the other side's resting orders.
      return {
        kind: 'cross',
        side,
        params: { ...base, quantity: qty(100 + r(1900)), price: price(sign * r(5)) },
      };
    }
    if (roll < 85) {
      // Resting: 0.50–10.00 away from the mid on its own side.
      return {
        kind: 'rest',
        side,
        params: { ...base, quantity: qty(500 + r(4500)), price: price(-sign * (1 + r(20))) },
      };
    }
    return { kind: 'market', side, params: { ...base, quantity: qty(100 + r(900)) } };
  }

  private place(k: number, due: number): void {
    this.placesScheduled++;
    const clientIndex = k % this.clients.length;
    const client = this.clients[clientIndex]!;
    const { kind, side, params } = this.orderParams(k);
    const order: TrackedOrder = {
      key: `${client.userID}/${String(params.orderId)}`,
      userID: client.userID,
      orderId: String(params.orderId),
      clientIndex,
      kind,
      side,
      params,
      scheduledAt: due,
      accepted: false,
      cancelRequested: false,
    };
    this.orders.set(order.key, order);
    void this.track(this.sendPlace(client, order));
  }

  private async sendPlace(client: BenchClient, order: TrackedOrder): Promise<void> {
    order.sentAt = performance.now();
    const answer = await this.request<OrderSnapshot>(client, 'order.place', order.params);
    const now = performance.now();
    order.ackAt = now;
    if (answer.status !== 200 || !answer.result) {
      order.errorCode = answer.error?.code ?? `HTTP_${answer.status}`;
      this.countError(order.errorCode);
      return;
    }
    order.accepted = true;
    recordMs(this.h.ack, now - order.scheduledAt);
    this.bucket(this.perSecond.accepted, now);
    this.applySnapshot(order, answer.result, now, 'answer');
  }

  private cancelOne(k: number, due: number): void {
    const clientIndex = (k * 7 + 3) % this.clients.length;
    const keys = [...(this.resting[clientIndex] ?? [])];
    if (keys.length === 0) return;
    const order = this.orders.get(keys[this.random(keys.length)]!)!;
    order.cancelRequested = true;
    this.resting[clientIndex]!.delete(order.key);
    this.cancelsScheduled++;
    void this.track(this.sendCancel(order, due));
  }

  private restingCount(): number {
    return this.resting.reduce((n, keys) => n + keys.size, 0);
  }

  /** Cancels the oldest resting order of the client with the most. */
  private cancelOldest(due: number): void {
    const keys = this.resting.reduce((most, set) => (set.size > most.size ? set : most));
    const key = keys.values().next().value;
    if (key === undefined) return;
    const order = this.orders.get(key)!;
    order.cancelRequested = true;
    keys.delete(key);
    this.cancelsScheduled++;
    void this.track(this.sendCancel(order, due));
  }

  private async sendCancel(order: TrackedOrder, due: number): Promise<void> {
    const client = this.clients[order.clientIndex]!;
    const answer = await this.request<OrderSnapshot>(client, 'order.cancel', {
      orderId: order.orderId,
    });
    const now = performance.now();
    const outcome =
      answer.status === 200 ? 'CANCELED' : (answer.error?.code ?? `HTTP_${answer.status}`);
    this.cancelOutcomes.set(outcome, (this.cancelOutcomes.get(outcome) ?? 0) + 1);
    if (answer.status === 200 && answer.result) {
      recordMs(this.h.cancel, now - due);
      this.applySnapshot(order, answer.result, now, 'answer');
    } else if (answer.error?.code !== 'ORDER_NOT_CANCELLABLE') {
      // Not cancellable = it filled first, an ordinary race; anything else is an error.
      this.countError(`cancel:${outcome}`);
    }
  }

  private setStatus(
    order: TrackedOrder,
    status: OrderStatus,
    now: number,
    via: TrackedOrder['finalVia'],
  ): void {
    order.status = status;
    if (status !== 'PENDING_NEW' && order.decidedAt === undefined) {
      order.decidedAt = now;
      recordMs(this.h.decided, now - order.scheduledAt);
      if (order.kind !== 'market') this.bucket(this.perSecond.completed, now);
    }
    const resting = this.resting[order.clientIndex]!;
    if (terminalStatuses.has(status)) {
      resting.delete(order.key);
      if (order.finalAt === undefined) {
        order.finalAt = now;
        order.finalVia = via;
        // A resting order's end (filled by a later order, cancelled) is its life on the book, not
        // a latency: only orders meant to trade at once count in place → final.
        if (order.kind !== 'rest') recordMs(this.h.final, now - order.scheduledAt);
        recordMs(this.h.finalByKind[order.kind], now - order.scheduledAt);
        if (order.kind === 'market') this.bucket(this.perSecond.completed, now);
      }
    } else if (status !== 'PENDING_NEW' && order.kind !== 'market' && !order.cancelRequested) {
      resting.add(order.key);
    }
  }

  private onReport(client: BenchClient, r: ExecutionReport): void {
    const order = this.orders.get(`${client.userID}/${r.orderId}`);
    if (!order) return; // not ours (a repeated push never gets here: the client library drops it)
    // Final already (an answer after a retried place can carry the final snapshot before the
    // reports come): an earlier report does not move it back.
    if (order.finalAt !== undefined) return;
    order.filledQty = r.filledQty;
    this.setStatus(order, r.status, performance.now(), 'report');
  }

  /** A snapshot (an answer or order.status) only moves an order forward, never back. */
  private applySnapshot(
    order: TrackedOrder,
    s: OrderSnapshot,
    now: number,
    via: TrackedOrder['finalVia'],
  ): void {
    if (order.finalAt !== undefined) return;
    // A MARKET/IOC remainder waiting for its retry reads NEW/PARTIALLY_FILLED but is not decided.
    const waitingRetry = s.expireReason === 'NO_LIQUIDITY' && !terminalStatuses.has(s.status);
    const undecided = order.status === undefined || order.status === 'PENDING_NEW';
    if (terminalStatuses.has(s.status) || (undecided && !waitingRetry)) {
      order.filledQty = s.filledQty;
      this.setStatus(order, s.status, now, via);
    }
  }

  /** After a reconnect: order.status for the client's orders that are not final yet. */
  private async refreshClient(client: BenchClient): Promise<void> {
    const open = [...this.orders.values()].filter(
      (order) =>
        order.clientIndex === client.index && order.accepted && order.finalAt === undefined,
    );
    await this.pollStatus(open, 4);
  }

  private async pollStatus(orders: TrackedOrder[], perClient: number): Promise<void> {
    await this.onOwnClients(orders, perClient, async (client, order) => {
      const answer = await this.request<OrderSnapshot>(client, 'order.status', {
        orderId: order.orderId,
      });
      if (answer.status === 200 && answer.result)
        this.applySnapshot(order, answer.result, performance.now(), 'status');
    });
  }

  /**
   * Runs `work` for each order on its own client's connection, `perClient` requests in flight per
   * client, until the list is done or `deadline` (performance.now()) has passed.
   */
  private async onOwnClients(
    orders: TrackedOrder[],
    perClient: number,
    work: (client: BenchClient, order: TrackedOrder) => Promise<void>,
    deadline = Infinity,
  ): Promise<void> {
    const byClient = new Map<number, TrackedOrder[]>();
    for (const order of orders)
      byClient.set(order.clientIndex, [...(byClient.get(order.clientIndex) ?? []), order]);
    await Promise.all(
      [...byClient].map(async ([index, list]) => {
        const client = this.clients[index]!;
        let next = 0;
        await Promise.all(
          Array.from({ length: Math.min(perClient, list.length) }, async () => {
            while (next < list.length && performance.now() < deadline)
              await work(client, list[next++]!);
          }),
        );
      }),
    );
  }

  private isCompleted(order: TrackedOrder): boolean {
    return order.kind === 'market' ? order.finalAt !== undefined : order.decidedAt !== undefined;
  }

  /** Accepted orders not completed yet, plus places not answered yet. */
  open(): TrackedOrder[] {
    return [...this.orders.values()].filter(
      (order) => (order.accepted && !this.isCompleted(order)) || order.ackAt === undefined,
    );
  }

  progress(): LoadProgress {
    let accepted = 0;
    let completed = 0;
    let open = 0;
    let errors = 0;
    for (const order of this.orders.values()) {
      if (order.accepted) accepted++;
      if (this.isCompleted(order)) completed++;
      else if (order.accepted || order.ackAt === undefined) open++;
      if (order.errorCode) errors++;
    }
    return {
      elapsedS: this.t0 ? (performance.now() - this.t0) / 1000 : 0,
      scheduled: this.placesScheduled,
      accepted,
      completed,
      open,
      errors,
      reconnects: this.connectionStats().reconnects,
    };
  }

  /**
   * Waits up to `maxMs` for outstanding requests and undecided orders; polls order.status every
   * few seconds for those older than 5 s (a report may have been lost with a connection).
   */
  async drain(maxMs: number, onTick?: () => void): Promise<void> {
    const deadline = performance.now() + maxMs;
    let nextPoll = performance.now() + 3000;
    while (performance.now() < deadline) {
      if (this.open().length === 0 && this.inFlight.size === 0) return;
      onTick?.();
      if (performance.now() >= nextPoll) {
        const stale = this.open().filter(
          (order) => order.accepted && performance.now() - (order.ackAt ?? 0) > 5000,
        );
        await this.pollStatus(stale, 4);
        nextPoll = performance.now() + 3000;
      }
      await sleep(250);
    }
  }

  /** Cancels every own order still resting, so the next run starts from a similar book. */
  async cleanup(
    maxMs: number,
  ): Promise<{ canceled: number; notCancellable: number; failed: number }> {
    const result = { canceled: 0, notCancellable: 0, failed: 0 };
    const resting = [...this.orders.values()].filter(
      (order) => order.accepted && order.finalAt === undefined && order.kind !== 'market',
    );
    await this.onOwnClients(
      resting,
      4,
      async (client, order) => {
        const answer = await this.request<OrderSnapshot>(client, 'order.cancel', {
          orderId: order.orderId,
        });
        if (answer.status === 200) result.canceled++;
        else if (answer.error?.code === 'ORDER_NOT_CANCELLABLE') result.notCancellable++;
        else result.failed++;
      },
      performance.now() + maxMs,
    );
    return result;
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.clients.map((c) => c.connection.close()));
  }

  /** Every order sent, as the consistency checker takes them: accepted or not, and the final status the client saw. */
  sentOrders(): CheckInput['sent'] {
    return [...this.orders.values()].map((order) => ({
      userID: order.userID,
      orderId: order.orderId,
      accepted: order.accepted,
      ...(order.finalAt !== undefined && order.status && { clientFinal: order.status }),
    }));
  }

  summary(): LoadSummary {
    const durationS = (this.endAt - this.t0) / 1000;
    const byKind = {
      cross: { placed: 0, completed: 0, final: 0 },
      rest: { placed: 0, completed: 0, final: 0 },
      market: { placed: 0, completed: 0, final: 0 },
    };
    const byStatus: Record<string, number> = {};
    const finalVia: Record<string, number> = {};
    let accepted = 0;
    let acceptedInWindow = 0;
    let completed = 0;
    let completedInWindow = 0;
    let finalCount = 0;
    let unanswered = 0;
    let restingAtEnd = 0;
    for (const order of this.orders.values()) {
      byKind[order.kind].placed++;
      if (order.ackAt === undefined) unanswered++;
      if (!order.accepted) continue;
      accepted++;
      if ((order.ackAt ?? Infinity) <= this.endAt) acceptedInWindow++;
      const status = order.status ?? 'PENDING_NEW';
      byStatus[status] = (byStatus[status] ?? 0) + 1;
      if (this.isCompleted(order)) {
        completed++;
        byKind[order.kind].completed++;
        const at = order.kind === 'market' ? order.finalAt! : order.decidedAt!;
        if (at <= this.endAt) completedInWindow++;
      }
      if (order.finalAt !== undefined) {
        finalCount++;
        byKind[order.kind].final++;
        finalVia[order.finalVia ?? '?'] = (finalVia[order.finalVia ?? '?'] ?? 0) + 1;
      } else if (order.decidedAt !== undefined && order.kind !== 'market') restingAtEnd++;
    }
    const stillOpen = this.open().filter((order) => order.accepted);
    const connections = this.connectionStats();
    // Steady state: whole seconds of the load window after a warm-up (a quarter, at most 10 s), so
    // neither the pipeline filling at the start nor the orders still in it at the end count.
    const whole = Math.floor(durationS);
    const warmS = Math.min(10, Math.floor(whole / 4));
    const steady = (series: number[]): number => {
      let n = 0;
      for (let i = warmS; i < whole; i++) n += series[i] ?? 0;
      return whole > warmS ? n / (whole - warmS) : 0;
    };
    return {
      offered: {
        rate: this.options.rate,
        clients: this.options.clients,
        durationS,
        cancelShare: this.options.cancelShare,
      },
      scheduled: { places: this.placesScheduled, cancels: this.cancelsScheduled },
      accepted,
      acceptedInWindow,
      completed,
      completedInWindow,
      finalCount,
      acceptedPerS: steady(this.perSecond.accepted),
      completedPerS: steady(this.perSecond.completed),
      steadyFromS: warmS,
      byKind,
      byStatus,
      finalVia,
      latency: {
        placeToAck: summarize(this.h.ack),
        placeToDecided: summarize(this.h.decided),
        placeToFinal: summarize(this.h.final),
        placeToFinalByKind: {
          cross: summarize(this.h.finalByKind.cross),
          market: summarize(this.h.finalByKind.market),
        },
        cancelToAck: summarize(this.h.cancel),
        shedAnswer: summarize(this.h.shed),
      },
      errors: Object.fromEntries(this.errors),
      transientRetried: Object.fromEntries(this.transient),
      cancelOutcomes: Object.fromEntries(this.cancelOutcomes),
      reconnects: connections.reconnects,
      resentAfterDisconnect: connections.resent,
      schedulerLagMs: {
        p99: this.h.lag.getValueAtPercentile(99) / 1000,
        max: this.h.lag.maxValue / 1000,
      },
      stillOpen: {
        count: stillOpen.length,
        examples: stillOpen
          .slice(0, 10)
          .map((order) => `${order.key} (${order.kind}, ${order.status ?? 'PENDING_NEW'})`),
      },
      unanswered,
      restingAtEnd,
      perSecond: this.perSecond,
    };
  }
}
