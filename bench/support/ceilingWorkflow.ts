// The Temporal ceiling's workflow: the shape of an order workflow (a delayed start woken by its
// first update, one update per delivery of matcher events, its local and scheduled activities) with
// none of its work. Its activities are no-ops, so the figure is what the Temporal server and one
// worker can do.
import {
  allHandlersFinished,
  condition,
  defineUpdate,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
} from '@temporalio/workflow';

export interface CeilingShape {
  /** Scheduled activities (the order workflow: pushStatus of reports no update answered). */
  activities: number;
  /** Local activities (the order workflow: its own enqueueCommand). */
  localActivities: number;
  /** Updates it receives (the order workflow: matcherEvents, cancel, submit). */
  updates: number;
}

export interface CeilingActivities {
  noop(): Promise<void>;
}

export const ceilingUpdate = defineUpdate<number>('tick');

const retry = {
  initialInterval: '200 ms',
  backoffCoefficient: 2,
  maximumInterval: '5 seconds',
} as const;
const { noop } = proxyActivities<CeilingActivities>({ startToCloseTimeout: '10 seconds', retry });
const local = proxyLocalActivities<CeilingActivities>({ startToCloseTimeout: '10 seconds', retry });

export async function ceilingWorkflow(shape: CeilingShape): Promise<number> {
  let updates = 0;
  setHandler(ceilingUpdate, () => ++updates);
  // Spread like the order's: a local activity, then an activity, after each update while any.
  for (let done = 0; done < Math.max(shape.localActivities, shape.activities); done++) {
    await condition(() => updates >= Math.min(done + 1, shape.updates));
    if (done < shape.localActivities) await local.noop();
    if (done < shape.activities) await noop();
  }
  await condition(() => updates >= shape.updates);
  await condition(allHandlersFinished);
  return updates;
}
