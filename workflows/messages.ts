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
/** The workflow type of every new order (workflows/orderLifecycle.ts). */
export const orderWorkflowType = 'orderLifecycle';

/** A command the matcher (the first place: from the start, set by the gateway) has not answered within this time is sent again (applied once by id). */
export const ackTimeoutMs = 30_000;
/** Each further re-send waits twice as long, up to this: a slow path is not fed more copies. */
export const maxAckTimeoutMs = 300_000;

/** How long to wait for the answer to a command's send number `sendNumber` (0 = first send). */
export const ackTimeoutAfter = (sendNumber: number): number =>
  Math.min(ackTimeoutMs * 2 ** sendNumber, maxAckTimeoutMs);

/** Error types the workflow fails updates with; the gateway maps them to answers. */
export const orderErrorTypes = {
  duplicateOrderId: 'DUPLICATE_ORDER_ID',
  notCancellable: 'ORDER_NOT_CANCELLABLE',
} as const;

/**
 * Sent by the gateway when a placed order's workflow already exists (a client re-sent it), carrying
 * the order again. The same order returns its snapshot; the same order id with other fields is
 * refused with DUPLICATE_ORDER_ID.
 */
export const submitUpdate = defineUpdate<OrderSnapshot, [AcceptedOrder]>('submit');

/** Asks the matcher to cancel; answers with the snapshot once the order is final. */
export const cancelUpdate = defineUpdate<OrderSnapshot>('cancel');

/**
 * The matcher's events for this order, from the relay, oldest first; applied once each by orderSeq.
 * Answers with the execution reports they owe, which the relay pushes to the user's connections:
 * a repeated delivery answers with the same reports again (at least once, in order).
 */
export const matcherEventsUpdate = defineUpdate<ExecutionReport[], [MatcherEvent[]]>(
  'matcherEvents',
);

/** The retired workflow's way in for matcher events (workflows/retired/orderWorkflow.ts). */
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
