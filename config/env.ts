// Endpoints and names from the environment, with the local defaults of `npm start`.
// The same code runs against moto, LocalStack, real AWS or Temporal Cloud. The only module that
// reads process.env: everything else asks here.
import { services, type PortSetting, type ServiceName } from '../platform/processes';
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

/** A TCP port from the environment (a port of platform/processes.ts), or its default when unset. */
export function port({ variable, fallback }: PortSetting): number {
  const raw = process.env[variable];
  const value = raw ? Number(raw) : fallback;
  if (!Number.isInteger(value) || value <= 0 || value > 65535)
    throw new Error(`${variable} must be a TCP port, got "${raw}"`);
  return value;
}

/** /healthz and /metrics ports of the project's processes (the gateway's is its API port too). */
const healthPorts = Object.fromEntries(
  Object.entries(services).map(([name, s]) => [name, port(s.healthPort)]),
) as Record<ServiceName, number>;

export const env = {
  temporalAddress: process.env.TEMPORAL_ADDRESS ?? 'localhost:7233',
  temporalNamespace: process.env.TEMPORAL_NAMESPACE ?? 'default',
  redisUrl: process.env.REDIS_URL ?? 'redis://localhost:6379',
  /** The accounts' ledger store (MemoryDB in production); the same Redis as REDIS_URL by default. */
  ledgerRedisUrl: process.env.LEDGER_REDIS_URL || process.env.REDIS_URL || 'redis://localhost:6379',
  /** The ledger store is a Redis Cluster (MemoryDB always is): connect with the cluster client. */
  ledgerRedisCluster: process.env.LEDGER_REDIS_CLUSTER === 'true',
  /** The opening grant of every new account, `USDT=100000,BTC=10,ETH=100`; `npm start` only. */
  accountGrant: process.env.ACCOUNT_GRANT ?? '',
  /** Unset means real AWS; `npm start` points it at the local moto server. */
  awsEndpointUrl: process.env.AWS_ENDPOINT_URL || undefined,
  awsRegion: process.env.AWS_REGION ?? 'us-east-1',
  ordersQueueName: process.env.ORDERS_QUEUE_NAME ?? channelNames.ordersQueue,
  orderEventsTopicName: process.env.ORDER_EVENTS_TOPIC_NAME ?? channelNames.orderEventsTopic,
  relayQueueName: process.env.RELAY_QUEUE_NAME ?? channelNames.relayQueue,
  gatewayPort: healthPorts.gateway,
  /** Orders one user may place per 10 s and per UTC day, over every gateway instance. */
  gatewayOrdersPer10s: positiveInt('GATEWAY_ORDERS_PER_10S', 50),
  gatewayOrdersPerDay: positiveInt('GATEWAY_ORDERS_PER_DAY', 160_000),
  /** Admission control: new orders are refused 503 OVERLOADED while the order path lags more. */
  gatewayShedLagMs: positiveInt('GATEWAY_SHED_LAG_MS', 1000),
  /** Admission control: at most this many orders in flight in one gateway process. */
  gatewayMaxOrdersInFlight: positiveInt('GATEWAY_MAX_ORDERS_IN_FLIGHT', 64),
  /** Set by `npm start` and in production; otherwise looked up by name. */
  ordersQueueUrl: process.env.ORDERS_QUEUE_URL || undefined,
  ordersDlqUrl: process.env.ORDERS_DLQ_URL || undefined,
  orderEventsTopicArn: process.env.ORDER_EVENTS_TOPIC_ARN || undefined,
  relayQueueUrl: process.env.RELAY_QUEUE_URL || undefined,
  /** Receive loops of one relay process working at once. */
  relayReceivers: positiveInt('RELAY_RECEIVERS', 4),
  healthPorts,
  /** Task queue of the order workflows (tests use their own). */
  orderTaskQueue: process.env.ORDER_TASK_QUEUE ?? 'orders',
  /** RSS the order worker may reach, in MiB: its heap limit and workflow cache follow (768 = the pod's limit). */
  orderWorkerMemoryMb: positiveInt('ORDER_WORKER_MEMORY_MB', 768),
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
  /** Level of the pino logs (platform/log.ts). */
  logLevel: process.env.LOG_LEVEL ?? 'info',
  /** REDIS_URL when set; `npm run bench:matcher` starts a Redis of its own otherwise. */
  givenRedisUrl: process.env.REDIS_URL || undefined,
  /** The WebSocket API the CLI and the benches trade on; default the local twin. */
  tradeUrl: process.env.TRADE_URL ?? `ws://localhost:${healthPorts.gateway}`,
  /** The user the CLI trades as. */
  tradeUser: process.env.TRADE_USER ?? 'user1',
};

// ── AWS SDK defaults for local runs ────────────────────────────────────────────────────────────

/** Hides the SDK's notice that Node 20 support ends in 2027, which every process would print. */
export function quietAwsSdkNodeNotice(): void {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
}

/** The region and credentials of processes that talk to moto: the environment's, else moto's dummies. */
export const localAwsEnv = (): Record<string, string> => ({
  AWS_REGION: env.awsRegion,
  AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'test',
  AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'test',
});

/**
 * Points this process's AWS SDK at `endpointUrl` unless AWS_ENDPOINT_URL is set, with moto's dummy
 * credentials unless some are set (the SDK reads these variables itself). Returns the endpoint used.
 */
export function useLocalAws(endpointUrl: string): string {
  process.env.AWS_ENDPOINT_URL ||= endpointUrl;
  process.env.AWS_ACCESS_KEY_ID ??= 'test';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
  process.env.AWS_REGION ??= env.awsRegion;
  quietAwsSdkNodeNotice();
  return process.env.AWS_ENDPOINT_URL;
}

/** Whether AWS credentials are in the environment (read per call). */
export const hasAwsAccessKey = (): boolean => Boolean(process.env.AWS_ACCESS_KEY_ID);

// ── Secrets (config/secrets.ts fetches them) ─────────────────────────────────────────────────────

/** The ARN in `<name>_ARN`, read per call (tests set it), or undefined. */
export const secretArn = (name: string): string | undefined =>
  process.env[`${name}_ARN`] || undefined;

/** TEMPORAL_API_KEY, when Temporal is reached with an API key. */
export const temporalApiKey = (): string | undefined => process.env.TEMPORAL_API_KEY || undefined;

// ── WebSocket gateway ──────────────────────────────────────────────────────────────────────────

/** The API Gateway management API (`@connections`) that pushStatus posts execution reports to. */
export const gatewayManagementUrl = (): string =>
  process.env.GATEWAY_MANAGEMENT_URL || `http://localhost:${env.gatewayPort}`;

/**
 * How long a gateway method waits for Temporal: GATEWAY_TEMPORAL_TIMEOUT_MS, read per call so tests
 * can shorten it, or `fallback` when unset or not a positive integer.
 */
export function gatewayTemporalTimeoutMs(fallback: number): number {
  const raw = Number(process.env.GATEWAY_TEMPORAL_TIMEOUT_MS);
  return Number.isInteger(raw) && raw > 0 ? raw : fallback;
}

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
