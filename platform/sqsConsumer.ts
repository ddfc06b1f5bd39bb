// A long-poll consumer of one SQS queue, on the sqs-consumer library: receives up to 10 messages,
// hands them to the handler and deletes those it returns. Used by the matcher (orders queue) and
// the relay (order-events queue).
// With a lease, received messages stay invisible for leaseSeconds only, renewed every third of it
// (the library's heartbeat) while the handler works: a consumer that dies gives its messages back
// within the lease instead of the queue's visibility timeout — and a FIFO group waits for exactly
// those messages.
// What this adds to the library: stop() aborts a waiting receive but not the batch in hand (an
// aborted stop would also abort that batch's deletes and renewals), and resolves once that batch
// is deleted; a failed receive is retried after a second (the library retries most at once).
import {
  ChangeMessageVisibilityBatchCommand,
  type Message,
  type MessageSystemAttributeName,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Consumer } from 'sqs-consumer';
import type { Logger } from './log';

export interface SqsConsumerOptions {
  sqs: SQSClient;
  queueUrl: string;
  waitSeconds: number;
  log: Logger;
  attributeNames?: MessageSystemAttributeName[];
  /** Seconds a received message stays invisible while being handled (renewed); default: the queue's. */
  leaseSeconds?: number;
  /** Handles one receive's messages; returns those to delete. The rest come back after the lease. */
  handleBatch(messages: Message[]): Promise<Message[]>;
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

export class SqsConsumer {
  private readonly consumer: Consumer;
  private readonly stopping = new AbortController();
  private receiveFailed = false;
  /** Settles when the library has finished the batch in hand (handled and deleted). */
  private inHand: { done: Promise<void>; finish: () => void } | undefined;

  constructor(private readonly options: SqsConsumerOptions) {
    const { sqs, queueUrl, waitSeconds, leaseSeconds, attributeNames } = options;
    this.consumer = Consumer.create({
      sqs,
      queueUrl,
      batchSize: 10,
      waitTimeSeconds: waitSeconds,
      ...(attributeNames && { messageSystemAttributeNames: attributeNames }),
      ...(leaseSeconds && { visibilityTimeout: leaseSeconds, heartbeatInterval: leaseSeconds / 3 }),
      // The handlers keep the order within a message group themselves.
      suppressFifoWarning: true,
      strictReturn: true,
      authenticationErrorTimeout: 0,
      preReceiveMessageCallback: () => this.pauseAfterFailedReceive(),
      handleMessageBatch: (messages) => this.handle(messages),
    });
    this.consumer.on('error', (err, messages) => this.onError(err, messages));
    this.consumer.on('response_processed', () => this.inHand?.finish());
  }

  start(): void {
    this.consumer.start();
  }

  /** Stops polling: a waiting receive is aborted, the batch in hand is finished first. */
  async stop(): Promise<void> {
    this.stopping.abort();
    this.consumer.stop({ abort: this.inHand === undefined });
    await this.inHand?.done;
  }

  private async handle(messages: Message[]): Promise<Message[]> {
    if (this.stopping.signal.aborted) {
      // Received just as stop() aborted the receive, which would fail the deletes: give them back.
      await setVisibility(this.options.sqs, this.options.queueUrl, messages, 0);
      return [];
    }
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    this.inHand = {
      done,
      finish: () => {
        this.inHand = undefined;
        finish();
      },
    };
    return this.options.handleBatch(messages);
  }

  private async pauseAfterFailedReceive(): Promise<void> {
    if (!this.receiveFailed) return;
    this.receiveFailed = false;
    await sleep(1000, undefined, { signal: this.stopping.signal }).catch(() => undefined);
  }

  private onError(err: Error, messages: Message | Message[] | undefined): void {
    const { log, queueUrl } = this.options;
    if (messages === undefined) {
      if (this.stopping.signal.aborted) return; // the receive that stop() aborted
      this.receiveFailed = true;
      log.error({ err, queueUrl }, 'receive failed; retrying');
      return;
    }
    // A renewal or delete that failed, or a handler that threw: the messages come back after the lease.
    const messageIds = [messages].flat().map((m) => m.MessageId);
    log.warn({ err, queueUrl, messageIds }, 'lease renewal, delete or handler failed');
  }
}
