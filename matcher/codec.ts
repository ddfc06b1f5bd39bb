// The compact records the matcher keeps in Redis and exchanges with its Lua scripts, and their
// codec. `records` is the one definition of every positional record: TypeScript reads and writes
// them through `at`, and the scripts through constants that luaScript() fills in when they are
// loaded (`rec[ORDER_QUANTITY]`, `fmt(TRADE_FORMAT, …)`), so neither side hard-codes a position.
import type {
  ExpireReason,
  MatcherCommand,
  MatcherEvent,
  OrderStatus,
  OrderType,
  RejectCode,
  SelfTradePrevention,
  Side,
  TimeInForce,
} from '../domain/order';
import { orderKeyFor } from '../domain/order';
import type { OrderRecord } from './book';

/**
 * How a script writes a field (TypeScript writes everything with JSON.stringify): `int` as
 * '%d' (exact up to 2^53, where cjson would print 14 digits), `word` as '"%s"' (a validated
 * name that needs no escaping), `json` as '%s' (text the script has encoded itself: ids,
 * messages, arrays, or null).
 */
type FieldType = 'int' | 'word' | 'json';

const commandHead = {
  cmd: 'word',
  commandId: 'json',
  market: 'json',
  userID: 'json',
  orderId: 'json',
} as const;

const eventHead = {
  kind: 'int',
  seq: 'int',
  orderSeq: 'int',
  time: 'int',
  userID: 'json',
  orderId: 'json',
} as const;

/** Every positional record, its fields in order (a JSON array each). */
export const records = {
  /** A command as apply.lua's argument (a script call takes several). */
  COMMAND: commandHead,
  PLACE: {
    ...commandHead,
    side: 'word',
    orderType: 'word',
    timeInForce: 'word',
    selfTradePrevention: 'word',
    price: 'json',
    quantity: 'int',
    attempt: 'int',
    issuedAt: 'json',
  },
  CANCEL: commandHead,
  /**
   * An event in an applied entry. Its command id is the entry's key and its market the book's,
   * except REJECTED and CANCEL_REJECTED, which carry the command's market (it may name another).
   */
  EVENT: eventHead,
  NEW: {
    ...eventHead,
    side: 'word',
    orderType: 'word',
    timeInForce: 'word',
    price: 'json',
    quantity: 'int',
  },
  TRADE: {
    ...eventHead,
    /** tradeId is '<market>-<tradeSeq>'. */
    tradeSeq: 'int',
    side: 'word',
    lastQty: 'int',
    lastPrice: 'int',
    /** 1 maker, 0 taker. */
    maker: 'int',
    filledQty: 'int',
    leavesQty: 'int',
  },
  CANCELED: { ...eventHead, filledQty: 'int' },
  EXPIRED: { ...eventHead, reason: 'word', filledQty: 'int', expiredQty: 'int' },
  REJECTED: { ...eventHead, reason: 'word', msg: 'json', market: 'json' },
  CANCEL_REJECTED: { ...eventHead, reason: 'word', msg: 'json', market: 'json' },
  /** An order in the orders hash, under its order key. */
  ORDER: {
    side: 'word',
    orderType: 'word',
    timeInForce: 'word',
    selfTradePrevention: 'word',
    price: 'json',
    quantity: 'int',
    filled: 'int',
    status: 'word',
    orderSeq: 'int',
    attempt: 'int',
    /** 0 when the order is not on the book, else its book member's bookSeq. */
    bookSeq: 'int',
    /** '' when none. */
    reason: 'word',
    userID: 'json',
    orderId: 'json',
  },
  /** A history entry: what one call finished, forgotten together after the retention time. */
  HISTORY: { time: 'int', eventSeq: 'int', commandIds: 'json', orderKeys: 'json' },
  /** Where a sweep stopped for lack of budget (the counters' `pending`), for the next call. */
  SWEEP: { commandId: 'json', orderKey: 'json', phase: 'word', cursor: 'int', acc: 'int' },
} as const satisfies Record<string, Record<string, FieldType>>;

export type RecordName = keyof typeof records;

/** The 0-based position of every field of every record: `at.TRADE.lastQty`. */
export const at = Object.fromEntries(
  Object.entries(records).map(([name, fields]) => [
    name,
    Object.fromEntries(Object.keys(fields).map((field, i) => [field, i])),
  ]),
) as { [R in RecordName]: { [F in keyof (typeof records)[R]]: number } };

/** The book's keys in the order the scripts take them as KEYS (Lua: KEYS[KEY_ORDERS]). */
export const scriptKeys = [
  'bids',
  'asks',
  'orders',
  'applied',
  'events',
  'counters',
  'config',
  'queue',
  'history',
] as const;

/** The event kinds, by their code in a compact event (`kind`: 1 NEW … 6 CANCEL_REJECTED). */
export const eventKinds = [
  'NEW',
  'TRADE',
  'CANCELED',
  'EXPIRED',
  'REJECTED',
  'CANCEL_REJECTED',
] as const satisfies ReadonlyArray<MatcherEvent['event'] & RecordName>;

/** The command kinds, by their code in a command's `cmd` field. */
export const commandKinds = { place: 'p', cancel: 'c' } as const;

/**
 * An applied entry is '[…events]' once its command is finished; while a sweep is pending it is
 * inProgressEntry + the events so far + ']}', and while the command waits in the queue, queuedEntry.
 */
export const inProgressEntry = '{"inProgress":true,"events":[';
export const queuedEntry = '{"queued":true}';

/** A resting order's member in its side's sorted set: bookSeq in 16 digits, ':', order key. */
const bookSeqDigits = 16;

export const bookMember = (bookSeq: number, orderKey: string): string =>
  `${String(bookSeq).padStart(bookSeqDigits, '0')}:${orderKey}`;

/** The order key of a book member. */
export const memberOrderKey = (member: string): string => member.slice(bookSeqDigits + 1);

const screaming = (name: string) => name.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase();

function luaString(text: string): string {
  if (!/^[\x20-\x7e]*$/.test(text)) throw new Error(`not a plain Lua string: ${text}`);
  return `'${text.replace(/[\\']/g, '\\$&')}'`;
}

const templates: Record<FieldType, string> = { int: '%d', word: '"%s"', json: '%s' };

/** Every constant the scripts may use, with its Lua value. */
function luaConstants(): Map<string, string> {
  const constants = new Map<string, string>();
  for (const [name, fields] of Object.entries(records)) {
    const types = Object.values(fields) as FieldType[];
    Object.keys(fields).forEach((field, i) =>
      constants.set(`${name}_${screaming(field)}`, String(i + 1)),
    );
    constants.set(`${name}_FIELDS`, String(types.length));
    constants.set(`${name}_FORMAT`, luaString(`[${types.map((t) => templates[t]).join(',')}]`));
  }
  scriptKeys.forEach((key, i) => constants.set(`KEY_${screaming(key)}`, String(i + 1)));
  eventKinds.forEach((kind, i) => constants.set(`KIND_${kind}`, String(i + 1)));
  for (const [kind, code] of Object.entries(commandKinds))
    constants.set(`CMD_${screaming(kind)}`, luaString(code));
  constants.set('IN_PROGRESS', luaString(inProgressEntry));
  constants.set('QUEUED', luaString(queuedEntry));
  constants.set('MEMBER_FORMAT', luaString(`%0${bookSeqDigits}d:%s`));
  constants.set('MEMBER_KEY_AT', String(bookSeqDigits + 2));
  return constants;
}

const constants = luaConstants();

/**
 * A script as it is loaded: each layout constant it names (`ORDER_QUANTITY`, `TRADE_FORMAT`)
 * replaced by its value. Literals, not locals: Redis runs the script's chunk on every call, and
 * each local a function captures would be set up again each time. Lines stay where they are in
 * the file; a name left unreplaced is an undefined global, which Redis refuses at once.
 */
export function luaScript(source: string): string {
  return source.replace(/\b[A-Z][A-Z0-9_]*\b/g, (name) => constants.get(name) ?? name);
}

/**
 * A command as apply.lua's argument (a PLACE or CANCEL record). Values keep their JSON types, so
 * the script validates them as sent; an unknown kind goes as the object, which the script refuses.
 */
export function encodeCommand(cmd: MatcherCommand): string {
  if (cmd.cmd === 'place') {
    const r: unknown[] = placeFields.map((f) => cmd[f] ?? null);
    r[at.PLACE.cmd] = commandKinds.place;
    return JSON.stringify(r);
  }
  if (cmd.cmd === 'cancel') {
    const r: unknown[] = cancelFields.map((f) => cmd[f]);
    r[at.CANCEL.cmd] = commandKinds.cancel;
    return JSON.stringify(r);
  }
  return JSON.stringify(cmd);
}

const placeFields = Object.keys(records.PLACE) as Array<keyof typeof records.PLACE>;
const cancelFields = Object.keys(records.CANCEL) as Array<keyof typeof records.CANCEL>;

/**
 * The events of an applied entry, in order: a finished entry or an in-progress one (see
 * inProgressEntry), named by the entry's command and the book's market.
 */
export function decodeEvents(entry: string, commandId: string, market: string): MatcherEvent[] {
  const parsed = JSON.parse(entry) as unknown[][] | { events?: unknown[][] };
  const events = Array.isArray(parsed) ? parsed : parsed.events;
  if (!Array.isArray(events))
    throw new Error(`unreadable applied entry of ${commandId}: ${entry.slice(0, 200)}`);
  return events.map((e) => decodeEvent(e, commandId, market));
}

function decodeEvent(e: unknown[], commandId: string, market: string): MatcherEvent {
  const h = at.EVENT;
  const event = eventKinds[(e[h.kind] as number) - 1];
  const base = {
    seq: e[h.seq] as number,
    market,
    userID: e[h.userID] as string,
    orderId: e[h.orderId] as string,
    orderSeq: e[h.orderSeq] as number,
    commandId,
    time: e[h.time] as number,
  };
  switch (event) {
    case 'NEW': {
      const f = at.NEW;
      return {
        event,
        ...base,
        side: e[f.side] as Side,
        orderType: e[f.orderType] as OrderType,
        timeInForce: e[f.timeInForce] as TimeInForce,
        price: e[f.price] as number | null,
        quantity: e[f.quantity] as number,
      };
    }
    case 'TRADE': {
      const f = at.TRADE;
      return {
        event,
        ...base,
        tradeId: `${market}-${e[f.tradeSeq] as number}`,
        side: e[f.side] as Side,
        lastQty: e[f.lastQty] as number,
        lastPrice: e[f.lastPrice] as number,
        maker: e[f.maker] === 1,
        filledQty: e[f.filledQty] as number,
        leavesQty: e[f.leavesQty] as number,
      };
    }
    case 'CANCELED':
      return { event, ...base, filledQty: e[at.CANCELED.filledQty] as number };
    case 'EXPIRED': {
      const f = at.EXPIRED;
      return {
        event,
        ...base,
        reason: e[f.reason] as ExpireReason,
        filledQty: e[f.filledQty] as number,
        expiredQty: e[f.expiredQty] as number,
      };
    }
    case 'REJECTED':
    case 'CANCEL_REJECTED': {
      const f = at[event];
      const rest = { ...base, market: e[f.market] as string };
      const msg = e[f.msg] as string;
      return event === 'REJECTED'
        ? { event, ...rest, reason: e[f.reason] as RejectCode, msg }
        : { event, ...rest, reason: e[f.reason] as 'UNKNOWN_ORDER', msg };
    }
    default:
      throw new Error(`unreadable event of ${commandId}: ${JSON.stringify(e).slice(0, 200)}`);
  }
}

/** An order record as stored in the orders hash (an ORDER record). */
export function decodeOrder(stored: string): OrderRecord {
  const r = JSON.parse(stored) as unknown[];
  const f = at.ORDER;
  if (!Array.isArray(r) || r.length !== Object.keys(records.ORDER).length)
    throw new Error(`unreadable order record: ${stored.slice(0, 200)}`);
  const userID = r[f.userID] as string;
  const orderId = r[f.orderId] as string;
  const bookSeq = r[f.bookSeq] as number;
  const reason = r[f.reason] as ExpireReason | '';
  return {
    userID,
    orderId,
    side: r[f.side] as Side,
    orderType: r[f.orderType] as OrderType,
    timeInForce: r[f.timeInForce] as TimeInForce,
    selfTradePrevention: r[f.selfTradePrevention] as SelfTradePrevention,
    price: r[f.price] as number | null,
    quantity: r[f.quantity] as number,
    filled: r[f.filled] as number,
    status: r[f.status] as OrderStatus,
    orderSeq: r[f.orderSeq] as number,
    attempt: r[f.attempt] as number,
    member: bookSeq === 0 ? null : bookMember(bookSeq, orderKeyFor(userID, orderId)),
    reason: reason === '' ? null : reason,
  };
}
