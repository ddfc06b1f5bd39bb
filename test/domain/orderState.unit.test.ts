// The order's state machine without a server: exactly-once, in-order application of matcher
// events, the retry of an unmatched remainder as a state of its own, and continue-as-new.
import { awaitingRetry, OrderState } from '../../domain/orderState';
import { newEvent, noLiquidityEvent, testOrder, tradeEvent } from './orderEvents';

test('events apply once each and in orderSeq order; those ahead of a gap wait for it', () => {
  const state = new OrderState(testOrder({ orderId: 'a', type: 'BUY', quantity: 1, price: 30000 }));
  state.placeCommand();
  expect(state.apply(tradeEvent(state, 3, { qty: 40_000, filled: 100_000 }))).toBe(false);
  expect(state.apply(tradeEvent(state, 2, { qty: 60_000, filled: 60_000 }))).toBe(false);
  expect(state.status).toBe('PENDING_NEW');
  expect(state.apply(newEvent(state))).toBe(true);
  expect(state.apply(newEvent(state))).toBe(false);
  expect(state.apply(tradeEvent(state, 3, { qty: 40_000, filled: 100_000 }))).toBe(false);
  expect(state.peekReports().map((r) => [r.seq, r.status, r.filled])).toEqual([
    [1, 'NEW', 0],
    [2, 'PARTIALLY_FILLED', 60_000],
    [3, 'FILLED', 100_000],
  ]);
  expect(state).toMatchObject({ isTerminal: true, fillCount: 2, cumQuote: 300_000_000_000n });
  expect(state.carryOver().eventsAheadOfGap).toEqual([]);
});

test('an unmatched remainder awaits its retry: open to the client, not final, no report', () => {
  const state = new OrderState(
    testOrder({
      orderId: 'm',
      type: 'BUY',
      quantity: 1,
      retryUnmatched: { attempts: 1, backoffMs: 10 },
    }),
  );
  state.placeCommand();
  state.apply(newEvent(state));
  state.apply(tradeEvent(state, 2, { qty: 40_000 }));
  state.markPushed(state.peekReports().length);
  state.apply(noLiquidityEvent(state, 3));
  expect(state).toMatchObject({
    phase: awaitingRetry,
    status: 'PARTIALLY_FILLED',
    isTerminal: false,
    retryDue: true,
    hasUnpushedReports: false,
    expireReason: 'NO_LIQUIDITY',
  });
  const retry = state.retryCommand();
  expect(retry).toMatchObject({ attempt: 1, quantity: 60_000, commandId: `${state.workflowId}#2` });
  expect(state).toMatchObject({ phase: 'PARTIALLY_FILLED', retries: 1, retryDue: false });
  expect(() => state.retryCommand()).toThrow('no retry due');
  // The policy's last attempt: the next expiry is final.
  state.apply(noLiquidityEvent(state, 4));
  expect(state).toMatchObject({ phase: 'EXPIRED', status: 'EXPIRED', isTerminal: true });
  expect(state.peekReports()).toMatchObject([{ status: 'EXPIRED', execType: 'EXPIRED' }]);
});

test('a cancel while a retry waits ends the order CANCELED without the expiry reason', () => {
  const state = new OrderState(testOrder({ orderId: 'c', type: 'SELL', quantity: 1 }));
  state.placeCommand();
  state.apply(newEvent(state));
  state.apply(noLiquidityEvent(state, 2));
  expect(state.status).toBe('NEW');
  state.cancelWhileAwaitingRetry(9_000);
  expect(state).toMatchObject({ status: 'CANCELED', isTerminal: true, expireReason: null });
  expect(state.peekReports().at(-1)).toMatchObject({ status: 'CANCELED', time: 9_000 });
});

test('carried over to a new run, the state goes on where it stopped', () => {
  const first = new OrderState(
    testOrder({ orderId: 'r', type: 'SELL', quantity: 1, price: 30000 }),
  );
  first.placeCommand();
  first.apply(newEvent(first));
  first.apply(tradeEvent(first, 3, { qty: 10_000, filled: 20_000 })); // ahead of a gap
  const next = new OrderState(first.carryOver());
  next.apply(tradeEvent(next, 2, { qty: 10_000, filled: 10_000 }));
  expect(next).toMatchObject({ filled: 20_000, fillCount: 2, status: 'PARTIALLY_FILLED' });
  expect(next.peekReports().map((r) => r.seq)).toEqual([1, 2, 3]);
  expect(next.cancelCommand().commandId).toBe(`${next.workflowId}#2`);
});
