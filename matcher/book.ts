// The typed wrapper around the matcher's Lua scripts: one market's order book in Redis.
// Every state change happens inside matcher/lua/apply.lua: atomic, exactly once per command id,
// events appended to the outbox stream by the same call. This side only sends and reads. Rules:
// - price-time priority, trades at the maker's price; LIMIT GTC rests its remainder, IOC and
//   MARKET expire it (NO_LIQUIDITY), FOK fills whole or expires untouched (FOK_NOT_FILLABLE), a
//   LIMIT_MAKER that would cross is rejected (WOULD_CROSS);
// - self-trade prevention by the taker's mode when the next maker is the same user;
// - a place for a known order id is a DUPLICATE_ORDER_ID, except the retry of an unmatched
//   MARKET/IOC remainder (later attempt, same fields, quantity = remainder), which continues it;
// - at most maxMatchesPerCall makers per script call: a longer sweep is saved and continued, and
//   commands arriving meanwhile queue behind it, so nothing interleaves;
// - one script call may carry several commands of the book (applyBatch): they apply in order,
//   sharing the call's budget, exactly as if sent one by one.
// test/support/referenceBook.ts states the same rules as plain TypeScript.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type Redis from 'ioredis';
import type { Market } from '../domain/markets';
import {
  orderKeyFor,
  type CancelCommand,
  type ExpireReason,
  type MatcherCommand,
  type MatcherEvent,
  type OrderSpec,
  type OrderStatus,
  type PlaceCommand,
} from '../domain/order';
import {
  decodeEvents,
  decodeOrder,
  encodeCommand,
  luaScript,
  memberOrderKey,
  scriptKeys,
} from './codec';

/** Maker matches or removals one script call may do before it hands back "continue". */
export const defaultMaxMatchesPerCall = 200;

/**
 * How long a finished command's applied entry (its first outcome, for redeliveries) and a closed
 * order's record are kept; also until their events are published. A command redelivered later
 * still changes nothing: a cancel finds no open order (CANCEL_REJECTED), a place issued before
 * what was forgotten is refused (STALE_COMMAND). See "Retention" in lua/apply.lua.
 */
export const defaultAppliedRetentionMs = 24 * 60 * 60 * 1000;

/** Commands one script call carries at most; applyBatch splits longer batches. */
export const maxCommandsPerCall = 50;

/** The Redis keys of one market's book; all share the market's hash tag (one cluster slot). */
export interface BookKeys extends Record<(typeof scriptKeys)[number], string> {
  bids: string;
  asks: string;
  orders: string;
  applied: string;
  events: string;
  counters: string;
  config: string;
  /** Commands that arrived while a sweep was pending, applied next in arrival order. */
  queue: string;
  /** When which commands finished: their applied entries go after the retention time. */
  history: string;
}

export function bookKeys(market: string, namespace = ''): BookKeys {
  const prefix = `${namespace}{${market}}:`;
  return {
    bids: `${prefix}bids`,
    asks: `${prefix}asks`,
    orders: `${prefix}orders`,
    applied: `${prefix}applied`,
    events: `${prefix}events`,
    counters: `${prefix}counters`,
    config: `${prefix}config`,
    queue: `${prefix}queue`,
    history: `${prefix}history`,
  };
}

/** Every key of a book, in the order the scripts take them as KEYS. */
export const keyList = (keys: BookKeys): string[] => scriptKeys.map((name) => keys[name]);

/** An order as the matcher stores it (integers: ticks and steps); closed ones for the retention time. */
export interface OrderRecord extends Omit<OrderSpec, 'market'> {
  filled: number;
  status: OrderStatus;
  /** orderSeq of the order's latest event. */
  orderSeq: number;
  /** The placement attempt that last ran (retries of an unmatched remainder raise it). */
  attempt: number;
  /** The sorted-set member while the order rests on the book, else null. */
  member: string | null;
  /** Why it expired, for EXPIRED orders. */
  reason: ExpireReason | null;
}

export interface PriceLevel {
  price: number;
  quantity: number;
}

export interface Depth {
  bids: PriceLevel[];
  asks: PriceLevel[];
}

/** Every resting order, per side, in priority order. */
export interface BookSnapshot {
  bids: OrderRecord[];
  asks: OrderRecord[];
}

/** The outcome of one script call. */
export type ApplyStep = { status: 'done'; events: MatcherEvent[] } | { status: 'continue' };

export interface BookOptions {
  /** Prefix of every key, so tests and replays get books of their own. Default ''. */
  namespace?: string;
  maxMatchesPerCall?: number;
  /** Default defaultAppliedRetentionMs. */
  appliedRetentionMs?: number;
}

export interface Book {
  readonly market: Market;
  readonly keys: BookKeys;
  place(cmd: PlaceCommand): Promise<MatcherEvent[]>;
  cancel(cmd: CancelCommand): Promise<MatcherEvent[]>;
  /**
   * Applies a command (once per commandId) and returns its events, in order. Calls made while
   * others are in flight wait their turn: commands reach the book in call order.
   */
  apply(cmd: MatcherCommand): Promise<MatcherEvent[]>;
  /**
   * Applies commands in order, as few script calls as the work budget allows (up to
   * maxCommandsPerCall each), and returns each command's events. Nothing of this handle
   * interleaves. On failure throws a BatchApplyError naming the commands applied before it.
   */
  applyBatch(cmds: readonly MatcherCommand[]): Promise<MatcherEvent[][]>;
  /** One script call only: a sweep over many makers may answer "continue" (tests, tools). */
  applyStep(cmd: MatcherCommand): Promise<ApplyStep>;
  depth(levels: number): Promise<Depth>;
  order(userID: string, orderId: string): Promise<OrderRecord | null>;
  snapshot(): Promise<BookSnapshot>;
  /** Deletes every key of this book (replays and tests). */
  destroy(): Promise<void>;
}

/**
 * A batch failed part way: `applied` holds the events of the commands (a prefix of the batch)
 * that script calls before the failure applied; the rest may or may not have been applied (a
 * failed call may have run), so they must be sent again, in order (exactly once by commandId).
 */
export class BatchApplyError extends Error {
  constructor(
    readonly applied: MatcherEvent[][],
    override readonly cause: unknown,
  ) {
    super(`applied ${applied.length} command(s) of the batch, then: ${String(cause)}`);
    this.name = 'BatchApplyError';
  }
}

interface Script {
  source: string;
  sha: string;
}

// The script with the record layout's constants filled in (matcher/codec.ts).
function loadScript(name: string): Script {
  const source = luaScript(readFileSync(path.join(__dirname, 'lua', name), 'utf8'));
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

const applyScript = loadScript('apply.lua');
const depthScript = loadScript('depth.lua');

/** The SHA1 of apply.lua as loaded (SCRIPT EXISTS tells whether Redis has it cached). */
export const applyScriptSha = applyScript.sha;

const isNoScript = (err: unknown): boolean =>
  err instanceof Error && err.message.startsWith('NOSCRIPT');

/**
 * Opens (creating when absent) the book of `market`: writes the market's rules to the config key,
 * which the script validates orders against. Several processes may open the same book.
 */
export async function openBook(
  redis: Redis,
  market: Market,
  opts: BookOptions = {},
): Promise<Book> {
  const keys = bookKeys(market.name, opts.namespace);
  const maxMatchesPerCall = opts.maxMatchesPerCall ?? defaultMaxMatchesPerCall;
  if (!Number.isSafeInteger(maxMatchesPerCall) || maxMatchesPerCall < 1)
    throw new RangeError(`maxMatchesPerCall must be a positive integer, got ${maxMatchesPerCall}`);
  const retentionMs = opts.appliedRetentionMs ?? defaultAppliedRetentionMs;
  if (!Number.isSafeInteger(retentionMs) || retentionMs < 0)
    throw new RangeError(`appliedRetentionMs must be a non-negative integer, got ${retentionMs}`);
  if (market.minNotional > BigInt(Number.MAX_SAFE_INTEGER))
    throw new RangeError(`minNotional of ${market.name} does not fit the matcher's integers`);
  await redis.hset(keys.config, {
    market: market.name,
    minQty: String(market.minQty),
    maxQty: String(market.maxQty),
    minNotional: market.minNotional.toString(),
    retentionMs: String(retentionMs),
  });
  const allKeys = keyList(keys);
  const budget = String(maxMatchesPerCall);

  // Script cache lost (restart, failover, SCRIPT FLUSH): load once, however many calls met it.
  let loading: Promise<unknown> | undefined;
  const evalScript = async (script: Script, scriptKeys: string[], args: string[]) => {
    try {
      return await redis.evalsha(script.sha, scriptKeys.length, ...scriptKeys, ...args);
    } catch (err) {
      if (!isNoScript(err)) throw err;
      loading ??= redis.script('LOAD', script.source).finally(() => (loading = undefined));
      await loading;
      return redis.evalsha(script.sha, scriptKeys.length, ...scriptKeys, ...args);
    }
  };

  // One script call: the applied entries of the commands it finished (a prefix, maybe empty).
  const call = async (cmds: readonly MatcherCommand[]): Promise<MatcherEvent[][]> => {
    const args = [budget];
    for (const cmd of cmds) args.push(encodeCommand(cmd));
    const entries = (await evalScript(applyScript, allKeys, args)) as string[];
    return entries.map((entry, i) => decodeEvents(entry, cmds[i]!.commandId, market.name));
  };

  const applyStep = async (cmd: MatcherCommand): Promise<ApplyStep> => {
    const [events] = await call([cmd]);
    return events ? { status: 'done', events } : { status: 'continue' };
  };

  // One batch in flight per book, in call order. Pipelining them would be faster, but after a
  // script-cache loss (restart, failover, SCRIPT FLUSH) another client may reload the script
  // between two in-flight calls: the first fails NOSCRIPT, the second runs, and the retry of
  // the first lands behind it. Parallelism comes from several markets (books) and from several
  // commands per call instead.
  let tail: Promise<unknown> = Promise.resolve();
  const serialized = <T>(work: () => Promise<T>): Promise<T> => {
    const run = tail.then(work);
    tail = run.catch(() => undefined);
    return run;
  };

  const applyBatch = (cmds: readonly MatcherCommand[]): Promise<MatcherEvent[][]> => {
    cmds.forEach(checkIds);
    const batch = [...cmds];
    return serialized(async () => {
      const applied: MatcherEvent[][] = [];
      try {
        while (applied.length < batch.length) {
          const rest = batch.slice(applied.length, applied.length + maxCommandsPerCall);
          applied.push(...(await call(rest)));
        }
      } catch (err) {
        throw new BatchApplyError(applied, err);
      }
      return applied;
    });
  };

  const apply = (cmd: MatcherCommand): Promise<MatcherEvent[]> =>
    applyBatch([cmd]).then(
      ([events]) => events!,
      (err: unknown) => {
        throw err instanceof BatchApplyError ? err.cause : err;
      },
    );

  const readRecords = async (orderKeys: string[]): Promise<OrderRecord[]> => {
    if (orderKeys.length === 0) return [];
    const json = await redis.hmget(keys.orders, ...orderKeys);
    return json.map((j, i) => {
      if (j === null) throw new Error(`book ${market.name}: no record for ${orderKeys[i]}`);
      return decodeOrder(j);
    });
  };

  const restingSide = async (key: string): Promise<OrderRecord[]> => {
    const page = 1000;
    const result: OrderRecord[] = [];
    for (let start = 0; ; start += page) {
      const members = await redis.zrange(key, start, start + page - 1);
      result.push(...(await readRecords(members.map(memberOrderKey))));
      if (members.length < page) return result;
    }
  };

  return {
    market,
    keys,
    place: apply,
    cancel: apply,
    apply,
    applyBatch,
    applyStep: (cmd) => {
      checkIds(cmd);
      return serialized(() => applyStep(cmd));
    },
    async depth(levels) {
      const [bids, asks] = (await evalScript(depthScript, allKeys, [String(levels)])) as [
        number[],
        number[],
      ];
      return { bids: toLevels(bids), asks: toLevels(asks) };
    },
    async order(userID, orderId) {
      const json = await redis.hget(keys.orders, orderKeyFor(userID, orderId));
      return json === null ? null : decodeOrder(json);
    },
    // Paged reads: consistent when no command runs meanwhile (replays, tests, audits).
    async snapshot() {
      return { bids: await restingSide(keys.bids), asks: await restingSide(keys.asks) };
    },
    async destroy() {
      await redis.del(...allKeys);
    },
  };
}

function toLevels(flat: number[]): PriceLevel[] {
  const levels: PriceLevel[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2)
    levels.push({ price: Number(flat[i]), quantity: Number(flat[i + 1]) });
  return levels;
}

// The script needs these as strings to name the order and its events; everything else it
// validates itself, because the replay tool and other producers can send anything.
function checkIds(cmd: MatcherCommand): void {
  for (const field of ['commandId', 'userID', 'orderId', 'market'] as const) {
    const value: unknown = cmd[field];
    if (typeof value !== 'string' || value === '')
      throw new TypeError(`matcher command needs a non-empty string ${field}`);
  }
}
