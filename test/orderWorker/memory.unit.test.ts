import {
  baseMiB,
  headroomShare,
  heapLimitMiB,
  heapPerCachedWorkflowMiB,
  heapPerLive,
  minCachedWorkflows,
  nativePerCachedWorkflowMiB,
  orderWorkerLimits,
  orderWorkerNodeFlags,
  workflowHeapBaseMiB,
} from '../../orderWorker/memory';

/** The RSS the model expects with a full cache and the workflow heap at its limit. */
const rssAt = (budget: number): number =>
  baseMiB +
  heapLimitMiB(budget) +
  orderWorkerLimits(budget).maxCachedWorkflows * nativePerCachedWorkflowMiB;

test('a full cache with the heap at its limit stays within the budget less the headroom', () => {
  for (const budget of [768, 1024, 4096]) {
    expect(rssAt(budget)).toBeLessThanOrEqual(budget * (1 - headroomShare) + 1);
    // …and one more cached workflow would not.
    const { maxCachedWorkflows } = orderWorkerLimits(budget);
    const oneMore =
      baseMiB +
      heapPerLive * (workflowHeapBaseMiB + (maxCachedWorkflows + 1) * heapPerCachedWorkflowMiB) +
      (maxCachedWorkflows + 1) * nativePerCachedWorkflowMiB;
    expect(oneMore).toBeGreaterThan(budget * (1 - headroomShare));
  }
});

test('the heap limit is twice the live size of a full cache, passed as a Node flag', () => {
  const { maxCachedWorkflows } = orderWorkerLimits(768);
  const live = workflowHeapBaseMiB + maxCachedWorkflows * heapPerCachedWorkflowMiB;
  expect(heapLimitMiB(768)).toBe(Math.ceil(heapPerLive * live));
  expect(orderWorkerNodeFlags(768)).toEqual([`--max-old-space-size=${heapLimitMiB(768)}`]);
});

test('more budget, more cache; workflow tasks never exceed the cache nor the SDK default', () => {
  const small = orderWorkerLimits(600);
  const large = orderWorkerLimits(2048);
  expect(large.maxCachedWorkflows).toBeGreaterThan(small.maxCachedWorkflows);
  for (const limits of [small, large])
    expect(limits.maxConcurrentWorkflowTaskExecutions).toBeLessThanOrEqual(
      Math.min(40, limits.maxCachedWorkflows),
    );
});

test('a budget too small for a working cache is refused, naming the least that works', () => {
  let message = '';
  try {
    orderWorkerLimits(400);
  } catch (err) {
    message = (err as Error).message;
  }
  expect(message).toMatch(/^ORDER_WORKER_MEMORY_MB=400 leaves room for 0 cached workflows/);
  const least = Number(/at least (\d+) MiB/.exec(message)?.[1]);
  expect(orderWorkerLimits(least).maxCachedWorkflows).toBeGreaterThanOrEqual(minCachedWorkflows);
  expect(() => orderWorkerLimits(least - 2)).toThrow(/at least/);
});
