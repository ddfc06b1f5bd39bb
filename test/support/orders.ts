// Test helpers: accepted orders and update-with-start submission, the way the gateway does it.
import { randomUUID } from 'node:crypto';
import { WithStartWorkflowOperation, type Client } from '@temporalio/client';
import { markets } from '../../config/markets';
import { parseOrder, toAcceptedOrder, workflowIdFor, type AcceptedOrder } from '../../domain/order';
import type { OrderSnapshot } from '../../domain/orderState';
import { orderSearchAttributes, orderTaskQueue, submitUpdate } from '../../workflows/messages';
import type { orderWorkflow } from '../../workflows/orderWorkflow';

export const uniqueUser = (name: string): string => `${name}-${randomUUID().slice(0, 8)}`;

export function acceptedOrder(
  params: Record<string, unknown>,
  acceptedAt = Date.now(),
): AcceptedOrder {
  return toAcceptedOrder(parseOrder(params, markets), acceptedAt);
}

export async function submitOrder(
  client: Client,
  order: AcceptedOrder,
  taskQueue = orderTaskQueue,
): Promise<OrderSnapshot> {
  return client.workflow.executeUpdateWithStart(submitUpdate, {
    args: [order],
    startWorkflowOperation: new WithStartWorkflowOperation<typeof orderWorkflow>('orderWorkflow', {
      workflowId: workflowIdFor(order.userID, order.orderId),
      taskQueue,
      args: [order],
      workflowIdConflictPolicy: 'USE_EXISTING',
      typedSearchAttributes: [
        { key: orderSearchAttributes.status, value: 'PENDING_NEW' },
        { key: orderSearchAttributes.coinID, value: order.coinID },
        { key: orderSearchAttributes.userID, value: order.userID },
        { key: orderSearchAttributes.side, value: order.side },
        { key: orderSearchAttributes.orderType, value: order.orderType },
      ],
    }),
  });
}
