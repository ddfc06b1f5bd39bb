// End-to-end benchmark against the running `npm start` stack: real WebSocket clients (a user and a
// token each) place a realistic mix of orders, paced open-loop, through gateway → Temporal →
// SQS → matcher → SNS → relay → workflow → pushed reports. Then, in the same run, the ceilings of
// the parts on their own (Temporal, SQS/SNS, matcher) and the bottleneck.
//
//   npm run bench:e2e -- [--clients 10] [--rate 20] [--duration 30] [--check] [--no-ceilings]
//
// (`npm run bench:soak` holds a load for 20 minutes and judges every process's RSS.)
//
// Latency is measured from each request's scheduled send time (open loop), so a stall shows up in
// the figures instead of lowering the load. A JSON copy of the report goes to bench/results/.
import { Command } from 'commander';
import { env } from '../config/env';
import { orderWorkflowType } from '../workflows/messages';
import { workflowIdFor } from '../domain/order';
import {
  matcherCeiling,
  messagingCeiling,
  sampleOrderShapes,
  temporalCeiling,
  type MatcherCeiling,
  type MessagingCeiling,
  type ShapeSample,
  type TemporalCeiling,
} from './support/ceilings';
import { checkConsistency, type CheckResult } from './support/checker';
import { positive, withMixOptions, withStackLoadOptions } from './support/options';
import { CpuSampler, stackRss, type CpuReport } from './support/proc';
import { cpuTable, fmt, latencyLine, loadLines, rssTable, writeResult } from './support/report';
import type { LoadSummary } from './support/load';
import {
  cleanupLine,
  closeLoad,
  closeStackRun,
  driveLoad,
  openStackRun,
  type StackLoadOptions,
} from './support/stackRun';
import { actionsBetween, readActions } from './support/temporalActions';

const program = withMixOptions(withStackLoadOptions(new Command()))
  .name('bench:e2e')
  .description('End-to-end load, latency and ceilings against the running `npm start` stack')
  .option(
    '--rate <n>',
    'order.place requests per second across all clients (open loop)',
    positive,
    5,
  )
  .option('--duration <s>', 'seconds of load', positive, 30)
  .option(
    '--drain <s>',
    'at most this long to wait for outstanding orders afterwards',
    positive,
    30,
  )
  .option(
    '--capacity <n>',
    'orders/s this stack completes when it keeps up (from an earlier run): the overload targets are measured against it',
    positive,
  )
  .option('--check', 'run the fault bench’s consistency checker after the drain')
  .option('--no-ceilings', 'skip the ceiling measurements')
  .option('--ceiling-seconds <s>', 'seconds of each ceiling measurement', positive, 6)
  .option('--ceiling-concurrency <n>', 'workflows in flight in the Temporal ceiling', positive, 64)
  .option('--matcher-commands <n>', 'commands of the matcher bench subprocess', positive, 20000)
  .parse();

interface Options extends StackLoadOptions {
  capacity?: number;
  check?: boolean;
  ceilings: boolean;
  ceilingSeconds: number;
  ceilingConcurrency: number;
  matcherCommands: number;
}

interface Ratio {
  part: string;
  ceiling: string;
  /** Ceiling in orders/s of this run's mix. */
  ordersPerS: number | null;
  ratio: number | null;
}

/** Graceful overload: goodput against the stack's capacity, shed answers, nothing left undecided. */
function overloadTargets(summary: LoadSummary, capacity: number | undefined): string[] {
  const shed = summary.latency.shedAnswer;
  const lines = [
    `  shed answers (503 OVERLOADED)   ${shed.count > 0 ? `${fmt(shed.p99Ms, 1)} ms p99`.padStart(10) : '      none'}   target < 100 ms p99   (${fmt(shed.count)} sendings shed)`,
    `  accepted orders undecided       ${fmt(summary.stillOpen.count).padStart(7)}   target 0 after the drain`,
  ];
  if (capacity !== undefined) {
    lines.push(
      `  goodput ÷ capacity              ${fmt(summary.completedPerS / capacity, 2).padStart(7)}   target ≥ 0.9 when offered 3× (completed ${fmt(summary.completedPerS, 1)} orders/s ÷ --capacity ${fmt(capacity, 1)}; offered ${fmt(summary.offered.rate / capacity, 1)}×)`,
    );
  }
  return lines;
}

async function main(): Promise<void> {
  const opts = program.opts<Options>();
  const run = await openStackRun('e2e', opts);
  const { endpoints: e, temporal, redis, bookBefore, load, quiet, revision, tag: runTag } = run;
  const runStartedAt = run.startedAt;
  const actionsBefore = await readActions(e.temporalMetricsUrl, env.temporalNamespace);
  await load.connect();
  const rssStart = await stackRss();
  const sampler = new CpuSampler().start();
  await driveLoad(load, opts.duration, opts.drain);
  const cpu = await sampler.stop();
  const rssEnd = await stackRss();
  const summary = load.summary();
  // Before the checker's queries and the clean-up's cancels, which are the bench's, not the mix's.
  const actions = actionsBetween(
    actionsBefore,
    await readActions(e.temporalMetricsUrl, env.temporalNamespace),
  );

  let check: CheckResult | undefined;
  if (opts.check) {
    check = await checkConsistency({
      temporal,
      redis,
      market: opts.market,
      sent: load.sentOrders(),
      restingBefore: [...bookBefore.bids, ...bookBefore.asks],
      runStartedAt,
    });
  }

  const accepted = [...load.orders.values()].filter((order) => order.accepted);
  const shapes: ShapeSample = await sampleOrderShapes(
    temporal,
    accepted.map((order) => workflowIdFor(order.userID, order.orderId)),
  );
  const cleanup = await closeLoad(run, opts.cleanup);

  let temporalCeil: TemporalCeiling | undefined;
  let messaging: MessagingCeiling | undefined;
  let matcher: MatcherCeiling | undefined;
  let ceilingError: string | undefined;
  if (opts.ceilings) {
    try {
      process.stderr.write(`ceiling 1/3: Temporal, ${opts.ceilingSeconds} s…\n`);
      temporalCeil = await temporalCeiling({
        shapes: shapes.shapes.map((s) => ({
          activities: s.activities,
          localActivities: s.localActivities,
          updates: s.updates,
        })),
        seconds: opts.ceilingSeconds,
        concurrency: Math.round(opts.ceilingConcurrency),
        tag: runTag,
      });
      process.stderr.write(`ceiling 2/3: SQS/SNS, 2 × ${opts.ceilingSeconds} s…\n`);
      messaging = await messagingCeiling({ seconds: opts.ceilingSeconds, tag: runTag });
      process.stderr.write(`ceiling 3/3: matcher bench, ${opts.matcherCommands} commands…\n`);
      // The matcher service applies one command at a time (its consumer awaits each), so the
      // faithful ceiling is the bench with one market, i.e. one command in flight.
      matcher = await matcherCeiling({ commands: Math.round(opts.matcherCommands), markets: 1 });
    } catch (err) {
      ceilingError = err instanceof Error ? err.message : String(err);
    }
  }

  // ── Report ─────────────────────────────────────────────────────────────────────────────────
  const out: string[] = [];
  out.push('', '═══ bench:e2e report ═══', ...loadLines(summary));
  out.push(...cpuTable(cpu, 'CPU during load + drain'));
  const cost = cpuPerOrder(cpu, summary.completed);
  out.push(...cost.lines);
  out.push(...rssTable(rssStart, rssEnd, cpu.seconds / 60));
  const m = shapes.mean;
  const perOrder = {
    commands: m.commands,
    events: m.matcherEvents,
    activities: m.activities + m.localActivities,
  };
  out.push(
    `Per order in this mix (${shapes.sampled} histories of ${orderWorkflowType}): ${fmt(m.commands, 2)} matcher commands ` +
      `(1 from the gateway, ${fmt(m.localActivities, 2)} enqueueCommand local activities), ${fmt(m.activities, 2)} pushStatus activities, ` +
      `${fmt(m.updates, 2)} updates carrying ${fmt(m.matcherEvents, 2)} matcher events, ${fmt(m.signals, 2)} signals, ${fmt(m.events, 1)} history events`,
  );
  const actionsPerOrder = summary.accepted > 0 ? sumCounts(actions) / summary.accepted : 0;
  const ownCpuMs = cost.perProcess
    .filter((p) => ownProcesses.includes(p.name))
    .reduce((ms, p) => ms + p.ms, 0);
  out.push(
    'Targets (issue: cheaper orders) beside what this run measured:',
    `  history events per order        ${fmt(m.events, 1).padStart(7)}   target ≤ 15`,
    `  billable actions per order      ${fmt(actionsPerOrder, 2).padStart(7)}   target ≤ 4   (the server's \`action\` counter over ${summary.accepted} accepted orders: ${actions
      .map(
        (a) =>
          `${a.type.replace(/^(command|grpc|message)_/, '')} ${fmt(a.count / Math.max(summary.accepted, 1), 2)}`,
      )
      .join(', ')})`,
    `  own CPU per completed order     ${fmt(ownCpuMs, 0).padStart(4)} ms   target ≤ 30 ms   (${ownProcesses.join(' + ')})`,
    `  place commands per order        ${fmt(m.placeCommands, 2).padStart(7)}   target ≤ 1.1 (the gateway's send, re-sends of unanswered ones, retries of remainders; cancels apart)`,
    ...overloadTargets(summary, opts.capacity),
  );
  const ratios: Ratio[] = [];
  const e2e = summary.completedPerS;
  if (temporalCeil) {
    ratios.push({
      part: 'Temporal (server + 1 worker)',
      ceiling: `${fmt(temporalCeil.workflowsPerS, 1)} workflows/s of the same shape (${temporalCeil.concurrency} in flight, ${temporalCeil.completed} in ${temporalCeil.seconds} s)`,
      ordersPerS: temporalCeil.workflowsPerS,
      ratio: e2e / temporalCeil.workflowsPerS,
    });
  }
  if (messaging) {
    const combined =
      1 / (perOrder.commands / messaging.sqsPerS + perOrder.events / messaging.snsPerS);
    ratios.push({
      part: 'SQS/SNS (moto)',
      ceiling:
        `SQS FIFO send→receive→delete ${fmt(messaging.sqsPerS)} msg/s, SNS FIFO publish→SQS receive→delete ` +
        `${fmt(messaging.snsPerS)} msg/s → ${fmt(combined, 1)} orders/s at ${fmt(perOrder.commands, 2)} commands + ${fmt(perOrder.events, 2)} events per order`,
      ordersPerS: combined,
      ratio: e2e / combined,
    });
  }
  if (matcher) {
    const ordersPerS =
      matcher.commandsPerS === null ? null : matcher.commandsPerS / perOrder.commands;
    ratios.push({
      part: 'matcher (Redis + Lua)',
      ceiling:
        matcher.commandsPerS === null
          ? `unavailable: ${matcher.error}`
          : `${fmt(matcher.commandsPerS)} commands/s (bench:matcher --markets 1: one script call in flight, as the service; ${matcher.runs.map((r) => `${r.label} ${fmt(r.commandsPerS)}/s`).join('; ')}) → ${fmt(ordersPerS!, 0)} orders/s`,
      ordersPerS,
      ratio: ordersPerS === null ? null : e2e / ordersPerS,
    });
  }
  if (ratios.length > 0) {
    out.push(
      `Ceilings (measured in this run, after the load; ratio = e2e completed ${fmt(e2e, 1)} orders/s ÷ ceiling):`,
    );
    for (const r of ratios)
      out.push(
        `  ${r.part.padEnd(30)} ratio ${r.ratio === null ? '—' : fmt(r.ratio, 2).padStart(5)}   ${r.ceiling}`,
      );
  }
  if (temporalCeil) {
    out.push(latencyLine('Temporal ceiling, start → result', temporalCeil.latency));
    out.push(`  during it: ${cpuBrief(temporalCeil.cpu)}`);
  }
  if (messaging)
    out.push(
      `  during SQS: ${cpuBrief(messaging.cpu.sqs)}; during SNS: ${cpuBrief(messaging.cpu.sns)}`,
    );
  if (matcher?.ratioLine) out.push(`  bench:matcher says: ${matcher.ratioLine}`);
  if (ceilingError) out.push(`Ceilings failed: ${ceilingError}`);

  const verdict = bottleneck(ratios, cpu, summary.completedPerS, opts.rate, cost.ceiling);
  out.push(...verdict.lines);
  if (cleanup) out.push(cleanupLine(cleanup));
  if (check) out.push(...check.lines);
  const file = writeResult('e2e', {
    kind: 'e2e',
    at: new Date(runStartedAt).toISOString(),
    code: revision,
    quietBefore: quiet,
    options: opts,
    endpoints: e,
    load: summary,
    cpu,
    rss: { start: rssStart, end: rssEnd },
    perOrder: {
      ...shapes.mean,
      actions: actionsPerOrder,
      actionsByType: Object.fromEntries(
        actions.map((a) => [a.type, a.count / Math.max(summary.accepted, 1)]),
      ),
      ownCpuMs,
    },
    historiesSampled: shapes.sampled,
    ceilings: { temporal: temporalCeil, messaging, matcher, error: ceilingError },
    ratios,
    bottleneck: verdict.name,
    check: check && { ok: check.ok, counts: check.counts, failures: check.failures },
    cleanup,
  });
  out.push(`JSON: ${file}`);
  console.log(out.join('\n'));

  await closeStackRun(run);
  process.exit(check && !check.ok ? 1 : 0);
}

function cpuBrief(cpu: CpuReport): string {
  const top = [...cpu.processes]
    .sort((a, b) => b.avg - a.avg)
    .filter((p) => p.avg >= 5)
    .map((p) => `${p.name} ${fmt(p.avg)}%`);
  return `${[...top, `bench ${fmt(cpu.bench.avg)}%`].join(', ')} of a core; machine ${fmt(cpu.machineBusy)}% busy`;
}

/** The project's own processes, whose CPU per order has a target of its own. */
const ownProcesses = ['order-worker', 'relay', 'matcher', 'gateway'];

const sumCounts = (counts: Array<{ count: number }>): number =>
  counts.reduce((a, c) => a + c.count, 0);

/**
 * CPU time each stack process spent per completed order over the load and drain, and the rate at
 * which the stack alone would fill every core: cores ÷ CPU-seconds per order.
 */
function cpuPerOrder(
  cpu: CpuReport,
  completed: number,
): { ceiling: number; lines: string[]; perProcess: Array<{ name: string; ms: number }> } {
  if (completed === 0) return { ceiling: 0, lines: [], perProcess: [] };
  const per = [...cpu.processes]
    .map((p) => ({ name: p.name, ms: ((p.avg / 100) * cpu.seconds * 1000) / completed }))
    .sort((a, b) => b.ms - a.ms);
  const total = per.reduce((a, p) => a + p.ms, 0);
  const ceiling = (cpu.cores * 1000) / total;
  return {
    ceiling,
    perProcess: per,
    lines: [
      `CPU per completed order: ${fmt(total)} ms in all — ${per
        .filter((p) => p.ms >= 1)
        .map((p) => `${p.name} ${fmt(p.ms)} ms (${fmt((100 * p.ms) / total)}%)`)
        .join(', ')}`,
      `  → with the stack alone on all ${cpu.cores} cores: at most ≈ ${fmt(ceiling, 1)} orders/s (cores ÷ CPU per order)`,
    ],
  };
}

function bottleneck(
  ratios: Ratio[],
  cpu: CpuReport,
  completedPerS: number,
  rate: number,
  cpuCeiling: number,
): { name: string; lines: string[] } {
  const lines: string[] = ['Bottleneck:'];
  const keptUp = completedPerS >= 0.95 * rate;
  const known = ratios.filter((r): r is Ratio & { ratio: number } => r.ratio !== null);
  const top = [...known].sort((a, b) => b.ratio - a.ratio)[0];
  const hottest = [...cpu.processes].sort((a, b) => b.avg - a.avg)[0]!;
  lines.push(
    `  by CPU cost: the stack needs the whole machine at ≈ ${fmt(cpuCeiling, 1)} orders/s; this run completed ` +
      `${fmt(completedPerS, 1)}/s (${fmt((100 * completedPerS) / Math.max(cpuCeiling, 1e-9))}% of it)`,
  );
  if (top)
    lines.push(
      `  by ceilings: ${top.part} (highest utilisation, ${fmt(top.ratio * 100)}% of what it does alone)`,
    );
  lines.push(
    `  by CPU: ${hottest.name} used the most, ${fmt(hottest.avg)}% of a core (peak ${fmt(hottest.peak)}%); ` +
      `the machine was ${fmt(cpu.machineBusy)}% busy over ${cpu.cores} cores`,
  );
  const saturatedMachine = cpu.machineBusy >= 85;
  let name: string;
  if (keptUp) {
    name = top ? top.part : hottest.name;
    lines.push(
      `  the stack kept up with ${fmt(rate)} orders/s: the ratios are utilisation at this rate; ` +
        `raise --rate until completed/s stops following it to find the limit`,
    );
  } else if (saturatedMachine) {
    name = `CPU of the machine (${cpu.cores} cores), most of it ${hottest.name}`;
    lines.push(
      `  → the cores are saturated: every part shares them, so the limit is CPU, and the part to make ` +
        `cheaper first is the biggest consumer, ${hottest.name}`,
    );
  } else {
    name = top ? top.part : hottest.name;
    lines.push(
      `  → below the offered rate with idle CPU: a latency-bound part limits it; ${name} first`,
    );
  }
  lines.push(`  named bottleneck: ${name}`);
  return { name, lines };
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
