// The matcher (an EKS pod, bin/matcher.ts): SQS orders queue → Lua book in Redis → outbox stream → SNS topic.
// SIGTERM finishes the batch in hand, publishes what is in the outbox, and exits.
import { LagReporter } from '../admission/lag';
import Redis from 'ioredis';
import { Counter, Histogram } from 'prom-client';
import { env } from '../config/env';
import { redisAuth } from '../config/secrets';
import { markets } from '../config/markets';
import { queueUrl, snsClient, sqsClient, topicArn } from '../platform/aws';
import { startHealthServer } from '../platform/health';
import { serviceLogger } from '../platform/log';
import { openBook } from './book';
import { CommandConsumer, type CommandBook } from './consumer';
import { OutboxPublisher } from './publisher';

export interface MatcherOptions {
  ordersQueueUrl?: string;
  ordersDlqUrl?: string;
  orderEventsTopicArn?: string;
  /** Key prefix of the books (tests); production uses none. */
  namespace?: string;
  healthPort?: number;
}

export async function startMatcher(opts: MatcherOptions = {}): Promise<{ stop(): Promise<void> }> {
  const log = serviceLogger('matcher');
  const redisOptions = await redisAuth();
  // ioredis reconnects by itself; without a listener each failed attempt prints "Unhandled error".
  const connectRedis = (): Redis =>
    new Redis(env.redisUrl, redisOptions).on('error', (err) =>
      log.warn({ err }, 'redis connection error; reconnecting'),
    );
  const redis = connectRedis();
  const sqs = sqsClient();
  const sns = snsClient();
  const ordersUrl = await queueUrl(
    sqs,
    opts.ordersQueueUrl ?? env.ordersQueueUrl,
    env.ordersQueueName,
  );
  const dlqUrl =
    opts.ordersDlqUrl ??
    (await queueUrl(sqs, env.ordersDlqUrl, env.ordersQueueName.replace(/\.fifo$/, '-dlq.fifo')));
  const eventsTopic = await topicArn(
    sns,
    opts.orderEventsTopicArn ?? env.orderEventsTopicArn,
    env.orderEventsTopicName,
  );

  let healthy = false;
  const health = await startHealthServer(opts.healthPort ?? env.healthPorts.matcher, () => healthy);
  const applied = new Counter({
    name: 'matcher_commands_total',
    help: 'Commands applied, by command and first event',
    labelNames: ['cmd', 'result'],
    registers: [health.registry],
  });
  const applyLatency = new Histogram({
    name: 'matcher_apply_seconds',
    help: 'Script time per command',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.1],
    registers: [health.registry],
  });
  const published = new Counter({
    name: 'matcher_events_published_total',
    help: 'Outbox events published to SNS',
    labelNames: ['market'],
    registers: [health.registry],
  });

  const books = new Map<string, CommandBook>();
  const publishers: OutboxPublisher[] = [];
  for (const market of markets.values()) {
    const book = await openBook(redis, market, {
      namespace: opts.namespace ?? env.matcherNamespace,
      appliedRetentionMs: env.matcherAppliedRetentionMs,
    });
    books.set(market.name, book);
    publishers.push(
      new OutboxPublisher({
        redis: connectRedis(),
        sns,
        topicArn: eventsTopic,
        market: market.name,
        streamKey: book.keys.events,
        appliedKey: book.keys.applied,
        log,
        onPublished: (n) => published.inc({ market: market.name }, n),
      }),
    );
  }
  const lag = new LagReporter(() => Promise.resolve(redis), 'matcher');
  const consumer = new CommandConsumer({
    sqs,
    queueUrl: ordersUrl,
    deadLetterQueueUrl: dlqUrl,
    books,
    waitSeconds: env.sqsWaitSeconds,
    leaseSeconds: env.sqsLeaseSeconds,
    log,
    onApplied: (command, events, ms) => {
      applied.inc({ cmd: command.cmd, result: events[0]?.event ?? 'NONE' });
      applyLatency.observe(ms / 1000);
    },
    // How long commands waited in the queue: the gateway's admission control reads it.
    onQueued: (sentAt) => lag.sample(sentAt),
  });
  publishers.forEach((p) => p.start());
  consumer.start();
  healthy = true;
  log.info({ markets: [...books.keys()], ordersUrl, eventsTopic }, 'matcher running');

  return {
    async stop() {
      healthy = false;
      await consumer.stop();
      await Promise.all(publishers.map((p) => p.stop()));
      await health.close();
      redis.disconnect();
      log.info('matcher stopped');
    },
  };
}
