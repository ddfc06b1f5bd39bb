// The stack's processes, in the order `npm start` starts them: the servers it runs locally (managed
// services in production) and the project's own processes. npm start (scripts/stack.ts), the tests
// (test/support/stack.ts), the benches (bench/support/), config/env.ts (the ports) and
// infra/workloads.ts (the EKS Deployments) all read this one list. Data only: config/env.ts reads
// the variables.

/** A TCP port: the environment variable that sets it, and its default. */
export interface PortSetting {
  readonly variable: string;
  readonly fallback: number;
}

/** A server `npm start` runs itself: Temporal, Redis, moto. */
export interface ServerProcess {
  /** Colour of its log prefix on npm start's console (an ANSI code). */
  readonly colour: number;
  readonly ports: Readonly<Record<string, PortSetting>>;
}

/** One of the project's own Node processes. */
export interface ServiceProcess {
  /** The entry point, run as `node --import tsx <entry>`. */
  readonly entry: string;
  /** The port of /healthz and /metrics (the gateway's WebSocket API answers on it too). */
  readonly healthPort: PortSetting;
  readonly colour: number;
  /** How npm start names it in its list of endpoints. */
  readonly title: string;
}

export const servers = {
  temporal: {
    colour: 35,
    ports: {
      grpc: { variable: 'TEMPORAL_PORT', fallback: 7233 },
      ui: { variable: 'TEMPORAL_UI_PORT', fallback: 8233 },
      metrics: { variable: 'TEMPORAL_METRICS_PORT', fallback: 9233 },
    },
  },
  redis: { colour: 31, ports: { redis: { variable: 'REDIS_PORT', fallback: 6379 } } },
  moto: { colour: 33, ports: { sqsSns: { variable: 'MOTO_PORT', fallback: 4566 } } },
} as const satisfies Record<string, ServerProcess>;

export const services = {
  matcher: {
    entry: 'bin/matcher.ts',
    healthPort: { variable: 'MATCHER_HEALTH_PORT', fallback: 9101 },
    colour: 32,
    title: 'Matcher',
  },
  relay: {
    entry: 'bin/relay.ts',
    healthPort: { variable: 'RELAY_HEALTH_PORT', fallback: 9103 },
    colour: 94,
    title: 'Relay',
  },
  'order-worker': {
    entry: 'bin/orderWorker.ts',
    healthPort: { variable: 'ORDER_WORKER_HEALTH_PORT', fallback: 9102 },
    colour: 34,
    title: 'Order worker',
  },
  gateway: {
    entry: 'bin/gateway.ts',
    healthPort: { variable: 'GATEWAY_PORT', fallback: 8080 },
    colour: 36,
    title: 'Gateway',
  },
} as const satisfies Record<string, ServiceProcess>;

export type ServerName = keyof typeof servers;
export type ServiceName = keyof typeof services;
export type StackProcessName = ServerName | ServiceName;

export const serverNames = Object.keys(servers) as ServerName[];
export const serviceNames = Object.keys(services) as ServiceName[];
/** Every process of the stack: servers first, then the project's own, in start order. */
export const stackProcessNames: readonly StackProcessName[] = [...serverNames, ...serviceNames];
