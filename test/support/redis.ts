// The test run's Redis server (started by the jest global set-up, which sets REDIS_URL).
import Redis from 'ioredis';

export function redisUrl(): string {
  const url = process.env.REDIS_URL;
  if (!url)
    throw new Error('REDIS_URL is unset: run through jest (its global set-up starts Redis)');
  return url;
}

/** A client of the test run's Redis. Disconnect it in afterAll. */
export const testRedis = (): Redis => new Redis(redisUrl());
