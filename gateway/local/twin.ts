// The local twin of API Gateway's WebSocket API: a real WebSocket server that runs the same Lambda
// handler modules with API Gateway's event shapes, and the management API (@connections) on the
// same port, so the real @aws-sdk/client-apigatewaymanagementapi client works against it.
//
//   upgrade  → REQUEST authorizer → $connect (non-2xx refuses the upgrade with that status)
//   frame    → $default; its returned `body` goes back to the client (two-way route)
//   close    → $disconnect
//   POST/GET/DELETE /@connections/{id} (also /{stage}/@connections/{id}); 410 GoneException
//   GET /healthz, GET /metrics
//
// API Gateway's limits: 128 KB per message (close 1009), 10 min idle timeout and 2 h lifetime
// (close 1001), plus a per-connection token bucket answered with a 429 envelope.
import { randomBytes } from 'node:crypto';
import http, { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { env } from '../../config/env';
import { closeClients } from '../../platform/lazy';
import { idOf, methodOf } from '../envelope';
import type { SendCommand } from '../submitOrder';
import { handler as authorizerHandler } from '../handlers/authorizer';
import { handler as connectHandler } from '../handlers/connect';
import { createDefaultHandler, handler as defaultHandler } from '../handlers/default';
import { handler as disconnectHandler } from '../handlers/disconnect';
import { serviceLogger } from '../../platform/log';
import type { AuthorizerHandler, ConnectHandler, WebSocketResult } from '../types';
import { twinLimitsFromEnv, type TwinLimits } from './config';
import {
  authorizerEvent,
  connectEvent,
  disconnectEvent,
  messageEvent,
  newConnectionId,
  type ApiInfo,
  type ConnectionInfo,
} from './events';
import { metrics, registry } from './metrics';
import { TokenBucket } from './rateLimit';

export interface TwinHandlers {
  /** The REQUEST authorizer on $connect; null runs $connect without one. */
  authorizer: AuthorizerHandler | null;
  connect: ConnectHandler;
  disconnect: ConnectHandler;
  default: ConnectHandler;
}

export interface GatewayTwinOptions extends Partial<TwinLimits> {
  /** 0 picks a free port; default GATEWAY_PORT (8080). */
  port?: number;
  /** Default: every interface. Tests use 127.0.0.1. */
  host?: string;
  stage?: string;
  apiId?: string;
  region?: string;
  /** Replace handler modules (tests); the real modules by default. */
  handlers?: Partial<TwinHandlers>;
  /**
   * Start order workflows on this task queue and send their commands to this orders queue instead
   * of ORDER_TASK_QUEUE and ORDERS_QUEUE_URL: the real $default handler, built for this twin (tests
   * that run their own order worker and matcher).
   */
  orders?: { taskQueue: string; sendCommand: () => Promise<SendCommand> };
  /** Close the handlers' shared Temporal/Redis clients on close (default true). */
  closeHandlerClients?: boolean;
}

export interface GatewayTwin {
  port: number;
  /** ws://host:port, what clients connect to. */
  url: string;
  /** http://host:port, the @connections endpoint and /healthz, /metrics. */
  httpUrl: string;
  /** Ids of the open connections. */
  connectionIds(): string[];
  close(): Promise<void>;
}

interface LiveConnection extends ConnectionInfo {
  ws: WebSocket;
  api: ApiInfo;
  lastActiveAt: number;
  bucket: TokenBucket;
  idle?: NodeJS.Timeout;
  lifetime?: NodeJS.Timeout;
}

const log = serviceLogger('gateway').child({ component: 'twin' });
/** API Gateway's bodies for a refused $connect. */
const refusalMessages: Record<number, string> = {
  401: 'Unauthorized',
  403: 'Forbidden',
  429: 'Too Many Requests',
  500: 'Internal server error',
};
const connectionsPath = /^(?:\/[^/@]+)?\/@connections\/([^/]+)\/?$/;

function statusOfBody(body: string | undefined): string {
  if (body === undefined) return 'none';
  try {
    const status = (JSON.parse(body) as { status?: unknown }).status;
    return typeof status === 'number' ? String(status) : 'other';
  } catch {
    return 'other';
  }
}

const toBuffer = (data: RawData): Buffer =>
  Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);

const sourceIpOf = (req: IncomingMessage): string =>
  (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');

export async function startGatewayTwin(opts: GatewayTwinOptions = {}): Promise<GatewayTwin> {
  const fromEnv = twinLimitsFromEnv();
  const limits: TwinLimits = {
    maxMessageBytes: opts.maxMessageBytes ?? fromEnv.maxMessageBytes,
    idleTimeoutMs: opts.idleTimeoutMs ?? fromEnv.idleTimeoutMs,
    maxConnectionMs: opts.maxConnectionMs ?? fromEnv.maxConnectionMs,
    rateLimit: opts.rateLimit ?? fromEnv.rateLimit,
  };
  const handlers: TwinHandlers = {
    authorizer: authorizerHandler,
    connect: connectHandler,
    disconnect: disconnectHandler,
    default: opts.orders ? createDefaultHandler(opts.orders) : defaultHandler,
    ...opts.handlers,
  };
  const stage = opts.stage ?? 'local';
  const apiId = opts.apiId ?? 'local';
  const region = opts.region ?? env.awsRegion;
  const connections = new Map<string, LiveConnection>();
  const pending = new Set<Promise<unknown>>();
  const chosenProtocol = new WeakMap<IncomingMessage, string>();
  let closing = false;

  const track = <T>(p: Promise<T>): Promise<T> => {
    pending.add(p);
    void p.finally(() => pending.delete(p)).catch(() => undefined);
    return p;
  };

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: limits.maxMessageBytes,
    perMessageDeflate: false,
    handleProtocols: (_protocols, req) => chosenProtocol.get(req) ?? false,
  });

  const server = http.createServer((req, res) => {
    void handleHttp(req, res).catch((err: unknown) => {
      log.error({ err }, 'http handler failed');
      if (!res.headersSent) sendJson(res, 500, { message: 'Internal server error' });
    });
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    void track(handleUpgrade(req, socket, head)).catch((err: unknown) => {
      log.error({ err }, 'upgrade failed');
      refuse(socket, 500, 'Internal server error');
    });
  });

  // ── Connections ──────────────────────────────────────────────────────────────────────────────

  function refuse(socket: Socket, status: number, message: string): void {
    metrics.connects.inc({ status: String(status) });
    if (socket.destroyed) return;
    const body = JSON.stringify({ message });
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
        'Content-Type: application/json\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        `x-amzn-RequestId: ${randomBytes(8).toString('hex')}\r\n` +
        'Connection: close\r\n\r\n' +
        body,
    );
  }

  async function handleUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    if (closing) return refuse(socket, 503, 'Service Unavailable');
    const host = req.headers.host ?? `localhost:${env.gatewayPort}`;
    const api: ApiInfo = { apiId, stage, region, domainName: host };
    const conn: ConnectionInfo = {
      connectionId: newConnectionId(),
      connectedAt: Date.now(),
      sourceIp: sourceIpOf(req),
      ...(req.headers['user-agent'] && { userAgent: req.headers['user-agent'] }),
    };
    const event = connectEvent(req, conn, api);

    if (handlers.authorizer) {
      const started = Date.now();
      let result;
      try {
        result = await handlers.authorizer(authorizerEvent(event, api));
      } catch (err) {
        if (err instanceof Error && err.message === 'Unauthorized')
          return refuse(socket, 401, 'Unauthorized');
        log.error({ err }, 'authorizer failed');
        return refuse(socket, 500, 'Internal server error');
      } finally {
        observe('$authorizer', '$connect', started);
      }
      const allowed = result.policyDocument.Statement.some(
        (s) => s.Effect === 'Allow' && /execute-api:Invoke|\*/.test(s.Action),
      );
      const denied = result.policyDocument.Statement.some((s) => s.Effect === 'Deny');
      if (!allowed || denied) return refuse(socket, 403, 'Forbidden');
      conn.authorizer = {
        ...result.context,
        principalId: result.principalId,
        integrationLatency: Date.now() - started,
      };
      event.requestContext.authorizer = conn.authorizer;
    }

    let result: WebSocketResult;
    const started = Date.now();
    try {
      result = await handlers.connect(event);
    } catch (err) {
      log.error({ err }, '$connect failed');
      return refuse(socket, 500, 'Internal server error');
    } finally {
      observe('$connect', '$connect', started);
    }
    if (result.statusCode < 200 || result.statusCode > 299) {
      return refuse(socket, result.statusCode, refusalMessages[result.statusCode] ?? 'Forbidden');
    }
    if (socket.destroyed || closing) {
      // The client left (or we are stopping) while $connect ran: API Gateway sends $disconnect.
      void track(runDisconnect({ ...conn, api }, 1006, 'Connection closed before upgrade'));
      socket.destroy();
      return;
    }
    const protocol = Object.entries(result.headers ?? {}).find(
      ([name]) => name.toLowerCase() === 'sec-websocket-protocol',
    )?.[1];
    if (protocol) chosenProtocol.set(req, protocol);
    let opened = false;
    socket.once('close', () => {
      if (!opened) void track(runDisconnect({ ...conn, api }, 1006, 'Handshake failed'));
    });
    wss.handleUpgrade(req, socket, head, (ws) => {
      opened = true;
      onOpen(ws, conn, api);
    });
  }

  function onOpen(ws: WebSocket, conn: ConnectionInfo, api: ApiInfo): void {
    const live: LiveConnection = {
      ...conn,
      ws,
      api,
      lastActiveAt: Date.now(),
      bucket: new TokenBucket(limits.rateLimit.perSecond, limits.rateLimit.burst),
    };
    connections.set(live.connectionId, live);
    metrics.openConnections.inc();
    metrics.connects.inc({ status: '101' });
    armIdle(live);
    live.lifetime = setTimeout(
      () => closeConnection(live, 1001, 'Going away'),
      limits.maxConnectionMs,
    );
    ws.on('message', (data, isBinary) => {
      void track(onMessage(live, toBuffer(data), isBinary));
    });
    ws.on('close', (code, reason) => onClose(live, code, reason.toString()));
    // e.g. a frame over maxPayload: ws closes the connection with 1009 itself.
    ws.on('error', (err) => log.debug({ connectionId: live.connectionId, err }, 'socket error'));
  }

  function armIdle(live: LiveConnection): void {
    clearTimeout(live.idle);
    live.idle = setTimeout(() => closeConnection(live, 1001, 'Going away'), limits.idleTimeoutMs);
  }

  function closeConnection(live: LiveConnection, code: number, reason: string): void {
    if (live.ws.readyState === WebSocket.OPEN) live.ws.close(code, reason);
    setTimeout(() => live.ws.terminate(), 2000).unref();
  }

  async function onMessage(live: LiveConnection, data: Buffer, isBinary: boolean): Promise<void> {
    live.lastActiveAt = Date.now();
    armIdle(live);
    const text = isBinary ? '' : data.toString('utf8');
    const method = methodOf(text);
    if (!live.bucket.take()) {
      metrics.messages.inc({ method, status: '429' });
      send(
        live,
        JSON.stringify({
          id: idOf(text),
          status: 429,
          error: {
            code: 'TOO_MANY_REQUESTS',
            msg: `rate limit exceeded: at most ${limits.rateLimit.perSecond} messages per second (burst ${limits.rateLimit.burst}) per connection`,
          },
        }),
      );
      return;
    }
    const event = messageEvent(live, live.api, data, isBinary);
    const started = Date.now();
    let body: string | undefined;
    try {
      body = (await handlers.default(event))?.body;
    } catch (err) {
      log.error({ connectionId: live.connectionId, err }, '$default failed');
      body = JSON.stringify({
        message: 'Internal server error',
        connectionId: live.connectionId,
        requestId: event.requestContext.requestId,
      });
    }
    observe('$default', method, started);
    metrics.messages.inc({ method, status: statusOfBody(body) });
    if (body !== undefined) send(live, body);
  }

  function send(live: LiveConnection, body: string | Buffer): void {
    if (live.ws.readyState === WebSocket.OPEN) live.ws.send(body, { binary: false });
  }

  function onClose(live: LiveConnection, code: number, reason: string): void {
    clearTimeout(live.idle);
    clearTimeout(live.lifetime);
    if (!connections.delete(live.connectionId)) return;
    metrics.openConnections.dec();
    metrics.closes.inc({ code: String(code) });
    void track(runDisconnect(live, code, reason));
  }

  async function runDisconnect(
    conn: ConnectionInfo & { api: ApiInfo },
    code: number,
    reason: string,
  ): Promise<void> {
    const started = Date.now();
    try {
      await handlers.disconnect(disconnectEvent(conn, conn.api, code, reason));
    } catch (err) {
      log.warn({ connectionId: conn.connectionId, err }, '$disconnect failed');
    } finally {
      observe('$disconnect', '$disconnect', started);
    }
  }

  function observe(route: string, method: string, startedMs: number): void {
    metrics.handlerSeconds.observe({ route, method }, (Date.now() - startedMs) / 1000);
  }

  // ── HTTP: management API, health, metrics ────────────────────────────────────────────────────

  async function handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://twin');
    if (req.method === 'GET' && url.pathname === '/healthz') {
      return sendJson(res, closing ? 503 : 200, {
        status: closing ? 'stopping' : 'ok',
        connections: connections.size,
      });
    }
    if (req.method === 'GET' && url.pathname === '/metrics') {
      res.writeHead(200, { 'Content-Type': registry.contentType });
      res.end(await registry.metrics());
      return;
    }
    const match = connectionsPath.exec(url.pathname);
    if (match) return manage(req, res, decodeURIComponent(match[1] as string));
    if (url.pathname === '/' || url.pathname === `/${stage}`) {
      return sendJson(res, 426, { message: 'This is a WebSocket endpoint: connect with ws://' });
    }
    sendJson(res, 404, { message: 'Not Found' });
  }

  async function manage(
    req: IncomingMessage,
    res: ServerResponse,
    connectionId: string,
  ): Promise<void> {
    const operation =
      req.method === 'POST'
        ? 'PostToConnection'
        : req.method === 'GET'
          ? 'GetConnection'
          : req.method === 'DELETE'
            ? 'DeleteConnection'
            : undefined;
    if (!operation) return sendJson(res, 405, { message: 'Method Not Allowed' });
    const reply = (status: number, body?: unknown, errorType?: string): void => {
      metrics.management.inc({ operation, status: String(status) });
      sendJson(res, status, body, errorType);
    };
    const body =
      operation === 'PostToConnection' ? await readBody(req, limits.maxMessageBytes) : undefined;
    const live = connections.get(connectionId);
    if (!live || live.ws.readyState !== WebSocket.OPEN) return reply(410, {}, 'GoneException');
    switch (operation) {
      case 'PostToConnection':
        if (body === null)
          return reply(413, { message: 'Request entity too large' }, 'PayloadTooLargeException');
        send(live, (body as Buffer).toString('utf8'));
        return reply(200);
      case 'GetConnection':
        return reply(200, {
          connectedAt: new Date(live.connectedAt).toISOString(),
          identity: {
            sourceIp: live.sourceIp,
            ...(live.userAgent && { userAgent: live.userAgent }),
          },
          lastActiveAt: new Date(live.lastActiveAt).toISOString(),
        });
      case 'DeleteConnection':
        closeConnection(live, 1000, '');
        return reply(204);
    }
  }

  // ── Start and stop ───────────────────────────────────────────────────────────────────────────

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? env.gatewayPort, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const shownHost =
    !opts.host || opts.host === '0.0.0.0' || opts.host === '::' ? 'localhost' : opts.host;
  log.info({ port }, `API Gateway twin on ws://${shownHost}:${port}`);

  return {
    port,
    url: `ws://${shownHost}:${port}`,
    httpUrl: `http://${shownHost}:${port}`,
    connectionIds: () => [...connections.keys()],
    async close() {
      if (closing) return;
      closing = true;
      for (const live of connections.values()) closeConnection(live, 1001, 'Going away');
      const deadline = Date.now() + 5000;
      // Wait for the close handshakes and the $disconnect (and message) handlers they start.
      while ((connections.size > 0 || pending.size > 0) && Date.now() < deadline) await sleep(20);
      for (const live of connections.values()) live.ws.terminate();
      await Promise.allSettled([...pending]);
      wss.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      if (opts.closeHandlerClients !== false) await closeClients();
      log.info({ port }, 'API Gateway twin stopped');
    },
  };
}

function sendJson(res: ServerResponse, status: number, body?: unknown, errorType?: string): void {
  const headers: Record<string, string> = {
    'x-amzn-RequestId': randomBytes(8).toString('hex'),
  };
  if (errorType) headers['x-amzn-ErrorType'] = errorType;
  if (body === undefined || status === 204) {
    res.writeHead(status, headers);
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** The request body, or null when it exceeds `limit` bytes. */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) tooLarge = true;
    else chunks.push(chunk);
  }
  return tooLarge ? null : Buffer.concat(chunks);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
