// CPU and memory of the stack's processes (pidusage: cumulative CPU time and RSS of each process;
// /proc lists the processes and their parents). `npm start` writes each process's pid to
// .data/run/<name>.pid (and rewrites it when it restarts one), so the pids are read afresh on
// every sample. A process's CPU includes its live descendants (e.g. the esbuild service of tsx).
import { readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pidusage from 'pidusage';
import { stackProcessNames } from '../../platform/processes';
import { projectRoot } from '../../scripts/services';

export const runDir = path.join(projectRoot, '.data', 'run');

export function readPid(name: string): number | undefined {
  try {
    const pid = Number(readFileSync(path.join(runDir, `${name}.pid`), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface StatLine {
  pid: number;
  ppid: number;
  /** User + system CPU time so far (pidusage's ctime), in ms. */
  cpuMs: number;
  /** Resident memory, in bytes. */
  rss: number;
}

/** Every process of the machine (those that exit meanwhile are left out). */
async function allStats(): Promise<StatLine[]> {
  const pids = readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number);
  // pidusage gives null for (or, asked for one pid only, rejects) a process that is gone.
  const stats = await pidusage(pids).catch((): Record<string, pidusage.Status | null> => ({}));
  return Object.values(stats)
    .filter((s): s is pidusage.Status => Boolean(s))
    .map((s) => ({ pid: s.pid, ppid: s.ppid, cpuMs: s.ctime, rss: s.memory }));
}

/** A process and its live descendants. */
function tree(root: number, stats: StatLine[]): StatLine[] {
  const children = new Map<number, StatLine[]>();
  for (const s of stats) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s]);
  const out: StatLine[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    const self = stats.find((s) => s.pid === pid);
    if (self) out.push(self);
    for (const c of children.get(pid) ?? []) stack.push(c.pid);
  }
  return out;
}

export interface RssSample {
  name: string;
  pid: number | undefined;
  /** The process and its descendants. */
  bytes: number | undefined;
}

export async function stackRss(): Promise<RssSample[]> {
  const stats = await allStats();
  return stackProcessNames.map((name) => {
    const pid = readPid(name);
    if (pid === undefined) return { name, pid, bytes: undefined };
    const bytes = tree(pid, stats).reduce((sum, s) => sum + s.rss, 0);
    return { name, pid, bytes };
  });
}

/** One reading of every stack process's RSS, `atS` seconds after the sampler started. */
export interface RssPoint {
  atS: number;
  processes: RssSample[];
}

/** Reads every stack process's RSS every `everyS` seconds between start() and stop(). */
export class RssSampler {
  readonly points: RssPoint[] = [];
  private readonly halt = new AbortController();
  private sampling: Promise<void> | undefined;
  private t0 = 0;

  constructor(private readonly everyS: number) {}

  start(): this {
    this.t0 = performance.now();
    this.sampling = (async () => {
      while (!this.halt.signal.aborted) {
        await this.read();
        await sleep(this.everyS * 1000, undefined, { signal: this.halt.signal }).catch(
          () => undefined,
        );
      }
    })();
    return this;
  }

  private async read(): Promise<void> {
    const processes = await stackRss();
    this.points.push({ atS: (performance.now() - this.t0) / 1000, processes });
  }

  /** Takes a last reading and returns them all. */
  async stop(): Promise<RssPoint[]> {
    this.halt.abort();
    await this.sampling;
    await this.read();
    return this.points;
  }
}

/** Busy and total jiffies of the whole machine, from the first line of /proc/stat. */
function machineTicks(): { busy: number; iowait: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = v;
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, iowait, total: busy + idle + iowait };
}

export interface CpuFigure {
  name: string;
  /** Average over the window, in % of one core. */
  avg: number;
  /** Highest one-sample value, in % of one core. */
  peak: number;
  /** Distinct pids seen (a restart adds one). */
  pids: number[];
}

export interface CpuReport {
  seconds: number;
  processes: CpuFigure[];
  /** This bench process (load generator, and the ceiling worker when it runs). */
  bench: { avg: number; peak: number };
  /** Whole machine, % of all cores together (100 = every core busy). */
  machineBusy: number;
  /** Whole machine, % of all cores idle while waiting for disk I/O (Temporal's SQLite fsyncs). */
  machineIowait: number;
  cores: number;
  /** Every other process together (a test run, a compiler, …), % of one core. */
  othersTotal: number;
  /** Other programs that used at least 3% of a core on average, by command (noise). */
  others: Array<{ label: string; avg: number }>;
}

/**
 * Samples CPU of the stack's processes once a second between start() and stop(). Deltas are
 * accumulated per process name, so a process that is killed and restarted keeps counting.
 */
export class CpuSampler {
  private sampling: Promise<void> | undefined;
  private running = false;
  private readonly halt = new AbortController();
  private last = new Map<string, Map<number, number>>();
  private readonly used = new Map<string, number>();
  private readonly peaks = new Map<string, number>();
  private readonly pidsSeen = new Map<string, Set<number>>();
  private startedAt = 0;
  private lastAt = 0;
  private benchLast = process.cpuUsage();
  private benchUsed = 0;
  private benchPeak = 0;
  private machineStart = machineTicks();
  private readonly othersLast = new Map<number, number>();
  private readonly othersUsed = new Map<string, number>();
  private readonly labels = new Map<number, string>();
  private stopped: Promise<CpuReport> | undefined;

  /** The window begins with the first sample, as soon as the event loop lets it read /proc. */
  start(): this {
    this.running = true;
    this.sampling = this.sampleEverySecond();
    return this;
  }

  /** One sample after another (never two at once), the first one the baseline. */
  private async sampleEverySecond(): Promise<void> {
    this.sample(await allStats(), true);
    while (this.running) {
      await sleep(1000, undefined, { ref: false, signal: this.halt.signal }).catch(() => undefined);
      if (this.running) this.sample(await allStats(), false);
    }
  }

  private sample(stats: StatLine[], first: boolean): void {
    const now = performance.now();
    const dt = (now - this.lastAt) / 1000;
    this.lastAt = now;
    if (first) {
      this.startedAt = now;
      this.machineStart = machineTicks();
    }
    for (const name of stackProcessNames) {
      const pid = readPid(name);
      const previous = this.last.get(name) ?? new Map<number, number>();
      const current = new Map<number, number>();
      let delta = 0;
      let appeared = false;
      if (pid !== undefined) {
        this.pidsSeen.set(name, (this.pidsSeen.get(name) ?? new Set()).add(pid));
        for (const s of tree(pid, stats)) {
          current.set(s.pid, s.cpuMs);
          // A process that appeared since the last sample counts its whole CPU time.
          if (!first && !previous.has(s.pid) && s.pid === pid) appeared = true;
          delta += s.cpuMs - (previous.get(s.pid) ?? (first ? s.cpuMs : 0));
        }
      }
      this.last.set(name, current);
      if (first) continue;
      const seconds = delta / 1000;
      this.used.set(name, (this.used.get(name) ?? 0) + seconds);
      // A restarted process's start-up CPU lands in one sample: not a one-second peak.
      if (dt > 0.2 && !appeared)
        this.peaks.set(name, Math.max(this.peaks.get(name) ?? 0, (100 * seconds) / dt));
    }
    this.sampleOthers(stats, first);
    const usage = process.cpuUsage(this.benchLast);
    this.benchLast = process.cpuUsage();
    const benchSeconds = (usage.user + usage.system) / 1e6;
    if (!first) {
      this.benchUsed += benchSeconds;
      if (dt > 0.2) this.benchPeak = Math.max(this.benchPeak, (100 * benchSeconds) / dt);
    }
  }

  /** Everything that is neither the stack nor this process, by command. */
  private sampleOthers(stats: StatLine[], first: boolean): void {
    const mine = new Set<number>();
    for (const name of stackProcessNames) {
      const pid = readPid(name);
      if (pid !== undefined) for (const s of tree(pid, stats)) mine.add(s.pid);
    }
    for (const s of tree(process.pid, stats)) mine.add(s.pid);
    const seen = new Set<number>();
    for (const s of stats) {
      if (mine.has(s.pid)) continue;
      seen.add(s.pid);
      const before = this.othersLast.get(s.pid);
      this.othersLast.set(s.pid, s.cpuMs);
      if (first) continue;
      // A process that started since the last sample counts its whole CPU time.
      const delta = s.cpuMs - (before ?? 0);
      if (delta <= 0) continue;
      const label = this.labelOf(s);
      this.othersUsed.set(label, (this.othersUsed.get(label) ?? 0) + delta / 1000);
    }
    for (const pid of this.othersLast.keys()) if (!seen.has(pid)) this.othersLast.delete(pid);
  }

  private labelOf(s: StatLine): string {
    let label = this.labels.get(s.pid);
    if (label) return label;
    let args: string[] = [];
    try {
      args = readFileSync(`/proc/${s.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    } catch {
      // gone already
    }
    const program = path.basename(args[0] ?? `[${commOf(s.pid)}]`);
    const script = ['node', 'python3', 'python'].includes(program)
      ? args.slice(1).find((a) => !a.startsWith('-') && a.includes('/'))
      : undefined;
    label = script ? `${program} ${path.basename(script)}` : program;
    this.labels.set(s.pid, label);
    return label;
  }

  stop(): Promise<CpuReport> {
    this.stopped ??= this.finish();
    return this.stopped;
  }

  private async finish(): Promise<CpuReport> {
    this.running = false;
    this.halt.abort();
    await this.sampling;
    this.sample(await allStats(), false);
    const seconds = (performance.now() - this.startedAt) / 1000;
    const machine = machineTicks();
    const busy = machine.busy - this.machineStart.busy;
    const total = machine.total - this.machineStart.total;
    const others = [...this.othersUsed]
      .map(([label, used]) => ({ label, avg: (100 * used) / seconds }))
      .sort((a, b) => b.avg - a.avg);
    return {
      seconds,
      processes: stackProcessNames.map((name) => ({
        name,
        avg: (100 * (this.used.get(name) ?? 0)) / seconds,
        peak: this.peaks.get(name) ?? 0,
        pids: [...(this.pidsSeen.get(name) ?? [])],
      })),
      bench: { avg: (100 * this.benchUsed) / seconds, peak: this.benchPeak },
      machineBusy: total > 0 ? (100 * busy) / total : 0,
      machineIowait: total > 0 ? (100 * (machine.iowait - this.machineStart.iowait)) / total : 0,
      cores: os.cpus().length,
      othersTotal: others.reduce((a, other) => a + other.avg, 0),
      others: others.filter((other) => other.avg >= 3).slice(0, 6),
    };
  }
}

/** The command name of a process without a command line (a kernel thread). */
function commOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}

/**
 * Waits (up to `maxMs`) for a 3-second window in which other programs use under 15% of a core and
 * the stack under 30% (e.g. still finishing a previous run's backlog), so a run starts on a quiet
 * machine. Returns what the last window showed.
 */
export async function waitForQuiet(
  maxMs: number,
): Promise<{ quiet: boolean; others: number; stack: number; waitedMs: number }> {
  const t0 = performance.now();
  for (;;) {
    const sampler = new CpuSampler().start();
    await new Promise((r) => setTimeout(r, 3000));
    const cpu = await sampler.stop();
    const stack = cpu.processes.reduce((a, p) => a + p.avg, 0);
    const quiet = cpu.othersTotal < 15 && stack < 30;
    const waitedMs = performance.now() - t0;
    if (quiet || waitedMs >= maxMs) return { quiet, others: cpu.othersTotal, stack, waitedMs };
  }
}
