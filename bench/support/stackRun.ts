// A load run against the running `npm start` stack as bench:e2e and bench:soak make it: check the
// stack, open Temporal and Redis, note the book, wait for a quiet machine, drive the paced load with
// a progress bar, drain, cancel the run's resting orders and close.
import { Client, Connection } from '@temporalio/client';
import * as cliProgress from 'cli-progress';
import Redis from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { markets } from '../../config/markets';
import { openBook, type BookSnapshot } from '../../matcher/book';
import { LoadRun } from './load';
import { waitForQuiet } from './proc';
import { codeRevision, fmt } from './report';
import { endpoints, requireStack, type Endpoints } from './stack';

/** The options of a paced load that bench:e2e and bench:soak share. */
export interface StackLoadOptions {
  clients: number;
  rate: number;
  /** Seconds of load. */
  duration: number;
  /** At most this many seconds to wait for outstanding orders afterwards. */
  drain: number;
  market: string;
  mid: number;
  cancelShare: number;
  seed: number;
  url?: string;
  cleanup: boolean;
  quietWait: number;
  maxResting?: number;
}

export type Quiet = Awaited<ReturnType<typeof waitForQuiet>>;
export type Cleanup = Awaited<ReturnType<LoadRun['cleanup']>>;

export interface StackRun {
  endpoints: Endpoints;
  connection: Connection;
  temporal: Client;
  redis: Redis;
  bookBefore: BookSnapshot;
  startedAt: number;
  revision: string;
  /** Prefix of the run's users, unique per run. */
  tag: string;
  load: LoadRun;
  quiet: Quiet;
}

/** Waits for a quiet machine and says how quiet it got. */
export async function announceQuiet(quietWaitS: number): Promise<Quiet> {
  const quiet = await waitForQuiet(quietWaitS * 1000);
  console.log(
    quiet.quiet
      ? `machine quiet after ${fmt(quiet.waitedMs / 1000, 0)} s (other programs ${fmt(quiet.others)}% of a core, stack ${fmt(quiet.stack)}%)`
      : `⚠ the machine did not get quiet within ${quietWaitS} s (other programs ${fmt(quiet.others)}% of a core, stack ${fmt(quiet.stack)}%): figures will be lower than this stack can do alone`,
  );
  return quiet;
}

/** Everything up to the first order: exits with a message when the stack is not up. */
export async function openStackRun(bench: string, opts: StackLoadOptions): Promise<StackRun> {
  const e = endpoints(opts.url);
  await requireStack(e, `bench:${bench}`);
  const market = markets.get(opts.market);
  if (!market)
    throw new Error(`unknown market ${opts.market}; known: ${[...markets.keys()].join(', ')}`);
  const connection = await Connection.connect({ address: e.temporalAddress });
  const temporal = new Client({ connection });
  const redis = new Redis(e.redisUrl);
  const bookBefore = await (await openBook(redis, market)).snapshot();
  const startedAt = Date.now();
  const revision = codeRevision();
  const tag = `${bench}${startedAt.toString(36)}`;
  const load = new LoadRun({
    url: e.gatewayUrl,
    clients: Math.round(opts.clients),
    rate: opts.rate,
    durationMs: opts.duration * 1000,
    market: opts.market,
    mid: opts.mid,
    cancelShare: opts.cancelShare,
    seed: Math.round(opts.seed),
    runTag: tag,
    maxResting: opts.maxResting,
  });
  console.log(
    `bench:${bench} → ${e.gatewayUrl}: ${opts.clients} clients (users ${tag}-u0…), ${fmt(opts.rate, 1)} orders/s for ` +
      `${fmt(opts.duration)} s on ${opts.market} around ${opts.mid}; mix 40% crossing limit, 45% resting limit, 15% market, ` +
      `+${opts.cancelShare * 100}% cancels of own resting orders` +
      (opts.maxResting === undefined ? '' : `, at most ${opts.maxResting} of them resting`) +
      `. Book before: ${bookBefore.bids.length} bids, ${bookBefore.asks.length} asks. Code ${revision}.`,
  );
  const quiet = await announceQuiet(opts.quietWait);
  return {
    endpoints: e,
    connection,
    temporal,
    redis,
    bookBefore,
    startedAt,
    revision,
    tag,
    load,
    quiet,
  };
}

/** Runs the connected load for its duration, then drains, with a progress bar; Ctrl-C ends the load early. */
export async function driveLoad(load: LoadRun, durationS: number, drainS: number): Promise<void> {
  const bar = new cliProgress.SingleBar(
    {
      format:
        '{phase} {bar} {value}/{total} s | placed {placed} accepted {accepted} completed {completed} open {open} errors {errors} reconnects {reconnects}',
      hideCursor: true,
      noTTYOutput: true,
      notTTYSchedule: 10_000,
      stopOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  const total = Math.ceil(durationS);
  const payload = (phase: string) => {
    const p = load.progress();
    return {
      phase,
      placed: p.scheduled,
      accepted: p.accepted,
      completed: p.completed,
      open: p.open,
      errors: p.errors,
      reconnects: p.reconnects,
    };
  };
  bar.start(total, 0, payload('load '));
  const onSigint = (): void => load.stop();
  process.once('SIGINT', onSigint);
  await load.run(() =>
    bar.update(Math.min(Math.floor(load.progress().elapsedS), total), payload('load ')),
  );
  process.removeListener('SIGINT', onSigint);
  bar.update(total, payload('drain'));
  await load.drain(drainS * 1000, () => bar.update(total, payload('drain')));
  bar.update(total, payload('done '));
  bar.stop();
}

/** Cancels the run's resting orders (unless --no-cleanup) and closes its clients. */
export async function closeLoad(run: StackRun, cleanup: boolean): Promise<Cleanup | undefined> {
  let result: Cleanup | undefined;
  if (cleanup) {
    process.stderr.write('cancelling this run’s resting orders…\n');
    result = await run.load.cleanup(60_000);
    await sleep(2000); // their last reports
  }
  await run.load.close();
  return result;
}

export async function closeStackRun(run: StackRun): Promise<void> {
  run.redis.disconnect();
  await run.connection.close();
}

export const cleanupLine = (c: Cleanup): string =>
  `Cleanup: cancelled ${c.canceled} resting orders of this run (${c.notCancellable} had just finished, ${c.failed} failed)`;
