// Test helpers: user ids, the seed's message, accepted orders and submission the way the gateway
// does it.
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { markets } from '../../config/markets';
import { parseOrder, toAcceptedOrder, type AcceptedOrder } from '../../domain/order';
import type { OrderSnapshot } from '../../domain/orderPresenter';
import { submitOrder as submitGatewayOrder, type SendCommand } from '../../gateway/submitOrder';
import { orderTaskQueue, statusQuery } from '../../workflows/messages';
import { eventually } from './eventually';

/** A user id no other test (or earlier run against the same servers) uses. */
export const uniqueUser = (name: string): string => `${name}-${randomUUID().slice(0, 8)}`;

/** The seed's message, exactly as written: `params` of order.place. */
export const seedOrderText =
  '{"orderId":"12345","type":"SELL","userID":"user1","coinID":"BTC","quantity":5,"price":100}';

export function acceptedOrder(
  params: Record<string, unknown>,
  acceptedAt = Date.now(),
): AcceptedOrder {
  return toAcceptedOrder(parseOrder(params, markets), acceptedAt);
}

/** Submits like the gateway does, on a test's own task queue and orders queue. */
export const submitOrder = (
  client: Client,
  sendCommand: SendCommand,
  order: AcceptedOrder,
  taskQueue = orderTaskQueue,
): Promise<OrderSnapshot> => submitGatewayOrder(client, sendCommand, order, taskQueue);

/** The order's snapshot once its workflow answers the status query with `status`. */
export const statusBecomes = (
  client: Client,
  order: Pick<OrderSnapshot, 'workflowId'>,
  status: OrderSnapshot['status'],
): Promise<OrderSnapshot> =>
  eventually(async () => {
    const now = await client.workflow.getHandle(order.workflowId).query(statusQuery);
    return now.status === status ? now : undefined;
  }, `${order.workflowId} ${status}`);
