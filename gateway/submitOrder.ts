// Places an order: starts its workflow, then sends its first place command to the matcher's queue
// itself, so the common path costs Temporal one start. The start is delayed by the workflow's
// acknowledgement timeout: the matcher's answer (the relay's update) wakes the workflow at once,
// and a workflow whose command was lost with a crashed gateway wakes then and sends it again.
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  type Client,
} from '@temporalio/client';
import { workflowIdFor, type AcceptedOrder, type MatcherCommand } from '../domain/order';
import { orderSnapshot, orderSummary, type OrderSnapshot } from '../domain/orderPresenter';
import { OrderState } from '../domain/orderState';
import {
  ackTimeoutMs,
  orderSearchAttributePairs,
  orderWorkflowType,
  submitUpdate,
} from '../workflows/messages';

/** Sends a command to the matcher's queue (activities/enqueueCommand.ts). */
export type SendCommand = (command: MatcherCommand, sendNumber: number) => Promise<void>;

/**
 * The order's PENDING_NEW snapshot once it is durable: its workflow exists and its place command
 * is in the queue. A re-sent order answers from its workflow (DUPLICATE_ORDER_ID if other fields);
 * a finished one throws WorkflowExecutionAlreadyStartedError for the caller to look up.
 */
export async function submitOrder(
  client: Client,
  sendCommand: SendCommand,
  accepted: AcceptedOrder,
  taskQueue: string,
): Promise<OrderSnapshot> {
  const workflowId = workflowIdFor(accepted.userID, accepted.orderId);
  const state = new OrderState(accepted);
  try {
    await client.workflow.start(orderWorkflowType, {
      workflowId,
      taskQueue,
      args: [accepted],
      startDelay: ackTimeoutMs,
      workflowIdConflictPolicy: 'FAIL',
      // A finished order keeps its id: re-sending it must not start the order again.
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      // NEW, not PENDING_NEW: the order is durable from here, the matcher's answer follows within
      // milliseconds, and an upsert to NEW would cost every order one more billed action.
      typedSearchAttributes: orderSearchAttributePairs(accepted, 'NEW'),
      staticSummary: orderSummary(accepted),
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    let snapshot: OrderSnapshot;
    try {
      snapshot = await client.workflow.getHandle(workflowId).executeUpdate(submitUpdate, {
        args: [accepted],
      });
    } catch (updateErr) {
      if (updateErr instanceof WorkflowNotFoundError) throw err; // finished meanwhile
      throw updateErr;
    }
    if (snapshot.status !== 'PENDING_NEW') return snapshot;
    // Unanswered: the first send may have been lost with the gateway that made it. The same
    // command again (first issue time, same id): SQS and the matcher drop a repeat.
    await sendCommand({ ...state.firstPlaceCommand(), issuedAt: snapshot.createdAt }, 0);
    return snapshot;
  }
  await sendCommand(state.firstPlaceCommand(), 0);
  return orderSnapshot(state);
}
