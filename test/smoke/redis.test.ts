import { testRedis } from '../support/redis';

test('Redis EVAL runs a Lua script against a real server', async () => {
  const redis = testRedis();
  try {
    const key = `{smoke}:${Date.now()}`;
    const result = await redis.eval(
      "redis.call('SET', KEYS[1], ARGV[1]); return redis.call('INCRBY', KEYS[1], ARGV[2])",
      1,
      key,
      '40',
      '2',
    );
    expect(result).toBe(42);
    expect(await redis.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
  } finally {
    redis.disconnect();
  }
});
