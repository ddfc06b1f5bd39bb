// Test helpers: accepted orders and update-with-start submission, the way the gateway does it.
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { markets } from '../../config/markets';
import { parseOrder, toAcceptedOrder, type AcceptedOrder } from '../../domain/order';
import type { OrderSnapshot } from '../../domain/orderPresenter';
import { submitOrder as submitGatewayOrder } from '../../gateway/submitOrder';
import { orderTaskQueue } from '../../workflows/messages';

export const uniqueUser = (name: string): string => `${name}-${randomUUID().slice(0, 8)}`;

export function acceptedOrder(
  params: Record<string, unknown>,
  acceptedAt = Date.now(),
): AcceptedOrder {
  return toAcceptedOrder(parseOrder(params, markets), acceptedAt);
}

/** Submits like the gateway does, on a test's own task queue. */
export const submitOrder = (
  client: Client,
  order: AcceptedOrder,
  taskQueue = orderTaskQueue,
): Promise<OrderSnapshot> => submitGatewayOrder(client, order, taskQueue);
