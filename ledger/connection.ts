// The process's connection to the ledger store (LEDGER_REDIS_URL), created on first use and
// shared; in production its AUTH token comes from Secrets Manager like the registry's.
import Redis from 'ioredis';
import { env } from '../config/env';
import { redisAuth } from '../config/secrets';
import { lazy } from '../platform/lazy';
import { openLedger, type Ledger } from './ledger';

const connection = lazy(
  async () => {
    const redis = new Redis(env.ledgerRedisUrl, {
      maxRetriesPerRequest: 2,
      connectTimeout: 5000,
      ...(await redisAuth()),
    });
    return { redis, ledger: openLedger(redis) };
  },
  ({ redis }) =>
    redis.quit().then(
      () => undefined,
      () => redis.disconnect(),
    ),
);

export const processLedger = async (): Promise<Ledger> => (await connection.get()).ledger;
