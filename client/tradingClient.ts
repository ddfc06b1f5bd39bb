// The one client of the trading WebSocket API, used by the terminal client, the benches, the tests
// and a web page: requests with ids matched to their answers, the execution reports pushed in
// between and, with `reconnect`, a connection that comes back by itself (jittered back-off; the
// requests still in flight are sent again, each with its frame unchanged: every method is
// idempotent, order.place by orderId). A request refused for a while (429 TOO_MANY_REQUESTS or 503
// OVERLOADED, with retryAfterMs) is sent again after a back-off. No Node-only imports here: the
// WebSocket comes in as `openSocket` (client/node.ts passes `ws`; a browser passes
// webSocketOpener(WebSocket)).
import type { ExecutionReport } from '../domain/orderPresenter';
import type { ErrorBody, RateLimit, RequestId } from '../gateway/envelope';

export type { RateLimit } from '../gateway/envelope';

export interface Answer<T = unknown> {
  id: RequestId;
  status: number;
  result?: T;
  error?: ErrorBody;
  /** The user's order rate limits and their counts (absent when the gateway could not tell). */
  rateLimits?: RateLimit[];
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

/** A request that cannot be answered any more: the client was closed or gave up reconnecting. */
export class ClientClosedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClientClosedError';
  }
}

/** One open WebSocket connection, as the client uses it. */
export interface Socket {
  send(data: string | Uint8Array): void;
  /** A graceful close; the close event follows. */
  close(code: number): void;
  /** Drops the connection at once (a graceful close that does not finish). */
  terminate(): void;
}

/** What an open connection reports: each text frame, and its close (only after it opened). */
export interface SocketEvents {
  message(text: string): void;
  close(code: number, reason: string): void;
}

/**
 * Opens a connection: resolves once it is open, rejects when it cannot be (a ConnectRefusedError
 * when the server refused the upgrade, if the implementation can tell).
 */
export type OpenSocket = (
  url: string,
  init: { headers: Record<string, string>; timeoutMs: number },
  events: SocketEvents,
) => Promise<Socket>;

export interface ReconnectOptions {
  /** Keep trying the first connect this long (default 0: connect() fails at the first refusal). */
  firstConnectMs?: number;
  /** Give up after this long without a connection (default: never); requests then fail. */
  giveUpMs?: number;
  /**
   * Back-off between attempts (default 100 ms to 2 s): the wait doubles from the first to the
   * longest, each drawn at random between half and all of it, so clients do not return in step.
   */
  minDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * Re-sending a request the gateway refused for a while: 429 TOO_MANY_REQUESTS or 503 OVERLOADED
 * with `retryAfterMs`. Each re-send waits max(retryAfterMs, back-off); the back-off doubles from
 * the first to the longest, each drawn at random between half and all of it. The frame is sent
 * unchanged (an order keeps its orderId, so a re-send cannot place it twice).
 */
export interface BackoffOptions {
  /** Re-sends at most (default 3); then the caller gets the refusal. */
  attempts?: number;
  /** Default 200 ms and 5 s. */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** A longer retryAfterMs (a day's limit) goes to the caller at once (default 15 s). */
  maxRetryAfterMs?: number;
}

export interface ConnectOptions {
  /**
   * Sent as `Authorization: Bearer …` (default) or as `?token=` with `tokenIn: 'query'` (a
   * browser cannot send headers). A function is asked again for each connection (a fresh token
   * after a reconnect).
   */
  token?: string | (() => string | Promise<string>);
  tokenIn?: 'header' | 'query';
  headers?: Record<string, string>;
  /** Give up the handshake after this long (default 10 s). */
  timeoutMs?: number;
  /** Keep every frame in `messages`/`reports` (default true; a long-running watcher turns it off). */
  keepHistory?: boolean;
  /** Send a ping this often while connected, so an idle timeout does not close the connection. */
  keepaliveMs?: number;
  /** Connect again when the connection closes other than by close() (default: do not). */
  reconnect?: boolean | ReconnectOptions;
  /** Re-send refused requests (default: with BackoffOptions' defaults; false: never). */
  backoff?: false | BackoffOptions;
}

export type ClientOptions = ConnectOptions & { openSocket: OpenSocket };

/** One sending the gateway refused for a while (429 TOO_MANY_REQUESTS or 503 OVERLOADED). */
export interface Refusal {
  method: string;
  status: number;
  code: string;
  retryAfterMs?: number;
  /** From this sending to its refusal. */
  answeredInMs: number;
  /** Whether the client sends it again (`backoff`) rather than giving the refusal back. */
  willRetry: boolean;
}

export interface CloseInfo {
  code: number;
  reason: string;
}

interface InFlight {
  id: string;
  method: string;
  frame: string;
  timeoutMs: number;
  timer?: ReturnType<typeof setTimeout>;
  /** Sent at least once: sending it after a reconnect is a re-send. */
  sent: boolean;
  /** Re-sends after a refusal so far. */
  backoffs: number;
  /** When it was last sent (performance.now()). */
  sentAt?: number;
  /** Set while the request waits out a refusal (not sent on a reconnect meanwhile). */
  backoffTimer?: ReturnType<typeof setTimeout>;
  resolve: (a: Answer) => void;
  reject: (e: Error) => void;
}

type Waiter = { match: (m: unknown) => boolean; resolve: (m: unknown) => void };

/** Reports held for a first listener at most (a client nobody listens to must not grow). */
const maxUnheard = 1000;
/** Orders whose latest report seq is remembered to drop repeats (the least recently reported go). */
const maxTrackedOrders = 10_000;
/** Refusals worth waiting out, when they say how long (`retryAfterMs`). */
const retryableErrors = new Set(['429 TOO_MANY_REQUESTS', '503 OVERLOADED']);

/** A wait between half and all of `ms`, so that clients do not come back in step. */
const jittered = (ms: number): number => ms / 2 + (Math.random() * ms) / 2;

export class TradingClient {
  /** Every execution report pushed so far, in arrival order. */
  readonly reports: ExecutionReport[] = [];
  /** Every frame received so far, parsed (or the raw text when it is not JSON). */
  readonly messages: unknown[] = [];
  /** Resolves with the last close code and reason once the client is closed for good. */
  readonly closed: Promise<CloseInfo>;
  /**
   * Connections lost (other than by close()), requests sent again after a reconnect, repeated
   * reports dropped, and requests sent again after a refusal (`backoff`).
   */
  readonly stats = { disconnects: 0, resent: 0, repeatedReports: 0, backoffs: 0 };
  private socket: Socket | undefined;
  private stopping = false;
  private finished = false;
  private finish!: (info: CloseInfo) => void;
  private wake: (() => void) | undefined;
  private keepalive: ReturnType<typeof setInterval> | undefined;
  private readonly inFlight = new Map<string, InFlight>();
  private readonly waiters = new Set<Waiter>();
  private readonly listeners = new Set<(r: ExecutionReport) => void>();
  private readonly reconnectListeners = new Set<() => void>();
  private readonly disconnectListeners = new Set<(info: CloseInfo) => void>();
  private readonly refusalListeners = new Set<(refusal: Refusal) => void>();
  /** Reports pushed before any listener was there (right after connecting), for the first one. */
  private unheard: ExecutionReport[] = [];
  /** The latest report seq of each order: reports come at least once, in order, per order. */
  private readonly lastSeq = new Map<string, number>();
  private nextId = 1;
  private readonly retry: ReconnectOptions | undefined;
  private readonly backoff: BackoffOptions | undefined;
  private latestRateLimits: RateLimit[] | undefined;

  protected constructor(
    readonly url: string,
    private readonly options: ClientOptions,
  ) {
    const r = options.reconnect;
    this.retry = r === true ? {} : r || undefined;
    this.backoff = options.backoff === false ? undefined : (options.backoff ?? {});
    this.closed = new Promise((resolve) => {
      this.finish = (info) => {
        if (this.finished) return;
        this.finished = true;
        for (const request of this.inFlight.values()) {
          clearTimeout(request.timer);
          clearTimeout(request.backoffTimer);
          request.reject(
            new ClientClosedError(`${request.method} (${request.id}): the client closed`),
          );
        }
        this.inFlight.clear();
        resolve(info);
      };
    });
  }

  /** The user's order rate limits as of the latest answer that carried them. */
  get rateLimits(): readonly RateLimit[] | undefined {
    return this.latestRateLimits;
  }

  static async connect(url: string, options: ClientOptions): Promise<TradingClient> {
    const client = new TradingClient(url, options);
    await client.start();
    return client;
  }

  /** Makes the first connection (retried for `reconnect.firstConnectMs`). */
  protected async start(): Promise<void> {
    this.attach(await this.openRetrying(this.retry?.firstConnectMs ?? 0));
  }

  private async openOnce(): Promise<Socket> {
    const options = this.options;
    const token = typeof options.token === 'function' ? await options.token() : options.token;
    let target = this.url;
    const headers = { ...options.headers };
    if (token && options.tokenIn === 'query') {
      const u = new URL(this.url);
      u.searchParams.set('token', token);
      target = u.toString();
    } else if (token) {
      headers.Authorization = `Bearer ${token}`;
    }
    const socket: Socket = await options.openSocket(
      target,
      { headers, timeoutMs: options.timeoutMs ?? 10_000 },
      {
        message: (text) => this.onFrame(text),
        close: (code, reason) => this.onSocketClosed(socket, { code, reason }),
      },
    );
    return socket;
  }

  /** Tries to connect until `giveUpMs` has passed, with the back-off between attempts. */
  private async openRetrying(giveUpMs: number): Promise<Socket> {
    const deadline = Date.now() + giveUpMs;
    let delay = this.retry?.minDelayMs ?? 100;
    for (;;) {
      try {
        return await this.openOnce();
      } catch (err) {
        if (this.stopping || Date.now() + delay / 2 > deadline) throw err;
      }
      await this.pause(jittered(delay));
      if (this.stopping) throw new ClientClosedError('the client closed while reconnecting');
      delay = Math.min(delay * 2, this.retry?.maxDelayMs ?? 2000);
    }
  }

  /** Waits `ms`, or less when close() wakes it. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  private attach(socket: Socket): void {
    this.socket = socket;
    const every = this.options.keepaliveMs;
    if (every)
      this.keepalive = setInterval(() => void this.request('ping').catch(() => undefined), every);
    for (const request of this.inFlight.values()) if (!request.backoffTimer) this.transmit(request);
  }

  private onSocketClosed(socket: Socket, info: CloseInfo): void {
    if (socket !== this.socket) return;
    this.socket = undefined;
    clearInterval(this.keepalive);
    // An answer can only come on the connection that carried the request: wait for the next one.
    for (const request of this.inFlight.values()) clearTimeout(request.timer);
    if (this.stopping || !this.retry) return this.finish(info);
    this.stats.disconnects++;
    for (const listener of this.disconnectListeners) listener(info);
    void this.reconnect(info);
  }

  private async reconnect(lost: CloseInfo): Promise<void> {
    // A first short, jittered pause: clients that lost one server do not all return at once.
    await this.pause(Math.random() * (this.retry?.minDelayMs ?? 100));
    let socket: Socket;
    try {
      if (this.stopping) throw new ClientClosedError('closed');
      socket = await this.openRetrying(this.retry?.giveUpMs ?? Infinity);
    } catch {
      return this.finish(lost);
    }
    if (this.stopping) {
      socket.terminate();
      return this.finish(lost);
    }
    for (const request of this.inFlight.values())
      if (request.sent && !request.backoffTimer) this.stats.resent++;
    this.attach(socket);
    for (const listener of this.reconnectListeners) listener();
  }

  private transmit(request: InFlight): void {
    clearTimeout(request.timer);
    request.timer = setTimeout(() => {
      this.inFlight.delete(request.id);
      request.reject(
        new Error(`no answer to ${request.method} (${request.id}) within ${request.timeoutMs} ms`),
      );
    }, request.timeoutMs);
    request.sent = true;
    request.sentAt = performance.now();
    this.socket?.send(request.frame);
  }

  private onFrame(text: string): void {
    let message: unknown = text;
    try {
      message = JSON.parse(text);
    } catch {
      // keep the raw text
    }
    if (this.options.keepHistory ?? true) this.messages.push(message);
    const m = message as Partial<Answer> & { event?: string };
    if (m && typeof m === 'object' && m.event === 'executionReport') {
      const report = message as ExecutionReport;
      if (this.isRepeat(report)) {
        this.stats.repeatedReports++;
        return;
      }
      if (this.options.keepHistory ?? true) this.reports.push(report);
      if (this.listeners.size === 0 && this.unheard.length < maxUnheard) this.unheard.push(report);
      for (const listener of this.listeners) listener(report);
    } else if (m && typeof m === 'object' && typeof m.status === 'number') {
      if (Array.isArray(m.rateLimits)) this.latestRateLimits = m.rateLimits;
      const request = this.inFlight.get(String(m.id));
      if (request) {
        clearTimeout(request.timer);
        const wait = this.backoffDelay(request, m as Answer);
        if (retryableErrors.has(`${m.status} ${m.error?.code}`))
          this.notifyRefusal(request, m as Answer, wait !== undefined);
        if (wait === undefined) {
          this.inFlight.delete(request.id);
          request.resolve(m as Answer);
        } else {
          this.sendLater(request, wait);
        }
      }
    }
    for (const waiter of [...this.waiters]) {
      if (waiter.match(message)) {
        this.waiters.delete(waiter);
        waiter.resolve(message);
      }
    }
  }

  private notifyRefusal(request: InFlight, answer: Answer, willRetry: boolean): void {
    const refusal: Refusal = {
      method: request.method,
      status: answer.status,
      code: answer.error?.code ?? '',
      ...(answer.error?.retryAfterMs !== undefined && { retryAfterMs: answer.error.retryAfterMs }),
      answeredInMs: request.sentAt === undefined ? 0 : performance.now() - request.sentAt,
      willRetry,
    };
    for (const listener of this.refusalListeners) listener(refusal);
  }

  /** How long to wait before sending a refused request again; undefined: give the answer back. */
  private backoffDelay(request: InFlight, answer: Answer): number | undefined {
    const b = this.backoff;
    const retryAfterMs = answer.error?.retryAfterMs;
    if (!b || typeof retryAfterMs !== 'number') return undefined;
    if (!retryableErrors.has(`${answer.status} ${answer.error?.code}`)) return undefined;
    if (request.backoffs >= (b.attempts ?? 3) || retryAfterMs > (b.maxRetryAfterMs ?? 15_000))
      return undefined;
    const backoff = Math.min((b.minDelayMs ?? 200) * 2 ** request.backoffs, b.maxDelayMs ?? 5000);
    return Math.max(retryAfterMs, jittered(backoff));
  }

  private sendLater(request: InFlight, wait: number): void {
    request.backoffs++;
    this.stats.backoffs++;
    request.backoffTimer = setTimeout(() => {
      request.backoffTimer = undefined;
      // Without a connection now, the next one sends it (attach).
      if (this.socket) this.transmit(request);
    }, wait);
  }

  /**
   * Sends a request and resolves with its answer (any status; check `status`). Rejects when no
   * answer comes within `timeoutMs` of sending it, or with a ClientClosedError once the client
   * is closed. While reconnecting, the request waits for the next connection. A refusal with
   * `retryAfterMs` is waited out and the request sent again (`backoff`); each sending has its own
   * `timeoutMs`.
   */
  request<T = unknown>(
    method: string,
    params?: Record<string, unknown>,
    opts: { id?: string; timeoutMs?: number } = {},
  ): Promise<Answer<T>> {
    const id = opts.id ?? `r${this.nextId++}`;
    if (this.finished || this.stopping)
      return Promise.reject(new ClientClosedError(`${method} (${id}): the client is closed`));
    const frame = JSON.stringify({ id, method, ...(params !== undefined && { params }) });
    return new Promise<Answer<T>>((resolve, reject) => {
      const request: InFlight = {
        id,
        method,
        frame,
        timeoutMs: opts.timeoutMs ?? 30_000,
        sent: false,
        backoffs: 0,
        resolve: resolve as (a: Answer) => void,
        reject,
      };
      this.inFlight.set(id, request);
      if (this.socket) this.transmit(request);
    });
  }

  /** Sends a raw frame (tests: bad JSON, oversize frames). */
  send(data: string | Uint8Array): void {
    if (!this.socket) throw new Error('not connected');
    this.socket.send(data);
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

  /**
   * Whether this order's report with this seq (or a later one) was delivered already: a report
   * is pushed at least once, so a repeat after a retry or a reconnect is dropped here.
   */
  private isRepeat(report: ExecutionReport): boolean {
    const key = `${report.userID}/${report.orderId}`;
    const last = this.lastSeq.get(key) ?? 0;
    if (report.seq <= last) return true;
    this.lastSeq.delete(key);
    this.lastSeq.set(key, report.seq);
    if (this.lastSeq.size > maxTrackedOrders) {
      const oldest = this.lastSeq.keys().next().value;
      if (oldest !== undefined) this.lastSeq.delete(oldest);
    }
    return false;
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

  /**
   * Calls `listener` for every sending the gateway refused for a while (429, 503 OVERLOADED),
   * whether or not the client sends it again: how often and how fast the service sheds load.
   */
  onRefused(listener: (refusal: Refusal) => void): () => void {
    this.refusalListeners.add(listener);
    return () => this.refusalListeners.delete(listener);
  }

  /** Calls `listener` when the connection is lost and a reconnect begins (with `reconnect`). */
  onDisconnect(listener: (info: CloseInfo) => void): () => void {
    this.disconnectListeners.add(listener);
    return () => this.disconnectListeners.delete(listener);
  }

  /**
   * Calls `listener` after each reconnect, once the requests in flight were sent again: the
   * place to catch up on what happened meanwhile (reports pushed while disconnected are lost).
   */
  onReconnect(listener: () => void): () => void {
    this.reconnectListeners.add(listener);
    return () => this.reconnectListeners.delete(listener);
  }

  /** Closes the connection (and stops reconnecting); requests still in flight fail. */
  async close(): Promise<void> {
    if (this.finished) return;
    this.stopping = true;
    this.wake?.();
    clearInterval(this.keepalive);
    const socket = this.socket;
    if (!socket) return this.finish({ code: 1000, reason: '' }); // between connections
    socket.close(1000);
    const timer = setTimeout(() => socket.terminate(), 2000);
    await this.closed;
    clearTimeout(timer);
  }
}

/** The standard WebSocket API: a browser's WebSocket (and `ws`, which implements it too). */
export interface StandardWebSocket {
  send(data: string | Uint8Array): void;
  close(code?: number): void;
  addEventListener(type: 'open' | 'error', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(
    type: 'close',
    listener: (event: { code: number; reason: string }) => void,
  ): void;
}

/**
 * `openSocket` over the standard WebSocket API (a browser). It cannot send headers, so use
 * `tokenIn: 'query'`; a refused upgrade shows only as a failed connect.
 */
export function webSocketOpener(Impl: new (url: string) => StandardWebSocket): OpenSocket {
  const decoder = new TextDecoder();
  return (url, init, events) =>
    new Promise((resolve, reject) => {
      if (Object.keys(init.headers).length > 0)
        return reject(new Error('this WebSocket cannot send headers: use tokenIn: "query"'));
      const ws = new Impl(url);
      let open = false;
      const timer = setTimeout(() => {
        ws.close();
        reject(new Error(`no connection to ${url} within ${init.timeoutMs} ms`));
      }, init.timeoutMs);
      ws.addEventListener('open', () => {
        open = true;
        clearTimeout(timer);
        resolve({
          send: (d) => ws.send(d),
          close: (c) => ws.close(c),
          terminate: () => ws.close(),
        });
      });
      ws.addEventListener('message', ({ data }) =>
        events.message(typeof data === 'string' ? data : decoder.decode(data as ArrayBuffer)),
      );
      ws.addEventListener('error', () => undefined); // the close event follows
      ws.addEventListener('close', ({ code, reason }) => {
        clearTimeout(timer);
        if (open) events.close(code, reason);
        else reject(new Error(`could not connect to ${url} (close ${code})`));
      });
    });
}

async function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  message: string,
  onTimeout: () => void,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
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
