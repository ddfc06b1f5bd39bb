// Soak against the running `npm start` stack: bench:e2e's load (same clients, mix and pacing) held
// for a long time at 80% of the capacity, while every stack process's RSS (with its children) is
// read every few seconds. Per process it judges the drift from the end of the warm-up to the end
// against the target "within 15% after the first 2 minutes", and whether the stack kept up.
//
//   npm run bench:soak -- [--duration 20m] [--rate 6 | --capacity 10] [--sample-every 5]
//
// Exit code 1 when a process drifted, restarted, or the stack fell behind. The samples go to
// bench/results/soak-<time>.json.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { driftTarget, rssDrift, type ProcessDrift } from './support/rssDrift';
import { duration, positive, withMixOptions, withStackLoadOptions } from './support/options';
import { CpuSampler, RssSampler, type RssPoint } from './support/proc';
import { cpuTable, fmt, loadLines, mib, resultsDir, writeResult } from './support/report';
import {
  cleanupLine,
  closeLoad,
  closeStackRun,
  driveLoad,
  openStackRun,
  type StackLoadOptions,
} from './support/stackRun';

/** When no bench:e2e result is at hand: the capacity measured on the dev VM on 3 Dec 2026. */
const fallbackCapacity = 8;
/** The share of the capacity a soak offers. */
const soakShare = 0.8;

const program = withMixOptions(withStackLoadOptions(new Command()))
  .name('bench:soak')
  .description('Long load at 80% of capacity; is every stack process’s RSS flat?')
  .option('--duration <time>', 'length of the load: 90s, 20m, 1h', duration, 20 * 60)
  .option('--rate <n>', 'order.place/s (default: 80% of --capacity)', positive)
  .option(
    '--capacity <n>',
    'orders/s the stack completes at most (default: the most a bench:e2e run in bench/results completed)',
    positive,
  )
  .option('--settle <time>', 'warm-up before the memory is judged', duration, 120)
  .option('--sample-every <s>', 'seconds between RSS readings', positive, 5)
  .option('--drain <s>', 'at most this long to wait for outstanding orders', positive, 60)
  .option(
    '--max-resting <n>',
    'past this many resting orders of the run, each place also cancels the oldest',
    positive,
    100,
  )
  .parse();

interface Options extends Omit<StackLoadOptions, 'rate'> {
  rate?: number;
  capacity?: number;
  settle: number;
  sampleEvery: number;
}

interface Capacity {
  ordersPerS: number;
  source: string;
}

/** The highest completed/s of the bench:e2e runs in bench/results: the most this machine has shown. */
function measuredCapacity(): Capacity | undefined {
  let best: Capacity | undefined;
  let files: string[] = [];
  try {
    files = readdirSync(resultsDir).filter((f) => /^e2e-.*\.json$/.test(f));
  } catch {
    return undefined;
  }
  for (const file of files) {
    try {
      const report = JSON.parse(readFileSync(path.join(resultsDir, file), 'utf8')) as {
        load?: { completedPerS?: number; offered?: { rate?: number } };
      };
      const completed = report.load?.completedPerS;
      if (typeof completed === 'number' && completed > (best?.ordersPerS ?? 0))
        best = {
          ordersPerS: completed,
          source: `bench/results/${file}: completed ${fmt(completed, 1)} of ${fmt(report.load?.offered?.rate ?? 0, 1)} offered/s`,
        };
    } catch {
      // a result being written, or of another shape
    }
  }
  return best;
}

function capacityOf(opts: Options): Capacity {
  if (opts.capacity !== undefined) return { ordersPerS: opts.capacity, source: '--capacity' };
  return (
    measuredCapacity() ?? {
      ordersPerS: fallbackCapacity,
      source: 'no bench:e2e result here; the dev VM’s figure of 3 Dec 2026',
    }
  );
}

/** RSS of each process at up to `columns` evenly spaced readings, to see the shape at a glance. */
function timeline(points: RssPoint[], columns = 10): string[] {
  if (points.length === 0) return [];
  const step = Math.max(1, Math.ceil((points.length - 1) / (columns - 1)));
  const picked = points.filter((_, i) => i % step === 0 || i === points.length - 1);
  const head = picked.map((p) => `${fmt(p.atS / 60, 1)} min`.padStart(9)).join('');
  const rows = (picked[0]?.processes ?? []).map(
    (s) =>
      `  ${s.name.padEnd(13)}` +
      picked
        .map((p) => {
          const bytes = p.processes.find((x) => x.name === s.name)?.bytes;
          return (bytes === undefined ? '—' : fmt(bytes / 2 ** 20)).padStart(9);
        })
        .join(''),
  );
  return [`RSS in MiB over the load:`, `  ${''.padEnd(13)}${head}`, ...rows];
}

const pct = (share: number | undefined): string =>
  share === undefined ? '—' : `${share >= 0 ? '+' : '−'}${fmt(Math.abs(share) * 100, 1)}%`;

function driftTable(drifts: ProcessDrift[], settleS: number): string[] {
  const lines = [
    `Memory: RSS with children, median of 30 s around ${fmt(settleS / 60, 1)} min and of the last 30 s; target: end within ±${driftTarget * 100}% of the ${fmt(settleS / 60, 1)}-min figure`,
    `  ${'process'.padEnd(13)} ${`at ${fmt(settleS / 60, 1)} min`.padStart(11)} ${'end'.padStart(11)} ${'max'.padStart(11)} ${'drift'.padStart(8)}   target   ${'peak after'.padStart(10)}  verdict`,
  ];
  for (const d of drifts)
    lines.push(
      `  ${d.name.padEnd(13)} ${mib(d.atSettle).padStart(11)} ${mib(d.end).padStart(11)} ${mib(d.max).padStart(11)} ${pct(d.drift).padStart(8)}   ±${driftTarget * 100}%   ${pct(d.peakAfterSettle).padStart(10)}  ` +
        (d.pass ? 'PASS' : `FAIL: ${d.reason}`),
    );
  return lines;
}

async function main(): Promise<void> {
  const given = program.opts<Options>();
  const capacity = capacityOf(given);
  const rate = given.rate ?? Math.round(soakShare * capacity.ordersPerS * 10) / 10;
  const opts: StackLoadOptions & Options = { ...given, rate };
  console.log(
    given.rate !== undefined
      ? `rate ${fmt(rate, 1)} orders/s (--rate)`
      : `rate ${fmt(rate, 1)} orders/s = ${soakShare * 100}% of the capacity ${fmt(capacity.ordersPerS, 1)} orders/s (${capacity.source})`,
  );
  const run = await openStackRun('soak', opts);
  await run.load.connect();
  const rss = new RssSampler(opts.sampleEvery).start();
  const cpu = new CpuSampler().start();
  // The memory is judged over the load itself; the drain comes after.
  await driveLoad(run.load, opts.duration, 0);
  const points = await rss.stop();
  await run.load.drain(opts.drain * 1000);
  const cpuReport = await cpu.stop();
  const summary = run.load.summary();
  const cleanup = await closeLoad(run, opts.cleanup);

  const drifts = rssDrift(points, opts.settle);
  const keptUp = summary.completedPerS >= 0.95 * rate && summary.stillOpen.count === 0;
  const minutes = (all: number[]): string[] => {
    const series = all.slice(0, Math.floor(opts.duration));
    const out: string[] = [];
    for (let m = 0; m * 60 < series.length; m++)
      out.push(fmt(series.slice(m * 60, m * 60 + 60).reduce((a, n) => a + n, 0) / 60, 1));
    return out;
  };
  const ok = keptUp && drifts.every((d) => d.pass);

  const out: string[] = ['', '═══ bench:soak report ═══', ...loadLines(summary)];
  out.push(
    `Completed per minute of the load (orders/s): ${minutes(summary.perSecond.completed).join(' ')}`,
  );
  out.push(...cpuTable(cpuReport, 'CPU during load + drain'));
  out.push(...timeline(points));
  out.push(...driftTable(drifts, opts.settle));
  out.push(
    `Stack kept up: ${keptUp ? 'yes' : 'NO'} — completed ${fmt(summary.completedPerS, 1)} orders/s of ${fmt(rate, 1)} offered ` +
      `(target ≥ 95%), ${summary.stillOpen.count} accepted orders undecided after the drain`,
  );
  if (cleanup) out.push(cleanupLine(cleanup));
  const file = writeResult('soak', {
    kind: 'soak',
    at: new Date(run.startedAt).toISOString(),
    code: run.revision,
    quietBefore: run.quiet,
    options: opts,
    capacity,
    load: summary,
    cpu: cpuReport,
    rss: { everyS: opts.sampleEvery, settleS: opts.settle, target: driftTarget, drifts, points },
    keptUp,
    cleanup,
  });
  out.push(`JSON: ${file}`);
  out.push(`bench:soak: ${ok ? 'PASS' : 'FAIL'}`);
  console.log(out.join('\n'));
  await closeStackRun(run);
  process.exit(ok ? 0 : 1);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
