// The order's words and names without zod: the part of domain/order.ts that workflow code uses.
// Every module of a workflow's bundle is evaluated again for each workflow run, so what the
// workflow imports must be cheap to load (zod alone costs more than the rest of the bundle).
export const sides = ['BUY', 'SELL'] as const;
export const orderTypes = ['LIMIT', 'MARKET', 'LIMIT_MAKER'] as const;
export const timeInForces = ['GTC', 'IOC', 'FOK'] as const;
export const selfTradePreventionModes = [
  'EXPIRE_MAKER',
  'EXPIRE_TAKER',
  'EXPIRE_BOTH',
  'NONE',
] as const;
export const orderStatuses = [
  'PENDING_NEW',
  'NEW',
  'PARTIALLY_FILLED',
  'FILLED',
  'CANCELED',
  'REJECTED',
  'EXPIRED',
] as const;
export const execTypes = ['NEW', 'TRADE', 'CANCELED', 'REJECTED', 'EXPIRED'] as const;

export type Side = (typeof sides)[number];
export type OrderType = (typeof orderTypes)[number];
export type TimeInForce = (typeof timeInForces)[number];
export type SelfTradePrevention = (typeof selfTradePreventionModes)[number];
export type OrderStatus = (typeof orderStatuses)[number];
export type ExecType = (typeof execTypes)[number];

export const terminalStatuses: ReadonlySet<OrderStatus> = new Set([
  'FILLED',
  'CANCELED',
  'REJECTED',
  'EXPIRED',
]);

export const workflowIdFor = (userID: string, orderId: string): string =>
  `order/${userID}/${orderId}`;

/** The order's member name in the matcher's book and order table. */
export const orderKeyFor = (userID: string, orderId: string): string => `${userID}/${orderId}`;
