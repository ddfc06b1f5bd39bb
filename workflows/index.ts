// Every workflow type the order worker runs: today's, and the retired one whose recorded histories
// still replay in CI (and whose runs, if any were started before, finish on it).
export { orderLifecycle } from './orderLifecycle';
export { orderWorkflow } from './retired/orderWorkflow';
