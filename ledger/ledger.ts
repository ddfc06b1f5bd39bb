// The typed wrapper around the ledger's Lua script: every user's balances, holds and journal in
// Redis. Every balance change is one call of ledger/lua/apply.lua on that user's keys (one hash
// tag, so one Redis Cluster slot): atomic, exactly once per changeId (a repeat answers the first
// outcome, refusals included), with a journal entry. Callers compute the amounts; the ledger only
// checks that no free, locked or hold remaining goes below zero, and applies them. A change may
// also close holds: whatever they still have goes back to free, without the caller knowing it.
// test/ledger/referenceLedger.ts states the same rules as plain TypeScript.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Cluster, type Redis } from 'ioredis';
import { z } from 'zod';
import { assetName } from '../domain/assets';
import type { BalanceDelta, HoldDelta } from '../domain/balances';

export type LedgerKind = 'deposit' | 'grant' | 'withdrawal' | 'hold' | 'settle' | 'release' | 'fee';
export const ledgerKinds = [
  'deposit',
  'grant',
  'withdrawal',
  'hold',
  'settle',
  'release',
  'fee',
] as const satisfies readonly LedgerKind[];

// The changes are the domain's (domain/balances.ts computes them); the ledger checks and applies.
export type { BalanceDelta, HoldDelta } from '../domain/balances';

export interface LedgerChange {
  userID: string;
  /** Idempotency key within this user's ledger, e.g. `hold:<orderId>`, `settle:<tradeId>:BUY`. */
  changeId: string;
  kind: LedgerKind;
  /** What it is about: order id, trade id, deposit/withdrawal id. */
  ref: string;
  /** May be empty when the change closes holds (a cancel's release). */
  balances: BalanceDelta[];
  holds?: HoldDelta[];
  /**
   * Holds to close after the deltas: each one's remaining (after this change's own hold delta)
   * moves from locked to free and the hold goes. A missing or empty hold releases nothing.
   */
  closeHolds?: string[];
}

export interface Balance {
  asset: string;
  free: bigint;
  locked: bigint;
}

/** What a closed hold gave back to free. */
export interface HoldRelease {
  holdId: string;
  asset: string;
  amount: bigint;
}

export type LedgerResult =
  | {
      applied: true;
      repeated: boolean;
      /** The user's change sequence (`_seq`): clients order balance pushes by it. */
      seq: number;
      /**
       * After the change, only the assets it touched, in the change's order, then the assets
       * only its closes touched.
       */
      balances: Balance[];
      /** The closed holds that released more than 0, in the order named. */
      released: HoldRelease[];
    }
  | {
      applied: false;
      repeated: boolean;
      reason: 'INSUFFICIENT_BALANCE';
      asset: string;
      field: 'free' | 'locked';
      available: bigint;
      needed: bigint;
    }
  | {
      applied: false;
      repeated: boolean;
      reason: 'HOLD_INSUFFICIENT';
      holdId: string;
      available: bigint;
      needed: bigint;
    }
  | { applied: false; repeated: boolean; reason: 'HOLD_ASSET_MISMATCH'; holdId: string };

export interface JournalChange {
  asset: string;
  freeBefore: bigint;
  freeAfter: bigint;
  lockedBefore: bigint;
  lockedAfter: bigint;
}

/** A hold the change touched (a delta or a close); `after` is 0 for a removed hold. */
export interface JournalHold {
  holdId: string;
  asset: string;
  before: bigint;
  after: bigint;
}

export interface JournalEntry {
  /** The stream entry id: orders the user's changes like `seq`. */
  id: string;
  changeId: string;
  kind: LedgerKind;
  ref: string;
  /** Redis time of the change, ms. */
  time: number;
  changes: JournalChange[];
  /** The hold deltas' holds in order, then the closed holds without a delta. */
  holds: JournalHold[];
}

export interface Ledger {
  /** Applies the change once per (userID, changeId); throws LedgerInputError on invalid input. */
  apply(change: LedgerChange): Promise<LedgerResult>;
  /** Every asset with a nonzero free or locked, sorted by asset. */
  balances(userID: string): Promise<Balance[]>;
  holds(userID: string): Promise<Map<string, { asset: string; amount: bigint }>>;
  /** Entries in order, after `after` (an entry id, exclusive); all of them unless `count`. */
  journal(userID: string, opts?: { count?: number; after?: string }): Promise<JournalEntry[]>;
  /** Every user with a balances hash, sorted (SCAN of every master: checkers, operator CLI). */
  users(): Promise<string[]>;
}

/** The Redis keys of one user's ledger; all share the hash tag `{acct:U}`. */
export const ledgerKeys = (userID: string) => {
  const prefix = `{acct:${userID}}:`;
  return {
    balances: `${prefix}balances`,
    holds: `${prefix}holds`,
    applied: `${prefix}applied`,
    journal: `${prefix}journal`,
  };
};

/** A change the wrapper refuses to send: `field` is the path of the first bad value. */
export class LedgerInputError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`ledger change: ${field}: ${message}`);
    this.name = 'LedgerInputError';
  }
}

// The script keeps stored values within int64 (HINCRBY-safe); a delta past it is never valid.
const int64Max = (1n << 63n) - 1n;

const idText = z.string().min(1).max(128).regex(/^\S+$/, 'must not contain whitespace');
const amount = z.bigint().min(-int64Max).max(int64Max);

// Repeats of an asset or a hold within one change are refused: the caller nets its amounts.
const changeSchema = z
  .strictObject({
    userID: idText,
    changeId: idText,
    kind: z.enum(ledgerKinds),
    ref: idText,
    balances: z
      .array(z.strictObject({ asset: assetName, free: amount, locked: amount }))
      .max(100)
      .superRefine((deltas, ctx) => noRepeats(deltas, ctx, 'asset')),
    holds: z
      .array(z.strictObject({ holdId: idText, asset: assetName, amount }))
      .max(100)
      .superRefine((deltas, ctx) => noRepeats(deltas, ctx, 'holdId'))
      .optional(),
    closeHolds: z
      .array(idText)
      .max(100)
      .superRefine((ids, ctx) => noRepeats(ids, ctx))
      .optional(),
  })
  // A change changes or names something: a cancel's release may only name the hold to close.
  .superRefine((change, ctx) => {
    if (change.balances.length === 0 && (change.closeHolds ?? []).length === 0)
      ctx.addIssue({
        code: 'custom',
        path: ['balances'],
        message: 'needs at least one balance delta or a hold to close',
      });
  });

/** Items keyed by their field `key`, or (without) the ids themselves. */
function noRepeats<T>(items: readonly T[], ctx: z.RefinementCtx, key?: keyof T & string): void {
  const seen = new Set<T[keyof T] | T>();
  items.forEach((item, i) => {
    const value = key === undefined ? item : item[key];
    if (seen.has(value))
      ctx.addIssue({
        code: 'custom',
        path: key === undefined ? [i] : [i, key],
        message: `repeats ${String(value)}`,
      });
    seen.add(value);
  });
}

function checkChange(change: LedgerChange): void {
  const parsed = changeSchema.safeParse(change);
  if (parsed.success) return;
  const issue = parsed.error.issues[0];
  const field = issue?.path.map(String).join('.') || 'change';
  throw new LedgerInputError(field, issue?.message ?? 'invalid');
}

// What the script stores and answers: amounts as decimal strings (exact), no `repeated`.
const integerText = z
  .string()
  .regex(/^-?\d+$/)
  .transform((s) => BigInt(s));
const storedResultSchema = z.union([
  z.object({
    applied: z.literal(true),
    seq: z.number(),
    balances: z.array(z.object({ asset: z.string(), free: integerText, locked: integerText })),
    released: z.array(z.object({ holdId: z.string(), asset: z.string(), amount: integerText })),
  }),
  z.object({
    applied: z.literal(false),
    reason: z.literal('INSUFFICIENT_BALANCE'),
    asset: z.string(),
    field: z.enum(['free', 'locked']),
    available: integerText,
    needed: integerText,
  }),
  z.object({
    applied: z.literal(false),
    reason: z.literal('HOLD_INSUFFICIENT'),
    holdId: z.string(),
    available: integerText,
    needed: integerText,
  }),
  z.object({
    applied: z.literal(false),
    reason: z.literal('HOLD_ASSET_MISMATCH'),
    holdId: z.string(),
  }),
]);

const decodeResult = (json: string, repeated: boolean): LedgerResult => ({
  ...storedResultSchema.parse(JSON.parse(json)),
  repeated,
});

const journalChangesSchema = z.array(
  z.object({
    asset: z.string(),
    freeBefore: integerText,
    freeAfter: integerText,
    lockedBefore: integerText,
    lockedAfter: integerText,
  }),
);

const journalHoldsSchema = z.array(
  z.object({ holdId: z.string(), asset: z.string(), before: integerText, after: integerText }),
);

function decodeEntry([id, flat]: [string, string[]]): JournalEntry {
  const f = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) f.set(flat[i]!, flat[i + 1]!);
  const json = (name: string): unknown => {
    const text = f.get(name);
    if (text === undefined) throw new Error(`journal entry ${id} has no ${name}`);
    return JSON.parse(text);
  };
  return {
    id,
    changeId: f.get('changeId') ?? '',
    kind: z.enum(ledgerKinds).parse(f.get('kind')),
    ref: f.get('ref') ?? '',
    time: Number(f.get('time')),
    changes: journalChangesSchema.parse(json('changes')),
    holds: journalHoldsSchema.parse(json('holds')),
  };
}

const applySource = readFileSync(path.join(__dirname, 'lua', 'apply.lua'), 'utf8');
/** The SHA1 of apply.lua (SCRIPT EXISTS tells whether Redis has it cached). */
export const applyScriptSha = createHash('sha1').update(applySource).digest('hex');

const isNoScript = (err: unknown): boolean =>
  err instanceof Error && err.message.startsWith('NOSCRIPT');

const balancesPattern = ledgerKeys('*').balances;
const [balancesPrefix, balancesSuffix] = balancesPattern.split('*') as [string, string];
const journalPage = 1000;

export function openLedger(redis: Redis | Cluster): Ledger {
  // Script cache lost (restart, failover, SCRIPT FLUSH): EVAL sends the source to the node that
  // owns the keys and caches it there, on a Cluster too (SCRIPT LOAD would go to any node). A
  // call that met NOSCRIPT did not run, so sending it again is still exactly once.
  const run = async (keys: string[], args: string[]): Promise<unknown> => {
    try {
      return await redis.evalsha(applyScriptSha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!isNoScript(err)) throw err;
      return redis.eval(applySource, keys.length, ...keys, ...args);
    }
  };

  const scanNode = async (node: Redis, found: Set<string>): Promise<void> => {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', balancesPattern, 'COUNT', 1000);
      cursor = next;
      for (const key of keys)
        if (key.startsWith(balancesPrefix) && key.endsWith(balancesSuffix))
          found.add(key.slice(balancesPrefix.length, key.length - balancesSuffix.length));
    } while (cursor !== '0');
  };

  return {
    async apply(change) {
      checkChange(change);
      const k = ledgerKeys(change.userID);
      const args = [change.changeId, change.kind, change.ref, String(change.balances.length)];
      for (const b of change.balances) args.push(b.asset, b.free.toString(), b.locked.toString());
      const holds = change.holds ?? [];
      args.push(String(holds.length));
      for (const h of holds) args.push(h.holdId, h.asset, h.amount.toString());
      const closes = change.closeHolds ?? [];
      args.push(String(closes.length), ...closes);
      const [repeated, json] = (await run([k.balances, k.holds, k.applied, k.journal], args)) as [
        number,
        string,
      ];
      return decodeResult(json, repeated === 1);
    },

    async balances(userID) {
      const fields = await redis.hgetall(ledgerKeys(userID).balances);
      const byAsset = new Map<string, Balance>();
      for (const [field, value] of Object.entries(fields)) {
        const sep = field.lastIndexOf(':');
        const which = field.slice(sep + 1);
        if (sep < 0 || (which !== 'free' && which !== 'locked')) continue; // _seq
        const asset = field.slice(0, sep);
        const balance = byAsset.get(asset) ?? { asset, free: 0n, locked: 0n };
        balance[which] = BigInt(value);
        byAsset.set(asset, balance);
      }
      return [...byAsset.values()]
        .filter((b) => b.free !== 0n || b.locked !== 0n)
        .sort((a, b) => (a.asset < b.asset ? -1 : a.asset > b.asset ? 1 : 0));
    },

    async holds(userID) {
      const fields = await redis.hgetall(ledgerKeys(userID).holds);
      const holds = new Map<string, { asset: string; amount: bigint }>();
      for (const [holdId, value] of Object.entries(fields)) {
        const sep = value.indexOf(':');
        holds.set(holdId, { asset: value.slice(0, sep), amount: BigInt(value.slice(sep + 1)) });
      }
      return holds;
    },

    async journal(userID, opts = {}) {
      if (opts.count !== undefined && !(Number.isSafeInteger(opts.count) && opts.count >= 0))
        throw new RangeError(`journal count must be a non-negative integer, got ${opts.count}`);
      const key = ledgerKeys(userID).journal;
      const entries: JournalEntry[] = [];
      let start = opts.after === undefined ? '-' : `(${opts.after}`;
      for (;;) {
        const want = Math.min(journalPage, (opts.count ?? Infinity) - entries.length);
        if (want <= 0) return entries;
        const page = (await redis.xrange(key, start, '+', 'COUNT', want)) as Array<
          [string, string[]]
        >;
        entries.push(...page.map(decodeEntry));
        if (page.length < want) return entries;
        start = `(${page[page.length - 1]![0]}`;
      }
    },

    async users() {
      const found = new Set<string>();
      const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis];
      await Promise.all(nodes.map((node) => scanNode(node, found)));
      return [...found].sort();
    },
  };
}
