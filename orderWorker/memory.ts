// The order worker's memory budget (ORDER_WORKER_MEMORY_MB, the RSS it may reach) turned into the
// V8 heap limit it is started with and the size of the Temporal worker's workflow cache.
// A running workflow stays cached (a finished one leaves the cache and its memory is freed): it
// costs live heap in the workflow thread and native memory in Temporal's core, and with Node's
// default heap limit (≈ 4 GB here) V8 lets the workflow thread's garbage pile up to several times
// its live size. So the cache bounds the live size and a heap limit of twice that makes V8 collect
// in time. Figures measured with bench:soak and --trace-gc: docs/performance.md#order-worker-memory.

/** RSS outside the workflow thread's heap with an empty cache: Node, tsx, the main heap, the core. */
export const baseMiB = 250;
/** Live heap of the workflow thread with an empty cache: the workflow bundle in its V8 context. */
export const workflowHeapBaseMiB = 45;
/** Live heap one more cached (running) orderWorkflow adds to the workflow thread. */
export const heapPerCachedWorkflowMiB = 0.83;
/** Native memory one more cached workflow adds (Temporal's core; the allocator keeps it after). */
export const nativePerCachedWorkflowMiB = 0.5;
/** The heap limit is this many times the live size, so a full collection frees room and is rare. */
export const heapPerLive = 2;
/** Share of the budget kept free: V8's young generation, activity payloads, fragmentation. */
export const headroomShare = 0.15;
/** Below this a worker replays histories over and over instead of working. */
export const minCachedWorkflows = 50;
/** The SDK's default number of workflow tasks in progress at once. */
const sdkWorkflowTaskSlots = 40;

export interface OrderWorkerLimits {
  maxCachedWorkflows: number;
  /** A workflow task needs its workflow in the cache, so never more than the cache holds. */
  maxConcurrentWorkflowTaskExecutions: number;
}

/** RSS the worker reaches with `cached` workflows in its cache and its heap at the limit. */
const rssWith = (cached: number): number =>
  baseMiB +
  heapPerLive * (workflowHeapBaseMiB + cached * heapPerCachedWorkflowMiB) +
  cached * nativePerCachedWorkflowMiB;

const cacheFor = (budgetMiB: number): number =>
  Math.floor((budgetMiB * (1 - headroomShare) - rssWith(0)) / (rssWith(1) - rssWith(0)));

/** The Temporal worker's limits for a memory budget in MiB (e.g. the pod's memory limit). */
export function orderWorkerLimits(budgetMiB: number): OrderWorkerLimits {
  const maxCachedWorkflows = cacheFor(budgetMiB);
  if (maxCachedWorkflows < minCachedWorkflows)
    throw new Error(
      `ORDER_WORKER_MEMORY_MB=${budgetMiB} leaves room for ${Math.max(0, maxCachedWorkflows)} cached workflows; ` +
        `the order worker needs at least ${Math.ceil(rssWith(minCachedWorkflows) / (1 - headroomShare))} MiB`,
    );
  return {
    maxCachedWorkflows,
    maxConcurrentWorkflowTaskExecutions: Math.min(sdkWorkflowTaskSlots, maxCachedWorkflows),
  };
}

/** V8's old-space limit for a budget, in MiB: twice the live size of a full cache. */
export const heapLimitMiB = (budgetMiB: number): number =>
  Math.ceil(
    heapPerLive *
      (workflowHeapBaseMiB +
        orderWorkerLimits(budgetMiB).maxCachedWorkflows * heapPerCachedWorkflowMiB),
  );

/** The Node flags to start the order worker with (where the process is spawned). */
export const orderWorkerNodeFlags = (budgetMiB: number): string[] => [
  `--max-old-space-size=${heapLimitMiB(budgetMiB)}`,
];
