// Shared by the matcher tests: a namespace per test (jest runs files in parallel against one Redis),
// command builders and event checks.
import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import marketsJson from '../../config/markets.json';
import { buildMarket, parseMarkets, type Market } from '../../domain/markets';
import {
  matcherEventSchema,
  type CancelCommand,
  type MatcherEvent,
  type PlaceCommand,
} from '../../domain/order';
import type { Book } from '../../matcher/book';
import { outboxEventBodies } from '../../matcher/publisher';

export const markets = parseMarkets(marketsJson);
export const btc: Market = markets.get('BTC')!;

/** Small integers (tick 1, step 1) so tests read like the rules: notional = price × quantity. */
export const tst: Market = buildMarket('TST', {
  quoteAsset: 'USDT',
  tickSize: '1',
  stepSize: '1',
  minQty: '1',
  maxQty: '50',
  minNotional: '100',
  makerFee: '0.001',
  takerFee: '0.001',
  marketPriceBand: '0.05',
  retryUnmatched: { attempts: 3, backoffMs: 0 },
});

export const namespace = (label: string): string => `test:${label}:${randomUUID()}:`;

let counter = 0;
const nextCommandId = (): string => `cmd-${process.pid}-${++counter}`;

export function placeCmd(
  fields: Partial<PlaceCommand> & Pick<PlaceCommand, 'userID' | 'orderId' | 'side' | 'quantity'>,
): PlaceCommand {
  const price = fields.price === undefined ? null : fields.price;
  const orderType = fields.orderType ?? (price === null ? 'MARKET' : 'LIMIT');
  return {
    cmd: 'place',
    commandId: nextCommandId(),
    market: 'TST',
    orderType,
    timeInForce: orderType === 'MARKET' ? 'IOC' : 'GTC',
    selfTradePrevention: 'EXPIRE_MAKER',
    attempt: 0,
    price,
    ...fields,
  };
}

/** A LIMIT GTC place command (placeCmd's defaults), with optional other fields. */
export const limit = (
  userID: string,
  orderId: string,
  side: 'BUY' | 'SELL',
  price: number,
  quantity: number,
  more: Partial<PlaceCommand> = {},
): PlaceCommand => placeCmd({ userID, orderId, side, price, quantity, ...more });

export function cancelCmd(userID: string, orderId: string, market = 'TST'): CancelCommand {
  return { cmd: 'cancel', commandId: nextCommandId(), userID, orderId, market };
}

/** Events without `time` (Redis clock), for comparisons with the reference model. */
export const timeless = (events: MatcherEvent[]): Array<Omit<MatcherEvent, 'time'>> =>
  events.map(({ time: _time, ...rest }) => rest);

/** The event types and order ids, the shape most rules are about: "NEW a", "TRADE b"… */
export const story = (events: MatcherEvent[]): string[] =>
  events.map((e) => `${e.event} ${e.orderId}`);

/**
 * Every event in the outbox stream, in order, as the publisher reads them (an entry stands for
 * the events of one script call, stored in the applied entries it names).
 */
export async function outbox(redis: Redis, book: Book): Promise<MatcherEvent[]> {
  const entries = await redis.xrange(book.keys.events, '-', '+');
  for (const [, fields] of entries) {
    expect(fields).toHaveLength(4);
    expect([fields[0], fields[2]]).toEqual(['seq', 'cmds']);
  }
  const bodies = await outboxEventBodies(redis, book.keys.applied, book.market.name, entries);
  return bodies.flatMap((texts) => {
    expect(texts.length).toBeGreaterThan(0);
    return texts.map((t) => JSON.parse(t) as MatcherEvent);
  });
}

/** Every event matches the domain's zod schema exactly (no unknown or missing fields). */
export function expectValidEvents(events: MatcherEvent[]): void {
  for (const e of events) {
    const parsed = matcherEventSchema.parse(e);
    expect(parsed).toEqual(e);
    expect(Object.keys(parsed).sort()).toEqual(Object.keys(e).sort());
  }
}
