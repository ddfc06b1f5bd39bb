// One order's whole life as a durable workflow: enqueue it to the matcher, apply the matcher's
// events exactly once, push every change to the client, retry an unmatched MARKET/IOC remainder
// after a durable backoff, and finish with the final snapshot.
import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { AcceptedOrder, MatcherCommand } from '../domain/order';
import { OrderState, type OrderSnapshot, type OrderStateData } from '../domain/orderState';
import {
  cancelUpdate,
  matcherEventSignal,
  orderErrorTypes,
  orderSearchAttributes,
  statusQuery,
  submitUpdate,
  type OrderActivities,
} from './messages';

/** A command the matcher has not answered within this time is sent again (applied once by id). */
export const ackTimeoutMs = 30_000;
/** Each further re-send waits twice as long, up to this: a slow path is not fed more copies. */
export const maxAckTimeoutMs = 300_000;

/** How long to wait for the answer after the n-th send (1, 2, …) of a command. */
export const ackTimeoutAfter = (sends: number): number =>
  Math.min(ackTimeoutMs * 2 ** Math.max(0, sends - 1), maxAckTimeoutMs);

const { enqueueCommand } = proxyActivities<OrderActivities>({
  startToCloseTimeout: '10 seconds',
  // SQS being down must not lose the order: keep trying, slower and slower. Bad input fails at once.
  retry: { initialInterval: '200 ms', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});

const { pushStatus } = proxyActivities<OrderActivities>({
  startToCloseTimeout: '10 seconds',
  // A report is best effort: a client that is away reads the status when it comes back.
  retry: {
    initialInterval: '500 ms',
    backoffCoefficient: 2,
    maximumInterval: '5 seconds',
    maximumAttempts: 5,
  },
});

/** Same order id with the same content: everything but the acceptance time. */
function sameOrder(a: AcceptedOrder, b: AcceptedOrder): boolean {
  const { acceptedAt: _a, ...restA } = a;
  const { acceptedAt: _b, ...restB } = b;
  return (
    JSON.stringify(restA, Object.keys(restA).sort()) ===
    JSON.stringify(restB, Object.keys(restB).sort())
  );
}

export async function orderWorkflow(input: AcceptedOrder | OrderStateData): Promise<OrderSnapshot> {
  const state = new OrderState(input);
  const continued = 'order' in input;
  let enqueued = continued;
  /** The latest command and how often it has been sent, until the matcher answers it. */
  let outstanding: { command: MatcherCommand; sends: number; sentAt: number } | undefined;
  let cancelRequested = false;

  const send = async (issued: MatcherCommand): Promise<void> => {
    // Stamped once: re-sends carry the first issue time (the matcher judges staleness by it).
    const command = { ...issued, issuedAt: issued.issuedAt ?? Date.now() };
    const sends = outstanding?.command.commandId === command.commandId ? outstanding.sends : 0;
    await enqueueCommand.executeWithOptions(
      { summary: `${command.cmd} ${command.commandId}${sends ? ` (re-send ${sends})` : ''}` },
      [command, sends],
    );
    outstanding = { command, sends: sends + 1, sentAt: Date.now() };
  };

  setHandler(matcherEventSignal, (event) => {
    if (event.userID !== state.order.userID || event.orderId !== state.order.orderId) {
      log.warn('matcher event for another order ignored', {
        seq: event.seq,
        orderId: event.orderId,
      });
      return;
    }
    state.apply(event);
  });

  setHandler(statusQuery, () => state.snapshot());

  setHandler(
    submitUpdate,
    async () => {
      await condition(() => enqueued || state.isTerminal);
      return state.snapshot();
    },
    {
      validator: (order: AcceptedOrder) => {
        if (!sameOrder(order, state.order)) {
          throw ApplicationFailure.create({
            type: orderErrorTypes.duplicateOrderId,
            message: `order ${state.order.orderId} exists with other fields`,
            nonRetryable: true,
          });
        }
      },
    },
  );

  setHandler(
    cancelUpdate,
    async () => {
      await condition(() => enqueued || state.isTerminal);
      if (state.isTerminal) return state.snapshot();
      if (state.retryDue) {
        // Waiting out a retry backoff: the order is not on the book, nothing to ask the matcher.
        state.cancelWhileUnmatched(Date.now());
        return state.snapshot();
      }
      if (!cancelRequested) {
        cancelRequested = true;
        const command = state.cancelCommand();
        await send(command);
        await condition(() => state.isTerminal || state.isAnswered(command.commandId));
      } else {
        await condition(() => state.isTerminal);
      }
      return state.snapshot();
    },
    {
      validator: () => {
        if (state.isTerminal) {
          throw ApplicationFailure.create({
            type: orderErrorTypes.notCancellable,
            message: `order ${state.order.orderId} is already ${state.status}`,
            nonRetryable: true,
          });
        }
      },
    },
  );

  let shownStatus: string | undefined;
  const showProgress = (): void => {
    const snapshot = state.snapshot();
    setCurrentDetails(state.details());
    if (snapshot.status !== shownStatus) {
      shownStatus = snapshot.status;
      const o = state.order;
      upsertSearchAttributes([
        { key: orderSearchAttributes.status, value: snapshot.status },
        { key: orderSearchAttributes.coinID, value: o.coinID },
        { key: orderSearchAttributes.userID, value: o.userID },
        { key: orderSearchAttributes.side, value: o.side },
        { key: orderSearchAttributes.orderType, value: o.orderType },
      ]);
    }
  };

  const pushReports = async (): Promise<void> => {
    const reports = state.peekReports();
    for (const report of reports) {
      try {
        await pushStatus.executeWithOptions(
          { summary: `${report.execType} → ${report.status} #${report.seq}` },
          [report],
        );
      } catch (err) {
        log.warn('execution report not delivered; the client reads the status on reconnect', {
          seq: report.seq,
          error: String(err),
        });
      }
    }
    state.markPushed(reports.length);
  };

  showProgress();
  if (!continued) {
    await send(state.placeCommand());
    enqueued = true;
  }

  while (!state.isTerminal) {
    const unanswered =
      outstanding && !state.isAnswered(outstanding.command.commandId) ? outstanding : undefined;
    const wake = (): boolean => state.hasUnpushedReports || state.isTerminal || state.retryDue;
    const woke = unanswered
      ? await condition(
          wake,
          Math.max(1, unanswered.sentAt + ackTimeoutAfter(unanswered.sends) - Date.now()),
        )
      : await condition(wake).then(() => true);
    showProgress();
    await pushReports();
    if (!woke && unanswered && !state.isAnswered(unanswered.command.commandId)) {
      log.warn('matcher has not answered; sending the command again', {
        commandId: unanswered.command.commandId,
      });
      await send(unanswered.command);
    }
    if (state.retryDue) {
      const backoff = state.order.retryUnmatched.backoffMs * 2 ** state.retries;
      showProgress();
      await sleep(backoff);
      // A cancel during the backoff ends the order instead.
      if (state.retryDue) await send(state.retryCommand());
    }
    // A command still waiting for the matcher's answer keeps this run, so its re-send timer stays.
    const waiting = outstanding && !state.isAnswered(outstanding.command.commandId);
    if (workflowInfo().continueAsNewSuggested && !state.isTerminal && !waiting) {
      await condition(allHandlersFinished);
      await pushReports();
      return continueAsNew<typeof orderWorkflow>(state.carryOver());
    }
  }
  showProgress();
  await pushReports();
  await condition(allHandlersFinished);
  return state.snapshot();
}
