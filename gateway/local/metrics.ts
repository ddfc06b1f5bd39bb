// Prometheus metrics of the local twin, one registry per process (several twins in one test
// process share it).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'gateway_' });

export const metrics = {
  openConnections: new Gauge({
    name: 'gateway_open_connections',
    help: 'WebSocket connections currently open',
    registers: [registry],
  }),
  connects: new Counter({
    name: 'gateway_connects_total',
    help: 'Upgrade requests by answer (101 accepted, 401/403/500 refused)',
    labelNames: ['status'] as const,
    registers: [registry],
  }),
  messages: new Counter({
    name: 'gateway_messages_total',
    help: 'Request frames by method and answered status',
    labelNames: ['method', 'status'] as const,
    registers: [registry],
  }),
  handlerSeconds: new Histogram({
    name: 'gateway_handler_duration_seconds',
    help: 'Lambda handler latency by route and method',
    labelNames: ['route', 'method'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  }),
  management: new Counter({
    name: 'gateway_management_requests_total',
    help: '@connections API calls by operation and status',
    labelNames: ['operation', 'status'] as const,
    registers: [registry],
  }),
  closes: new Counter({
    name: 'gateway_disconnects_total',
    help: 'Closed connections by close code',
    labelNames: ['code'] as const,
    registers: [registry],
  }),
};
