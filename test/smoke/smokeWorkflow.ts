import { proxyActivities, upsertSearchAttributes } from '@temporalio/workflow';
import { orderSearchAttributes } from '../../workflows/messages';
import type * as activities from './smokeActivities';

const { greet } = proxyActivities<typeof activities>({ startToCloseTimeout: '10 seconds' });

export async function smokeWorkflow(name: string): Promise<string> {
  const greeting = await greet(name);
  upsertSearchAttributes([{ key: orderSearchAttributes.status, value: 'FILLED' }]);
  return greeting;
}
