// The order worker process (EKS pod): runs orderWorkflow and its activities on task queue 'orders'.
// SIGTERM lets running activities finish; workflows continue on another worker from their history.
import { NativeConnection, Worker } from '@temporalio/worker';
import { queueUrl, sqsClient } from '../config/aws';
import { env } from '../config/env';
import { startHealthServer } from '../config/health';
import { createLogger } from '../config/logger';
import { temporalConnectionOptions } from '../config/secrets';
import { createEnqueueCommand } from '../activities/enqueueCommand';
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
  const log = createLogger('order-worker');
  const sqs = sqsClient();
  const ordersUrl = await queueUrl(
    sqs,
    opts.ordersQueueUrl ?? env.ordersQueueUrl,
    env.ordersQueueName,
  );
  const pushStatus = opts.pushStatus ?? (await defaultPushStatus());
  const activities: OrderActivities = {
    enqueueCommand: createEnqueueCommand(sqs, ordersUrl),
    pushStatus,
  };
  const connection = await NativeConnection.connect(await temporalConnectionOptions());
  const worker = await Worker.create({
    connection,
    namespace: env.temporalNamespace,
    taskQueue: opts.taskQueue ?? env.orderTaskQueue,
    workflowsPath: require.resolve('../workflows/orderWorkflow'),
    activities,
  });
  const health = await startHealthServer(
    opts.healthPort ?? env.orderWorkerHealthPort,
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

async function defaultPushStatus(): Promise<OrderActivities['pushStatus']> {
  const { createPushStatus } = await import('../activities/pushStatus');
  return createPushStatus();
}

if (require.main === module) {
  // The Temporal runtime shuts the worker down on SIGINT/SIGTERM; running activities finish first.
  void startOrderWorker()
    .then((w) => w.done)
    .then(() => process.exit(0));
}
