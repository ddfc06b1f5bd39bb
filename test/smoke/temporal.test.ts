import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import * as activities from './smokeActivities';
import { orderSearchAttributes } from '../../workflows/messages';
import { smokeWorkflow } from './smokeWorkflow';
import { visibleWorkflowIds } from '../support/visibility';

const address = process.env.TEMPORAL_ADDRESS!;
const { market, status } = orderSearchAttributes;

test('a real worker runs a workflow with an activity, found again by a custom search attribute', async () => {
  const taskQueue = `smoke-${randomUUID()}`;
  const marker = `SMOKE-${randomUUID()}`;
  const workerConnection = await NativeConnection.connect({ address });
  const worker = await Worker.create({
    connection: workerConnection,
    taskQueue,
    workflowsPath: require.resolve('./smokeWorkflow'),
    activities,
  });
  const connection = await Connection.connect({ address });
  const client = new Client({ connection });
  try {
    const result = await worker.runUntil(
      client.workflow.execute(smokeWorkflow, {
        taskQueue,
        workflowId: `smoke/${marker}`,
        args: ['exchange'],
        typedSearchAttributes: [{ key: market, value: marker }],
      }),
    );
    expect(result).toBe('hello exchange');

    const found = await visibleWorkflowIds(
      client,
      `${market.name} = "${marker}" AND ${status.name} = "FILLED"`,
    );
    expect(found).toEqual([`smoke/${marker}`]);
  } finally {
    await connection.close();
    await workerConnection.close();
  }
});
