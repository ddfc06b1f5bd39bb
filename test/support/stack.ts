// The service's own processes for integration tests, on the real servers of the jest global set-up:
// queues, topic and Redis namespace of their own per test file, so files run side by side.
import { createEnqueueCommand } from '../../activities/enqueueCommand';
import type { SendCommand } from '../../gateway/submitOrder';
import { sqsClient } from '../../platform/aws';
import { randomUUID } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { Client, Connection } from '@temporalio/client';
import { ensureOrderChannels, type OrderChannels } from '../../scripts/localAws';
import { services, type ServiceName } from '../../platform/processes';
import type { OrderActivities } from '../../workflows/messages';
import {
  freePort,
  httpOk,
  startProcess,
  waitHealthy,
  type ManagedProcess,
} from '../../scripts/services';
import { inRunDir } from './runDir';

export interface TestChannels extends OrderChannels {
  /** Key prefix of this file's matcher books. */
  namespace: string;
  taskQueue: string;
}

export async function createTestChannels(label: string): Promise<TestChannels> {
  const suffix = `${label}-${randomUUID().slice(0, 8)}`;
  const sqs = new SQSClient({});
  const sns = new SNSClient({});
  try {
    const channels = await ensureOrderChannels(
      {
        ordersQueueName: `orders-${suffix}.fifo`,
        orderEventsTopicName: `order-events-${suffix}.fifo`,
        relayQueueName: `order-events-relay-${suffix}.fifo`,
      },
      { sqs, sns },
    );
    return { ...channels, namespace: `test-${suffix}:`, taskQueue: `orders-${suffix}` };
  } finally {
    sqs.destroy();
    sns.destroy();
  }
}

/** Environment that points a process (or in-process service) at this file's channels. */
export function channelEnv(channels: TestChannels): Record<string, string> {
  return {
    ORDERS_QUEUE_URL: channels.ordersQueueUrl,
    ORDERS_DLQ_URL: channels.ordersDlqUrl,
    ORDER_EVENTS_TOPIC_ARN: channels.orderEventsTopicArn,
    RELAY_QUEUE_URL: channels.relayQueueUrl,
    MATCHER_NAMESPACE: channels.namespace,
    ORDER_TASK_QUEUE: channels.taskQueue,
    SQS_WAIT_SECONDS: '1',
    LOG_LEVEL: process.env.SERVICE_LOG_LEVEL ?? 'warn',
  };
}

export const spawnedPidsFile = (): string => inRunDir('spawned.pids');

export type { ServiceName } from '../../platform/processes';

/** One of the service's processes as a real OS process (for kill -9 tests), healthy when returned. */
export async function spawnService(
  name: ServiceName,
  channels: TestChannels,
  extraEnv: Record<string, string> = {},
): Promise<ManagedProcess> {
  const port = await freePort();
  const { entry, healthPort } = services[name];
  const proc = startProcess(name, process.execPath, ['--import', 'tsx', entry], {
    env: { ...channelEnv(channels), [healthPort.variable]: String(port), ...extraEnv },
    sink: {
      kind: 'file',
      path: inRunDir(`${name}-${channels.taskQueue}.log`),
    },
  });
  // The global teardown kills whatever a failed or timed-out test left running.
  if (proc.child.pid) appendFileSync(spawnedPidsFile(), `${proc.child.pid}\n`);
  await waitHealthy(proc, () => httpOk(`http://127.0.0.1:${port}/healthz`), 90_000);
  return proc;
}

export async function temporalClient(): Promise<{ client: Client; close: () => Promise<void> }> {
  const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS });
  return { client: new Client({ connection }), close: () => connection.close() };
}

/** Sends matcher commands to this file's orders queue, as the gateway does. */
export const commandSenderFor = (channels: TestChannels): SendCommand =>
  createEnqueueCommand(sqsClient(), channels.ordersQueueUrl);

/** The matcher, relay and order worker in this process, on this file's channels. */
export async function startServicesInProcess(
  channels: TestChannels,
  pushStatus: OrderActivities['pushStatus'],
): Promise<{ stop: () => Promise<void> }> {
  const { startMatcher } = await import('../../matcher/service');
  const { startRelay } = await import('../../relay/relay');
  const { startOrderWorker } = await import('../../orderWorker/worker');
  const matcher = await startMatcher({
    ordersQueueUrl: channels.ordersQueueUrl,
    ordersDlqUrl: channels.ordersDlqUrl,
    orderEventsTopicArn: channels.orderEventsTopicArn,
    namespace: channels.namespace,
    healthPort: 0,
  });
  const relay = await startRelay({
    relayQueueUrl: channels.relayQueueUrl,
    healthPort: 0,
    push: pushStatus,
  });
  const worker = await startOrderWorker({
    taskQueue: channels.taskQueue,
    ordersQueueUrl: channels.ordersQueueUrl,
    healthPort: 0,
    pushStatus,
  });
  return {
    async stop() {
      await worker.stop();
      await relay.stop();
      await matcher.stop();
    },
  };
}
