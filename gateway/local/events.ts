// The events API Gateway builds for a WebSocket API's Lambda integrations and its REQUEST
// authorizer, built the same way by the local twin from a real upgrade request or frame.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type {
  AuthorizerContext,
  AuthorizerEvent,
  WebSocketEvent,
  WebSocketEventType,
  WebSocketRequestContext,
} from '../types';

export interface ApiInfo {
  apiId: string;
  stage: string;
  region: string;
  domainName: string;
}

export interface ConnectionInfo {
  connectionId: string;
  connectedAt: number;
  sourceIp: string;
  userAgent?: string;
  authorizer?: AuthorizerContext;
}

const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number): string => String(n).padStart(2, '0');

/** API Gateway's `requestTime`: "09/Apr/2020:18:03:43 +0000". */
export function requestTime(epochMs: number): string {
  const d = new Date(epochMs);
  return `${pad(d.getUTCDate())}/${months[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

/** An id shaped like API Gateway's connection ids ("L0SM9cOFvHcCIhw="). */
export const newConnectionId = (): string =>
  `${randomBytes(11).toString('base64url').slice(0, 15)}=`;
const newRequestId = (): string => `${randomBytes(11).toString('base64url').slice(0, 15)}=`;

const routeKeys: Record<WebSocketEventType, string> = {
  CONNECT: '$connect',
  MESSAGE: '$default',
  DISCONNECT: '$disconnect',
};

function requestContext(
  eventType: WebSocketEventType,
  conn: ConnectionInfo,
  api: ApiInfo,
  extra: Partial<WebSocketRequestContext> = {},
): WebSocketRequestContext {
  const now = Date.now();
  const requestId = newRequestId();
  return {
    routeKey: routeKeys[eventType],
    eventType,
    extendedRequestId: requestId,
    requestTime: requestTime(now),
    messageDirection: 'IN',
    stage: api.stage,
    connectedAt: conn.connectedAt,
    requestTimeEpoch: now,
    identity: { sourceIp: conn.sourceIp, ...(conn.userAgent && { userAgent: conn.userAgent }) },
    requestId,
    domainName: api.domainName,
    connectionId: conn.connectionId,
    apiId: api.apiId,
    ...(conn.authorizer && { authorizer: conn.authorizer }),
    ...extra,
  };
}

/** Headers with their original spelling (API Gateway keeps the client's case). */
function headersOf(req: IncomingMessage): {
  headers: Record<string, string>;
  multiValueHeaders: Record<string, string[]>;
} {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i] as string;
    const value = req.rawHeaders[i + 1] as string;
    headers[name] = value;
    (multiValueHeaders[name] ??= []).push(value);
  }
  return { headers, multiValueHeaders };
}

function queryOf(
  req: IncomingMessage,
): Pick<WebSocketEvent, 'queryStringParameters' | 'multiValueQueryStringParameters'> {
  const params = new URL(req.url ?? '/', 'http://twin').searchParams;
  if ([...params.keys()].length === 0) return {};
  const single: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  for (const [name, value] of params) {
    single[name] = value;
    (multi[name] ??= []).push(value);
  }
  return { queryStringParameters: single, multiValueQueryStringParameters: multi };
}

export function connectEvent(
  req: IncomingMessage,
  conn: ConnectionInfo,
  api: ApiInfo,
): WebSocketEvent {
  return {
    ...headersOf(req),
    ...queryOf(req),
    requestContext: requestContext('CONNECT', conn, api),
    isBase64Encoded: false,
  };
}

export function authorizerEvent(connect: WebSocketEvent, api: ApiInfo): AuthorizerEvent {
  return {
    type: 'REQUEST',
    methodArn: `arn:aws:execute-api:${api.region}:000000000000:${api.apiId}/${api.stage}/$connect`,
    headers: connect.headers,
    multiValueHeaders: connect.multiValueHeaders,
    queryStringParameters: connect.queryStringParameters,
    multiValueQueryStringParameters: connect.multiValueQueryStringParameters,
    stageVariables: null,
    requestContext: connect.requestContext,
  };
}

export function messageEvent(
  conn: ConnectionInfo,
  api: ApiInfo,
  data: Buffer,
  isBinary: boolean,
): WebSocketEvent {
  return {
    requestContext: requestContext('MESSAGE', conn, api, { messageId: newRequestId() }),
    body: isBinary ? data.toString('base64') : data.toString('utf8'),
    isBase64Encoded: isBinary,
  };
}

export function disconnectEvent(
  conn: ConnectionInfo,
  api: ApiInfo,
  code: number,
  reason: string,
): WebSocketEvent {
  return {
    headers: { Host: api.domainName, 'x-api-key': '', 'X-Forwarded-For': '', 'x-restapi': '' },
    requestContext: requestContext('DISCONNECT', conn, api, {
      disconnectStatusCode: code,
      disconnectReason: reason,
    }),
    isBase64Encoded: false,
  };
}
