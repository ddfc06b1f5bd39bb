// $default: every message frame. Reads the envelope, dispatches on `method`, and answers with one
// envelope that echoes the request id. The answer is this function's return value: the $default
// route has a route response (two-way route), so API Gateway sends `body` back to the connection,
// and the local twin does the same. Pushed execution reports take the other path (pushStatus →
// @connections). Every answer of a known user carries the user's order rate limits (`rateLimits`):
// the counts after counting the order for order.place, else the counts as they are.
import { markets } from '../../config/markets';
import { processAccounts } from '../../accounts/process';
import { temporalClient } from '../temporal';
import { commandSender } from '../commandQueue';
import { registryRedis, userOfConnection, type RedisLike } from '../../connections/registry';
import {
  ApiError,
  failure,
  idOf,
  ok,
  parseRequest,
  type RateLimit,
  type RequestId,
  type Response,
} from '../envelope';
import { serviceLogger } from '../../platform/log';
import { createMethods, toApiError, type MethodDeps } from '../methods';
import { createAdmission } from '../admission';
import { LagReporter, readLag } from '../../admission/lag';
import { env } from '../../config/env';
import {
  createOrderRateLimiter,
  requestLimits,
  type OrderRateLimiter,
  type RequestLimits,
} from '../orderRateLimits';
import type { WebSocketEvent, WebSocketResult } from '../types';

const log = serviceLogger('gateway');

export interface DefaultHandlerDeps extends Partial<MethodDeps> {
  redis?: () => Promise<RedisLike>;
  /** Default: the limits of config/env.ts, counted in `redis`. */
  orderLimiter?: OrderRateLimiter;
}

/** The connection's user: from the authorizer's context, else from the connection registry. */
async function connectionUser(
  event: WebSocketEvent,
  redis: () => Promise<RedisLike>,
): Promise<string> {
  const fromAuthorizer = event.requestContext.authorizer?.userID;
  if (typeof fromAuthorizer === 'string' && fromAuthorizer) return fromAuthorizer;
  const userID = await userOfConnection(await redis(), event.requestContext.connectionId);
  if (!userID)
    throw new ApiError(401, 'UNAUTHENTICATED', 'unknown connection; connect again with a token');
  return userID;
}

export function createDefaultHandler(
  deps: DefaultHandlerDeps = {},
): (event: WebSocketEvent) => Promise<WebSocketResult> {
  const redis = deps.redis ?? registryRedis;
  const placeLag = new LagReporter(redis, 'gateway');
  const methods = createMethods({
    temporal: temporalClient,
    sendCommand: commandSender,
    markets,
    accounts: processAccounts,
    admission: createAdmission({
      readLag: async () => readLag(await redis()),
      shedLagMs: env.gatewayShedLagMs,
      maxInFlight: env.gatewayMaxOrdersInFlight,
      placed: (startedAt) => placeLag.sample(startedAt),
    }),
    ...deps,
  });
  const limiter = deps.orderLimiter ?? createOrderRateLimiter({ redis });

  /** The rateLimits of an answer; none when the user is unknown or the counts unreachable. */
  async function rateLimitsOf(
    event: WebSocketEvent,
    limits: RequestLimits | undefined,
  ): Promise<RateLimit[] | undefined> {
    try {
      return await (
        limits ?? requestLimits(limiter, await connectionUser(event, redis))
      ).rateLimits();
    } catch (err) {
      if (!(err instanceof ApiError)) {
        const { connectionId, requestId } = event.requestContext;
        log.warn({ connectionId, requestId, err }, 'cannot read the order rate limits');
      }
      return undefined;
    }
  }

  return async (event) => {
    const started = Date.now();
    const { connectionId, requestId } = event.requestContext;
    const raw = event.body ?? '';
    const body = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
    const fields: Record<string, unknown> = {};
    let id: RequestId = null;
    let limits: RequestLimits | undefined;
    let response: Response;
    try {
      const request = parseRequest(body);
      id = request.id;
      fields.method = request.method;
      const userID = await connectionUser(event, redis);
      fields.userID = userID;
      limits = requestLimits(limiter, userID);
      response = ok(
        id,
        await methods[request.method](request.params, {
          userID,
          connectionId,
          log: log.child({ connectionId, requestId, method: request.method, id }),
          annotate: (more) => Object.assign(fields, more),
          countOrder: limits.countOrder,
        }),
      );
    } catch (err) {
      const apiError = toApiError(err);
      fields.code = apiError.code;
      // A shed order is a deliberate answer: the 'request' line below records it.
      if (apiError.status >= 500 && apiError.code !== 'OVERLOADED') {
        const cause = apiError.cause ?? apiError;
        log.error({ connectionId, requestId, id, ...fields, err: cause }, 'request failed');
      }
      response = failure(id ?? idOf(body), apiError);
    }
    const rateLimits = response.status === 401 ? undefined : await rateLimitsOf(event, limits);
    if (rateLimits) response.rateLimits = rateLimits;
    log.info(
      {
        connectionId,
        requestId,
        id: response.id,
        ...fields,
        status: response.status,
        ms: Date.now() - started,
      },
      'request',
    );
    return { statusCode: 200, body: JSON.stringify(response) };
  };
}

export const handler = createDefaultHandler();
