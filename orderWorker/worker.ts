// The order worker (an EKS pod, bin/orderWorker.ts): runs orderWorkflow and its activities on task queue 'orders'.
// SIGTERM lets running activities finish; workflows continue on another worker from their history.
import { NativeConnection, Worker } from '@temporalio/worker';
import { env } from '../config/env';
import { temporalConnectionOptions } from '../config/secrets';
import { createEnqueueCommand } from '../activities/enqueueCommand';
import { queueUrl, sqsClient } from '../platform/aws';
import { startHealthServer } from '../platform/health';
import { serviceLogger, type Logger } from '../platform/log';
import { orderWorkerLimits } from './memory';
import type { OrderActivities } from '../workflows/messages';

export interface OrderWorkerOptions {
  /** The pushStatus implementation; defaults to the API Gateway management API one. */
  pushStatus?: OrderActivities['pushStatus'];
  taskQueue?: string;
  ordersQueueUrl?: string;
  healthPort?: number;
}

export interface RunningOrderWorker {
  worker: Worker;
  /** Resolves when the worker has stopped (stop(), or SIGINT/SIGTERM handled by the runtime). */
  done: Promise<void>;
  stop(): Promise<void>;
}

export async function startOrderWorker(opts: OrderWorkerOptions = {}): Promise<RunningOrderWorker> {
  const log = serviceLogger('order-worker');
  const sqs = sqsClient();
  const ordersUrl = await queueUrl(
    sqs,
    opts.ordersQueueUrl ?? env.ordersQueueUrl,
    env.ordersQueueName,
  );
  const pushStatus = opts.pushStatus ?? (await defaultPushStatus(log));
  const activities: OrderActivities = {
    enqueueCommand: createEnqueueCommand(sqs, ordersUrl),
    pushStatus,
  };
  const connection = await NativeConnection.connect(await temporalConnectionOptions());
  const worker = await Worker.create({
    connection,
    namespace: env.temporalNamespace,
    taskQueue: opts.taskQueue ?? env.orderTaskQueue,
    workflowsPath: require.resolve('../workflows'),
    activities,
    ...orderWorkerLimits(env.orderWorkerMemoryMb),
  });
  const health = await startHealthServer(
    opts.healthPort ?? env.healthPorts['order-worker'],
    () => worker.getState() === 'RUNNING',
  );
  const done = worker.run().finally(async () => {
    await connection.close();
    await health.close();
    log.info('order worker stopped');
  });
  log.info({ taskQueue: opts.taskQueue ?? env.orderTaskQueue, ordersUrl }, 'order worker running');
  return {
    worker,
    done,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}

async function defaultPushStatus(log: Logger): Promise<OrderActivities['pushStatus']> {
  const { createPushStatus } = await import('../activities/pushStatus');
  return createPushStatus({ log });
}
