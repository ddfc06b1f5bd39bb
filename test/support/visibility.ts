import type { Client } from '@temporalio/client';
import { eventually } from './eventually';

/** The ids of the workflows a list query finds, once it finds any: visibility lags behind. */
export const visibleWorkflowIds = (client: Client, query: string): Promise<string[]> =>
  eventually(async () => {
    const ids: string[] = [];
    for await (const wf of client.workflow.list({ query })) ids.push(wf.workflowId);
    return ids.length > 0 ? ids : undefined;
  }, `a workflow matching ${query}`);
