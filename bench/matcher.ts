// Matcher benchmark: a realistic command mix through the real Lua scripts, against the ceiling
// of the same client doing nothing but EVALSHA of a trivial script.
//
//   npm run bench:matcher -- [--commands 200000] [--markets 16] [--batch 10]
//
// Starts its own redis-server (AOF on, data under .data/bench) unless REDIS_URL is set. Each
// market is one book with one script call in flight (as the wrapper guarantees), so the
// pipelining depth is the number of markets; the ceiling runs with the same client and the same
// depth. Each call carries a batch of one market's commands, as the matcher's SQS consumer hands
// a receive's commands of a market (at most 10; SQS FIFO fills a receive from one message group
// as far as it can) to Book.applyBatch. So the ratio compares commands/s with trivial-script
// calls/s at the same depth and the same keys and ARGV (the budget and a batch of commands);
// a second run applies one command per call, for comparison.
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import * as hdr from 'hdr-histogram-js';
import Redis from 'ioredis';
import marketsJson from '../config/markets.json';
import { env } from '../config/env';
import { buildMarket, type Market } from '../domain/markets';
import type { MatcherCommand, MatcherEvent } from '../domain/order';
import { bookKeys, defaultMaxMatchesPerCall, keyList, openBook, type Book } from '../matcher/book';
import { encodeCommand } from '../matcher/codec';
import { rng } from './support/load';
import { positiveInt } from './support/options';
import { freePort, projectRoot, startRedis, type ManagedProcess } from '../scripts/services';

const program = new Command()
  .name('bench:matcher')
  .option('--commands <n>', 'commands to apply in total', positiveInt, 200_000)
  .option('--markets <n>', 'markets (books) driven at once: the pipelining depth', positiveInt, 16)
  .option(
    '--batch <n>',
    'commands of one market per script call (the consumer: ≤ 10)',
    positiveInt,
    10,
  )
  .parse();
const opts = program.opts<{ commands: number; markets: number; batch: number }>();

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
    private readonly market: string,
    seed: number,
  ) {
    this.random = rng(seed);
  }

  next(): MatcherCommand {
    const r = this.random;
    const id = ++this.n;
    const base = { commandId: `${this.market}#${id}`, market: this.market };
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

/**
 * One measured workload: `perCall` units (commands, or calls) per script call, one call in flight
 * per lane. Runs in slices, taking turns with the others, so that load from other processes on
 * the machine falls on all of them alike; `before`/`after` wrap each slice (CPU counters).
 */
class Phase {
  readonly histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000 });
  private units = 0;
  private ns = 0n;

  constructor(
    readonly perCall: number,
    private readonly call: (lane: number, units: number) => Promise<void>,
    private readonly hooks: { before?: () => Promise<void>; after?: () => Promise<void> } = {},
  ) {}

  async slice(total: number, lanes: number): Promise<void> {
    await this.hooks.before?.();
    let issued = 0;
    const started = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: lanes }, async (_, lane) => {
        while (issued < total) {
          const units = Math.min(this.perCall, total - issued);
          issued += units;
          const t0 = process.hrtime.bigint();
          await this.call(lane, units);
          this.histogram.recordValueWithCount(
            Number((process.hrtime.bigint() - t0) / 1000n),
            units,
          );
        }
      }),
    );
    this.ns += process.hrtime.bigint() - started;
    this.units += total;
    await this.hooks.after?.();
  }

  result(): RunResult {
    return { perSecond: this.units / (Number(this.ns) / 1e9), histogram: this.histogram };
  }
}

/** Runs every phase for `total` units, in `slices` turns. */
async function interleave(phases: Phase[], total: number, lanes: number, slices: number) {
  for (let i = 0; i < slices; i++) {
    const units = Math.floor((total * (i + 1)) / slices) - Math.floor((total * i) / slices);
    for (const phase of phases) await phase.slice(units, lanes);
  }
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

async function main(): Promise<void> {
  let server: ManagedProcess | undefined;
  let url = env.givenRedisUrl;
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
    const batch = opts.batch;
    const markets: Market[] = Array.from({ length: lanes }, (_, i) =>
      buildMarket(`B${String(i).padStart(2, '0')}`, marketsJson.BTC),
    );
    const open = (label: string) =>
      Promise.all(
        markets.map((m) => openBook(redis, m, { namespace: `bench:${process.pid}:${label}:` })),
      );

    console.log(
      `matcher bench: ${fmt(opts.commands)} commands (≈70% limit near mid, 20% cancel of resting ` +
        `orders, 10% market) on ${lanes} BTC-rule markets, one script call in flight per market ` +
        `(${lanes} in flight), ${batch} commands of a market per call; Redis ${version}, ` +
        `appendonly ${aof}, appendfsync ${fsync}`,
    );

    // The ceiling: the same client, depth and KEYS/ARGV shapes, a script that does nothing.
    const trivial = 'return 1';
    const trivialSha = createHash('sha1').update(trivial).digest('hex');
    await redis.script('LOAD', trivial);
    const sampleFlow = new Flow('B00', 99);
    const sample = Array.from({ length: batch }, () => encodeCommand(sampleFlow.next()));
    const keys = keyList(bookKeys('B00', `bench:${process.pid}:ceiling:`));
    const ceiling = (args: string[]) =>
      new Phase(1, async () => {
        await redis.evalsha(trivialSha, keys.length, ...keys, ...args);
      });
    await new Phase(1, async () => void (await redis.evalsha(trivialSha, 0))).slice(20_000, lanes); // warm-up
    const bareCeiling = ceiling([]);
    const batchCeiling = ceiling([String(defaultMaxMatchesPerCall), ...sample]);
    const oneCeiling = ceiling([
      String(defaultMaxMatchesPerCall),
      encodeCommand(new Flow('B00', 99).next()),
    ]);

    /** The mix through fresh books, `perCall` commands of a market per script call. */
    const matcher = (books: Book[], perCall: number) => {
      const flows = markets.map((m, i) => new Flow(m.name, 1 + i));
      const m = {
        events: 0,
        trades: 0,
        redisCpu: 0,
        scriptUsec: 0,
        scriptCalls: 0,
        clientCpu: 0,
        redisCpuPerCmd: 0,
        scriptPerCall: 0,
        callsPerCmd: 0,
        clientCpuPerCmd: 0,
      };
      let redisCpu0 = 0;
      let script0 = { calls: 0, usec: 0 };
      let clientCpu0 = process.cpuUsage();
      const phase = new Phase(
        perCall,
        async (lane, n) => {
          const flow = flows[lane]!;
          const cmds = Array.from({ length: n }, () => flow.next());
          for (const result of await books[lane]!.applyBatch(cmds)) {
            m.events += result.length;
            for (const e of result) if (e.event === 'TRADE' && !e.maker) m.trades++;
            flow.observe(result);
          }
        },
        {
          before: async () => {
            redisCpu0 = await redisCpu(redis);
            script0 = await evalshaStats(redis);
            clientCpu0 = process.cpuUsage();
          },
          after: async () => {
            const c = process.cpuUsage(clientCpu0);
            m.clientCpu += c.user + c.system;
            m.redisCpu += (await redisCpu(redis)) - redisCpu0;
            const script1 = await evalshaStats(redis);
            m.scriptUsec += script1.usec - script0.usec;
            m.scriptCalls += script1.calls - script0.calls;
            m.redisCpuPerCmd = m.redisCpu / opts.commands;
            m.scriptPerCall = m.scriptUsec / Math.max(1, m.scriptCalls);
            m.callsPerCmd = m.scriptCalls / opts.commands;
            m.clientCpuPerCmd = m.clientCpu / opts.commands;
          },
        },
      );
      return { phase, m };
    };

    const books = await open('batched');
    // For comparison: the same stream, one command per script call (Book.apply's shape).
    const singleBooks = await open('single');
    const batchedRun = matcher(books, batch);
    const singleRun = matcher(singleBooks, 1);
    await interleave(
      [bareCeiling, batchCeiling, oneCeiling, batchedRun.phase, singleRun.phase],
      opts.commands,
      lanes,
      10,
    );
    const bare = bareCeiling.result();
    const withBatch = batchCeiling.result();
    const withOne = oneCeiling.result();
    const batched = { run: batchedRun.phase.result(), ...batchedRun.m };
    const single = { run: singleRun.phase.result(), ...singleRun.m };

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
    const bookMemory = Object.values(keyMemory).reduce((a, b) => a + b, 0);
    for (const book of [...books, ...singleBooks]) await book.destroy();

    const line = (label: string, r: RunResult, unit: string) =>
      console.log(
        `${label.padEnd(60)} ${fmt(r.perSecond).padStart(9)} ${unit}/s   p50 ${ms(r.histogram.getValueAtPercentile(50))}   p99 ${ms(r.histogram.getValueAtPercentile(99))}`,
      );
    const plural = batch === 1 ? 'command' : 'commands';
    line(
      `ceiling: EVALSHA trivial script, ${keys.length} keys + ARGV of ${batch} ${plural}`,
      withBatch,
      'calls',
    );
    line(
      `ceiling: EVALSHA trivial script, ${keys.length} keys + ARGV of 1 command`,
      withOne,
      'calls',
    );
    line('ceiling: EVALSHA trivial script, no keys or args', bare, 'calls');
    line(`matcher: ${batch} ${plural} per apply.lua call (applyBatch)`, batched.run, 'cmds');
    line('matcher: 1 command per apply.lua call (apply)', single.run, 'cmds');
    const ratio = (a: RunResult, b: RunResult) => (a.perSecond / b.perSecond).toFixed(2);
    console.log(
      `ratio commands/s ÷ ceiling calls/s, both at ${lanes} script calls in flight: ` +
        `${batch} per call ${ratio(batched.run, withBatch)} (same keys and ARGV), ` +
        `${ratio(batched.run, bare)} (bare EVALSHA); 1 per call ${ratio(single.run, withOne)} ` +
        `(same keys and ARGV), ${ratio(single.run, bare)} (bare EVALSHA); target ≥ 0.35`,
    );
    console.log(
      '  (p50/p99: latency of the script call that applied the command, per command; the five ' +
        'runs take turns in 10 slices each)',
    );
    for (const [label, m] of [
      [`${batch} per call`, batched],
      ['1 per call', single],
    ] as const)
      console.log(
        `CPU per command, ${label}: Redis ${clientFmt(m.redisCpuPerCmd)} µs (of which inside ` +
          `apply.lua ${clientFmt(m.scriptPerCall * m.callsPerCmd)} µs, ${m.callsPerCmd.toFixed(3)} ` +
          `script calls), this client ${clientFmt(m.clientCpuPerCmd)} µs`,
      );
    console.log(
      `events ${fmt(batched.events)} (${(batched.events / opts.commands).toFixed(2)} per command), ` +
        `trades ${fmt(batched.trades)}, resting orders at the end ${fmt(resting)}` +
        (single.events === batched.events && single.trades === batched.trades
          ? ''
          : ` (1 per call: events ${fmt(single.events)}, trades ${fmt(single.trades)})`),
    );
    const per = (bytes: number, n: number) => fmt(bytes / Math.max(1, n));
    console.log(
      `Redis memory of the books (MEMORY USAGE of every key) ${fmt(bookMemory / 2 ** 20, 1)} MiB → ` +
        `${per(bookMemory, resting)} B per resting order (all history included)`,
    );
    console.log(
      `  by key: bids+asks ${per((keyMemory.bids ?? 0) + (keyMemory.asks ?? 0), resting)} B per resting ` +
        `order; orders hash ${per(keyMemory.orders ?? 0, records)} B per record (${fmt(records)} ` +
        `records, resting and finished); applied ids ${per(keyMemory.applied ?? 0, opts.commands)} B (kept for the retention time, 24 h) ` +
        `and outbox ${per(keyMemory.events ?? 0, opts.commands)} B per command`,
    );
  } finally {
    redis.disconnect();
    await server?.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
