// The order channels' names and attributes, pure data: the CDK stack (infra/messaging.ts) and the
// local twin (scripts/localAws.ts) both build their queues and topic from this one definition.

/** A work queue's dead-letter queue: `orders.fifo` → `orders-dlq.fifo`. */
export const dlqNameOf = (queueName: string): string => queueName.replace(/\.fifo$/, '-dlq.fifo');

export const channelNames = {
  ordersQueue: 'orders.fifo',
  ordersDlq: dlqNameOf('orders.fifo'),
  orderEventsTopic: 'order-events.fifo',
  relayQueue: 'order-events-relay.fifo',
  relayDlq: dlqNameOf('order-events-relay.fifo'),
} as const;

/** The orders queue (to the matcher) and the relay queue (order events to the workflows). */
export const workQueue = {
  fifo: true,
  /** Producers send explicit deduplication ids; content-based would merge distinct commands. */
  contentBasedDeduplication: false,
  /** Consumers set their own lease per receive (SQS_LEASE_SECONDS); this is the default. */
  visibilityTimeoutSeconds: 30,
  /** Receives before a message moves to the queue's dead-letter queue. */
  maxReceiveCount: 5,
} as const;

/** Each work queue's dead-letter queue: kept for the longest SQS allows, for an operator to read. */
export const deadLetterQueue = {
  fifo: true,
  retentionSeconds: 14 * 24 * 60 * 60,
} as const;

/** The order-events topic the matcher's outbox publishes to, and its subscription (the relay queue). */
export const orderEventsTopic = {
  fifo: true,
  /** The publisher sends each event's market and outbox position as its deduplication id. */
  contentBasedDeduplication: false,
  /** The relay queue receives each event as published, not wrapped in an SNS envelope. */
  rawMessageDelivery: true,
} as const;
