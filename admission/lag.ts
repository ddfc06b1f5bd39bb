// How far behind the order path runs, as its stages see it, shared through Redis so that every
// gateway instance (a Lambda each, in production) reads the same figure: the gateway reports how
// long its admitted orders took to become durable (the workflow start and the send), the matcher
// how old the commands it applies are (since the gateway issued them), the relay how old the
// events it delivers are (since the matcher made them). A stage that stops reporting counts as not
// lagging after a few seconds: its queue keeps the work, and admission must not stay shut on stale
// news.
import type { Redis } from 'ioredis';

export const lagStages = ['gateway', 'matcher', 'relay'] as const;
export type LagStage = (typeof lagStages)[number];

// One hash tag: every stage's key in one slot of a Redis Cluster, read in one MGET.
const lagKey = (stage: LagStage): string => `{orderpath}:lag:${stage}`;
/** A report is believed this long. */
export const lagTtlMs = 3000;
/** A stage writes at most this often. */
const reportEveryMs = 250;

/** The Redis calls a lag report needs (ioredis's Redis and Cluster both have them). */
export type LagRedis = Pick<Redis, 'set' | 'mget'>;

/**
 * Collects a stage's lag samples and writes the largest of each short interval, so a busy stage
 * costs Redis a few writes a second, not one per message.
 */
export class LagReporter {
  private worst = 0;
  private lastWrite = 0;

  constructor(
    private readonly redis: () => Promise<LagRedis>,
    private readonly stage: LagStage,
    private readonly now: () => number = Date.now,
  ) {}

  /** `since` is when the work was issued; the sample is how long ago that was. */
  sample(since: number): void {
    const now = this.now();
    this.worst = Math.max(this.worst, now - since);
    if (now - this.lastWrite < reportEveryMs) return;
    const lag = this.worst;
    this.worst = 0;
    this.lastWrite = now;
    void this.redis()
      .then((redis) => redis.set(lagKey(this.stage), String(Math.max(0, lag)), 'PX', lagTtlMs))
      .catch(() => undefined); // a lost report only delays admission's news
  }
}

/** The largest lag any stage reported lately, in ms (0 if none did). */
export async function readLag(redis: LagRedis): Promise<number> {
  const values = await redis.mget(...lagStages.map(lagKey));
  return Math.max(0, ...values.map((v) => Number(v ?? 0) || 0));
}
