// Drains a market's outbox stream (written by the matching scripts in the same call that changes
// the book) to the SNS FIFO topic, and acknowledges each entry only after SNS accepted it. A crash
// between publish and acknowledge re-publishes with the same deduplication id, so SNS drops it.
import { PublishBatchCommand, type SNSClient } from '@aws-sdk/client-sns';
import type Redis from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../config/logger';

export const publisherGroup = 'publisher';
const batchSize = 10; // SNS PublishBatch limit

export interface OutboxPublisherOptions {
  /** A connection of its own: XREADGROUP BLOCK holds it. */
  redis: Redis;
  sns: SNSClient;
  topicArn: string;
  coinID: string;
  streamKey: string;
  log: Logger;
  onPublished?: (count: number) => void;
}

type StreamEntries = Array<[string, Array<[string, string[]]>]> | null;

export class OutboxPublisher {
  private stopped = false;
  private done: Promise<void> | undefined;

  constructor(private readonly o: OutboxPublisherOptions) {}

  start(): void {
    this.done = this.run();
  }

  /** Stops after the batch in flight is published and acknowledged. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }

  private async ensureGroup(): Promise<void> {
    try {
      await this.o.redis.xgroup('CREATE', this.o.streamKey, publisherGroup, '0', 'MKSTREAM');
    } catch (err) {
      if (!String(err).includes('BUSYGROUP')) throw err;
    }
  }

  private async run(): Promise<void> {
    // Entries delivered to us before a crash but never acknowledged come first ('0'), then new ones.
    let cursor = '0';
    while (!this.stopped) {
      try {
        await this.ensureGroup();
        const read = (await this.o.redis.xreadgroup(
          'GROUP',
          publisherGroup,
          'publisher',
          'COUNT',
          batchSize,
          'BLOCK',
          1000,
          'STREAMS',
          this.o.streamKey,
          cursor,
        )) as StreamEntries;
        const entries = read?.[0]?.[1] ?? [];
        if (entries.length === 0) {
          cursor = '>';
          continue;
        }
        await this.publish(entries);
      } catch (err) {
        this.o.log.error({ err, coinID: this.o.coinID }, 'outbox publish failed; retrying');
        cursor = '0';
        await sleep(1000);
      }
    }
  }

  private async publish(entries: Array<[string, string[]]>): Promise<void> {
    const messages = entries.map(([id, fields]) => {
      const body = fields[fields.indexOf('event') + 1] ?? '';
      const { seq } = JSON.parse(body) as { seq: number };
      return { id, body, seq };
    });
    const out = await this.o.sns.send(
      new PublishBatchCommand({
        TopicArn: this.o.topicArn,
        PublishBatchRequestEntries: messages.map((m) => ({
          Id: String(m.seq),
          Message: m.body,
          MessageGroupId: this.o.coinID,
          MessageDeduplicationId: `${this.o.coinID}-${m.seq}`,
        })),
      }),
    );
    if (out.Failed?.length) {
      // Publish the whole batch again: order matters, and deduplication ids make repeats harmless.
      throw new Error(
        `SNS refused ${out.Failed.length} of ${messages.length}: ${out.Failed[0]?.Message ?? ''}`,
      );
    }
    const ids = messages.map((m) => m.id);
    await this.o.redis
      .multi()
      .xack(this.o.streamKey, publisherGroup, ...ids)
      .xdel(this.o.streamKey, ...ids)
      .exec();
    this.o.onPublished?.(messages.length);
  }
}
