// The one way a test waits for what happens elsewhere (a server, a worker, another connection).
import { inspect } from 'node:util';

export interface EventuallyOptions {
  /** How long to keep trying before failing (default 30 s, the slowest the real stack needs). */
  timeoutMs?: number;
  /** Pause between tries (default 50 ms). */
  intervalMs?: number;
}

type Truthy<T> = Exclude<T, undefined | null | false | 0 | ''>;

/**
 * Calls `check` until it returns a truthy value, and returns that value. A check that throws has
 * not succeeded yet; when the time is up, the error names `what` and carries the last failure (as
 * its message and `cause`) or the last value the check returned.
 */
export async function eventually<T>(
  check: () => T | Promise<T>,
  what: string,
  { timeoutMs = 30_000, intervalMs = 50 }: EventuallyOptions = {},
): Promise<Truthy<T>> {
  const started = Date.now();
  for (;;) {
    let failure: { error: unknown } | { value: unknown };
    try {
      const value = await check();
      if (value) return value as Truthy<T>;
      failure = { value };
    } catch (error) {
      failure = { error };
    }
    const left = timeoutMs - (Date.now() - started);
    if (left <= 0) {
      const last =
        'error' in failure
          ? failure.error instanceof Error
            ? failure.error.message
            : inspect(failure.error)
          : `last value ${inspect(failure.value, { breakLength: Infinity })}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${last}`, {
        cause: 'error' in failure ? failure.error : undefined,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, left)));
  }
}
