// The order written for people, without a server: decimal reports and snapshots, the Temporal UI
// lines, and which re-sent orders count as the same order.
import {
  executionReport,
  orderDetails,
  orderSnapshot,
  orderSummary,
  orderTerms,
  sameTerms,
} from '../../domain/orderPresenter';
import { OrderState } from '../../domain/orderState';
import { newEvent, noLiquidityEvent, testOrder, tradeEvent } from './orderEvents';

const seller = testOrder({ orderId: 's1', type: 'SELL', quantity: 1, price: 30000 });

test('an execution report writes the change in the market units', () => {
  const state = new OrderState(seller);
  state.apply(newEvent(state));
  state.apply(tradeEvent(state, 2, { qty: 40_000 }));
  const [, fill] = state.peekReports().map((change) => executionReport(state.order, change));
  expect(fill).toEqual({
    event: 'executionReport',
    orderId: 's1',
    userID: 'user1',
    coinID: 'BTC',
    side: 'SELL',
    orderType: 'LIMIT',
    timeInForce: 'GTC',
    status: 'PARTIALLY_FILLED',
    execType: 'TRADE',
    price: '30000.00',
    quantity: '1.00000',
    filledQty: '0.40000',
    lastQty: '0.40000',
    lastPrice: '30000.00',
    tradeId: 'BTC-2',
    rejectReason: null,
    seq: 2,
    time: 2_002,
  });
});

test('the snapshot: average price two digits finer than the tick, cumulative quote exact', () => {
  const state = new OrderState(seller);
  state.apply(newEvent(state));
  state.apply(tradeEvent(state, 2, { qty: 30_000 }));
  state.apply(tradeEvent(state, 3, { qty: 20_000, price: 2_999_999 }));
  expect(orderSnapshot(state)).toMatchObject({
    workflowId: 'order/user1/s1',
    status: 'PARTIALLY_FILLED',
    filledQty: '0.50000',
    leavesQty: '0.50000',
    avgPrice: '29999.996',
    cumQuote: '14999.9980000',
    fillCount: 2,
    fills: [
      { tradeId: 'BTC-2', qty: '0.30000', price: '30000.00', maker: false, time: 2_002 },
      { tradeId: 'BTC-3', qty: '0.20000', price: '29999.99', maker: false, time: 2_003 },
    ],
    retries: 0,
    createdAt: 1_000,
    updatedAt: 2_003,
  });
  expect(orderDetails(state)).toBe('PARTIALLY_FILLED 0.5/1, avg 29999.996');
});

test('Temporal UI lines: the summary like a blotter, details with the reason or pending retry', () => {
  expect(orderSummary(seller)).toBe('SELL 1 BTC @ 30000.00 · user1');
  expect(orderSummary(testOrder({ orderId: 'm', type: 'BUY', quantity: 0.5 }))).toBe(
    'BUY 0.5 BTC MARKET · user1',
  );
  expect(
    orderSummary(
      testOrder({ orderId: 'i', type: 'BUY', quantity: 2, price: 10, timeInForce: 'IOC' }),
    ),
  ).toBe('BUY 2 BTC @ 10.00 LIMIT/IOC · user1');

  const market = new OrderState(testOrder({ orderId: 'm', type: 'BUY', quantity: 1 }));
  expect(orderDetails(market)).toBe('PENDING_NEW 0/1');
  market.apply(newEvent(market));
  market.apply(noLiquidityEvent(market, 2));
  expect(orderSnapshot(market).status).toBe('NEW');
  expect(orderDetails(market)).toBe('NEW 0/1 (no liquidity, retry 1/3 pending)');

  const rejected = new OrderState(seller);
  rejected.reject('INVALID_ORDER', 3_000);
  expect(orderDetails(rejected)).toBe('REJECTED 0/1 (INVALID_ORDER)');
});

test('same terms: a re-sent order is the same order; other terms or a finished snapshot compare', () => {
  const resent = { ...seller, acceptedAt: 5_000 };
  expect(sameTerms(orderTerms(resent), orderTerms(seller))).toBe(true);
  expect(sameTerms(orderTerms({ ...seller, quantity: 50_000 }), orderTerms(seller))).toBe(false);
  expect(sameTerms(orderTerms({ ...seller, side: 'BUY' }), orderTerms(seller))).toBe(false);
  const finished = orderSnapshot(new OrderState(seller));
  expect(sameTerms(finished, orderTerms(resent))).toBe(true);
  expect(sameTerms(finished, orderTerms({ ...seller, price: 2_999_999 }))).toBe(false);
});
