// Command-line pieces the benches share: number parsers, and the options of a load against the
// running `npm start` stack that mean the same in bench:e2e, bench:soak and bench:faults.
import { InvalidArgumentError, type Command } from 'commander';

export const positive = (text: string): number => {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('a positive number');
  return n;
};

export const positiveInt = (text: string): number => {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError('a positive integer');
  return n;
};

export const share = (text: string): number => {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError('a number in 0..1');
  return n;
};

/** --market, --mid, --url, --no-cleanup and --quiet-wait. */
export const withStackLoadOptions = (program: Command): Command =>
  program
    .option('--market <market>', 'market to trade', 'BTC')
    .option('--mid <price>', 'mid price the orders are placed around', positive, 30000)
    .option('--url <ws>', 'WebSocket API (default TRADE_URL or ws://localhost:$GATEWAY_PORT)')
    .option('--no-cleanup', 'leave this run’s resting orders on the book')
    .option(
      '--quiet-wait <s>',
      'wait up to this long for a quiet machine (other programs < 15% of a core) before the load',
      (t: string) => Number(t),
      60,
    );

/** A length of time: `90s`, `20m`, `1h`, or a bare number of seconds. Returns seconds. */
export const duration = (text: string): number => {
  const match = /^(\d+(?:\.\d+)?)\s*(s|m|h)?$/.exec(text.trim());
  const n = match ? Number(match[1]) : NaN;
  if (!match || !(n > 0)) throw new InvalidArgumentError('a duration such as 90s, 20m or 1h');
  return n * { s: 1, m: 60, h: 3600 }[(match[2] ?? 's') as 's' | 'm' | 'h'];
};

/** --clients, --cancel-share and --seed of bench:e2e's mix (bench:e2e and bench:soak). */
export const withMixOptions = (program: Command): Command =>
  program
    .option('--clients <n>', 'WebSocket clients, one user each', positive, 10)
    .option('--cancel-share <x>', 'cancels of own resting orders per place', share, 0.3)
    .option('--seed <n>', 'seed of the order mix', positive, 1);
