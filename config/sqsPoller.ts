// A long-poll loop over one SQS queue: receive up to 10 messages, hand them over, repeat. stop()
// aborts a waiting receive at once and lets the batch in hand finish. Used by the matcher
// (orders queue) and the relay (order-events queue).
// With a lease, received messages stay invisible for leaseSeconds only, renewed every third of it
// while the handler works: a consumer that dies gives its messages back within the lease instead
// of the queue's visibility timeout — and a FIFO group waits for exactly those messages.
import {
  ChangeMessageVisibilityBatchCommand,
  ReceiveMessageCommand,
  type Message,
  type MessageSystemAttributeName,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from './logger';

export interface SqsPollerOptions {
  sqs: SQSClient;
  queueUrl: string;
  waitSeconds: number;
  log: Logger;
  attributeNames?: MessageSystemAttributeName[];
  /** Seconds a received message stays invisible while being handled (renewed); default: the queue's. */
  leaseSeconds?: number;
  /** Handles one receive's messages; deleting them is its job. */
  onMessages(messages: Message[]): Promise<void>;
}

/** Makes received messages visible again in `seconds` (0: at once), one batch call (≤ 10). */
export async function setVisibility(
  sqs: SQSClient,
  queueUrl: string,
  messages: readonly Message[],
  seconds: number,
): Promise<void> {
  await sqs.send(
    new ChangeMessageVisibilityBatchCommand({
      QueueUrl: queueUrl,
      Entries: messages.map((m, i) => ({
        Id: String(i),
        ReceiptHandle: m.ReceiptHandle,
        VisibilityTimeout: seconds,
      })),
    }),
  );
}

export class SqsPoller {
  private stopped = false;
  private readonly abort = new AbortController();
  private done: Promise<void> | undefined;

  constructor(private readonly options: SqsPollerOptions) {}

  start(): void {
    this.done = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await this.done;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let messages: Message[];
      try {
        const out = await this.options.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: this.options.queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: this.options.waitSeconds,
            ...(this.options.leaseSeconds && { VisibilityTimeout: this.options.leaseSeconds }),
            ...(this.options.attributeNames && {
              MessageSystemAttributeNames: this.options.attributeNames,
            }),
          }),
          { abortSignal: this.abort.signal },
        );
        messages = out.Messages ?? [];
      } catch (err) {
        if (this.stopped) break;
        this.options.log.error(
          { err, queueUrl: this.options.queueUrl },
          'receive failed; retrying',
        );
        await sleep(1000);
        continue;
      }
      if (messages.length > 0) await this.handle(messages);
    }
  }

  private async handle(messages: Message[]): Promise<void> {
    const lease = this.options.leaseSeconds;
    if (!lease) return this.options.onMessages(messages);
    const renewal = setInterval(() => void this.renew(messages, lease), (lease * 1000) / 3);
    try {
      await this.options.onMessages(messages);
    } finally {
      clearInterval(renewal);
    }
  }

  /** Keeps the messages invisible for another lease (those already deleted just fail). */
  private async renew(messages: Message[], lease: number): Promise<void> {
    try {
      await setVisibility(this.options.sqs, this.options.queueUrl, messages, lease);
    } catch (err) {
      this.options.log.warn({ err, queueUrl: this.options.queueUrl }, 'lease renewal failed');
    }
  }
}
