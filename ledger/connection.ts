// The process's connection to the ledger store (LEDGER_REDIS_URL), created on first use and
// shared. In production the store is MemoryDB, always in cluster mode, reached over TLS as the ACL
// user of LEDGER_REDIS_AUTH_SECRET_ARN; locally it is the stack's plain Redis.
import Redis, { Cluster } from 'ioredis';
import { env } from '../config/env';
import { ledgerRedisAuth } from '../config/secrets';
import { lazy } from '../platform/lazy';
import { openLedger, type Ledger } from './ledger';

async function connect(): Promise<Redis | Cluster> {
  const auth = await ledgerRedisAuth();
  const options = { maxRetriesPerRequest: 2, connectTimeout: 5000, ...auth };
  if (!env.ledgerRedisCluster) return new Redis(env.ledgerRedisUrl, options);
  const url = new URL(env.ledgerRedisUrl);
  const tls = url.protocol === 'rediss:' ? {} : undefined;
  return new Cluster([{ host: url.hostname, port: Number(url.port || 6379) }], {
    redisOptions: { ...options, ...(tls && { tls }) },
    // MemoryDB's nodes answer by name; TLS checks the certificate against it.
    dnsLookup: (address, callback) => callback(null, address),
  });
}

const connection = lazy(
  async () => {
    const redis = await connect();
    return { redis, ledger: openLedger(redis) };
  },
  ({ redis }) =>
    redis.quit().then(
      () => undefined,
      () => redis.disconnect(),
    ),
);

export const processLedger = async (): Promise<Ledger> => (await connection.get()).ledger;
