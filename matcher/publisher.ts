// Drains a market's outbox stream (written by the matching scripts in the same call that changes
// the book) to the SNS FIFO topic, in order, and acknowledges each entry only after SNS accepted
// all its events, one message per order of the entry (a JSON array of that order's events, in
// order; message group = the order). An entry stands for the events of one script call:
// it names their seq range and the commands whose applied entries hold them (the events are
// stored once, there), so it may need several PublishBatch calls (10 messages each).
// A crash between publish and acknowledge re-publishes with the same deduplication id, so SNS
// drops it. Every matcher replica runs a publisher per market, but only the one holding the
// market's lock (`<stream>:publisher`, renewed as it goes) publishes, so SNS gets one market's
// events from one process, in order; when the holder dies, another takes the lock within lockMs
// and first re-publishes what the old one had read but not acknowledged.
import { PublishBatchCommand, type SNSClient } from '@aws-sdk/client-sns';
import type Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../platform/log';
import { orderKeyFor, type MatcherEvent } from '../domain/order';
import { decodeEvents } from './codec';

export const publisherGroup = 'publisher';
const batchSize = 10; // SNS PublishBatch limit
const readCount = 10; // outbox entries per read

export interface OutboxPublisherOptions {
  /** A connection of its own: XREADGROUP BLOCK holds it. */
  redis: Redis;
  sns: SNSClient;
  topicArn: string;
  market: string;
  streamKey: string;
  /** The book's applied hash, where the events of an outbox entry are stored. */
  appliedKey: string;
  log: Logger;
  onPublished?: (count: number) => void;
  /** How long the market's publisher lock lasts unless renewed (default 5 s): after a crash, publishing resumes elsewhere within it. */
  lockMs?: number;
}

/** Renews the lock when this owner holds it: 1, else 0. */
const renewLock = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;
/** Releases the lock when this owner holds it. */
const releaseLock = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1]) end return 0`;

type StreamEntries = Array<[string, Array<[string, string[]]>]> | null;

export class OutboxPublisher {
  private stopped = false;
  private done: Promise<void> | undefined;
  /** This process's name in the lock. */
  readonly owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  readonly lockKey: string;
  private readonly lockMs: number;
  private holding = false;

  constructor(private readonly options: OutboxPublisherOptions) {
    this.lockKey = `${options.streamKey}:publisher`;
    this.lockMs = options.lockMs ?? 5_000;
  }

  /** Whether this publisher holds its market's lock (publishes) right now. */
  get active(): boolean {
    return this.holding;
  }

  start(): void {
    this.done = this.run();
  }

  /** Stops after the batch in flight is published and acknowledged, and hands the lock back. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
    if (this.holding) {
      this.holding = false;
      await this.options.redis
        .eval(releaseLock, 1, this.lockKey, this.owner)
        .catch(() => undefined);
    }
  }

  /** Takes or renews the market's lock; false while another publisher holds it. */
  private async hold(): Promise<boolean> {
    const { redis } = this.options;
    if (this.holding) {
      this.holding =
        (await redis.eval(renewLock, 1, this.lockKey, this.owner, String(this.lockMs))) === 1;
      if (!this.holding)
        this.options.log.warn({ market: this.options.market }, 'outbox publisher lock lost');
      return this.holding;
    }
    this.holding = (await redis.set(this.lockKey, this.owner, 'PX', this.lockMs, 'NX')) === 'OK';
    if (this.holding)
      this.options.log.info(
        { market: this.options.market, owner: this.owner },
        'outbox publisher active',
      );
    return this.holding;
  }

  private async ensureGroup(): Promise<void> {
    try {
      await this.options.redis.xgroup(
        'CREATE',
        this.options.streamKey,
        publisherGroup,
        '0',
        'MKSTREAM',
      );
    } catch (err) {
      if (!String(err).includes('BUSYGROUP')) throw err;
    }
  }

  private async run(): Promise<void> {
    // Entries delivered to us before a crash but never acknowledged come first ('0'), then new ones.
    let cursor = '0';
    // Created once, and again after any failure (a deleted stream takes its group with it).
    let groupReady = false;
    while (!this.stopped) {
      try {
        if (!(await this.hold())) {
          // Standing by; whoever takes over starts with the entries read but not acknowledged.
          cursor = '0';
          await sleep(Math.min(1000, this.lockMs / 4));
          continue;
        }
        if (!groupReady) {
          await this.ensureGroup();
          groupReady = true;
        }
        const read = (await this.options.redis.xreadgroup(
          'GROUP',
          publisherGroup,
          'publisher',
          'COUNT',
          readCount,
          'BLOCK',
          1000,
          'STREAMS',
          this.options.streamKey,
          cursor,
        )) as StreamEntries;
        const entries = read?.[0]?.[1] ?? [];
        if (entries.length === 0) {
          cursor = '>';
          continue;
        }
        await this.publish(entries);
      } catch (err) {
        this.options.log.error(
          { err, market: this.options.market },
          'outbox publish failed; retrying',
        );
        cursor = '0';
        groupReady = false;
        await sleep(1000);
      }
    }
  }

  private async publish(entries: Array<[string, string[]]>): Promise<void> {
    const messages: Array<{ body: string; seq: number; order: string }> = [];
    // Per entry, how many messages are published once its last event is.
    const ends: Array<{ id: string; end: number }> = [];
    const bodies = await outboxEventBodies(
      this.options.redis,
      this.options.appliedKey,
      this.options.market,
      entries,
    );
    entries.forEach(([id], i) => {
      // One message per order of the script call, its events in order: the relay delivers them
      // to the order's workflow in one update. Deduplicated by the first event's seq.
      const byOrder = new Map<string, { seq: number; bodies: string[] }>();
      for (const body of bodies[i]!) {
        const { seq, userID, orderId } = JSON.parse(body) as MatcherEvent;
        const key = orderKeyFor(userID, orderId);
        const group = byOrder.get(key) ?? { seq, bodies: [] };
        group.bodies.push(body);
        byOrder.set(key, group);
      }
      for (const [order, group] of byOrder) {
        messages.push({ body: `[${group.bodies.join(',')}]`, seq: group.seq, order });
      }
      ends.push({ id, end: messages.length });
    });
    let published = 0;
    let acked = 0;
    while (acked < ends.length) {
      const chunk = messages.slice(published, published + batchSize);
      if (chunk.length > 0) {
        const out = await this.options.sns.send(
          new PublishBatchCommand({
            TopicArn: this.options.topicArn,
            PublishBatchRequestEntries: chunk.map((m) => ({
              Id: String(m.seq),
              Message: m.body,
              // Per order: what must stay in order is one order's events, and FIFO holds a group
              // back while any of its messages is in flight, so a market-wide group would let the
              // relay work on one batch of a market at a time.
              MessageGroupId: m.order,
              MessageDeduplicationId: `${this.options.market}-${m.seq}`,
            })),
          }),
        );
        if (out.Failed?.length) {
          // Publish from here again: order matters, and deduplication ids make repeats harmless.
          throw new Error(
            `SNS refused ${out.Failed.length} of ${chunk.length}: ${out.Failed[0]?.Message ?? ''}`,
          );
        }
        published += chunk.length;
        this.options.onPublished?.(chunk.length);
      }
      // Acknowledge the entries whose events are all out.
      let done = acked;
      while (done < ends.length && ends[done]!.end <= published) done++;
      if (done > acked) {
        const ids = ends.slice(acked, done).map((e) => e.id);
        await this.options.redis
          .multi()
          .xack(this.options.streamKey, publisherGroup, ...ids)
          .xdel(this.options.streamKey, ...ids)
          .exec();
        acked = done;
      }
    }
  }
}

/** The value of field `name` of a stream entry's flat field list, if any. */
function field(fields: string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/**
 * The events of outbox entries as JSON texts, per entry, in order. An entry's fields `seq`
 * ('<first>-<last>') and `cmds` (JSON array of command ids) stand for the events first…last,
 * stored in those commands' applied entries (finished or in progress, which only grows): one
 * HMGET for all the entries.
 */
export async function outboxEventBodies(
  redis: Redis,
  appliedKey: string,
  market: string,
  entries: ReadonlyArray<readonly [string, string[]]>,
): Promise<string[][]> {
  const refs = entries.map(([id, fields]) => {
    const seq = field(fields, 'seq');
    const cmds = field(fields, 'cmds');
    if (seq === undefined || cmds === undefined)
      throw new Error(
        `outbox entry ${id} without seq and cmds: ${JSON.stringify(fields).slice(0, 200)}`,
      );
    const [first, last] = seq.split('-').map(Number) as [number, number];
    return { first, last, ids: JSON.parse(cmds) as string[] };
  });
  const ids = [...new Set(refs.flatMap((r) => r.ids))];
  const stored = new Map<string, MatcherEvent[]>();
  if (ids.length > 0) {
    const values = await redis.hmget(appliedKey, ...ids);
    ids.forEach((id, i) => {
      const value = values[i];
      if (value == null) throw new Error(`outbox: no applied entry for command ${id}`);
      stored.set(id, decodeEvents(value, id, market));
    });
  }
  return entries.map(([id], i) => {
    const ref = refs[i]!;
    const bodies: string[] = [];
    let next = ref.first;
    for (const cmd of ref.ids)
      for (const e of stored.get(cmd)!) {
        const seq = e.seq;
        if (seq === next && seq <= ref.last) {
          bodies.push(JSON.stringify(e));
          next++;
        }
      }
    if (next !== ref.last + 1)
      throw new Error(`outbox entry ${id}: events ${ref.first}-${ref.last} not all stored`);
    return bodies;
  });
}
