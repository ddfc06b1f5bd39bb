// Shared by the benches: latency histograms (HdrHistogram, microseconds), number formatting, the
// CPU and memory tables, and the JSON copy of a report under bench/results/.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as hdr from 'hdr-histogram-js';
import { projectRoot } from '../../scripts/services';
import type { LoadSummary } from './load';
import type { CpuReport, RssSample } from './proc';

export const resultsDir = path.join(projectRoot, 'bench', 'results');

/** A latency histogram in microseconds, 1 µs to 1 hour, 3 significant digits. */
export function latencyHistogram(): hdr.Histogram {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: 3,
  });
}

export const recordMs = (h: hdr.Histogram, ms: number): void =>
  h.recordValue(Math.max(1, Math.round(ms * 1000)));

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

export function summarize(h: hdr.Histogram): LatencySummary {
  const ms = (us: number): number => Math.round(us / 10) / 100;
  return {
    count: h.totalCount,
    p50Ms: ms(h.getValueAtPercentile(50)),
    p90Ms: ms(h.getValueAtPercentile(90)),
    p99Ms: ms(h.getValueAtPercentile(99)),
    maxMs: ms(h.maxValue),
    meanMs: ms(h.mean),
  };
}

export const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

const fmtMs = (ms: number): string =>
  ms >= 10_000 ? `${fmt(ms / 1000, 1)} s` : ms >= 100 ? `${fmt(ms)} ms` : `${fmt(ms, 1)} ms`;

export function latencyLine(label: string, s: LatencySummary): string {
  if (s.count === 0) return `  ${label.padEnd(34)} (none)`;
  return (
    `  ${label.padEnd(34)} p50 ${fmtMs(s.p50Ms).padStart(8)}  p90 ${fmtMs(s.p90Ms).padStart(8)}  ` +
    `p99 ${fmtMs(s.p99Ms).padStart(8)}  max ${fmtMs(s.maxMs).padStart(8)}  (n=${fmt(s.count)})`
  );
}

export const mib = (bytes: number | undefined): string =>
  bytes === undefined ? '—' : `${fmt(bytes / 2 ** 20, 1)} MiB`;

export function cpuTable(cpu: CpuReport, title: string): string[] {
  const lines = [
    `${title} (${fmt(cpu.seconds, 0)} s; % of one core, ${cpu.cores} cores = ${cpu.cores * 100}%):`,
  ];
  const rows = [...cpu.processes].sort((a, b) => b.avg - a.avg);
  for (const p of rows) {
    const restarts = p.pids.length > 1 ? `  (${p.pids.length - 1} restart(s))` : '';
    lines.push(
      `  ${p.name.padEnd(13)} avg ${fmt(p.avg, 0).padStart(4)}%   peak ${fmt(p.peak, 0).padStart(4)}%${restarts}`,
    );
  }
  lines.push(
    `  ${'bench (self)'.padEnd(13)} avg ${fmt(cpu.bench.avg, 0).padStart(4)}%   peak ${fmt(cpu.bench.peak, 0).padStart(4)}%`,
  );
  const stackTotal = cpu.processes.reduce((a, p) => a + p.avg, 0);
  lines.push(
    `  machine busy ${fmt(cpu.machineBusy, 0)}% of all cores (+ ${fmt(cpu.machineIowait, 0)}% waiting for disk I/O); stack ${fmt(stackTotal, 0)}% + bench ` +
      `${fmt(cpu.bench.avg, 0)}% of one core`,
  );
  const noisy = cpu.othersTotal >= 20;
  lines.push(
    `  other processes: ${fmt(cpu.othersTotal, 0)}% of a core in all` +
      (cpu.others.length
        ? ` — ${cpu.others.map((other) => `${other.label} ${fmt(other.avg, 0)}%`).join(', ')}`
        : '') +
      (noisy
        ? '  ⚠ NOISY MACHINE: these figures are lower than this stack can do alone'
        : ' (quiet)'),
  );
  return lines;
}

export function rssTable(start: RssSample[], end: RssSample[], minutes: number): string[] {
  const lines = ['Memory (RSS of each stack process incl. children, start → end):'];
  for (const s of start) {
    const e = end.find((x) => x.name === s.name);
    const restarted = e && s.pid !== e.pid ? '  (restarted: a new process)' : '';
    const delta =
      s.bytes !== undefined && e?.bytes !== undefined && !restarted
        ? `  ${e.bytes >= s.bytes ? '+' : '−'}${mib(Math.abs(e.bytes - s.bytes))}` +
          (minutes >= 1 ? ` (${fmt((e.bytes - s.bytes) / 2 ** 20 / minutes, 1)} MiB/min)` : '')
        : '';
    lines.push(
      `  ${s.name.padEnd(13)} ${mib(s.bytes).padStart(10)} → ${mib(e?.bytes).padStart(10)}${delta}${restarted}`,
    );
  }
  return lines;
}

/** Writes the report as bench/results/<name>-<timestamp>.json and returns the path. */
export function writeResult(name: string, report: unknown): string {
  mkdirSync(resultsDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const file = path.join(resultsDir, `${name}-${stamp}.json`);
  writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
  return path.relative(projectRoot, file);
}

/** The load part of a report: throughput, latency, errors, what is still open. */
export function loadLines(s: LoadSummary): string[] {
  const keptUp = s.completedPerS >= 0.95 * s.offered.rate;
  const lines = [
    `Offered: ${fmt(s.offered.rate)} order.place/s (+${fmt(s.offered.cancelShare * 100)}% cancels) from ` +
      `${s.offered.clients} clients for ${fmt(s.offered.durationS, 1)} s, open loop: ${fmt(s.scheduled.places)} places, ` +
      `${fmt(s.scheduled.cancels)} cancels scheduled (sender lag p99 ${fmt(s.schedulerLagMs.p99, 1)} ms, max ${fmt(s.schedulerLagMs.max, 1)} ms)`,
    `Throughput (steady state, seconds ${s.steadyFromS}–${fmt(Math.floor(s.offered.durationS))} of the load): ` +
      `accepted ${fmt(s.acceptedPerS, 1)} orders/s, completed ${fmt(s.completedPerS, 1)} orders/s` +
      (keptUp
        ? ' (kept up with the offered rate)'
        : ' (BELOW the offered rate: the stack is saturated)'),
    `  completed = the matcher's decision pushed back to the client (limit: resting or final; market: final)`,
    `  in the whole load window: ${fmt(s.acceptedInWindow)} accepted, ${fmt(s.completedInWindow)} completed; ` +
      `totals after the drain: accepted ${fmt(s.accepted)}, completed ${fmt(s.completed)}, final ${fmt(s.finalCount)}, ` +
      `resting on the book ${fmt(s.restingAtEnd)}; by status ${Object.entries(s.byStatus)
        .map(([k, n]) => `${k} ${fmt(n)}`)
        .join(', ')}`,
    `Latency, from each request's scheduled send time (no coordinated omission):`,
    latencyLine('place → ack (order.place answer)', s.latency.placeToAck),
    latencyLine('place → first report (decided)', s.latency.placeToDecided),
    latencyLine('place → final (crossing + market)', s.latency.placeToFinal),
    latencyLine('  crossing limit → final', s.latency.placeToFinalByKind.cross!),
    latencyLine('  market → final', s.latency.placeToFinalByKind.market!),
    latencyLine('cancel → ack (final snapshot)', s.latency.cancelToAck),
    ...(s.latency.shedAnswer.count > 0
      ? [latencyLine('a shed sending → 503 OVERLOADED', s.latency.shedAnswer)]
      : []),
    `  final state learnt from: ${Object.entries(s.finalVia)
      .map(([k, n]) => `${k} ${fmt(n)}`)
      .join(', ')}`,
    `Errors by code: ${
      Object.keys(s.errors).length === 0
        ? 'none'
        : Object.entries(s.errors)
            .map(([k, n]) => `${k} ${fmt(n)}`)
            .join(', ')
    }; transient answers retried: ${
      Object.keys(s.transientRetried).length === 0
        ? 'none'
        : Object.entries(s.transientRetried)
            .map(([k, n]) => `${k} ${fmt(n)}`)
            .join(', ')
    }`,
    `Cancels: ${Object.entries(s.cancelOutcomes)
      .map(([k, n]) => `${k} ${fmt(n)}`)
      .join(', ')} (ORDER_NOT_CANCELLABLE = it filled first)`,
    `Connections: ${fmt(s.reconnects)} reconnects, ${fmt(s.resentAfterDisconnect)} requests re-sent after a lost connection`,
    s.stillOpen.count === 0 && s.unanswered === 0
      ? 'Still open after the drain: none'
      : `Still open after the drain: ${fmt(s.stillOpen.count)} accepted orders undecided, ${fmt(s.unanswered)} places unanswered` +
        (s.stillOpen.examples.length ? `; e.g. ${s.stillOpen.examples.join('; ')}` : ''),
  ];
  return lines;
}

/** The commit the stack's code comes from, and whether the work tree differs (read-only git). */
export function codeRevision(): string {
  try {
    const git = (...args: string[]): string =>
      execFileSync('git', args, { cwd: projectRoot, encoding: 'utf8' }).trim();
    const changed = git('status', '--porcelain', '--untracked-files=no')
      .split('\n')
      .filter(Boolean).length;
    return `${git('rev-parse', '--short', 'HEAD')}${changed ? ` + ${changed} modified file(s)` : ''}`;
  } catch {
    return 'unknown';
  }
}
