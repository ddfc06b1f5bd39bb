// Custom search attributes operators filter on in Temporal UI, e.g.
// OrderStatus="PARTIALLY_FILLED" AND CoinID="BTC". All Keyword: exact-match filters.
export const orderSearchAttributeNames = [
  'OrderStatus',
  'CoinID',
  'UserID',
  'OrderSide',
  'OrderType',
] as const;

export type OrderSearchAttributeName = (typeof orderSearchAttributeNames)[number];
