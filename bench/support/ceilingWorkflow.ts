// The Temporal ceiling's workflow: the shape of an orderWorkflow (started by update-with-start,
// the update answered after the first activity, then one activity per signal) with none of its
// work. Its activity is a no-op, so the figure is what the Temporal server and one worker can do.
import {
  allHandlersFinished,
  condition,
  defineSignal,
  defineUpdate,
  proxyActivities,
  setHandler,
} from '@temporalio/workflow';

export interface CeilingShape {
  /** Activities in all (orderWorkflow: enqueueCommand per command + pushStatus per report). */
  activities: number;
  /** Signals it receives (orderWorkflow: one matcherEvent per matcher event). */
  signals: number;
}

export interface CeilingActivities {
  noop(): Promise<void>;
}

export const ceilingSignal = defineSignal('tick');
export const ceilingSubmit = defineUpdate<number>('submit');

const { noop } = proxyActivities<CeilingActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '200 ms', backoffCoefficient: 2, maximumInterval: '5 seconds' },
});

export async function ceilingWorkflow(shape: CeilingShape): Promise<number> {
  let signals = 0;
  let submitted = false;
  setHandler(ceilingSignal, () => void signals++);
  setHandler(ceilingSubmit, async () => {
    await condition(() => submitted);
    return signals;
  });
  let done = 0;
  if (shape.activities > 0) {
    await noop();
    done++;
  }
  submitted = true;
  while (done < shape.activities) {
    // Like a report per matcher event: each further activity follows a signal, while there are any.
    await condition(() => signals >= Math.min(done, shape.signals));
    await noop();
    done++;
  }
  await condition(() => signals >= shape.signals);
  await condition(allHandlersFinished);
  return done;
}
