// The relay: matcher events from the SQS queue subscribed to the SNS topic reach each order's
// workflow, the maker's as well as the taker's: one update per order carrying all its events of the
// received batch. The update answers with the execution reports those events owe; the relay pushes
// them to the user's connections. A message is deleted only after its update was answered and its
// reports pushed; the workflow drops an event it has already applied (orderSeq) and answers a
// repeated delivery with the same reports, so a crash in between delivers reports again, in order.
import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { createPushStatus, type PushStatus } from '../activities/pushStatus';
import { LagReporter } from '../admission/lag';
import { registryRedis } from '../connections/registry';
import { Counter } from 'prom-client';
import { z } from 'zod';
import { queueUrl, sqsClient } from '../platform/aws';
import { env } from '../config/env';
import { startHealthServer } from '../platform/health';
import { orderLogger, serviceLogger, type Logger } from '../platform/log';
import { SqsConsumer } from '../platform/sqsConsumer';
import { temporalConnectionOptions } from '../config/secrets';
import { matcherEventSchema, orderKeyFor, workflowIdFor, type MatcherEvent } from '../domain/order';
import { matcherEventsUpdate } from '../workflows/messages';

export interface RelayOptions {
  sqs: SQSClient;
  queueUrl: string;
  client: Client;
  waitSeconds: number;
  /**
   * Receive loops working at once (default 1). Each waits for its whole batch (the slowest
   * update of it) before it receives again, so several keep the relay busy while one waits.
   */
  receivers?: number;
  /** Seconds a received event stays invisible while being relayed (renewed). */
  leaseSeconds?: number;
  log: Logger;
  /** Pushes an execution report to the user's connections. */
  push: PushStatus;
  onDelivered?: (event: MatcherEvent, outcome: 'delivered' | 'no-workflow') => void;
  /** How far behind the relay runs: each delivered event's age, for admission control. */
  lag?: LagReporter;
}

/** A relay message: the events of one order from one script call, at least one, all that order's. */
const orderEventsSchema = z
  .tuple([matcherEventSchema], matcherEventSchema)
  .refine(
    (events) =>
      events.every((e) => e.userID === events[0].userID && e.orderId === events[0].orderId),
    {
      message: 'events of more than one order in one message',
    },
  );

export class EventRelay {
  private readonly queues: SqsConsumer[];

  constructor(private readonly options: RelayOptions) {
    // An order's events share a message group, which FIFO hands to one receiver at a time.
    this.queues = Array.from(
      { length: options.receivers ?? 1 },
      () =>
        new SqsConsumer({
          ...options,
          handleBatch: (messages) => this.relayBatch(messages),
        }),
    );
  }

  start(): void {
    for (const queue of this.queues) queue.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.queues.map((queue) => queue.stop()));
  }

  /** One update per order, orders in parallel; returns what was delivered (to delete). */
  private async relayBatch(messages: Message[]): Promise<Message[]> {
    const byOrder = new Map<string, { events: MatcherEvent[]; messages: Message[] }>();
    const delivered: Message[] = [];
    for (const m of messages) {
      // One message: one order's events of one matcher call, in order.
      const parsed = orderEventsSchema.safeParse(safeJson(m.Body));
      if (!parsed.success) {
        this.options.log.error(
          { messageId: m.MessageId, body: m.Body, error: parsed.error.message },
          'malformed matcher events dropped',
        );
        delivered.push(m);
        continue;
      }
      const [first] = parsed.data;
      const key = orderKeyFor(first.userID, first.orderId);
      const group = byOrder.get(key) ?? { events: [], messages: [] };
      group.events.push(...parsed.data);
      group.messages.push(m);
      byOrder.set(key, group);
    }
    await Promise.all(
      [...byOrder.values()].map(async (group) => {
        try {
          await this.deliver(group.events);
          delivered.push(...group.messages);
        } catch (err) {
          // Left in the queue: they come back after the visibility timeout.
          this.options.log.error(
            { err, messageIds: group.messages.map((m) => m.MessageId) },
            'delivery failed; the events will be redelivered',
          );
        }
      }),
    );
    return delivered;
  }

  /** One order's events, oldest first: one update, then its reports pushed in order. */
  private async deliver(events: MatcherEvent[]): Promise<void> {
    const { userID, orderId } = events[0] as MatcherEvent;
    const workflowId = workflowIdFor(userID, orderId);
    const log = orderLogger(this.options.log, workflowId);
    let reports;
    try {
      reports = await this.options.client.workflow
        .getHandle(workflowId)
        .executeUpdate(matcherEventsUpdate, { args: [events] });
    } catch (err) {
      // A finished order (a late CANCEL_REJECTED) or one not started by a workflow (replay tool).
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      log.warn(
        { events: events.map((e) => `${e.event}#${e.seq}`) },
        'no running workflow for these events; dropped',
      );
      for (const event of events) this.options.onDelivered?.(event, 'no-workflow');
      return;
    }
    for (const report of reports) await this.options.push(report);
    for (const event of events) this.options.lag?.sample(event.time);
    log.debug(
      { events: events.map((e) => `${e.event}#${e.seq}`), reports: reports.length },
      'events delivered',
    );
    for (const event of events) this.options.onDelivered?.(event, 'delivered');
  }
}

function safeJson(text: string | undefined): unknown {
  try {
    return JSON.parse(text ?? '');
  } catch {
    return undefined;
  }
}

export async function startRelay(
  opts: { relayQueueUrl?: string; healthPort?: number; push?: PushStatus } = {},
): Promise<{ stop(): Promise<void> }> {
  const log = serviceLogger('relay');
  const sqs = sqsClient();
  const url = await queueUrl(sqs, opts.relayQueueUrl ?? env.relayQueueUrl, env.relayQueueName);
  const connection = await Connection.connect(await temporalConnectionOptions());
  const client = new Client({ connection, namespace: env.temporalNamespace });
  let healthy = false;
  const health = await startHealthServer(opts.healthPort ?? env.healthPorts.relay, () => healthy);
  const relayed = new Counter({
    name: 'relay_events_total',
    help: 'Matcher events relayed, by event and outcome',
    labelNames: ['event', 'outcome'],
    registers: [health.registry],
  });
  const relay = new EventRelay({
    sqs,
    queueUrl: url,
    client,
    waitSeconds: env.sqsWaitSeconds,
    leaseSeconds: env.sqsLeaseSeconds,
    receivers: env.relayReceivers,
    log,
    push: opts.push ?? createPushStatus({ log }),
    lag: new LagReporter(registryRedis, 'relay'),
    onDelivered: (event, outcome) => relayed.inc({ event: event.event, outcome }),
  });
  relay.start();
  healthy = true;
  log.info({ queueUrl: url }, 'relay running');
  return {
    async stop() {
      healthy = false;
      await relay.stop();
      await connection.close();
      await health.close();
      log.info('relay stopped');
    },
  };
}
