// The relay: matcher events from the SQS queue subscribed to the SNS topic become signals
// to each order's workflow, the maker's as well as the taker's. A message is deleted only after
// its signal was accepted; the workflow drops an event it has already applied (orderSeq).
import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { Counter } from 'prom-client';
import { queueUrl, sqsClient } from '../platform/aws';
import { env } from '../config/env';
import { startHealthServer } from '../platform/health';
import { orderLogger, serviceLogger, type Logger } from '../platform/log';
import { SqsConsumer } from '../platform/sqsConsumer';
import { temporalConnectionOptions } from '../config/secrets';
import { matcherEventSchema, orderKeyFor, workflowIdFor, type MatcherEvent } from '../domain/order';
import { matcherEventSignal } from '../workflows/messages';

export interface RelayOptions {
  sqs: SQSClient;
  queueUrl: string;
  client: Client;
  waitSeconds: number;
  /** Seconds a received event stays invisible while being relayed (renewed). */
  leaseSeconds?: number;
  log: Logger;
  onSignal?: (event: MatcherEvent, outcome: 'signaled' | 'no-workflow') => void;
}

export class EventRelay {
  private readonly queue: SqsConsumer;

  constructor(private readonly options: RelayOptions) {
    this.queue = new SqsConsumer({
      ...options,
      handleBatch: (messages) => this.relayBatch(messages),
    });
  }

  start(): void {
    this.queue.start();
  }

  stop(): Promise<void> {
    return this.queue.stop();
  }

  /** Signals per order in order, orders in parallel; returns what was delivered (to delete). */
  private async relayBatch(messages: Message[]): Promise<Message[]> {
    const byOrder = new Map<string, Message[]>();
    for (const m of messages) {
      const key = this.orderKeyOf(m);
      byOrder.set(key, [...(byOrder.get(key) ?? []), m]);
    }
    const delivered: Message[] = [];
    await Promise.all(
      [...byOrder.values()].map(async (group) => {
        for (const m of group) {
          try {
            await this.relay(m);
            delivered.push(m);
          } catch (err) {
            // Left in the queue: it comes back after the visibility timeout.
            this.options.log.error(
              { err, messageId: m.MessageId },
              'signal failed; the event will be redelivered',
            );
            return;
          }
        }
      }),
    );
    return delivered;
  }

  private orderKeyOf(m: Message): string {
    try {
      const { userID, orderId } = JSON.parse(m.Body ?? '') as { userID?: string; orderId?: string };
      return orderKeyFor(String(userID), String(orderId));
    } catch {
      return m.MessageId ?? '';
    }
  }

  private async relay(m: Message): Promise<void> {
    const parsed = matcherEventSchema.safeParse(safeJson(m.Body));
    if (!parsed.success) {
      this.options.log.error(
        { messageId: m.MessageId, body: m.Body, error: parsed.error.message },
        'malformed matcher event dropped',
      );
      return;
    }
    const event = parsed.data;
    const workflowId = workflowIdFor(event.userID, event.orderId);
    const log = orderLogger(this.options.log, workflowId);
    try {
      await this.options.client.workflow.getHandle(workflowId).signal(matcherEventSignal, event);
      log.debug({ event: event.event, seq: event.seq, orderSeq: event.orderSeq }, 'event signaled');
      this.options.onSignal?.(event, 'signaled');
    } catch (err) {
      // A finished order (a late CANCEL_REJECTED) or one not started by a workflow (replay tool).
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      log.warn(
        { event: event.event, seq: event.seq },
        'no running workflow for this event; dropped',
      );
      this.options.onSignal?.(event, 'no-workflow');
    }
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
  opts: { relayQueueUrl?: string; healthPort?: number } = {},
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
    log,
    onSignal: (event, outcome) => relayed.inc({ event: event.event, outcome }),
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
