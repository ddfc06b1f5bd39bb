// Fault run against the running `npm start` stack: under a steady load of real WebSocket clients,
// kill -9 one process at a time — the order worker, the matcher, the relay, the gateway twin, Redis
// (AOF) and the Temporal dev server (SQLite in WAL mode) — let npm start's supervisor restart it (1 s later), check it is healthy again, pause,
// and go on with the next. Clients reconnect after the gateway restart, re-send unanswered requests
// (order.place with the same orderId is idempotent) and re-query order.status. After the drain a
// checker compares every order's workflow with the matcher's book and the fills across orders.
//
//   npm run bench:faults -- [--clients 8] [--rate 10] [--pause 15] [--targets order-worker,matcher,…]
//
// Exit code 1 when a check fails or a process did not come back.
import { Client, Connection } from '@temporalio/client';
import { Command, InvalidArgumentError } from 'commander';
import * as cliProgress from 'cli-progress';
import Redis from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { markets } from '../config/markets';
import { openBook } from '../matcher/book';
import { checkConsistency } from './support/checker';
import { LoadRun } from './support/load';
import { positive, withStackLoadOptions } from './support/options';
import { stackProcessNames, type StackProcessName } from '../platform/processes';
import { CpuSampler, stackRss } from './support/proc';
import {
  codeRevision,
  cpuTable,
  fmt,
  latencyHistogram,
  loadLines,
  recordMs,
  rssTable,
  summarize,
  writeResult,
} from './support/report';
import { endpoints, killAndAwaitRestart, requireStack, type Restart } from './support/stack';
import { announceQuiet, cleanupLine } from './support/stackRun';

// moto keeps its queues and messages in memory only, so a kill of it loses them: it is left out.
const defaultTargets: StackProcessName[] = [
  'order-worker',
  'matcher',
  'relay',
  'gateway',
  'redis',
  'temporal',
];
const targetList = (text: string): StackProcessName[] => {
  const names = text.split(',').map((s) => s.trim());
  for (const n of names)
    if (!(stackProcessNames as readonly string[]).includes(n))
      throw new InvalidArgumentError(`one of ${stackProcessNames.join(', ')}`);
  return names as StackProcessName[];
};

const program = withStackLoadOptions(new Command())
  .name('bench:faults')
  .description('kill -9 each stack process under load, then prove nothing was lost or doubled')
  .option('--clients <n>', 'WebSocket clients, one user each', positive, 8)
  .option('--rate <n>', 'order.place requests per second (open loop)', positive, 5)
  .option('--warmup <s>', 'seconds of load before the first kill', positive, 10)
  .option(
    '--pause <s>',
    'seconds of load between a process being healthy again and the next kill',
    positive,
    15,
  )
  .option('--tail <s>', 'seconds of load after the last restart', positive, 10)
  .option(
    '--drain <s>',
    'at most this long to wait for outstanding orders afterwards',
    positive,
    120,
  )
  .option('--targets <names>', 'processes to kill, in order', targetList, defaultTargets)
  .option('--seed <n>', 'seed of the order mix', positive, 7)
  .parse();

interface Options {
  clients: number;
  rate: number;
  warmup: number;
  pause: number;
  tail: number;
  drain: number;
  targets: StackProcessName[];
  market: string;
  mid: number;
  seed: number;
  url?: string;
  cleanup: boolean;
  quietWait: number;
}

async function main(): Promise<void> {
  const opts = program.opts<Options>();
  const e = endpoints(opts.url);
  await requireStack(e, 'bench:faults');
  const market = markets.get(opts.market);
  if (!market) throw new Error(`unknown market ${opts.market}`);

  const connection = await Connection.connect({ address: e.temporalAddress });
  const temporal = new Client({ connection });
  // Reconnects by itself after the Redis restart; only used before the load and by the checker.
  const redis = new Redis(e.redisUrl);
  redis.on('error', () => undefined);
  const fsync = ((await redis.config('GET', 'appendfsync')) as string[])[1];
  const aof = ((await redis.config('GET', 'appendonly')) as string[])[1];
  const book = await openBook(redis, market);
  const bookBefore = await book.snapshot();
  const runStartedAt = Date.now();
  const revision = codeRevision();
  const runTag = `fault${runStartedAt.toString(36)}`;

  const load = new LoadRun({
    url: e.gatewayUrl,
    clients: Math.round(opts.clients),
    rate: opts.rate,
    durationMs: 24 * 3600 * 1000, // until stop(): the kill sequence decides
    market: opts.market,
    mid: opts.mid,
    cancelShare: 0.3,
    seed: Math.round(opts.seed),
    runTag,
  });
  console.log(
    `bench:faults → ${e.gatewayUrl}: ${opts.clients} clients, ${opts.rate} orders/s on ${opts.market}; ` +
      `kill -9 in turn: ${opts.targets.join(', ')} (warm-up ${opts.warmup} s, ${opts.pause} s between, ` +
      `${opts.tail} s after); Redis appendonly ${aof}, appendfsync ${fsync}. ` +
      `Book before: ${bookBefore.bids.length} bids, ${bookBefore.asks.length} asks. Code ${revision}.`,
  );
  const quiet = await announceQuiet(opts.quietWait);
  await load.connect();
  const rssStart = await stackRss();
  const sampler = new CpuSampler().start();

  const estimate = Math.round(
    opts.warmup + opts.targets.length * 8 + (opts.targets.length - 1) * opts.pause + opts.tail,
  );
  const bar = new cliProgress.SingleBar(
    {
      format:
        '{bar} {value}/~{total} s | {event} | placed {placed} accepted {accepted} completed {completed} open {open} reconnects {reconnects}',
      hideCursor: true,
      noTTYOutput: true,
      notTTYSchedule: 5_000,
    },
    cliProgress.Presets.shades_classic,
  );
  let event = 'warm-up';
  const update = (): void => {
    const p = load.progress();
    bar.update(Math.floor(p.elapsedS), {
      event,
      placed: p.scheduled,
      accepted: p.accepted,
      completed: p.completed,
      open: p.open,
      reconnects: p.reconnects,
    });
  };
  bar.start(estimate, 0, { event, placed: 0, accepted: 0, completed: 0, open: 0, reconnects: 0 });
  const running = load.run(update);

  const restarts: Restart[] = [];
  const restartFailures: string[] = [];
  await sleep(opts.warmup * 1000);
  for (const target of opts.targets) {
    event = `kill -9 ${target}, waiting until healthy`;
    update();
    try {
      const r = await killAndAwaitRestart(target, e);
      restarts.push(r);
      event = `${target} back in ${fmt(r.downMs / 1000, 1)} s; pause`;
    } catch (err) {
      restartFailures.push(err instanceof Error ? err.message : String(err));
      event = `${target} did NOT come back`;
    }
    update();
    if (target !== opts.targets.at(-1)) await sleep(opts.pause * 1000);
  }
  event = 'tail';
  await sleep(opts.tail * 1000);
  load.stop();
  await running;
  event = 'drain';
  await load.drain(opts.drain * 1000, update);
  event = 'done';
  update();
  bar.stop();
  const cpu = await sampler.stop();
  const rssEnd = await stackRss();
  const summary = load.summary();

  // What each outage did to the orders scheduled while the process was down.
  const impact = restarts.map((r) => {
    const from = r.killedAtPerf;
    const to = r.killedAtPerf + r.downMs;
    const h = latencyHistogram();
    let n = 0;
    for (const order of load.orders.values()) {
      if (order.scheduledAt < from || order.scheduledAt > to) continue;
      n++;
      const done = order.kind === 'market' ? order.finalAt : order.decidedAt;
      if (done !== undefined) recordMs(h, done - order.scheduledAt);
    }
    return { ...r, ordersDuringOutage: n, completed: summarize(h) };
  });

  process.stderr.write('checking every order against the book…\n');
  const check = await checkConsistency({
    temporal,
    redis,
    market: opts.market,
    sent: load.sentOrders(),
    restingBefore: [...bookBefore.bids, ...bookBefore.asks],
    runStartedAt,
  });

  let cleanup: Awaited<ReturnType<LoadRun['cleanup']>> | undefined;
  if (opts.cleanup) {
    process.stderr.write('cancelling this run’s resting orders…\n');
    cleanup = await load.cleanup(60_000);
  }
  await load.close();

  const out: string[] = ['', '═══ bench:faults report ═══'];
  out.push(`Kills (kill -9 of the pid in .data/run/<name>.pid; npm start restarts it after 1 s):`);
  for (const r of impact) {
    const c = r.completed;
    out.push(
      `  ${r.name.padEnd(13)} pid ${r.oldPid} → ${r.newPid}, healthy again ${fmt(r.downMs / 1000, 1)} s after the kill; ` +
        `${r.ordersDuringOutage} orders scheduled meanwhile, completed ${c.count}` +
        (c.count
          ? ` (place → completed p50 ${fmt(c.p50Ms / 1000, 1)} s, max ${fmt(c.maxMs / 1000, 1)} s)`
          : ''),
    );
  }
  for (const f of restartFailures) out.push(`  ✗ ${f}`);
  out.push(...loadLines(summary));
  out.push(...cpuTable(cpu, 'CPU during the run'));
  out.push(...rssTable(rssStart, rssEnd, cpu.seconds / 60));
  out.push(...check.lines);
  if (cleanup) out.push(cleanupLine(cleanup));
  const ok = check.ok && restartFailures.length === 0;
  const file = writeResult('faults', {
    kind: 'faults',
    at: new Date(runStartedAt).toISOString(),
    code: revision,
    quietBefore: quiet,
    options: opts,
    redis: { appendonly: aof, appendfsync: fsync },
    restarts: impact,
    restartFailures,
    load: summary,
    cpu,
    rss: { start: rssStart, end: rssEnd },
    check: { ok: check.ok, counts: check.counts, failures: check.failures },
    cleanup,
  });
  out.push(`JSON: ${file}`);
  out.push(ok ? 'bench:faults: PASS' : 'bench:faults: FAIL');
  console.log(out.join('\n'));
  redis.disconnect();
  await connection.close();
  process.exit(ok ? 0 : 1);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
