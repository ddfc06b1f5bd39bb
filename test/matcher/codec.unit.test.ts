// The codec against the layout, without a server: commands as the script reads them, and events
// and order records as the script writes them (its string.format templates, rendered here), back
// to what the TypeScript side decodes.
import type { CancelCommand, MatcherEvent, PlaceCommand } from '../../domain/order';
import type { OrderRecord } from '../../matcher/book';
import {
  at,
  bookMember,
  decodeEvents,
  decodeOrder,
  encodeCommand,
  eventKinds,
  inProgressEntry,
  luaScript,
  memberOrderKey,
  records,
  type RecordName,
} from '../../matcher/codec';

/** The value of a constant as the script sees it. */
const lua = (name: string): string => luaScript(name);

/** The constant naming a field's Lua position: TRADE lastQty → TRADE_LAST_QTY. */
const position = (name: RecordName, field: string): number =>
  Number(lua(`${name}_${field.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase()}`));

/** A Lua string literal's text. */
const luaText = (literal: string): string => {
  expect(literal).toMatch(/^'.*'$/);
  return literal.slice(1, -1).replace(/\\(.)/g, '$1');
};

/**
 * What the script writes for `values` (by field name): each field set at its Lua position, then
 * the record's FORMAT applied with string.format's %d and %s. `json` fields arrive encoded, as
 * the script's encode() leaves them.
 */
function scriptWrites(name: RecordName, values: Record<string, unknown>): string {
  const fields = records[name] as Record<string, 'int' | 'word' | 'json'>;
  const slots: unknown[] = [];
  for (const [field, type] of Object.entries(fields)) {
    const value = values[field];
    slots[position(name, field) - 1] = type === 'json' ? JSON.stringify(value) : value;
  }
  expect(slots).toHaveLength(Number(lua(`${name}_FIELDS`)));
  let i = 0;
  return luaText(lua(`${name}_FORMAT`)).replace(/%[ds]/g, (spec) => {
    const value = slots[i++];
    if (spec === '%d') expect(Number.isSafeInteger(value)).toBe(true);
    return String(value);
  });
}

const head = {
  seq: 41,
  market: 'BTC',
  userID: 'u"1/ü',
  orderId: 'o\\1',
  orderSeq: 3,
  commandId: 'cmd-7',
  time: 1_767_225_600_000,
};

/** One event of every kind, its fields in the order the codec builds them. */
const events: MatcherEvent[] = [
  {
    event: 'NEW',
    ...head,
    side: 'BUY',
    orderType: 'LIMIT',
    timeInForce: 'GTC',
    price: 2 ** 53 - 1,
    quantity: 5,
  },
  {
    event: 'NEW',
    ...head,
    side: 'SELL',
    orderType: 'MARKET',
    timeInForce: 'IOC',
    price: null,
    quantity: 2,
  },
  {
    event: 'TRADE',
    ...head,
    tradeId: 'BTC-12',
    side: 'SELL',
    lastQty: 2,
    lastPrice: 10_000_00,
    maker: true,
    filledQty: 4,
    leavesQty: 1,
  },
  {
    event: 'TRADE',
    ...head,
    tradeId: 'BTC-13',
    side: 'BUY',
    lastQty: 1,
    lastPrice: 99,
    maker: false,
    filledQty: 1,
    leavesQty: 0,
  },
  { event: 'CANCELED', ...head, filledQty: 0 },
  {
    event: 'EXPIRED',
    ...head,
    reason: 'NO_LIQUIDITY',
    filledQty: 1,
    expiredQty: 4,
  },
  {
    event: 'REJECTED',
    ...head,
    market: 'ETH',
    reason: 'UNKNOWN_MARKET',
    msg: 'no book for market ETH',
  },
  {
    event: 'CANCEL_REJECTED',
    ...head,
    orderSeq: 0,
    reason: 'UNKNOWN_ORDER',
    msg: 'no open order o\\1 of u"1/ü',
  },
];

/** The fields the script has for an event: the kind's code, tradeSeq, maker as 1|0. */
function scriptValues(e: MatcherEvent): Record<string, unknown> {
  const values: Record<string, unknown> = { ...e, kind: eventKinds.indexOf(e.event) + 1 };
  if (e.event === 'TRADE') {
    values.tradeSeq = Number(e.tradeId.slice(e.market.length + 1));
    values.maker = e.maker ? 1 : 0;
  }
  return values;
}

test('every event kind, as the script writes it, decodes to the event (fields in order)', () => {
  const texts = events.map((e) => scriptWrites(e.event, scriptValues(e)));
  const decoded = decodeEvents(`[${texts.join(',')}]`, head.commandId, head.market);
  expect(decoded).toStrictEqual(events);
  // The published message is JSON.stringify of the event: its field order is part of it.
  expect(decoded.map((e) => JSON.stringify(e))).toEqual(events.map((e) => JSON.stringify(e)));
  expect(new Set(events.map((e) => e.event))).toEqual(new Set(eventKinds));
});

test('an in-progress entry holds the events so far', () => {
  const texts = events.slice(0, 3).map((e) => scriptWrites(e.event, scriptValues(e)));
  const entry = `${luaText(lua('IN_PROGRESS'))}${texts.join(',')}]}`;
  expect(entry.startsWith(inProgressEntry)).toBe(true);
  expect(decodeEvents(entry, head.commandId, head.market)).toStrictEqual(events.slice(0, 3));
});

test('unreadable entries and events are errors, not guesses', () => {
  expect(() => decodeEvents('{"queued":true}', 'c', 'BTC')).toThrow(/unreadable applied entry/);
  expect(() => decodeEvents('[[9,1,1,1,"u","o"]]', 'c', 'BTC')).toThrow(/unreadable event/);
  expect(() => decodeOrder('{"side":"BUY"}')).toThrow(/unreadable order record/);
});

const place: PlaceCommand = {
  cmd: 'place',
  commandId: 'cmd-1',
  market: 'BTC',
  userID: 'u1',
  orderId: 'o1',
  side: 'BUY',
  orderType: 'LIMIT',
  timeInForce: 'GTC',
  selfTradePrevention: 'EXPIRE_MAKER',
  price: 2 ** 53 - 1,
  quantity: 3,
  attempt: 2,
  issuedAt: 1_767_225_600_000,
};
const cancel: CancelCommand = {
  cmd: 'cancel',
  commandId: 'cmd-2',
  market: 'BTC',
  userID: 'u1',
  orderId: 'o1',
};

/** A command record read the way the script reads it: each field at its Lua position. */
function scriptReads(name: 'PLACE' | 'CANCEL', text: string): Record<string, unknown> {
  const a = JSON.parse(text) as unknown[];
  expect(a).toHaveLength(Number(lua(`${name}_FIELDS`)));
  expect(a[Number(lua('COMMAND_CMD')) - 1]).toBe(luaText(lua(`CMD_${name}`)));
  return Object.fromEntries(
    Object.keys(records[name]).map((field) => [field, a[position(name, field) - 1]]),
  );
}

test('every command kind reaches the script with each field where the layout puts it', () => {
  expect(scriptReads('PLACE', encodeCommand(place))).toEqual({ ...place, cmd: 'p' });
  expect(scriptReads('CANCEL', encodeCommand(cancel))).toEqual({ ...cancel, cmd: 'c' });
  // Optional fields go as null, so a record always has all its fields.
  const { issuedAt: _issuedAt, ...noIssuedAt } = place;
  expect(scriptReads('PLACE', encodeCommand({ ...noIssuedAt, price: null }))).toEqual({
    ...noIssuedAt,
    cmd: 'p',
    price: null,
    issuedAt: null,
  });
  // A kind the script does not know goes as the object, which the script refuses.
  const amend = { ...cancel, cmd: 'amend' } as unknown as CancelCommand;
  expect(JSON.parse(encodeCommand(amend))).toEqual(amend);
});

test('order records, resting or not, as the script writes them decode to the record', () => {
  const resting: OrderRecord = {
    userID: 'u"1/ü',
    orderId: 'o|1\\',
    side: 'SELL',
    orderType: 'LIMIT',
    timeInForce: 'GTC',
    selfTradePrevention: 'EXPIRE_BOTH',
    price: 2 ** 53 - 1,
    quantity: 9,
    filled: 4,
    status: 'PARTIALLY_FILLED',
    orderSeq: 3,
    attempt: 0,
    member: bookMember(12, 'u"1/ü/o|1\\'),
    reason: null,
  };
  const expired: OrderRecord = {
    ...resting,
    orderType: 'MARKET',
    timeInForce: 'IOC',
    price: null,
    status: 'EXPIRED',
    attempt: 2,
    member: null,
    reason: 'NO_LIQUIDITY',
  };
  for (const record of [resting, expired]) {
    const written = scriptWrites('ORDER', {
      ...record,
      bookSeq: record.member === null ? 0 : Number(record.member.slice(0, 16)),
      reason: record.reason ?? '',
    });
    expect(decodeOrder(written)).toStrictEqual(record);
  }
  expect(resting.member).toBe('0000000000000012:u"1/ü/o|1\\');
  expect(memberOrderKey(resting.member!)).toBe('u"1/ü/o|1\\');
  // The script takes the key from the member the same way.
  expect(resting.member!.slice(Number(lua('MEMBER_KEY_AT')) - 1)).toBe('u"1/ü/o|1\\');
});

test('history entries and sweep state keep their fields where the layout puts them', () => {
  const cases: Array<[RecordName, Record<string, unknown>]> = [
    ['HISTORY', { time: 5, eventSeq: 9, commandIds: ['a', 'b'], orderKeys: ['u/o'] }],
    ['SWEEP', { commandId: 'c', orderKey: 'u/o', phase: 'fok', cursor: 3, acc: 7 }],
  ];
  for (const [name, values] of cases) {
    const written = JSON.parse(scriptWrites(name, values)) as unknown[];
    const positions = at[name] as Record<string, number>;
    for (const [field, value] of Object.entries(values))
      expect(written[positions[field]!]).toEqual(value);
  }
});

test('luaScript fills in the layout constants only, and keeps every line where it was', () => {
  const source = ['local q = rec[ORDER_QUANTITY] -- ORDER_QUANTITY', 'return MAX_SAFE, x'].join(
    '\n',
  );
  expect(luaScript(source)).toBe(
    [
      `local q = rec[${at.ORDER.quantity + 1}] -- ${at.ORDER.quantity + 1}`,
      'return MAX_SAFE, x',
    ].join('\n'),
  );
  expect(lua('KIND_TRADE')).toBe(String(eventKinds.indexOf('TRADE') + 1));
});
