// A WebSocket client of the trading API: requests with ids matched to their answers, and the
// execution reports pushed in between. Used by the terminal client (`npm run trade`) and tests.
import { WebSocket } from 'ws';
import type { ExecutionReport } from '../domain/orderPresenter';
import type { ErrorBody, RequestId } from './envelope';

export interface Answer<T = unknown> {
  id: RequestId;
  status: number;
  result?: T;
  error?: ErrorBody;
}

/** The server refused the WebSocket upgrade (e.g. 401 for a missing or bad token). */
export class ConnectRefusedError extends Error {
  constructor(
    readonly statusCode: number,
    readonly body: string,
  ) {
    super(`connection refused: HTTP ${statusCode} ${body}`);
    this.name = 'ConnectRefusedError';
  }
}

export interface ConnectOptions {
  /** Sent as `Authorization: Bearer …` (default) or as `?token=` with `tokenIn: 'query'`. */
  token?: string;
  tokenIn?: 'header' | 'query';
  headers?: Record<string, string>;
  /** Give up the handshake after this long (default 10 s). */
  timeoutMs?: number;
  /** Keep every frame in `messages`/`reports` (default true; a long-running watcher turns it off). */
  keepHistory?: boolean;
}

type Waiter = { match: (m: unknown) => boolean; resolve: (m: unknown) => void };

/** Reports held for a first listener at most (a client nobody listens to must not grow). */
const maxUnheard = 1000;

export class TradingClient {
  /** Every execution report pushed so far, in arrival order. */
  readonly reports: ExecutionReport[] = [];
  /** Every frame received so far, parsed (or the raw text when it is not JSON). */
  readonly messages: unknown[] = [];
  /** Resolves with the close code and reason. */
  readonly closed: Promise<{ code: number; reason: string }>;
  private readonly pending = new Map<string, (a: Answer) => void>();
  private readonly waiters = new Set<Waiter>();
  private readonly listeners = new Set<(r: ExecutionReport) => void>();
  /** Reports pushed before any listener was there (right after connecting), for the first one. */
  private unheard: ExecutionReport[] = [];
  private nextId = 1;

  private constructor(
    readonly ws: WebSocket,
    private readonly keepHistory: boolean,
  ) {
    this.closed = new Promise((resolve) =>
      ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    ws.on('message', (data: Buffer) => this.onFrame(data.toString('utf8')));
  }

  static async connect(url: string, opts: ConnectOptions = {}): Promise<TradingClient> {
    let target = url;
    const headers = { ...opts.headers };
    if (opts.token && opts.tokenIn === 'query') {
      const u = new URL(url);
      u.searchParams.set('token', opts.token);
      target = u.toString();
    } else if (opts.token) {
      headers.Authorization = `Bearer ${opts.token}`;
    }
    const ws = new WebSocket(target, { headers, handshakeTimeout: opts.timeoutMs ?? 10_000 });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          reject(new ConnectRefusedError(res.statusCode ?? 0, Buffer.concat(chunks).toString()));
          ws.terminate();
        });
      });
      ws.once('error', reject);
    });
    ws.on('error', () => undefined);
    return new TradingClient(ws, opts.keepHistory ?? true);
  }

  private onFrame(text: string): void {
    let message: unknown = text;
    try {
      message = JSON.parse(text);
    } catch {
      // keep the raw text
    }
    if (this.keepHistory) this.messages.push(message);
    const m = message as Partial<Answer> & { event?: string };
    if (m && typeof m === 'object' && m.event === 'executionReport') {
      const report = message as ExecutionReport;
      if (this.keepHistory) this.reports.push(report);
      if (this.listeners.size === 0 && this.unheard.length < maxUnheard) this.unheard.push(report);
      for (const listener of this.listeners) listener(report);
    } else if (m && typeof m === 'object' && typeof m.status === 'number') {
      const resolve = this.pending.get(String(m.id));
      if (resolve) {
        this.pending.delete(String(m.id));
        resolve(m as Answer);
      }
    }
    for (const waiter of [...this.waiters]) {
      if (waiter.match(message)) {
        this.waiters.delete(waiter);
        waiter.resolve(message);
      }
    }
  }

  /** Sends a request and resolves with its answer (any status; check `status`). */
  async request<T = unknown>(
    method: string,
    params?: Record<string, unknown>,
    opts: { id?: string; timeoutMs?: number } = {},
  ): Promise<Answer<T>> {
    const id = opts.id ?? `r${this.nextId++}`;
    const answer = new Promise<Answer>((resolve) => this.pending.set(id, resolve));
    this.send(JSON.stringify({ id, method, ...(params !== undefined && { params }) }));
    return withTimeout(answer, opts.timeoutMs ?? 30_000, `no answer to ${method} (${id})`, () =>
      this.pending.delete(id),
    ) as Promise<Answer<T>>;
  }

  /** Sends a raw frame (tests: bad JSON, oversize frames). */
  send(data: string | Buffer): void {
    this.ws.send(data);
  }

  /** The next frame (already received or future) that `match` accepts. */
  async waitForMessage<T = unknown>(
    match: (m: unknown) => boolean,
    timeoutMs = 10_000,
  ): Promise<T> {
    const seen = this.messages.find(match);
    if (seen !== undefined) return seen as T;
    let waiter!: Waiter;
    const found = new Promise<unknown>((resolve) => {
      waiter = { match, resolve };
      this.waiters.add(waiter);
    });
    return withTimeout(found, timeoutMs, 'no matching message', () =>
      this.waiters.delete(waiter),
    ) as Promise<T>;
  }

  /** A pushed report (already received or future) that `match` accepts. */
  async waitForReport(
    match: (r: ExecutionReport) => boolean,
    timeoutMs = 30_000,
  ): Promise<ExecutionReport> {
    return this.waitForMessage<ExecutionReport>(
      (m) => (m as { event?: string })?.event === 'executionReport' && match(m as ExecutionReport),
      timeoutMs,
    );
  }

  /**
   * Calls `listener` for each report pushed from now on — the first listener also gets those
   * pushed before any listened (a push can beat the caller's subscribe after connect). Returns
   * an unsubscribe function.
   */
  onReport(listener: (r: ExecutionReport) => void): () => void {
    this.listeners.add(listener);
    const unheard = this.unheard;
    this.unheard = [];
    for (const report of unheard) listener(report);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.close(1000);
    const timer = setTimeout(() => this.ws.terminate(), 2000);
    await this.closed;
    clearTimeout(timer);
  }
}

async function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  message: string,
  onTimeout: () => void,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new Error(`${message} within ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
