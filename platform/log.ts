// Structured JSON logs (pino). Every line that concerns an order carries its workflowId:
// use `orderLogger(log, workflowId)`.
import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

export function createLogger(service: string): Logger {
  return pino({ level: process.env.LOG_LEVEL ?? 'info', base: { service } });
}

export const orderLogger = (log: Logger, workflowId: string): Logger => log.child({ workflowId });
