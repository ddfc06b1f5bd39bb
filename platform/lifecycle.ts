// How a process of the stack runs (bin/): started, then stopped gracefully on the first SIGTERM
// (Kubernetes, npm start) or SIGINT (Ctrl-C); another signal while it stops changes nothing. Exits
// 0 after a clean stop, 1 when the start or the stop fails or the stop outlasts stopTimeoutMs (a
// stop can hang on a server that is gone, e.g. Redis; what it left undone is safe to drop: SQS
// leases and the publisher lock expire, and every hop repeats idempotently).
import type { Logger } from './log';

export interface Stoppable {
  stop(): Promise<void>;
}

/** Within npm start's 10 s before SIGKILL and Kubernetes' 30 s grace period. */
export const stopTimeoutMs = 8000;

export function runUntilSignal(log: Logger, what: string, start: () => Promise<Stoppable>): void {
  start().then(
    (running) => {
      let stopping = false;
      const stop = (signal: NodeJS.Signals): void => {
        if (stopping) return;
        stopping = true;
        log.info({ signal }, `stopping ${what}`);
        setTimeout(() => {
          log.error({ stopTimeoutMs }, `${what} did not stop in time; exiting`);
          process.exit(1);
        }, stopTimeoutMs).unref();
        running.stop().then(
          () => process.exit(0),
          (err: unknown) => {
            log.error({ err }, 'unclean stop');
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    },
    (err: unknown) => {
      log.error({ err }, `${what} failed to start`);
      process.exit(1);
    },
  );
}
