// Long-polls the orders queue and applies each command through the market's book. A message is
// deleted only after the script call that applied it; redelivery is harmless because the book
// applies a command id once. Within a market (SQS message group) commands apply strictly in order.
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../config/logger';
import {
  matcherCommandSchema,
  workflowIdFor,
  type MatcherCommand,
  type MatcherEvent,
} from '../domain/order';

export interface CommandBook {
  apply(command: MatcherCommand): Promise<MatcherEvent[]>;
}

export interface CommandConsumerOptions {
  sqs: SQSClient;
  queueUrl: string;
  /** Where a message that can never apply goes (malformed, unknown market). */
  deadLetterQueueUrl?: string;
  books: ReadonlyMap<string, CommandBook>;
  waitSeconds: number;
  log: Logger;
  onApplied?: (command: MatcherCommand, events: MatcherEvent[], ms: number) => void;
}

export class CommandConsumer {
  private stopped = false;
  private readonly abort = new AbortController();
  private done: Promise<void> | undefined;

  constructor(private readonly o: CommandConsumerOptions) {}

  start(): void {
    this.done = this.run();
  }

  /** Stops polling; the batch in hand is finished first. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await this.done;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let messages: Message[];
      try {
        const out = await this.o.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: this.o.queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: this.o.waitSeconds,
            MessageSystemAttributeNames: ['MessageGroupId', 'ApproximateReceiveCount'],
          }),
          { abortSignal: this.abort.signal },
        );
        messages = out.Messages ?? [];
      } catch (err) {
        if (this.stopped) break;
        this.o.log.error({ err }, 'receive from the orders queue failed; retrying');
        await sleep(1000);
        continue;
      }
      await this.handleBatch(messages);
    }
  }

  private async handleBatch(messages: Message[]): Promise<void> {
    const done: Message[] = [];
    const blockedGroups = new Set<string>();
    const retry: Message[] = [];
    for (const message of messages) {
      const group = message.Attributes?.MessageGroupId ?? '';
      if (blockedGroups.has(group)) {
        retry.push(message);
        continue;
      }
      try {
        await this.handle(message);
        done.push(message);
      } catch (err) {
        // Later commands of this market must not overtake this one: all go back, in order.
        this.o.log.error(
          { err, group, messageId: message.MessageId },
          'command not applied; will retry',
        );
        blockedGroups.add(group);
        retry.push(message);
      }
    }
    if (done.length > 0) {
      await this.o.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.o.queueUrl,
          Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
    }
    if (retry.length > 0) {
      await sleep(500);
      await this.o.sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.o.queueUrl,
          Entries: retry.map((m, i) => ({
            Id: String(i),
            ReceiptHandle: m.ReceiptHandle,
            VisibilityTimeout: 0,
          })),
        }),
      );
    }
  }

  private async handle(message: Message): Promise<void> {
    let command: MatcherCommand;
    try {
      command = matcherCommandSchema.parse(JSON.parse(message.Body ?? ''));
    } catch (err) {
      await this.deadLetter(message, `malformed command: ${String(err)}`);
      return;
    }
    const log = this.o.log.child({
      workflowId: workflowIdFor(command.userID, command.orderId),
      commandId: command.commandId,
    });
    const book = this.o.books.get(command.coinID);
    if (!book) {
      await this.deadLetter(message, `unknown market ${command.coinID}`);
      return;
    }
    const started = performance.now();
    const events = await book.apply(command);
    const ms = performance.now() - started;
    log.info(
      { cmd: command.cmd, events: events.map((e) => e.event), ms: Number(ms.toFixed(2)) },
      'command applied',
    );
    this.o.onApplied?.(command, events, ms);
  }

  private async deadLetter(message: Message, reason: string): Promise<void> {
    this.o.log.error(
      { messageId: message.MessageId, body: message.Body, reason },
      'command can never apply; dead-lettered',
    );
    if (!this.o.deadLetterQueueUrl) return;
    await this.o.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.o.deadLetterQueueUrl,
        MessageBody: message.Body ?? '',
        MessageGroupId: message.Attributes?.MessageGroupId ?? 'invalid',
        MessageDeduplicationId: message.MessageId,
        MessageAttributes: { reason: { DataType: 'String', StringValue: reason.slice(0, 256) } },
      }),
    );
  }
}
