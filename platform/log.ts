// Structured JSON logs (pino), one time format (ISO 8601), a `service` field on every line. In
// Lambda they go to CloudWatch as they are. Every line that concerns an order carries its
// workflowId: use `orderLogger(log, workflowId)`.
import pino, { type Logger } from 'pino';
import { env } from '../config/env';

export type { Logger } from 'pino';

// No pid and hostname: the service name says where a line comes from.
const root = pino({ level: env.logLevel, base: null, timestamp: pino.stdTimeFunctions.isoTime });
const byService = new Map<string, Logger>();

/**
 * The logger of a service: one per name, so every module of a service (the gateway's handlers, its
 * twin, the pushStatus activity) logs through the same one, and a test can quiet it as a whole.
 */
export function serviceLogger(service: string): Logger {
  let log = byService.get(service);
  if (!log) {
    log = root.child({ service });
    byService.set(service, log);
  }
  return log;
}

export const orderLogger = (log: Logger, workflowId: string): Logger => log.child({ workflowId });
