// One order's whole life as a durable workflow, on as few Temporal round trips as it can:
// - the gateway starts it and sends the first place command itself; the start is delayed by the
//   acknowledgement timeout, so a workflow whose command was lost wakes then and sends it again;
// - the relay delivers each order's events of a matcher call in one update, and pushes the reports
//   the update answers with: the workflow schedules no activity on the common path;
// - it re-places an unmatched MARKET/IOC remainder after a durable backoff, and ends with the final
//   snapshot.
import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { AcceptedOrder, MatcherCommand, MatcherEvent } from '../domain/order';
import {
  executionReport,
  orderDetails,
  orderSnapshot,
  orderTerms,
  sameTerms,
  type OrderSnapshot,
} from '../domain/orderPresenter';
import { OrderState, type OrderStateData } from '../domain/orderState';
import {
  ackTimeoutAfter,
  cancelUpdate,
  matcherEventsUpdate,
  orderErrorTypes,
  orderSearchAttributes,
  statusQuery,
  submitUpdate,
  type OrderActivities,
} from './messages';

// A local activity: one marker in the workflow task instead of a scheduled activity's round trip.
// A repeat after a worker crash is harmless: SQS deduplicates by id and the matcher applies a
// command id once.
const { enqueueCommand } = proxyLocalActivities<OrderActivities>({
  startToCloseTimeout: '10 seconds',
  // SQS being down must not lose the order: keep trying, slower and slower. Bad input fails at once.
  retry: { initialInterval: '200 ms', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});

// Only for changes no update answered (the workflow's own, e.g. EXPIRED after its last retry).
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

export async function orderLifecycle(
  input: AcceptedOrder | OrderStateData,
): Promise<OrderSnapshot> {
  const state = new OrderState(input);
  /** The latest command and its latest send (0 = first), until the matcher answers it. */
  let outstanding: { command: MatcherCommand; sendNumber: number; sentAt: number } | undefined;
  if (!('order' in input)) {
    // Sent by the gateway right after it started this workflow.
    const sentAt = workflowInfo().startTime.getTime();
    outstanding = { command: state.firstPlaceCommand(), sendNumber: 0, sentAt };
  }
  let cancelRequested = false;
  // What Temporal shows of the order: set before any handler runs (an update in the first workflow
  // task is handled as soon as its handler is set). The status attribute as the run started with
  // it (the gateway's NEW, or what the previous run showed): a status it shows costs no upsert.
  let shownStatus: string =
    workflowInfo().typedSearchAttributes.get(orderSearchAttributes.status) ?? state.status;
  let shownSeq = state.lastReportSeq;

  const send = async (command: MatcherCommand): Promise<void> => {
    const sendNumber =
      outstanding?.command.commandId === command.commandId ? outstanding.sendNumber + 1 : 0;
    await enqueueCommand.executeWithOptions(
      {
        summary: `${command.cmd} ${command.commandId}${sendNumber ? ` (re-send ${sendNumber})` : ''}`,
      },
      [{ ...command, issuedAt: command.issuedAt ?? Date.now() }, sendNumber],
    );
    outstanding = { command, sendNumber, sentAt: Date.now() };
  };

  const mine = (event: MatcherEvent): boolean =>
    event.userID === state.order.userID && event.orderId === state.order.orderId;

  setHandler(
    matcherEventsUpdate,
    (events) => {
      for (const event of events) state.apply(event);
      return state.takeReportsFor(events).map((change) => executionReport(state.order, change));
    },
    {
      validator: (events: MatcherEvent[]) => {
        const stranger = events.find((event) => !mine(event));
        if (stranger) {
          throw ApplicationFailure.create({
            type: 'WRONG_ORDER',
            message: `event ${stranger.seq} is for order ${stranger.userID}/${stranger.orderId}`,
            nonRetryable: true,
          });
        }
      },
    },
  );

  setHandler(statusQuery, () => orderSnapshot(state));

  setHandler(submitUpdate, () => orderSnapshot(state), {
    validator: (order: AcceptedOrder) => {
      if (!sameTerms(orderTerms(order), orderTerms(state.order))) {
        throw ApplicationFailure.create({
          type: orderErrorTypes.duplicateOrderId,
          message: `order ${state.order.orderId} exists with other fields`,
          nonRetryable: true,
        });
      }
    },
  });

  setHandler(
    cancelUpdate,
    async () => {
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

  // The gateway set every search attribute at the start; only the status changes after that, and
  // each upsert is a billed action, so it is written once per wake-up at most.
  const showProgress = (): void => {
    shownSeq = state.lastReportSeq;
    setCurrentDetails(orderDetails(state));
    if (state.status !== shownStatus) {
      shownStatus = state.status;
      upsertSearchAttributes([{ key: orderSearchAttributes.status, value: state.status }]);
    }
  };

  const pushLeftoverReports = async (): Promise<void> => {
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

  const unanswered = () =>
    outstanding && !state.isAnswered(outstanding.command.commandId) ? outstanding : undefined;

  setCurrentDetails(orderDetails(state));
  while (!state.isTerminal) {
    const waiting = unanswered();
    const deadline = waiting && waiting.sentAt + ackTimeoutAfter(waiting.sendNumber);
    if (waiting && deadline !== undefined && Date.now() >= deadline) {
      log.warn('matcher has not answered; sending the command again', {
        commandId: waiting.command.commandId,
      });
      await send(waiting.command);
      continue;
    }
    const wake = (): boolean =>
      state.lastReportSeq !== shownSeq ||
      state.hasUnpushedReports ||
      state.isTerminal ||
      state.retryDue;
    if (deadline !== undefined) await condition(wake, deadline - Date.now());
    else await condition(wake);
    showProgress();
    await pushLeftoverReports();
    if (state.retryDue) {
      const backoff = state.order.retryUnmatched.backoffMs * 2 ** state.retries;
      await sleep(backoff);
      // A cancel during the backoff ends the order instead.
      if (state.retryDue) await send(state.retryCommand());
      showProgress();
    }
    // A command still waiting for the matcher's answer keeps this run, so its re-send deadline stays.
    if (workflowInfo().continueAsNewSuggested && !state.isTerminal && !unanswered()) {
      await condition(allHandlersFinished);
      await pushLeftoverReports();
      return continueAsNew<typeof orderLifecycle>(state.carryOver());
    }
  }
  await condition(allHandlersFinished);
  showProgress();
  await pushLeftoverReports();
  return orderSnapshot(state);
}
