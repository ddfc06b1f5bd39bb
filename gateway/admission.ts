// Admission control at the gateway: a new order is refused at once with 503 OVERLOADED and a
// `retryAfterMs` when the order path lags (the gateway's, the matcher's or the relay's reported lag
// passes the limit: a slow Temporal start counts as much as a backlog), or when this process
// already has too many orders in flight. Queueing it instead would only make every order later and
// feed re-sends; refusing keeps the path working at capacity.
// Cancels are never refused: they take load away.
import { ApiError } from './envelope';

export interface AdmissionOptions {
  /** The order path's lag, in ms (admission/lag.ts); cached here for `lagCacheMs`. */
  readLag: () => Promise<number>;
  shedLagMs: number;
  maxInFlight: number;
  lagCacheMs?: number;
  now?: () => number;
  /** Told when each admitted order began, once it is placed: the gateway's own lag stage. */
  placed?: (startedAt: number) => void;
}

/** A refused order is told to come back after about this long at least. */
const minRetryAfterMs = 250;
const maxRetryAfterMs = 5000;

export interface Admission {
  /** Runs `place` if the order is admitted; refuses it with 503 OVERLOADED otherwise. */
  admit<T>(place: () => Promise<T>): Promise<T>;
  readonly inFlight: number;
}

export function createAdmission(opts: AdmissionOptions): Admission {
  const now = opts.now ?? Date.now;
  const cacheMs = opts.lagCacheMs ?? 250;
  let lag = 0;
  let readAt = -Infinity;
  let reading: Promise<void> | undefined;
  let inFlight = 0;

  const currentLag = async (): Promise<number> => {
    if (now() - readAt >= cacheMs) {
      reading ??= opts
        .readLag()
        .then((value) => void (lag = value))
        .catch(() => void (lag = 0)) // no news is not a reason to refuse orders
        .finally(() => {
          readAt = now();
          reading = undefined;
        });
      await reading;
    }
    return lag;
  };

  const refuse = (why: string, retryAfterMs: number): ApiError =>
    new ApiError(
      503,
      'OVERLOADED',
      `the order service is overloaded (${why}); try again later`,
      undefined,
      {
        retryAfterMs: Math.round(
          Math.min(maxRetryAfterMs, Math.max(minRetryAfterMs, retryAfterMs)),
        ),
      },
    );

  return {
    get inFlight() {
      return inFlight;
    },
    async admit(place) {
      if (inFlight >= opts.maxInFlight) {
        throw refuse(`${inFlight} orders in flight here`, minRetryAfterMs * (1 + Math.random()));
      }
      const pathLag = await currentLag();
      if (pathLag > opts.shedLagMs) {
        // Back when the backlog should have drained, spread so the retries do not come at once.
        throw refuse(`the order path is ${pathLag} ms behind`, pathLag * (0.5 + Math.random()));
      }
      inFlight++;
      const startedAt = now();
      try {
        const result = await place();
        opts.placed?.(startedAt);
        return result;
      } finally {
        inFlight--;
      }
    },
  };
}
