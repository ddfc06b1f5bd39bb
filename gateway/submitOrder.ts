// Starts an order's workflow, or finds the running one, and submits the order to it in one call
// (update-with-start). The answer comes once the order is durably enqueued to the matcher.
import { WithStartWorkflowOperation, type Client } from '@temporalio/client';
import { workflowIdFor, type AcceptedOrder } from '../domain/order';
import { orderSummary, type OrderSnapshot } from '../domain/orderPresenter';
import { orderSearchAttributePairs, orderWorkflowType, submitUpdate } from '../workflows/messages';

export function submitOrder(
  client: Client,
  accepted: AcceptedOrder,
  taskQueue: string,
): Promise<OrderSnapshot> {
  const startWorkflowOperation = new WithStartWorkflowOperation(orderWorkflowType, {
    workflowId: workflowIdFor(accepted.userID, accepted.orderId),
    taskQueue,
    args: [accepted],
    workflowIdConflictPolicy: 'USE_EXISTING',
    // A finished order keeps its id: re-sending it must not start the order again.
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
    typedSearchAttributes: orderSearchAttributePairs(accepted, 'PENDING_NEW'),
    staticSummary: orderSummary(accepted),
  });
  return client.workflow.executeUpdateWithStart(submitUpdate, {
    args: [accepted],
    startWorkflowOperation,
  });
}
