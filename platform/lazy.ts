// Clients the handlers share, one per Lambda container (module scope, created on first use and
// reused by every later invocation of a warm container). The Redis connection lives here; the
// Temporal client in ./temporal, so $connect and $disconnect do not load the Temporal SDK.
// Production credentials come from Secrets Manager by ARN: REDIS_AUTH_SECRET_ARN (AUTH token of a
// `rediss://` REDIS_URL). Locally nothing is set.
import Redis from 'ioredis';
import { env } from '../config/env';
import { redisAuth } from '../config/secrets';

/** A lazily created, cached client; a failed creation is forgotten, so the next call retries. */
export interface Lazy<T> {
  get(): Promise<T>;
  /** Forgets the client and closes it if it was created. */
  close(): Promise<void>;
}

const all: Array<Lazy<unknown>> = [];

export function lazy<T>(create: () => Promise<T>, close: (client: T) => Promise<unknown>): Lazy<T> {
  let current: Promise<T> | undefined;
  const client: Lazy<T> = {
    get() {
      if (!current) {
        const created = create();
        created.catch(() => {
          if (current === created) current = undefined;
        });
        current = created;
      }
      return current;
    },
    async close() {
      const was = current;
      current = undefined;
      await was?.then(close).catch(() => undefined);
    },
  };
  all.push(client);
  return client;
}

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

/** The container's Redis connection (the connection registry). */
export const redisClient = (): Promise<Redis> => redis.get();

/** Closes every shared client (twin shutdown, tests); the next use opens new ones. */
export async function closeClients(): Promise<void> {
  await Promise.all(all.map((c) => c.close()));
}
