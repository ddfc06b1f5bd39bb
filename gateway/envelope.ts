// The WebSocket API's envelope (Binance WebSocket API style):
//   request   {"id":"r1","method":"order.place","params":{…}}
//   response  {"id":"r1","status":200,"result":{…}}
//             {"id":"r1","status":400,"error":{"code":"INVALID_QUANTITY","msg":"…","field":"quantity"}}
// Every answer echoes the request's id (null when the request could not be read).
import { z } from 'zod';
import { FieldError, fieldErrorFromZod, type FieldErrorCodes } from '../domain/errors';

export type RequestId = string | number | null;

export interface ErrorBody {
  code: string;
  msg: string;
  field?: string;
  /** 429 TOO_MANY_REQUESTS, 503 OVERLOADED: how long to wait before sending again. */
  retryAfterMs?: number;
}

/** One of the user's rate limits and its count in the current window (Binance's `rateLimits`). */
export interface RateLimit {
  rateLimitType: 'ORDERS';
  interval: 'SECOND' | 'MINUTE' | 'HOUR' | 'DAY';
  intervalNum: number;
  limit: number;
  count: number;
}

export type Response = (
  | { id: RequestId; status: 200; result: unknown }
  | { id: RequestId; status: number; error: ErrorBody }
) & { rateLimits?: RateLimit[] };

/** A refused request: HTTP-like status plus the error body. */
export class ApiError extends Error {
  readonly retryAfterMs: number | undefined;

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    options?: { cause?: unknown; retryAfterMs?: number },
  ) {
    super(message, options);
    this.name = 'ApiError';
    this.retryAfterMs = options?.retryAfterMs;
  }

  static from(err: FieldError, status = 400): ApiError {
    return new ApiError(status, err.code, err.message, err.field);
  }

  toBody(): ErrorBody {
    return {
      code: this.code,
      msg: this.message,
      ...(this.field !== undefined && { field: this.field }),
      ...(this.retryAfterMs !== undefined && { retryAfterMs: this.retryAfterMs }),
    };
  }
}

export const methods = [
  'order.place',
  'order.cancel',
  'order.status',
  'openOrders.status',
  'account.status',
  'account.commission',
  'ping',
] as const;
export type Method = (typeof methods)[number];

const requestSchema = z.strictObject({
  id: z.union([z.string().max(64), z.int(), z.null()]).optional(),
  method: z.string().min(1).max(64),
  params: z.record(z.string(), z.unknown()).optional(),
});

const requestFieldCodes: FieldErrorCodes = {
  byField: { method: 'INVALID_METHOD', params: 'INVALID_PARAMS' },
  otherwise: 'INVALID_REQUEST',
  wholeInput: 'request',
  knownFields: 'a request has id, method, params',
};

export interface ParsedRequest {
  id: RequestId;
  method: Method;
  params: Record<string, unknown>;
}

/**
 * Reads a request frame. Throws ApiError 400 naming the field; `idOf` recovers the id for the
 * answer whenever the frame was JSON with a usable id.
 */
export function parseRequest(body: string): ParsedRequest {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new ApiError(400, 'INVALID_JSON', 'the request is not valid JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new ApiError(
      400,
      'INVALID_REQUEST',
      'the request must be a JSON object {id, method, params}',
    );
  const parsed = requestSchema.safeParse(json);
  if (!parsed.success) throw ApiError.from(fieldErrorFromZod(parsed.error, requestFieldCodes));
  const { id = null, method, params = {} } = parsed.data;
  if (!(methods as readonly string[]).includes(method)) {
    throw new ApiError(
      400,
      'UNKNOWN_METHOD',
      `unknown method "${method}"; known: ${methods.join(', ')}`,
      'method',
    );
  }
  return { id, method: method as Method, params };
}

/** The request id of a frame, if it is JSON with a valid id; null otherwise. */
export function idOf(body: string): RequestId {
  try {
    const json = JSON.parse(body) as unknown;
    if (typeof json !== 'object' || json === null) return null;
    const id = (json as { id?: unknown }).id;
    if ((typeof id === 'string' && id.length <= 64) || Number.isInteger(id)) return id as RequestId;
  } catch {
    // not JSON: no id to echo
  }
  return null;
}

/** The method of a frame for metrics: a known method, or "invalid". */
export function methodOf(body: string): string {
  try {
    const method = (JSON.parse(body) as { method?: unknown } | null)?.method;
    if (typeof method === 'string' && (methods as readonly string[]).includes(method))
      return method;
  } catch {
    // fall through
  }
  return 'invalid';
}

export const ok = (id: RequestId, result: unknown): Response => ({ id, status: 200, result });

export const failure = (id: RequestId, err: ApiError): Response => ({
  id,
  status: err.status,
  error: err.toBody(),
});
