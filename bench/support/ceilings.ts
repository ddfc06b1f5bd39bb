// Ceilings measured in the same run as the load, on the same machine and servers, so the e2e figure
// can be read as a share of what each part can do on its own:
// - Temporal: the same server runs a workflow of the same shape as the order workflow in this run's
//   mix (activities, local activities and updates per order counted from real histories), with a worker in this process on
//   a task queue of its own → workflows/s;
// - SQS/SNS (moto): SQS FIFO send → receive → delete, and SNS FIFO publish → subscribed SQS FIFO
//   receive → delete, on queues and a topic of the bench's own → messages/s;
// - matcher: `npm run bench:matcher` as a subprocess (its own Redis) → commands/s.
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { DeleteTopicCommand, PublishBatchCommand, SNSClient } from '@aws-sdk/client-sns';
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { env } from '../../config/env';
import { ensureOrderChannels } from '../../scripts/localAws';
import { projectRoot } from '../../scripts/services';

/** The marker the TypeScript SDK records for a local activity's result. */
const localActivityMarker = 'core_local_activity';
import { matcherEventsUpdate } from '../../workflows/messages';
import {
  ceilingUpdate,
  ceilingWorkflow,
  type CeilingActivities,
  type CeilingShape,
} from './ceilingWorkflow';
import { CpuSampler, type CpuReport } from './proc';
import { latencyHistogram, recordMs, summarize, type LatencySummary } from './report';

// The worker's state changes at INFO would break up the report; warnings and errors still show.
Runtime.install({ logger: new DefaultLogger('WARN') });

// ── What an order costs: counted from real order workflow histories ─────────────────────────────

export interface OrderShape {
  /** Scheduled activities (pushStatus of reports no update answered). */
  activities: number;
  /** Local activities: the workflow's own enqueueCommand (cancels, retries, re-sends). */
  localActivities: number;
  /** Matcher commands sent: the gateway's first place plus the workflow's enqueues. */
  commands: number;
  /** Of them, place commands: the first, re-sends of an unanswered one, retries of a remainder. */
  placeCommands: number;
  signals: number;
  updates: number;
  /** Matcher events delivered in the updates (each one message on the relay's queue). */
  matcherEvents: number;
  events: number;
}

export interface ShapeSample {
  sampled: number;
  mean: OrderShape;
  shapes: OrderShape[];
}

/** Activities, signals and updates per order, from the histories of up to `max` of them. */
export async function sampleOrderShapes(
  client: Client,
  workflowIds: string[],
  max = 200,
): Promise<ShapeSample> {
  const step = Math.max(1, Math.floor(workflowIds.length / max));
  const picked = workflowIds.filter((_, i) => i % step === 0).slice(0, max);
  const shapes: OrderShape[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < picked.length) {
        const id = picked[next++]!;
        try {
          const history = await client.workflow.getHandle(id).fetchHistory();
          const shape: OrderShape = {
            activities: 0,
            localActivities: 0,
            commands: 1,
            placeCommands: 1,
            signals: 0,
            updates: 0,
            matcherEvents: 0,
            events: history.events?.length ?? 0,
          };
          for (const e of history.events ?? []) {
            if (e.activityTaskScheduledEventAttributes) shape.activities++;
            if (e.markerRecordedEventAttributes?.markerName === localActivityMarker) {
              shape.localActivities++;
              shape.commands++;
              // The workflow names each send in its summary: "<cmd> <commandId>[ (re-send n)]".
              const summary = e.userMetadata?.summary;
              if (
                summary &&
                defaultPayloadConverter.fromPayload<string>(summary).startsWith('place ')
              )
                shape.placeCommands++;
            }
            if (e.workflowExecutionSignaledEventAttributes) shape.signals++;
            const update = e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input;
            if (update) shape.updates++;
            const payload = update?.name === matcherEventsUpdate.name && update.args?.payloads?.[0];
            if (payload)
              shape.matcherEvents += defaultPayloadConverter.fromPayload<unknown[]>(payload).length;
          }
          shapes.push(shape);
        } catch {
          // a workflow that cannot be read is left out of the sample
        }
      }
    }),
  );
  const mean = (k: keyof OrderShape): number =>
    shapes.reduce((a, s) => a + s[k], 0) / Math.max(1, shapes.length);
  return {
    sampled: shapes.length,
    shapes,
    mean: {
      activities: mean('activities'),
      localActivities: mean('localActivities'),
      commands: mean('commands'),
      placeCommands: mean('placeCommands'),
      signals: mean('signals'),
      updates: mean('updates'),
      matcherEvents: mean('matcherEvents'),
      events: mean('events'),
    },
  };
}

// ── Temporal ─────────────────────────────────────────────────────────────────────────────────────

export interface TemporalCeiling {
  workflowsPerS: number;
  completed: number;
  seconds: number;
  concurrency: number;
  latency: LatencySummary;
  cpu: CpuReport;
}

/**
 * Workflows of the sampled shapes (cycled, so the mix is the run's) through the stack's Temporal
 * server, closed loop with `concurrency` in flight, for `seconds` after a 2-second warm-up.
 */
export async function temporalCeiling(opts: {
  shapes: CeilingShape[];
  seconds: number;
  concurrency: number;
  tag: string;
}): Promise<TemporalCeiling> {
  const taskQueue = `bench-ceiling-${opts.tag}`;
  const shapes =
    opts.shapes.length > 0 ? opts.shapes : [{ activities: 0, localActivities: 0, updates: 2 }];
  const nativeConnection = await NativeConnection.connect({ address: env.temporalAddress });
  const connection = await Connection.connect({ address: env.temporalAddress });
  const client = new Client({ connection, namespace: env.temporalNamespace });
  const activities: CeilingActivities = { noop: () => Promise.resolve() };
  const worker = await Worker.create({
    connection: nativeConnection,
    namespace: env.temporalNamespace,
    taskQueue,
    workflowsPath: require.resolve('./ceilingWorkflow'),
    activities,
  });
  const histogram = latencyHistogram();
  let n = 0;
  let completed = 0;
  let cpu!: CpuReport;
  const warmMs = 2000;
  try {
    await worker.runUntil(async () => {
      const t0 = performance.now();
      const measureFrom = t0 + warmMs;
      const end = measureFrom + opts.seconds * 1000;
      let sampler: CpuSampler | undefined;
      const samplerTimer = setTimeout(() => (sampler = new CpuSampler().start()), warmMs);
      await Promise.all(
        Array.from({ length: opts.concurrency }, async () => {
          while (performance.now() < end) {
            const i = n++;
            const shape = shapes[i % shapes.length]!;
            const started = performance.now();
            // As the gateway starts an order (delayed: the first update wakes it) and the relay
            // delivers its events.
            const handle = await client.workflow.start(ceilingWorkflow, {
              workflowId: `bench-ceiling/${opts.tag}/${i}`,
              taskQueue,
              args: [shape],
              startDelay: '30 seconds',
            });
            for (let u = 0; u < shape.updates; u++) await handle.executeUpdate(ceilingUpdate);
            await handle.result();
            const done = performance.now();
            // Completions inside the window count, whenever they started (steady state).
            if (done >= measureFrom && done <= end) completed++;
            if (started >= measureFrom) recordMs(histogram, done - started);
          }
        }),
      );
      clearTimeout(samplerTimer);
      cpu = await (sampler ?? new CpuSampler().start()).stop();
    });
  } finally {
    await nativeConnection.close();
    await connection.close();
  }
  return {
    workflowsPerS: completed / opts.seconds,
    completed,
    seconds: opts.seconds,
    concurrency: opts.concurrency,
    latency: summarize(histogram),
    cpu,
  };
}

// ── SQS / SNS (moto) ─────────────────────────────────────────────────────────────────────────────

export interface MessagingCeiling {
  sqsPerS: number;
  snsPerS: number;
  seconds: number;
  cpu: { sqs: CpuReport; sns: CpuReport };
}

/** A matcher command of the usual size, as the order worker sends it. */
const sampleCommand = (i: number): string =>
  JSON.stringify({
    cmd: 'place',
    commandId: `order/bench-ceiling-u1/o${i}#1`,
    orderId: `o${i}`,
    userID: 'bench-ceiling-u1',
    market: 'BTC',
    side: 'BUY',
    orderType: 'LIMIT',
    timeInForce: 'GTC',
    selfTradePrevention: 'EXPIRE_MAKER',
    price: 3000000,
    quantity: 1000,
    attempt: 0,
  });

/** A matcher event of the usual size, as the matcher publishes it. */
const sampleEvent = (i: number): string =>
  JSON.stringify({
    event: 'TRADE',
    seq: i,
    market: 'BTC',
    userID: 'bench-ceiling-u1',
    orderId: `o${i}`,
    orderSeq: 2,
    commandId: `order/bench-ceiling-u1/o${i}#1`,
    time: Date.now(),
    tradeId: `BTC-${i}`,
    side: 'BUY',
    lastQty: 1000,
    lastPrice: 3000000,
    maker: false,
    filledQty: 1000,
    leavesQty: 0,
  });

/**
 * Producer(s) and one consumer at once, with at most `backlog` messages between them, so the
 * figure is the steady rate of the whole hop, not of sends piling up.
 */
async function hop(
  seconds: number,
  backlog: number,
  produce: (i: number) => Promise<number>,
  consume: () => Promise<number>,
  producers: number,
): Promise<{ perS: number; cpu: CpuReport }> {
  let sent = 0;
  let received = 0;
  let i = 0;
  const sampler = new CpuSampler().start();
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  await Promise.all([
    ...Array.from({ length: producers }, async () => {
      while (performance.now() < end) {
        if (sent - received >= backlog) {
          await sleep(2);
          continue;
        }
        sent += await produce(i++);
      }
    }),
    (async () => {
      while (performance.now() < end) received += await consume();
    })(),
  ]);
  const elapsed = (performance.now() - t0) / 1000;
  return { perS: received / elapsed, cpu: await sampler.stop() };
}

export async function messagingCeiling(opts: {
  seconds: number;
  tag: string;
}): Promise<MessagingCeiling> {
  const sqs = new SQSClient({});
  const sns = new SNSClient({});
  const channels = await ensureOrderChannels(
    {
      ordersQueueName: `bench-ceiling-${opts.tag}.fifo`,
      orderEventsTopicName: `bench-ceiling-events-${opts.tag}.fifo`,
      relayQueueName: `bench-ceiling-relay-${opts.tag}.fifo`,
    },
    { sqs, sns },
  );
  const receiveAndDelete = async (queueUrl: string): Promise<number> => {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageSystemAttributeNames: ['MessageGroupId', 'ApproximateReceiveCount'],
      }),
    );
    const messages = out.Messages ?? [];
    if (messages.length === 0) return 0;
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
    return messages.length;
  };
  // A short queue, as in a stack that keeps up: moto's receive costs grow with the messages in the
  // queue (it reads every one's attributes for each message it returns), so a long backlog would
  // measure the twin's collapse, not its rate.
  const backlog = 20;
  try {
    // The order worker's enqueueCommand: one SendMessage per command, several activities at once;
    // the matcher: receive 10, apply, delete the batch.
    const sqsRun = await hop(
      opts.seconds,
      backlog,
      async (i) => {
        await sqs.send(
          new SendMessageCommand({
            QueueUrl: channels.ordersQueueUrl,
            MessageBody: sampleCommand(i),
            MessageGroupId: 'BTC',
            MessageDeduplicationId: `c${i}`,
            MessageAttributes: {
              cmd: { DataType: 'String', StringValue: 'place' },
              side: { DataType: 'String', StringValue: 'BUY' },
            },
          }),
        );
        return 1;
      },
      () => receiveAndDelete(channels.ordersQueueUrl),
      8,
    );
    // The matcher's outbox publisher: PublishBatch of 10, one batch in flight per market; the
    // relay: receive 10 from the subscribed queue, delete the batch.
    const snsRun = await hop(
      opts.seconds,
      backlog,
      async (i) => {
        const entries = Array.from({ length: 10 }, (_, j) => i * 10 + j);
        await sns.send(
          new PublishBatchCommand({
            TopicArn: channels.orderEventsTopicArn,
            PublishBatchRequestEntries: entries.map((seq) => ({
              Id: String(seq),
              Message: sampleEvent(seq),
              MessageGroupId: 'BTC',
              MessageDeduplicationId: `BTC-${seq}`,
            })),
          }),
        );
        return entries.length;
      },
      () => receiveAndDelete(channels.relayQueueUrl),
      1,
    );
    return {
      sqsPerS: sqsRun.perS,
      snsPerS: snsRun.perS,
      seconds: opts.seconds,
      cpu: { sqs: sqsRun.cpu, sns: snsRun.cpu },
    };
  } finally {
    for (const url of [
      channels.ordersQueueUrl,
      channels.ordersDlqUrl,
      channels.relayQueueUrl,
      channels.relayDlqUrl,
    ])
      await sqs.send(new DeleteQueueCommand({ QueueUrl: url })).catch(() => undefined);
    await sns
      .send(new DeleteTopicCommand({ TopicArn: channels.orderEventsTopicArn }))
      .catch(() => undefined);
    sqs.destroy();
    sns.destroy();
  }
}

// ── Matcher (bench/matcher.ts as a subprocess) ───────────────────────────────────────────────────

export interface MatcherCeiling {
  /** The figure used: the batched run (applyBatch, as the service's consumer applies) if printed. */
  commandsPerS: number | null;
  /** Every `matcher: …  N cmds/s` line of its output. */
  runs: Array<{ label: string; commandsPerS: number }>;
  /** The bench's own ratio line (Lua path ÷ trivial EVALSHA on the same client). */
  ratioLine: string | null;
  command: string;
  output: string;
  error?: string;
}

/**
 * Runs `bench/matcher.ts` (what `npm run bench:matcher` runs) with a small command count, on its
 * own Redis (REDIS_URL removed from its environment), and reads its figures from its output.
 */
export async function matcherCeiling(opts: {
  commands: number;
  markets: number;
  redisUrl?: string;
}): Promise<MatcherCeiling> {
  const args = [
    '--import',
    'tsx',
    'bench/matcher.ts',
    '--commands',
    String(opts.commands),
    '--markets',
    String(opts.markets),
  ];
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  delete childEnv.REDIS_URL;
  if (opts.redisUrl) childEnv.REDIS_URL = opts.redisUrl;
  const command = `${opts.redisUrl ? `REDIS_URL=${opts.redisUrl} ` : ''}npm run bench:matcher -- ${args.slice(3).join(' ')}`;
  const output = await new Promise<{ code: number | null; text: string }>((resolve) => {
    const child = spawn(process.execPath, args, { cwd: projectRoot, env: childEnv });
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString()));
    child.stderr.on('data', (d: Buffer) => (text += d.toString()));
    const timer = setTimeout(() => child.kill('SIGTERM'), 300_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, text });
    });
  });
  const runs = [...output.text.matchAll(/^matcher: (.*?)\s+([\d,]+(?:\.\d+)?) cmds\/s/gm)].map(
    (m) => ({ label: m[1]!.trim(), commandsPerS: Number(m[2]!.replace(/,/g, '')) }),
  );
  const chosen = runs.find((r) => r.label.includes('applyBatch')) ?? runs[0];
  const commandsPerS = chosen?.commandsPerS ?? null;
  return {
    commandsPerS,
    runs,
    ratioLine: /^ratio commands\/s[^\n]*/m.exec(output.text)?.[0] ?? null,
    command,
    output: output.text.trim(),
    ...(commandsPerS === null && {
      error: `no commands/s in its output (exit ${output.code})`,
    }),
  };
}
