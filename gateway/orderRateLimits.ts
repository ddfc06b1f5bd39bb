// Per-user order rate limits in Binance's manner: fixed windows (10 s, and the UTC day by default)
// counted in the registry's Redis, so every gateway instance (a Lambda each) sees the same counts.
//
//   rl:orders:{userID}  hash  <windowMs>:start, <windowMs>:count per limit; expires when the
//                             longest window ends
//
// One script call per placed order checks every window and counts the order in all of them, or in
// none when one is full. Windows follow Redis's clock, so instances whose clocks differ agree.
import { env } from '../config/env';
import { registryRedis, type RedisLike } from '../connections/registry';
import { ApiError, type RateLimit } from './envelope';

export type OrderLimit = Pick<RateLimit, 'interval' | 'intervalNum' | 'limit'>;

export interface OrderCount {
  /** The user's counts after this order (unchanged when refused). */
  rateLimits: RateLimit[];
  /** Set when a window is full: the order was counted nowhere. */
  refused?: ApiError;
}

export interface OrderRateLimiter {
  /** Counts one order placement of the user, unless one of its windows is full. */
  count(userID: string): Promise<OrderCount>;
  /** The user's counts as they are, counting nothing. */
  current(userID: string): Promise<RateLimit[]>;
}

export interface OrderRateLimiterOptions {
  /** Default: GATEWAY_ORDERS_PER_10S per 10 s, GATEWAY_ORDERS_PER_DAY per day. */
  limits?: OrderLimit[];
  /** Default: the connection registry's Redis. */
  redis?: () => Promise<RedisLike>;
  /** Key prefix (tests use their own). */
  namespace?: string;
}

const intervalMs: Record<OrderLimit['interval'], number> = {
  SECOND: 1000,
  MINUTE: 60_000,
  HOUR: 3_600_000,
  DAY: 86_400_000,
};

export const orderLimitsFromEnv = (): OrderLimit[] => [
  { interval: 'SECOND', intervalNum: 10, limit: env.gatewayOrdersPer10s },
  { interval: 'DAY', intervalNum: 1, limit: env.gatewayOrdersPerDay },
];

// KEYS[1] the user's counts; ARGV[1] '1' counts an order, '0' only reads; then per limit its
// window (ms) and its limit. Returns {counted 0|1, Redis's time in ms, count of each limit…}.
const script = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = (#ARGV - 1) / 2
local counts, starts, full, lastEnd = {}, {}, false, 0
for i = 1, n do
  local window, limit = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local start = now - now % window
  local stored = redis.call('HMGET', KEYS[1], window .. ':start', window .. ':count')
  counts[i], starts[i] = 0, start
  if tonumber(stored[1]) == start then counts[i] = tonumber(stored[2]) end
  if counts[i] >= limit then full = true end
  if start + window > lastEnd then lastEnd = start + window end
end
local counted = ARGV[1] == '1' and not full
if counted then
  for i = 1, n do
    local window = tonumber(ARGV[2 * i])
    counts[i] = counts[i] + 1
    redis.call('HSET', KEYS[1], window .. ':start', starts[i], window .. ':count', counts[i])
  end
  redis.call('PEXPIREAT', KEYS[1], lastEnd)
end
local reply = { counted and 1 or 0, now }
for i = 1, n do reply[#reply + 1] = counts[i] end
return reply
`;

const command = 'orderRateLimits';
type Scripted = Record<typeof command, (key: string, ...args: string[]) => Promise<number[]>>;

/** The client with the script as a command (ioredis sends EVALSHA, and EVAL after NOSCRIPT). */
function scripted(redis: RedisLike): Scripted {
  if (!(command in redis)) redis.defineCommand(command, { numberOfKeys: 1, lua: script });
  return redis as unknown as Scripted;
}

const per = ({ interval, intervalNum }: OrderLimit): string => {
  const unit = interval.toLowerCase();
  return intervalNum === 1 ? unit : `${intervalNum} ${unit}s`;
};

export function createOrderRateLimiter(opts: OrderRateLimiterOptions = {}): OrderRateLimiter {
  const limits = opts.limits ?? orderLimitsFromEnv();
  const redis = opts.redis ?? registryRedis;
  const windows = limits.map((l) => intervalMs[l.interval] * l.intervalNum);
  const args = limits.flatMap((l, i) => [String(windows[i]), String(l.limit)]);
  const key = (userID: string): string => `${opts.namespace ?? ''}rl:orders:${userID}`;

  async function run(userID: string, count: boolean): Promise<OrderCount> {
    const client = scripted(await redis());
    const [counted, now = 0, ...counts] = await client[command](
      key(userID),
      count ? '1' : '0',
      ...args,
    );
    const rateLimits = limits.map((l, i): RateLimit => ({
      rateLimitType: 'ORDERS',
      ...l,
      count: counts[i] ?? 0,
    }));
    if (!count || counted === 1) return { rateLimits };
    // Refused: send again once the last of the full windows has reset (on a tie, the longer).
    const untilReset = (i: number): number => windows[i]! - (now % windows[i]!);
    const later = (a: number, b: number): number =>
      untilReset(b) > untilReset(a) ||
      (untilReset(b) === untilReset(a) && windows[b]! > windows[a]!)
        ? b
        : a;
    const full = limits.flatMap((l, i) => (rateLimits[i]!.count >= l.limit ? [i] : []));
    const last = full.reduce(later, full[0] ?? 0);
    const retryAfterMs = untilReset(last);
    const limit = limits[last]!;
    const orders = limit.limit === 1 ? 'order' : 'orders';
    const refused = new ApiError(
      429,
      'TOO_MANY_REQUESTS',
      `order rate limit: at most ${limit.limit} ${orders} per ${per(limit)}; try again in ${retryAfterMs} ms`,
      undefined,
      { retryAfterMs },
    );
    return { rateLimits, refused };
  }

  return {
    count: (userID) => run(userID, true),
    current: async (userID) => (await run(userID, false)).rateLimits,
  };
}

/** One request's side of the limits: counts its order (once), then gives its answer's counts. */
export interface RequestLimits {
  /** Throws 429 past a limit, 503 when the counts cannot be reached. */
  countOrder: () => Promise<void>;
  /** The counts after the counted order, else the counts as they are. */
  rateLimits: () => Promise<RateLimit[]>;
}

export function requestLimits(limiter: OrderRateLimiter, userID: string): RequestLimits {
  let counted: RateLimit[] | undefined;
  return {
    countOrder: async () => {
      let count: OrderCount;
      try {
        count = await limiter.count(userID);
      } catch (err) {
        // The same Redis holds the books: without it no order would go through anyway.
        throw new ApiError(
          503,
          'UNAVAILABLE',
          'the order rate limiter is unavailable; try again',
          undefined,
          { cause: err },
        );
      }
      counted = count.rateLimits;
      if (count.refused) throw count.refused;
    },
    rateLimits: async () => counted ?? limiter.current(userID),
  };
}
