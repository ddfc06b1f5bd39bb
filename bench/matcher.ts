// Matcher benchmark: a realistic command mix through the real Lua scripts, against the ceiling
// of the same client doing nothing but EVALSHA of a trivial script.
//
//   npm run bench:matcher -- [--commands 200000] [--markets 16]
//
// Starts its own redis-server (AOF on, data under .data/bench) unless REDIS_URL is set. Each
// market is one book with one command in flight (as the wrapper guarantees), so the pipelining
// depth is the number of markets; the ceiling runs with the same client and the same depth.
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import * as hdr from 'hdr-histogram-js';
import Redis from 'ioredis';
import marketsJson from '../config/markets.json';
import { buildMarket, type Market } from '../domain/markets';
import type { MatcherCommand, MatcherEvent } from '../domain/order';
import { keyList, openBook, type Book } from '../matcher/book';
import { freePort, projectRoot, startRedis, type ManagedProcess } from '../scripts/services';

const positiveInt = (text: string): number => {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError('a positive integer');
  return n;
};

const program = new Command()
  .name('bench:matcher')
  .option('--commands <n>', 'commands to apply in total', positiveInt, 200_000)
  .option('--markets <n>', 'markets (books) driven at once: the pipelining depth', positiveInt, 16)
  .parse();
const opts = program.opts<{ commands: number; markets: number }>();

/** Deterministic randomness, so two runs apply the same stream. */
function rng(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) % n) | 0;
  };
}

/**
 * One market's order flow: ~70% limit orders within 20 ticks of a wandering mid (a few cross),
 * ~20% cancels of orders believed to rest, ~10% market orders. 1,000 users.
 */
class Flow {
  private readonly random: (n: number) => number;
  private mid = 1_000_000; // 10,000.00 in ticks of 0.01
  private n = 0;
  private readonly live: string[] = [];
  private readonly liveIndex = new Map<string, number>();

  constructor(
    private readonly coinID: string,
    seed: number,
  ) {
    this.random = rng(seed);
  }

  next(): MatcherCommand {
    const r = this.random;
    const id = ++this.n;
    const base = { commandId: `${this.coinID}#${id}`, coinID: this.coinID };
    this.mid += r(5) - 2;
    const roll = r(100);
    if (roll < 20 && this.live.length > 0) {
      const [userID, orderId] = this.live[r(this.live.length)]!.split('/') as [string, string];
      return { cmd: 'cancel', ...base, userID, orderId };
    }
    const side = r(2) === 0 ? 'BUY' : 'SELL';
    const order = {
      cmd: 'place' as const,
      ...base,
      orderId: `o${id}`,
      userID: `user${r(1000)}`,
      side,
      selfTradePrevention: 'EXPIRE_MAKER' as const,
      attempt: 0,
    } as const;
    if (roll >= 90) {
      return {
        ...order,
        orderType: 'MARKET',
        timeInForce: 'IOC',
        price: null,
        quantity: 50 + r(250),
      };
    }
    // Mostly passive (own side of the mid), one in ten crossing by a few ticks.
    const offset = r(10) === 0 ? -r(8) : 1 + r(20);
    const price = side === 'BUY' ? this.mid - offset : this.mid + offset;
    return {
      ...order,
      orderType: 'LIMIT',
      timeInForce: 'GTC',
      price,
      quantity: 50 + r(450),
    };
  }

  /** Keeps the set of resting orders current from the events. */
  observe(events: MatcherEvent[]): void {
    for (const e of events) {
      const key = `${e.userID}/${e.orderId}`;
      if (e.event === 'NEW' && e.timeInForce === 'GTC') this.add(key);
      else if (e.event === 'TRADE' && e.leavesQty === 0) this.remove(key);
      else if (e.event === 'CANCELED' || e.event === 'EXPIRED') this.remove(key);
    }
  }

  private add(key: string): void {
    this.liveIndex.set(key, this.live.length);
    this.live.push(key);
  }

  private remove(key: string): void {
    const i = this.liveIndex.get(key);
    if (i === undefined) return;
    const last = this.live.pop()!;
    if (last !== key) {
      this.live[i] = last;
      this.liveIndex.set(last, i);
    }
    this.liveIndex.delete(key);
  }
}

interface RunResult {
  perSecond: number;
  histogram: hdr.Histogram;
}

/** `total` calls spread over `lanes` lanes, each lane one call at a time. */
async function drive(
  total: number,
  lanes: number,
  call: (lane: number) => Promise<void>,
): Promise<RunResult> {
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000 });
  let issued = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: lanes }, async (_, lane) => {
      while (issued < total) {
        issued++;
        const t0 = process.hrtime.bigint();
        await call(lane);
        histogram.recordValue(Number((process.hrtime.bigint() - t0) / 1000n));
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { perSecond: total / seconds, histogram };
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const clientFmt = (us: number) => us.toFixed(1);
const ms = (us: number) => `${(us / 1000).toFixed(2)} ms`;

/** EVALSHA calls and the µs spent in them, from INFO commandstats. */
async function evalshaStats(redis: Redis): Promise<{ calls: number; usec: number }> {
  const info = await redis.info('commandstats');
  const m = /cmdstat_evalsha:calls=(\d+),usec=(\d+)/.exec(info);
  return { calls: Number(m?.[1] ?? 0), usec: Number(m?.[2] ?? 0) };
}

/** Seconds of CPU the Redis server has used (user + system), in µs. */
async function redisCpu(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1]);
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1e6;
}

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1]);
}

async function main(): Promise<void> {
  let server: ManagedProcess | undefined;
  let url = process.env.REDIS_URL;
  if (!url) {
    const dataDir = path.join(projectRoot, '.data', 'bench', 'redis');
    rmSync(dataDir, { recursive: true, force: true });
    const port = await freePort();
    server = await startRedis({
      port,
      dataDir,
      sink: { kind: 'file', path: path.join(projectRoot, '.data', 'bench', 'redis.log') },
    });
    url = `redis://127.0.0.1:${port}`;
  }
  const redis = new Redis(url);
  try {
    const serverInfo = await redis.info('server');
    const version = /redis_version:(\S+)/.exec(serverInfo)?.[1];
    const aof = ((await redis.config('GET', 'appendonly')) as string[])[1];
    const fsync = ((await redis.config('GET', 'appendfsync')) as string[])[1];
    const lanes = opts.markets;
    const namespace = `bench:${process.pid}:`;
    const markets: Market[] = Array.from({ length: lanes }, (_, i) =>
      buildMarket(`B${String(i).padStart(2, '0')}`, marketsJson.BTC),
    );
    const books: Book[] = await Promise.all(markets.map((m) => openBook(redis, m, { namespace })));
    const flows = markets.map((m, i) => new Flow(m.coinID, 1 + i));

    console.log(
      `matcher bench: ${fmt(opts.commands)} commands (≈70% limit near mid, 20% cancel of resting ` +
        `orders, 10% market) on ${lanes} BTC-rule markets, one command in flight per market ` +
        `(${lanes} in flight); Redis ${version}, appendonly ${aof}, appendfsync ${fsync}`,
    );

    // The ceiling: the same client, depth and KEYS/ARGV shapes, a script that does nothing.
    const trivial = 'return 1';
    const trivialSha = createHash('sha1').update(trivial).digest('hex');
    await redis.script('LOAD', trivial);
    const sample = JSON.stringify(new Flow('B00', 99).next());
    const ceilingWithArgs = () =>
      drive(opts.commands, lanes, async (lane) => {
        await redis.evalsha(trivialSha, 8, ...keyList(books[lane]!.keys), sample, '200');
      });
    const ceilingBare = () =>
      drive(opts.commands, lanes, async () => {
        await redis.evalsha(trivialSha, 0);
      });
    await drive(20_000, lanes, async () => void (await redis.evalsha(trivialSha, 0))); // warm-up
    const bare = await ceilingBare();
    const withArgs = await ceilingWithArgs();

    const before = await usedMemory(redis);
    const redisCpu0 = await redisCpu(redis);
    const script0 = await evalshaStats(redis);
    const clientCpu0 = process.cpuUsage();
    let events = 0;
    let trades = 0;
    const run = await drive(opts.commands, lanes, async (lane) => {
      const flow = flows[lane]!;
      const result = await books[lane]!.apply(flow.next());
      events += result.length;
      for (const e of result) if (e.event === 'TRADE' && !e.maker) trades++;
      flow.observe(result);
    });
    const after = await usedMemory(redis);
    const redisCpuPerCmd = ((await redisCpu(redis)) - redisCpu0) / opts.commands;
    const script1 = await evalshaStats(redis);
    const scriptPerCall = (script1.usec - script0.usec) / (script1.calls - script0.calls);
    const callsPerCmd = (script1.calls - script0.calls) / opts.commands;
    const clientCpu = process.cpuUsage(clientCpu0);
    const clientCpuPerCmd = (clientCpu.user + clientCpu.system) / opts.commands;

    let resting = 0;
    let records = 0;
    const keyMemory: Record<string, number> = {};
    for (const book of books) {
      resting += (await redis.zcard(book.keys.bids)) + (await redis.zcard(book.keys.asks));
      records += await redis.hlen(book.keys.orders);
      for (const [name, key] of Object.entries(book.keys) as Array<[string, string]>) {
        const bytes = await redis.memory('USAGE', key, 'SAMPLES', '0');
        keyMemory[name] = (keyMemory[name] ?? 0) + (bytes ?? 0);
      }
    }

    const line = (label: string, r: RunResult, unit: string) =>
      console.log(
        `${label.padEnd(52)} ${fmt(r.perSecond).padStart(9)} ${unit}/s   p50 ${ms(r.histogram.getValueAtPercentile(50))}   p99 ${ms(r.histogram.getValueAtPercentile(99))}`,
      );
    line('ceiling: EVALSHA trivial script, 8 keys + same ARGV', withArgs, 'calls');
    line('ceiling: EVALSHA trivial script, no keys or args', bare, 'calls');
    line('matcher: place/cancel through apply.lua', run, 'cmds');
    console.log(
      `ratio commands/s ÷ ceiling: ${(run.perSecond / withArgs.perSecond).toFixed(2)} ` +
        `(same keys and args); ${(run.perSecond / bare.perSecond).toFixed(2)} (bare EVALSHA); target ≥ 0.35`,
    );
    console.log(
      `CPU per command: Redis ${clientFmt(redisCpuPerCmd)} µs (of which inside apply.lua ` +
        `${clientFmt(scriptPerCall * callsPerCmd)} µs, ${callsPerCmd.toFixed(3)} script calls), ` +
        `this client ${clientFmt(clientCpuPerCmd)} µs`,
    );
    console.log(
      `events ${fmt(events)} (${(events / opts.commands).toFixed(2)} per command), trades ${fmt(trades)}, ` +
        `resting orders at the end ${fmt(resting)}`,
    );
    const per = (bytes: number, n: number) => fmt(bytes / Math.max(1, n));
    console.log(
      `Redis used_memory +${fmt((after - before) / 2 ** 20, 1)} MiB → ${per(after - before, resting)} B ` +
        `per resting order (all history included)`,
    );
    console.log(
      `  by key: bids+asks ${per((keyMemory.bids ?? 0) + (keyMemory.asks ?? 0), resting)} B per resting ` +
        `order; orders hash ${per(keyMemory.orders ?? 0, records)} B per record (${fmt(records)} ` +
        `records, resting and finished); applied ids ${per(keyMemory.applied ?? 0, opts.commands)} B ` +
        `and outbox ${per(keyMemory.events ?? 0, opts.commands)} B per command`,
    );
    for (const book of books) await book.destroy();
  } finally {
    redis.disconnect();
    await server?.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
