// Endpoints and names from the environment, with the local defaults of `npm start`.
// The same code runs against moto, LocalStack, real AWS or Temporal Cloud.
import { channelNames } from './queues';

/** A positive integer from the environment, or the fallback when unset. */
export function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0)
    throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return value;
}

export const env = {
  temporalAddress: process.env.TEMPORAL_ADDRESS ?? 'localhost:7233',
  temporalNamespace: process.env.TEMPORAL_NAMESPACE ?? 'default',
  redisUrl: process.env.REDIS_URL ?? 'redis://localhost:6379',
  /** Unset means real AWS; `npm start` points it at the local moto server. */
  awsEndpointUrl: process.env.AWS_ENDPOINT_URL || undefined,
  awsRegion: process.env.AWS_REGION ?? 'us-east-1',
  ordersQueueName: process.env.ORDERS_QUEUE_NAME ?? channelNames.ordersQueue,
  orderEventsTopicName: process.env.ORDER_EVENTS_TOPIC_NAME ?? channelNames.orderEventsTopic,
  relayQueueName: process.env.RELAY_QUEUE_NAME ?? channelNames.relayQueue,
  gatewayPort: positiveInt('GATEWAY_PORT', 8080),
  /** Set by `npm start` and in production; otherwise looked up by name. */
  ordersQueueUrl: process.env.ORDERS_QUEUE_URL || undefined,
  orderEventsTopicArn: process.env.ORDER_EVENTS_TOPIC_ARN || undefined,
  relayQueueUrl: process.env.RELAY_QUEUE_URL || undefined,
  /** /healthz and /metrics ports of the project's processes. */
  matcherHealthPort: positiveInt('MATCHER_HEALTH_PORT', 9101),
  orderWorkerHealthPort: positiveInt('ORDER_WORKER_HEALTH_PORT', 9102),
  relayHealthPort: positiveInt('RELAY_HEALTH_PORT', 9103),
  /** Task queue of the order workflows (tests use their own). */
  orderTaskQueue: process.env.ORDER_TASK_QUEUE ?? 'orders',
  /** Key prefix of the matcher's books; production uses none, tests their own. */
  matcherNamespace: process.env.MATCHER_NAMESPACE ?? '',
  /** How long the matcher answers a redelivered command with its first outcome (default 24 h). */
  matcherAppliedRetentionMs: positiveInt('MATCHER_APPLIED_RETENTION_MS', 24 * 60 * 60 * 1000),
  /** SQS long-poll wait; shorter in tests so shutdown is quick. */
  sqsWaitSeconds: positiveInt('SQS_WAIT_SECONDS', 20),
  /**
   * How long a message the matcher or relay received stays invisible, renewed while it works: a
   * consumer that dies holds up its messages (and their FIFO group) for at most this long.
   */
  sqsLeaseSeconds: positiveInt('SQS_LEASE_SECONDS', 6),
};

export const localDefaults = {
  temporalPort: 7233,
  temporalUiPort: 8233,
  redisPort: 6379,
  motoPort: 4566,
  gatewayPort: 8080,
} as const;

// ── WebSocket gateway ──────────────────────────────────────────────────────────────────────────

/** The API Gateway management API (`@connections`) that pushStatus posts execution reports to. */
export const gatewayManagementUrl = (): string =>
  process.env.GATEWAY_MANAGEMENT_URL || `http://localhost:${env.gatewayPort}`;

/** The HS256 secret of local client tokens; never used when NODE_ENV=production. */
export const localJwtSecret = 'local-dev-secret';

/**
 * The HS256 secret that signs and verifies client tokens (JWT `sub` = userID): `JWT_SECRET`.
 * Required in production; elsewhere it falls back to `localJwtSecret`.
 */
export function jwtSecret(): string {
  const secret = process.env.JWT_SECRET;
  if (secret) return secret;
  if (process.env.NODE_ENV === 'production')
    throw new Error('JWT_SECRET must be set in production');
  return localJwtSecret;
}
