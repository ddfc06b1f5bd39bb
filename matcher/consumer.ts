// Long-polls the orders queue and applies each command through the market's book. A message is
// deleted only after the script call that applied it; redelivery is harmless because the book
// applies a command id once. Within a market (SQS message group) commands apply strictly in order:
// a receive's commands of one market go to the book together (applyBatch: one script call for up
// to 10, more only when a long sweep needs them), markets side by side. When a call fails, that
// message and every later one of its market go back, in order; earlier ones are deleted.
import { SendMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../platform/log';
import { SqsConsumer, setVisibility } from '../platform/sqsConsumer';
import {
  matcherCommandSchema,
  workflowIdFor,
  type MatcherCommand,
  type MatcherEvent,
} from '../domain/order';
import { BatchApplyError } from './book';

/** A command on its way to its book, with the message that carried it. */
interface Pending {
  message: Message;
  command: MatcherCommand;
  book: CommandBook;
}

export interface CommandBook {
  /** Applies the commands in order; on failure a BatchApplyError names those applied before. */
  applyBatch(commands: readonly MatcherCommand[]): Promise<MatcherEvent[][]>;
}

export interface CommandConsumerOptions {
  sqs: SQSClient;
  queueUrl: string;
  /** Where a message that can never apply goes (malformed, unknown market). */
  deadLetterQueueUrl?: string;
  books: ReadonlyMap<string, CommandBook>;
  waitSeconds: number;
  /** Seconds a received command stays invisible while being applied (renewed). */
  leaseSeconds?: number;
  log: Logger;
  /** Per command; `ms` is its share of the script calls that applied its batch. */
  onApplied?: (command: MatcherCommand, events: MatcherEvent[], ms: number) => void;
  /** Per applied command: when its message entered the queue (ms since the epoch). */
  onQueued?: (sentAt: number) => void;
}

export class CommandConsumer {
  private readonly queue: SqsConsumer;

  constructor(private readonly options: CommandConsumerOptions) {
    this.queue = new SqsConsumer({
      ...options,
      attributeNames: ['MessageGroupId', 'ApproximateReceiveCount', 'SentTimestamp'],
      handleBatch: (messages) => this.handleBatch(messages),
    });
  }

  start(): void {
    this.queue.start();
  }

  /** Stops polling; the batch in hand is finished first. */
  stop(): Promise<void> {
    return this.queue.stop();
  }

  /** Returns the messages to delete (applied or dead-lettered); those to retry are made visible. */
  private async handleBatch(messages: Message[]): Promise<Message[]> {
    const groups = new Map<string, Message[]>();
    for (const message of messages) {
      const group = message.Attributes?.MessageGroupId ?? '';
      const list = groups.get(group);
      if (list) list.push(message);
      else groups.set(group, [message]);
    }
    const outcomes = await Promise.all(
      [...groups].map(([group, list]) => this.handleGroup(group, list)),
    );
    const retry = outcomes.flatMap((outcome) => outcome.retry);
    if (retry.length > 0) {
      await sleep(500);
      // If this fails too, they come back when their lease ends; the applied ones are deleted.
      await setVisibility(this.options.sqs, this.options.queueUrl, retry, 0).catch((err: unknown) =>
        this.options.log.warn({ err }, 'could not give back the commands to retry'),
      );
    }
    return outcomes.flatMap((outcome) => outcome.done);
  }

  /**
   * One market's messages, in order. `done` (applied or dead-lettered) is always a prefix of them;
   * after a failure the rest go back, so no later command of the market overtakes a failed one.
   */
  private async handleGroup(
    group: string,
    messages: Message[],
  ): Promise<{ done: Message[]; retry: Message[] }> {
    const done: Message[] = [];
    let run: Pending[] = [];
    const flush = async (): Promise<void> => {
      const batch = run;
      run = [];
      if (batch.length === 0) return;
      const started = performance.now();
      let results: MatcherEvent[][];
      try {
        results = await batch[0]!.book.applyBatch(batch.map((p) => p.command));
      } catch (err) {
        const applied = err instanceof BatchApplyError ? err.applied : [];
        this.applied(batch.slice(0, applied.length), applied, performance.now() - started);
        done.push(...batch.slice(0, applied.length).map((p) => p.message));
        throw err instanceof BatchApplyError ? err.cause : err;
      }
      this.applied(batch, results, performance.now() - started);
      done.push(...batch.map((p) => p.message));
    };
    try {
      for (const message of messages) {
        const next = this.parse(message);
        if (typeof next === 'string') {
          await flush();
          await this.deadLetter(message, next);
          done.push(message);
          continue;
        }
        if (run.length > 0 && run[0]!.book !== next.book) await flush();
        run.push(next);
      }
      await flush();
    } catch (err) {
      // Later commands of this market must not overtake this one: all go back, in order.
      this.options.log.error(
        { err, group, messageId: messages[done.length]?.MessageId },
        'command not applied; will retry',
      );
    }
    return { done, retry: messages.slice(done.length) };
  }

  /** The command of a message and its book, or why it can never apply. */
  private parse(message: Message): Pending | string {
    let command: MatcherCommand;
    try {
      command = matcherCommandSchema.parse(JSON.parse(message.Body ?? ''));
    } catch (err) {
      return `malformed command: ${String(err)}`;
    }
    const book = this.options.books.get(command.market);
    if (!book) return `unknown market ${command.market}`;
    return { message, command, book };
  }

  private applied(batch: Pending[], results: MatcherEvent[][], ms: number): void {
    const share = ms / Math.max(1, batch.length);
    batch.forEach(({ command, message }, i) => {
      const events = results[i]!;
      const sentAt = Number(message.Attributes?.SentTimestamp);
      if (sentAt > 0) this.options.onQueued?.(sentAt);
      this.options.log.info(
        {
          workflowId: workflowIdFor(command.userID, command.orderId),
          commandId: command.commandId,
          cmd: command.cmd,
          events: events.map((e) => e.event),
          ms: Number(share.toFixed(2)),
          batch: batch.length,
        },
        'command applied',
      );
      this.options.onApplied?.(command, events, share);
    });
  }

  private async deadLetter(message: Message, reason: string): Promise<void> {
    this.options.log.error(
      { messageId: message.MessageId, body: message.Body, reason },
      'command can never apply; dead-lettered',
    );
    if (!this.options.deadLetterQueueUrl) return;
    await this.options.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.options.deadLetterQueueUrl,
        MessageBody: message.Body ?? '',
        MessageGroupId: message.Attributes?.MessageGroupId ?? 'invalid',
        MessageDeduplicationId: message.MessageId,
        MessageAttributes: { reason: { DataType: 'String', StringValue: reason.slice(0, 256) } },
      }),
    );
  }
}
