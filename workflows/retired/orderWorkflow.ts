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
import type { AcceptedOrder, MatcherCommand } from '../../domain/order';
import {
  executionReport,
  orderDetails,
  orderSnapshot,
  orderTerms,
  sameTerms,
  type OrderSnapshot,
} from '../../domain/orderPresenter';
import { OrderState, type OrderStateData } from '../../domain/orderState';
import {
  cancelUpdate,
  matcherEventSignal,
  orderErrorTypes,
  orderSearchAttributePairs,
  statusQuery,
  submitUpdate,
  type OrderActivities,
} from '../messages';

/** A command the matcher has not answered within this time is sent again (applied once by id). */
export const ackTimeoutMs = 30_000;
/** Each further re-send waits twice as long, up to this: a slow path is not fed more copies. */
export const maxAckTimeoutMs = 300_000;

/** How long to wait for the answer to a command's send number `sendNumber` (0 = first send). */
export const ackTimeoutAfter = (sendNumber: number): number =>
  Math.min(ackTimeoutMs * 2 ** sendNumber, maxAckTimeoutMs);

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

export async function orderWorkflow(input: AcceptedOrder | OrderStateData): Promise<OrderSnapshot> {
  const state = new OrderState(input);
  const continued = 'order' in input;
  let enqueued = continued;
  /** The latest command and its latest send (0 = first), until the matcher answers it. */
  let outstanding: { command: MatcherCommand; sendNumber: number; sentAt: number } | undefined;
  let cancelRequested = false;

  const send = async (issued: MatcherCommand): Promise<void> => {
    // Stamped once: re-sends carry the first issue time (the matcher judges staleness by it).
    const command = { ...issued, issuedAt: issued.issuedAt ?? Date.now() };
    const sendNumber =
      outstanding?.command.commandId === command.commandId ? outstanding.sendNumber + 1 : 0;
    await enqueueCommand.executeWithOptions(
      {
        summary: `${command.cmd} ${command.commandId}${sendNumber ? ` (re-send ${sendNumber})` : ''}`,
      },
      [command, sendNumber],
    );
    outstanding = { command, sendNumber, sentAt: Date.now() };
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

  setHandler(statusQuery, () => orderSnapshot(state));

  setHandler(
    submitUpdate,
    async () => {
      await condition(() => enqueued || state.isTerminal);
      return orderSnapshot(state);
    },
    {
      validator: (order: AcceptedOrder) => {
        if (!sameTerms(orderTerms(order), orderTerms(state.order))) {
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
      if (state.isTerminal) return orderSnapshot(state);
      if (state.retryDue) {
        // Waiting out a retry backoff: the order is not on the book, nothing to ask the matcher.
        state.cancelWhileAwaitingRetry(Date.now());
        return orderSnapshot(state);
      }
      if (!cancelRequested) {
        cancelRequested = true;
        const command = state.cancelCommand();
        await send(command);
        await condition(() => state.isTerminal || state.isAnswered(command.commandId));
      } else {
        await condition(() => state.isTerminal);
      }
      return orderSnapshot(state);
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
    setCurrentDetails(orderDetails(state));
    if (state.status !== shownStatus) {
      shownStatus = state.status;
      upsertSearchAttributes(orderSearchAttributePairs(state.order, state.status));
    }
  };

  const pushReports = async (): Promise<void> => {
    const changes = state.peekReports();
    for (const change of changes) {
      const report = executionReport(state.order, change);
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
    state.markPushed(changes.length);
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
          Math.max(1, unanswered.sentAt + ackTimeoutAfter(unanswered.sendNumber) - Date.now()),
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
  return orderSnapshot(state);
}
