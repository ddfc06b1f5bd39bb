// Helpers for tests that talk to the WebSocket API over a real socket: a local API Gateway twin
// in-process on a free port (running the real handler modules against the jest global set-up's
// Temporal and Redis), tokens, and connected clients. The end-to-end tests use them too.
import './quiet';
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { signToken, type SignOptions } from '../../gateway/auth';
import { TradingClient, type ConnectOptions } from '../../client/node';
import {
  startGatewayTwin,
  type GatewayTwin,
  type GatewayTwinOptions,
} from '../../gateway/local/twin';

export type { GatewayTwin } from '../../gateway/local/twin';
export { TradingClient, ConnectRefusedError } from '../../client/node';

/** The seed's message, exactly as written: `params` of order.place. */
export const seedOrderText =
  '{"orderId":"12345","type":"SELL","userID":"user1","coinID":"BTC","quantity":5,"price":100}';

/** Starts the twin on 127.0.0.1 and a free port. Call `close()` in afterAll. */
export function startTestTwin(opts: GatewayTwinOptions = {}): Promise<GatewayTwin> {
  return startGatewayTwin({ port: 0, host: '127.0.0.1', ...opts });
}

/** A user id no other test (or earlier run against the same servers) uses. */
export const uniqueUser = (prefix = 'u'): string => `${prefix}-${randomUUID().slice(0, 8)}`;

export const tokenFor = (userID: string, opts?: SignOptions): Promise<string> =>
  signToken(userID, opts);

/** A client connected as `userID` with a freshly minted token. */
export async function connectAs(
  twin: Pick<GatewayTwin, 'url'>,
  userID: string,
  opts: ConnectOptions = {},
): Promise<TradingClient> {
  return TradingClient.connect(twin.url, { token: await tokenFor(userID), ...opts });
}

/** A Redis client of the test run's server (REDIS_URL from the global set-up). */
export const testRedis = (): Redis => new Redis(process.env.REDIS_URL!);

/** The connection ids Redis holds for a user, once there are at least `count`. */
export async function connectionsOf(redis: Redis, userID: string, count = 1): Promise<string[]> {
  const ids = await eventually(async () => {
    const found = await redis.zrange(`conn:user:${userID}`, 0, -1);
    return found.length >= count ? found : null;
  });
  if (!ids) throw new Error(`fewer than ${count} connection(s) of ${userID} in Redis`);
  return ids;
}

/**
 * A twin and a Redis client for the test file: the twin starts before its tests, both close after
 * them. `twin` is there once the tests run.
 */
export function useTestTwin(): { readonly twin: GatewayTwin; readonly redis: Redis } {
  const redis = testRedis();
  let twin: GatewayTwin | undefined;
  beforeAll(async () => {
    twin = await startTestTwin();
  });
  afterAll(async () => {
    await twin?.close();
    redis.disconnect();
  });
  return {
    get twin(): GatewayTwin {
      if (!twin) throw new Error('the test twin starts in beforeAll');
      return twin;
    },
    redis,
  };
}

/** Polls until `check` returns a truthy value or the time is up. */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 25));
  }
}
