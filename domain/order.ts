// The order vocabulary shared from the gateway through the workflow and the Lua matcher to the
// client: sides, types, statuses, commands and matcher events. Integers only (ticks and steps).
import { z } from 'zod';
import { FieldError, fieldErrorFromZod, type FieldErrorCodes } from './errors';
import { toUnits } from './fixedPoint';
import { retryUnmatchedSchema, type Market, type Markets, type RetryUnmatched } from './markets';
import {
  orderTypes,
  selfTradePreventionModes,
  sides,
  timeInForces,
  type OrderType,
  type SelfTradePrevention,
  type Side,
  type TimeInForce,
} from './orderVocabulary';

// The zod-free part is its own module, which the workflow bundle imports without zod.
export * from './orderVocabulary';

/** Why the matcher refused a place or cancel command. */
export const rejectCodes = [
  'UNKNOWN_MARKET',
  'INVALID_QUANTITY',
  'INVALID_PRICE',
  'INVALID_ORDER',
  'WOULD_CROSS',
  'MIN_NOTIONAL',
  'DUPLICATE_ORDER_ID',
  'UNKNOWN_ORDER',
  // A place issued so long ago that the matcher may have applied it and forgotten it since: it
  // is refused rather than risk placing the order twice (see matcher/lua/apply.lua, retention).
  'STALE_COMMAND',
] as const;
export type RejectCode = (typeof rejectCodes)[number];

/** Why a remainder left the book without a fill or a cancel. */
export const expireReasons = [
  'NO_LIQUIDITY', // MARKET / IOC: nothing (more) to match against
  'FOK_NOT_FILLABLE', // FOK: the whole quantity was not available; nothing traded
  'SELF_TRADE_PREVENTION',
] as const;
export type ExpireReason = (typeof expireReasons)[number];

/** userID and orderId: safe in workflow ids, Redis members and log lines (no '/'). */
const idPattern = /^[A-Za-z0-9_.:-]{1,64}$/;
const idSchema = z.string().regex(idPattern, 'must be 1–64 characters of A–Z, a–z, 0–9, _ . : -');
const decimalInput = z.union([z.number(), z.string()]);

/**
 * `params` of `order.place`: the seed's message (`type` is the side) plus optional fields.
 * Numbers arrive as JSON numbers or decimal strings and become ticks/steps in `parseOrder`.
 */
export const placeOrderParamsSchema = z.strictObject({
  orderId: idSchema,
  type: z.enum(sides),
  userID: idSchema,
  coinID: z.string().min(1).max(20),
  quantity: decimalInput,
  price: decimalInput.optional(),
  orderType: z.enum(orderTypes).optional(),
  timeInForce: z.enum(timeInForces).optional(),
  selfTradePrevention: z.enum(selfTradePreventionModes).optional(),
  retryUnmatched: retryUnmatchedSchema.optional(),
});
export type PlaceOrderParams = z.infer<typeof placeOrderParamsSchema>;

/** An order after validation at the edge: integers of the market's tick (price) and step (quantity). */
export interface OrderSpec {
  orderId: string;
  userID: string;
  /** The market (its base asset, e.g. BTC): `coinID` on the wire. */
  market: string;
  side: Side;
  orderType: OrderType;
  timeInForce: TimeInForce;
  selfTradePrevention: SelfTradePrevention;
  /** Ticks; null for MARKET. */
  price: number | null;
  /** Steps. */
  quantity: number;
}

/** An accepted order as the workflow receives it: the spec plus its retry policy. */
export interface AcceptedOrder extends OrderSpec {
  retryUnmatched: RetryUnmatched;
  /** The market's units, so reports print decimals without the market table. */
  tickSize: string;
  stepSize: string;
  /** Milliseconds since the epoch when the gateway accepted it. */
  acceptedAt: number;
}

/** The error codes of the order's fields (`order.place` and the methods naming an order). */
export const orderFieldCodes: FieldErrorCodes = {
  byField: {
    orderId: 'INVALID_ORDER_ID',
    type: 'INVALID_SIDE',
    userID: 'INVALID_USER_ID',
    coinID: 'UNKNOWN_MARKET',
    quantity: 'INVALID_QUANTITY',
    price: 'INVALID_PRICE',
    orderType: 'INVALID_ORDER_TYPE',
    timeInForce: 'INVALID_TIME_IN_FORCE',
    selfTradePrevention: 'INVALID_SELF_TRADE_PREVENTION',
    retryUnmatched: 'INVALID_RETRY_UNMATCHED',
  },
  otherwise: 'INVALID_PARAMS',
};

/** Validates `order.place` params against the markets; throws FieldError naming the field. */
export function parseOrder(
  params: unknown,
  markets: Markets,
): { spec: OrderSpec; market: Market; retryUnmatched: RetryUnmatched } {
  const parsed = placeOrderParamsSchema.safeParse(params);
  if (!parsed.success) throw fieldErrorFromZod(parsed.error, orderFieldCodes);
  const p = parsed.data;
  const market = markets.get(p.coinID);
  if (!market) {
    throw new FieldError(
      'UNKNOWN_MARKET',
      `unknown market "${p.coinID}"; known: ${[...markets.keys()].join(', ')}`,
      'coinID',
    );
  }
  const orderType: OrderType = p.orderType ?? (p.price === undefined ? 'MARKET' : 'LIMIT');
  const timeInForce: TimeInForce = p.timeInForce ?? (orderType === 'MARKET' ? 'IOC' : 'GTC');
  if (orderType === 'MARKET' && timeInForce === 'GTC') {
    throw new FieldError(
      'INVALID_TIME_IN_FORCE',
      'a MARKET order is IOC or FOK, never GTC',
      'timeInForce',
    );
  }
  if (orderType === 'LIMIT_MAKER' && timeInForce !== 'GTC') {
    throw new FieldError(
      'INVALID_TIME_IN_FORCE',
      'a LIMIT_MAKER order rests on the book: GTC only',
      'timeInForce',
    );
  }
  const quantity = toUnits(
    p.quantity,
    market.step,
    'quantity',
    'INVALID_QUANTITY',
    market.stepSize,
  );
  if (quantity < market.minQty || quantity > market.maxQty) {
    throw new FieldError(
      'INVALID_QUANTITY',
      `quantity must be between minQty and maxQty of ${market.name}`,
      'quantity',
    );
  }
  let price: number | null = null;
  if (orderType === 'MARKET') {
    if (p.price !== undefined)
      throw new FieldError('INVALID_PRICE', 'a MARKET order takes no price', 'price');
  } else {
    if (p.price === undefined)
      throw new FieldError('INVALID_PRICE', `price is required for ${orderType} orders`, 'price');
    price = toUnits(p.price, market.tick, 'price', 'INVALID_PRICE', market.tickSize);
    if (price <= 0) throw new FieldError('INVALID_PRICE', 'price must be greater than 0', 'price');
    if (BigInt(price) * BigInt(quantity) < market.minNotional) {
      throw new FieldError(
        'MIN_NOTIONAL',
        `price × quantity is below the minimum notional of ${market.name}`,
        'quantity',
      );
    }
  }
  const spec: OrderSpec = {
    orderId: p.orderId,
    userID: p.userID,
    market: p.coinID,
    side: p.type,
    orderType,
    timeInForce,
    selfTradePrevention: p.selfTradePrevention ?? 'EXPIRE_MAKER',
    price,
    quantity,
  };
  return { spec, market, retryUnmatched: p.retryUnmatched ?? market.retryUnmatched };
}

/** The order as the workflow starts with it, stamped with the time the gateway accepted it. */
export function toAcceptedOrder(
  parsed: { spec: OrderSpec; market: Market; retryUnmatched: RetryUnmatched },
  acceptedAt: number,
): AcceptedOrder {
  return {
    ...parsed.spec,
    retryUnmatched: parsed.retryUnmatched,
    tickSize: parsed.market.tickSize,
    stepSize: parsed.market.stepSize,
    acceptedAt,
  };
}

// ── Commands: workflow (or replay tool) → SQS → matcher ─────────────────────────────────────────

const commandBase = {
  /** Unique per command; the matcher applies a command id once, however often SQS delivers it. */
  commandId: z.string().min(1).max(200),
  orderId: idSchema,
  userID: idSchema,
  market: z.string().min(1).max(20),
  /**
   * When the command was first issued (ms since the epoch; the same in every re-send). The
   * matcher refuses a place older than what it has forgotten; absent counts as very old.
   */
  issuedAt: z.int().min(0).optional(),
};

export const placeCommandSchema = z.strictObject({
  cmd: z.literal('place'),
  ...commandBase,
  side: z.enum(sides),
  orderType: z.enum(orderTypes),
  timeInForce: z.enum(timeInForces),
  selfTradePrevention: z.enum(selfTradePreventionModes),
  price: z.int().positive().nullable(),
  quantity: z.int().positive(),
  /** 0 for the first placement; n for the n-th retry of an unmatched MARKET/IOC remainder. */
  attempt: z.int().min(0),
});
export const cancelCommandSchema = z.strictObject({ cmd: z.literal('cancel'), ...commandBase });
export const matcherCommandSchema = z.discriminatedUnion('cmd', [
  placeCommandSchema,
  cancelCommandSchema,
]);

export type PlaceCommand = z.infer<typeof placeCommandSchema>;
export type CancelCommand = z.infer<typeof cancelCommandSchema>;
export type MatcherCommand = z.infer<typeof matcherCommandSchema>;

// ── Events: matcher outbox → SNS → relay → workflow signal ─────────────────────────────────────

const eventBase = {
  /** Position in the market's outbox, rising by one per event; the SNS deduplication id. */
  seq: z.int().positive(),
  market: z.string(),
  userID: z.string(),
  orderId: z.string(),
  /** Rises by one per event of this order (1, 2, …): the workflow applies each exactly once, in order. */
  orderSeq: z.int().min(0),
  /** The command whose application produced this event. */
  commandId: z.string(),
  /** Milliseconds since the epoch, Redis server time. */
  time: z.int(),
};

export const newEventSchema = z.object({
  event: z.literal('NEW'),
  ...eventBase,
  side: z.enum(sides),
  orderType: z.enum(orderTypes),
  timeInForce: z.enum(timeInForces),
  price: z.int().positive().nullable(),
  quantity: z.int().positive(),
});

export const tradeEventSchema = z.object({
  event: z.literal('TRADE'),
  ...eventBase,
  /** Shared by both sides of one trade. */
  tradeId: z.string(),
  side: z.enum(sides),
  lastQty: z.int().positive(),
  /** The maker's price, in ticks. */
  lastPrice: z.int().positive(),
  maker: z.boolean(),
  /** Cumulative filled quantity of this order after the trade. */
  filledQty: z.int().positive(),
  /** Quantity still open (0 when filled). */
  leavesQty: z.int().min(0),
});

export const canceledEventSchema = z.object({
  event: z.literal('CANCELED'),
  ...eventBase,
  filledQty: z.int().min(0),
});

export const expiredEventSchema = z.object({
  event: z.literal('EXPIRED'),
  ...eventBase,
  reason: z.enum(expireReasons),
  filledQty: z.int().min(0),
  /** Quantity that expired unfilled. */
  expiredQty: z.int().positive(),
});

export const rejectedEventSchema = z.object({
  event: z.literal('REJECTED'),
  ...eventBase,
  reason: z.enum(rejectCodes),
  msg: z.string(),
});

/** A cancel that found nothing open to cancel. Not an order state change: orderSeq is 0. */
export const cancelRejectedEventSchema = z.object({
  event: z.literal('CANCEL_REJECTED'),
  ...eventBase,
  reason: z.literal('UNKNOWN_ORDER'),
  msg: z.string(),
});

export const matcherEventSchema = z.discriminatedUnion('event', [
  newEventSchema,
  tradeEventSchema,
  canceledEventSchema,
  expiredEventSchema,
  rejectedEventSchema,
  cancelRejectedEventSchema,
]);

export type NewEvent = z.infer<typeof newEventSchema>;
export type TradeEvent = z.infer<typeof tradeEventSchema>;
export type CanceledEvent = z.infer<typeof canceledEventSchema>;
export type ExpiredEvent = z.infer<typeof expiredEventSchema>;
export type RejectedEvent = z.infer<typeof rejectedEventSchema>;
export type CancelRejectedEvent = z.infer<typeof cancelRejectedEventSchema>;
export type MatcherEvent = z.infer<typeof matcherEventSchema>;
export type MatcherEventType = MatcherEvent['event'];
