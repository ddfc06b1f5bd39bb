// Whether each stack process's memory stays flat under a long load: its RSS at the end against its
// RSS once the stack has warmed up (caches filled, JIT done). Each figure is the median of the
// samples in a window, so one reading taken just before a garbage collection does not decide.
import type { RssPoint } from './proc';

/** The soak target: at the end, within this share of the figure after the warm-up. */
export const driftTarget = 0.15;

export interface ProcessDrift {
  name: string;
  /** Median RSS in the window around the end of the warm-up, bytes. */
  atSettle: number | undefined;
  /** Median RSS in the last window of the run, bytes. */
  end: number | undefined;
  max: number | undefined;
  /** Highest reading after the warm-up, as a share above `atSettle`. */
  peakAfterSettle: number | undefined;
  /** end ÷ atSettle − 1. */
  drift: number | undefined;
  pids: number[];
  pass: boolean;
  /** Why it failed, when it did. */
  reason?: string;
}

const median = (values: number[]): number | undefined => {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/**
 * Per process: RSS at `settleS` (median of the samples within `windowS`/2 of it) and at the end
 * (median of the last `windowS`), the drift between them against `driftTarget`, the maximum.
 */
export function rssDrift(points: RssPoint[], settleS: number, windowS = 30): ProcessDrift[] {
  const names = [...new Set(points.flatMap((p) => p.processes.map((s) => s.name)))];
  const lastS = points.at(-1)?.atS ?? 0;
  return names.map((name) => {
    const series = points.flatMap((p) => {
      const s = p.processes.find((x) => x.name === name);
      return s?.bytes === undefined ? [] : [{ atS: p.atS, bytes: s.bytes, pid: s.pid }];
    });
    const pids = [...new Set(series.map((s) => s.pid).filter((pid) => pid !== undefined))];
    const atSettle = median(
      series.filter((s) => Math.abs(s.atS - settleS) <= windowS / 2).map((s) => s.bytes),
    );
    const end = median(series.filter((s) => s.atS >= lastS - windowS).map((s) => s.bytes));
    const bytes = series.map((s) => s.bytes);
    const after = series.filter((s) => s.atS >= settleS).map((s) => s.bytes);
    const drift = atSettle !== undefined && end !== undefined ? end / atSettle - 1 : undefined;
    let reason: string | undefined;
    if (pids.length > 1) reason = `restarted (${pids.length} pids): not one process's memory`;
    else if (atSettle === undefined || end === undefined || lastS - windowS < settleS)
      reason = `too few samples: the run must last longer than ${settleS + windowS} s`;
    else if (Math.abs(drift!) > driftTarget)
      reason = `drifted ${drift! > 0 ? '+' : '−'}${Math.abs(Math.round(drift! * 100))}%`;
    return {
      name,
      atSettle,
      end,
      max: bytes.length ? Math.max(...bytes) : undefined,
      peakAfterSettle:
        atSettle !== undefined && after.length ? Math.max(...after) / atSettle - 1 : undefined,
      drift,
      pids,
      pass: reason === undefined,
      ...(reason !== undefined && { reason }),
    };
  });
}
