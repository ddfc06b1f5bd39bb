// The gateway tests' own helpers; the twin, tokens and clients they share with the end-to-end tests
// are in test/support/twin.ts.
import type Redis from 'ioredis';
import type { RateLimit } from '../../gateway/envelope';
import { eventually } from '../support/eventually';
import { testRedis } from '../support/redis';
import { startTestTwin, type GatewayTwin } from '../support/twin';

/** The connection ids Redis holds for a user, once there are at least `count`. */
export function connectionsOf(redis: Redis, userID: string, count = 1): Promise<string[]> {
  return eventually(async () => {
    const found = await redis.zrange(`conn:user:${userID}`, 0, -1);
    return found.length >= count ? found : null;
  }, `${count} connection(s) of ${userID} in Redis`);
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

/**
 * An answer's `rateLimits`: the user's order counts per 10 s and per day, against the limits of
 * config/env.ts's defaults unless given.
 */
export const orderRateLimits = (
  count10s: number,
  countDay = count10s,
  { per10s = 50, perDay = 160_000 } = {},
): RateLimit[] => [
  { rateLimitType: 'ORDERS', interval: 'SECOND', intervalNum: 10, limit: per10s, count: count10s },
  { rateLimitType: 'ORDERS', interval: 'DAY', intervalNum: 1, limit: perDay, count: countDay },
];

/** Milliseconds since the epoch by the Redis server's clock, which the order limits follow. */
export async function redisNowMs(redis: Redis): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}
