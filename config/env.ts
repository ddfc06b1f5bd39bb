// Endpoints and names from the environment, with the local defaults of `npm start`.
// The same code runs against moto, LocalStack, real AWS or Temporal Cloud.

function int(name: string, fallback: number): number {
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
  ordersQueueName: process.env.ORDERS_QUEUE_NAME ?? 'orders.fifo',
  orderEventsTopicName: process.env.ORDER_EVENTS_TOPIC_NAME ?? 'order-events.fifo',
  relayQueueName: process.env.RELAY_QUEUE_NAME ?? 'order-events-relay.fifo',
  gatewayPort: int('GATEWAY_PORT', 8080),
};

export const localDefaults = {
  temporalPort: 7233,
  temporalUiPort: 8233,
  redisPort: 6379,
  motoPort: 4566,
  gatewayPort: 8080,
} as const;
