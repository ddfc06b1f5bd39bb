// The order workflow's contract, imported by the workflow and by its callers (gateway, relay,
// tests). Nothing else needs to know how the workflow works.
import {
  defineSearchAttributeKey,
  SearchAttributeType,
  type SearchAttributePair,
} from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type {
  AcceptedOrder,
  MatcherCommand,
  MatcherEvent,
  OrderSpec,
  OrderStatus,
} from '../domain/order';
import type { ExecutionReport, OrderSnapshot } from '../domain/orderPresenter';

export const orderTaskQueue = 'orders';
export const orderWorkflowType = 'orderWorkflow';

/** Error types the workflow fails updates with; the gateway maps them to answers. */
export const orderErrorTypes = {
  duplicateOrderId: 'DUPLICATE_ORDER_ID',
  notCancellable: 'ORDER_NOT_CANCELLABLE',
} as const;

/**
 * Sent with update-with-start by the gateway, carrying the order again. Answers once the order is
 * durably enqueued to the matcher (status PENDING_NEW or later). Re-sending the same order returns
 * it; the same order id with other fields is refused with DUPLICATE_ORDER_ID.
 */
export const submitUpdate = defineUpdate<OrderSnapshot, [AcceptedOrder]>('submit');

/** Asks the matcher to cancel; answers with the snapshot once the order is final. */
export const cancelUpdate = defineUpdate<OrderSnapshot>('cancel');

/** A matcher event for this order, from the relay. Deduplicated by the event's orderSeq. */
export const matcherEventSignal = defineSignal<[MatcherEvent]>('matcherEvent');

export const statusQuery = defineQuery<OrderSnapshot>('status');

/**
 * Search attributes operators filter on in Temporal UI, e.g. OrderStatus="PARTIALLY_FILLED" AND
 * CoinID="BTC". All Keyword (exact-match filters); the stack registers them by name.
 */
export const orderSearchAttributes = {
  status: defineSearchAttributeKey('OrderStatus', SearchAttributeType.KEYWORD),
  market: defineSearchAttributeKey('CoinID', SearchAttributeType.KEYWORD),
  userID: defineSearchAttributeKey('UserID', SearchAttributeType.KEYWORD),
  side: defineSearchAttributeKey('OrderSide', SearchAttributeType.KEYWORD),
  orderType: defineSearchAttributeKey('OrderType', SearchAttributeType.KEYWORD),
};

/** The names to register with a Temporal server, each as a Keyword attribute. */
export const orderSearchAttributeNames = Object.values(orderSearchAttributes).map(
  (key) => key.name,
);

/** An order's search attributes in a status: set when the gateway starts it, upserted on changes. */
export function orderSearchAttributePairs(
  order: OrderSpec,
  status: OrderStatus,
): SearchAttributePair[] {
  return [
    { key: orderSearchAttributes.status, value: status },
    { key: orderSearchAttributes.market, value: order.market },
    { key: orderSearchAttributes.userID, value: order.userID },
    { key: orderSearchAttributes.side, value: order.side },
    { key: orderSearchAttributes.orderType, value: order.orderType },
  ];
}

/** The activities the order workflow calls; the order worker registers implementations. */
export interface OrderActivities {
  /**
   * Sends a command to the matcher's SQS FIFO queue (group = market). `sendNumber` is 0 for the
   * first send and rises on each re-send after an acknowledgement timeout, so SQS's
   * deduplication does not swallow the re-send; the matcher applies the command id once.
   */
  enqueueCommand(command: MatcherCommand, sendNumber: number): Promise<void>;
  /** Pushes an execution report to every live WebSocket connection of the order's user. */
  pushStatus(report: ExecutionReport): Promise<void>;
}
