// Live WebSocket connections per user, in Redis, so an execution report reaches every connection of
// its user (a client that reconnects keeps getting updates) from any worker.
//
//   conn:id:{connectionId}  string  → userID                   PX = connection TTL
//   conn:user:{userID}      zset    member connectionId,        PX = connection TTL (refreshed by
//                                   score = expiry (epoch ms)        every connect of the user)
//
// API Gateway closes every WebSocket after at most 2 hours, so a record can never need to outlive
// connectedAt + 2 h: the TTL is that plus a margin, fixed at $connect, with no refresh traffic per
// message. $disconnect removes the record at once; if a $disconnect is lost, the expiry score hides
// the connection, and a post that meets GoneException removes it. The two keys live in different
// cluster slots on purpose (one is found by connection, one by user): no command spans both.
// The gateway's handlers write it; the pushStatus activity reads it.
import Redis, { type Cluster } from 'ioredis';
import { env } from '../config/env';
import { redisAuth } from '../config/secrets';
import { lazy } from '../platform/lazy';

/** API Gateway's hard limit on a WebSocket connection's life. */
export const maxConnectionLifetimeMs = 2 * 60 * 60 * 1000;
/** How long a connection record lives: the limit above plus a margin for clock skew. */
export const connectionTtlMs = maxConnectionLifetimeMs + 10 * 60 * 1000;

export type RedisLike = Redis | Cluster;

// Production: the AUTH token of a `rediss://` REDIS_URL from Secrets Manager (REDIS_AUTH_SECRET_ARN).
const redis = lazy(
  async () => {
    return new Redis(env.redisUrl, {
      maxRetriesPerRequest: 2,
      connectTimeout: 5000,
      ...(await redisAuth()),
    });
  },
  (client) => client.quit().catch(() => client.disconnect()),
);

/** The process's Redis connection to the registry (created on first use, then shared). */
export const registryRedis = (): Promise<Redis> => redis.get();

export const connectionKeys = {
  byId: (connectionId: string): string => `conn:id:${connectionId}`,
  byUser: (userID: string): string => `conn:user:${userID}`,
};

export async function registerConnection(
  redis: RedisLike,
  c: { connectionId: string; userID: string; connectedAt?: number },
): Promise<void> {
  const now = Date.now();
  const expiresAt = (c.connectedAt ?? now) + connectionTtlMs;
  const userKey = connectionKeys.byUser(c.userID);
  await Promise.all([
    redis.set(connectionKeys.byId(c.connectionId), c.userID, 'PX', connectionTtlMs),
    redis.zadd(userKey, expiresAt, c.connectionId),
    redis.zremrangebyscore(userKey, '-inf', now),
    redis.pexpire(userKey, Math.max(1, expiresAt - now)),
  ]);
}

/** The user of a connection, or null when it is unknown or expired. */
export async function userOfConnection(
  redis: RedisLike,
  connectionId: string,
): Promise<string | null> {
  return redis.get(connectionKeys.byId(connectionId));
}

/** Forgets a connection ($disconnect, or a GoneException on a post). */
export async function removeConnection(
  redis: RedisLike,
  connectionId: string,
  userID?: string,
): Promise<void> {
  const owner = userID ?? (await userOfConnection(redis, connectionId));
  await Promise.all([
    redis.del(connectionKeys.byId(connectionId)),
    owner ? redis.zrem(connectionKeys.byUser(owner), connectionId) : Promise.resolve(0),
  ]);
}

/** Every unexpired connection of a user. */
export async function liveConnections(redis: RedisLike, userID: string): Promise<string[]> {
  return redis.zrangebyscore(connectionKeys.byUser(userID), Date.now(), '+inf');
}
