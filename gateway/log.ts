// Structured JSON logs (pino) of the gateway handlers, the local twin and pushStatus. In Lambda
// they go to CloudWatch as they are; every line about an order carries its workflowId.
import pino from 'pino';

export const log = pino({
  level: process.env.LOG_LEVEL ?? 'info',
  base: { service: 'gateway' },
  timestamp: pino.stdTimeFunctions.isoTime,
});

export type Logger = pino.Logger;
