// The consistency checker of the fault run (and of `bench:e2e -- --check`): after the load has
// drained, every order the bench sent, every order resting on the book before the run and every
// order resting on it now is read from Temporal (query while running, result once completed) and
// from the matcher's book in Redis, and the two must tell the same story:
// - status and filled quantity agree; a non-final order rests on the book, a final one does not;
// - every trade appears exactly twice across all orders' fills: one BUY and one SELL, equal
//   quantity and price, one maker; no order holds a tradeId twice; bought = sold;
// - an order's filled quantity is the sum of its fills; a fill's price respects the limit;
// - no order is stuck: each non-final order rests on the book (or waits out the retry backoff of
//   an unmatched MARKET/IOC remainder, which is a reason).
// Mismatches are re-read a few times before they count, in case an event is still on its way.
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type Redis from 'ioredis';
import { markets } from '../../config/markets';
import { toUnits } from '../../domain/fixedPoint';
import { terminalStatuses, type MatcherEvent, type OrderStatus } from '../../domain/order';
import type { OrderSnapshot } from '../../domain/orderPresenter';
import { openBook, type Book, type OrderRecord } from '../../matcher/book';
import { matcherEventsUpdate, statusQuery } from '../../workflows/messages';
import { fmt } from './report';

export interface OrderRef {
  userID: string;
  orderId: string;
}

export interface CheckInput {
  temporal: Client;
  redis: Redis;
  market: string;
  /** Every order the bench sent (accepted or not), with what its client saw last. */
  sent: Array<OrderRef & { accepted: boolean; clientFinal?: OrderStatus }>;
  /** Orders resting on the book before the run began. */
  restingBefore: OrderRef[];
  /** Epoch ms when the run began: older fills of orders resting before it are out of scope. */
  runStartedAt: number;
}

export interface CheckResult {
  ok: boolean;
  lines: string[];
  failures: string[];
  counts: Record<string, number>;
}

type Temporal =
  | { kind: 'snapshot'; running: boolean; s: OrderSnapshot }
  | { kind: 'absent' }
  | { kind: 'ended'; status: string };

interface Verdict {
  key: string;
  problem?: string;
  /** A reason a non-final order is off the book. */
  waitingRetry?: boolean;
  status?: string;
  onBook?: boolean;
  temporal: Temporal;
  record: OrderRecord | null;
}

const keyOf = (ref: OrderRef): string => `${ref.userID}/${ref.orderId}`;

async function readTemporal(client: Client, ref: OrderRef): Promise<Temporal> {
  const handle = client.workflow.getHandle(`order/${ref.userID}/${ref.orderId}`);
  try {
    const d = await handle.describe();
    if (d.status.name === 'RUNNING')
      return { kind: 'snapshot', running: true, s: await handle.query(statusQuery) };
    if (d.status.name === 'COMPLETED')
      return { kind: 'snapshot', running: false, s: (await handle.result()) as OrderSnapshot };
    return { kind: 'ended', status: d.status.name };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return { kind: 'absent' };
    throw err;
  }
}

interface FullFill {
  tradeId: string;
  /** Steps and ticks, as the matcher sends them. */
  qty: number;
  price: number;
  maker: boolean;
  time: number;
}

/**
 * Every fill of an order, from the matcherEvents updates in its workflow history (applied once per
 * orderSeq, as the workflow does): the snapshot keeps only the last 50. Undefined when the
 * history starts with a continue-as-new (its earlier runs are not read).
 */
export async function fillsFromHistory(
  client: Client,
  ref: OrderRef,
): Promise<FullFill[] | undefined> {
  const history = await client.workflow
    .getHandle(`order/${ref.userID}/${ref.orderId}`)
    .fetchHistory();
  const events = history.events ?? [];
  if (events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId) return undefined;
  const bySeq = new Map<number, FullFill>();
  for (const e of events) {
    const input = e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input;
    if (input?.name !== matcherEventsUpdate.name) continue;
    const payload = input.args?.payloads?.[0];
    if (!payload) continue;
    for (const event of defaultPayloadConverter.fromPayload<MatcherEvent[]>(payload)) {
      if (event.event !== 'TRADE' || bySeq.has(event.orderSeq)) continue;
      bySeq.set(event.orderSeq, {
        tradeId: event.tradeId,
        qty: event.lastQty,
        price: event.lastPrice,
        maker: event.maker,
        time: event.time,
      });
    }
  }
  return [...bySeq.values()];
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

export async function checkConsistency(input: CheckInput): Promise<CheckResult> {
  const market = markets.get(input.market);
  if (!market) throw new Error(`unknown market ${input.market}`);
  const book: Book = await openBook(input.redis, market);
  const steps = (qty: string): number =>
    toUnits(qty, market.step, 'qty', 'INVALID_QUANTITY', market.stepSize);
  const ticks = (price: string): number =>
    toUnits(price, market.tick, 'price', 'INVALID_PRICE', market.tickSize);

  const sentByKey = new Map(input.sent.map((ref) => [keyOf(ref), ref]));
  const restingBefore = new Set(input.restingBefore.map(keyOf));

  const restingKeys = async (): Promise<Set<string>> => {
    const snap = await book.snapshot();
    return new Set([...snap.bids, ...snap.asks].map((r) => `${r.userID}/${r.orderId}`));
  };

  const judge = async (ref: OrderRef, onBookNow: Set<string>): Promise<Verdict> => {
    const key = keyOf(ref);
    const [temporal, record] = await Promise.all([
      readTemporal(input.temporal, ref),
      book.order(ref.userID, ref.orderId),
    ]);
    const v: Verdict = { key, temporal, record, onBook: onBookNow.has(key) };
    const sent = sentByKey.get(key);
    if (temporal.kind === 'absent') {
      if (sent && !sent.accepted && !record) return v; // refused at the edge: never an order
      v.problem = `no workflow, but ${sent?.accepted ? 'its place was accepted' : `the book has it (${record?.status})`}`;
      return v;
    }
    if (temporal.kind === 'ended') {
      v.problem = `workflow ended ${temporal.status}`;
      return v;
    }
    const s = temporal.s;
    v.status = s.status;
    const filled = steps(s.filledQty);
    const final = terminalStatuses.has(s.status);
    if (sent?.clientFinal && final && sent.clientFinal !== s.status) {
      v.problem = `the client was told ${sent.clientFinal}, the workflow says ${s.status}`;
      return v;
    }
    if (
      !final &&
      temporal.running &&
      s.expireReason === 'NO_LIQUIDITY' &&
      record?.member === null
    ) {
      v.waitingRetry = true; // an unmatched remainder waiting out its backoff: off the book on purpose
      return v;
    }
    if (!record) {
      if (s.status === 'REJECTED') return v; // refused before it reached the book
      v.problem = `workflow says ${s.status} ${s.filledQty}, the book has no record`;
      return v;
    }
    const canceledWhileUnmatched =
      s.status === 'CANCELED' && record.status === 'EXPIRED' && record.reason === 'NO_LIQUIDITY';
    if (record.status !== s.status && !canceledWhileUnmatched) {
      v.problem = `workflow says ${s.status}, the book says ${record.status}`;
    } else if (record.filled !== filled) {
      v.problem = `workflow filled ${filled} steps, the book ${record.filled}`;
    } else if (final && (record.member !== null || v.onBook)) {
      v.problem = `final (${s.status}) but still on the book`;
    } else if (!final && (record.member === null || !v.onBook)) {
      v.problem = `${s.status} but not on the book: stuck`;
    }
    return v;
  };

  // Everything to check: what we sent, what rested before, what rests now.
  let onBookNow = await restingKeys();
  const refs = new Map<string, OrderRef>();
  for (const ref of [...input.sent, ...input.restingBefore]) refs.set(keyOf(ref), ref);
  for (const key of onBookNow) {
    const [userID, orderId] = key.split('/') as [string, string];
    if (!refs.has(key)) refs.set(key, { userID, orderId });
  }
  let verdicts = await mapLimit([...refs.values()], 16, (r) => judge(r, onBookNow));
  // Re-read mismatches: an event may still be between the matcher and the workflow.
  let settleRounds = 0;
  for (let round = 0; round < 4 && verdicts.some((v) => v.problem); round++) {
    settleRounds++;
    await sleep(5000);
    onBookNow = await restingKeys();
    const again = new Map(
      (
        await mapLimit(
          verdicts.filter((v) => v.problem),
          16,
          (v) => judge(refs.get(v.key)!, onBookNow),
        )
      ).map((v) => [v.key, v]),
    );
    verdicts = verdicts.map((v) => again.get(v.key) ?? v);
  }

  const failures: string[] = [];
  const counts: Record<string, number> = {};
  const inc = (k: string, n = 1): void => void (counts[k] = (counts[k] ?? 0) + n);
  const byStatus: Record<string, number> = {};
  for (const v of verdicts) {
    if (v.problem) failures.push(`${v.key}: ${v.problem}`);
    else if (v.waitingRetry) inc('waitingRetry');
    else if (v.temporal.kind === 'absent') inc('neverAccepted');
    else {
      inc('consistent');
      byStatus[v.status ?? '?'] = (byStatus[v.status ?? '?'] ?? 0) + 1;
      if (v.onBook) inc('onBook');
    }
  }

  // Fills: every trade exactly twice, once per side.
  interface FillSeen {
    key: string;
    side: string;
    qty: number;
    price: number;
    maker: boolean;
    limit: number | null;
  }
  const trades = new Map<string, FillSeen[]>();
  let fillCount = 0;
  let sumMismatch = 0;
  let truncated = 0;
  let fromHistory = 0;
  let repeatedInOrder = 0;
  let limitViolations = 0;
  for (const v of verdicts) {
    if (v.temporal.kind !== 'snapshot') continue;
    const s = v.temporal.s;
    const ours = sentByKey.has(v.key) || !restingBefore.has(v.key);
    const seenHere = new Set<string>();
    let sum = 0;
    let fills: FullFill[] = s.fills.map((f) => ({
      tradeId: f.tradeId,
      qty: steps(f.qty),
      price: ticks(f.price),
      maker: f.maker,
      time: f.time,
    }));
    if (s.fillCount > s.fills.length) {
      fromHistory++;
      fills = (await fillsFromHistory(input.temporal, refs.get(v.key)!)) ?? fills;
    }
    for (const f of fills) {
      sum += f.qty;
      if (seenHere.has(f.tradeId)) repeatedInOrder++;
      seenHere.add(f.tradeId);
      // Fills of an order that rested before the run are in scope from the run's start on.
      if (!ours && f.time < input.runStartedAt) continue;
      fillCount++;
      const limit = s.price === null ? null : ticks(s.price);
      if (limit !== null && (s.side === 'BUY' ? f.price > limit : f.price < limit))
        limitViolations++;
      trades.set(f.tradeId, [
        ...(trades.get(f.tradeId) ?? []),
        { key: v.key, side: s.side, qty: f.qty, price: f.price, maker: f.maker, limit },
      ]);
    }
    if (fills.length < s.fillCount) truncated++;
    else if (sum !== steps(s.filledQty)) {
      sumMismatch++;
      failures.push(`${v.key}: filled ${s.filledQty} but its fills sum to ${sum} steps`);
    }
  }
  let paired = 0;
  let bought = 0;
  let sold = 0;
  const tradeProblems: string[] = [];
  for (const [tradeId, fills] of trades) {
    const buys = fills.filter((f) => f.side === 'BUY');
    const sells = fills.filter((f) => f.side === 'SELL');
    for (const f of buys) bought += f.qty;
    for (const f of sells) sold += f.qty;
    const ok =
      fills.length === 2 &&
      buys.length === 1 &&
      sells.length === 1 &&
      buys[0]!.qty === sells[0]!.qty &&
      buys[0]!.price === sells[0]!.price &&
      buys[0]!.maker !== sells[0]!.maker &&
      buys[0]!.key !== sells[0]!.key;
    if (ok) paired++;
    else
      tradeProblems.push(
        `trade ${tradeId}: ${fills.length} fill(s) ${fills.map((f) => `${f.side} ${f.qty}@${f.price}${f.maker ? ' maker' : ''} (${f.key})`).join(', ')}`,
      );
  }
  failures.push(...tradeProblems);
  if (repeatedInOrder > 0) failures.push(`${repeatedInOrder} tradeId(s) repeated within one order`);
  if (limitViolations > 0) failures.push(`${limitViolations} fill(s) at a price beyond the limit`);
  if (bought !== sold) failures.push(`bought ${bought} steps ≠ sold ${sold} steps`);

  const sentAccepted = input.sent.filter((ref) => ref.accepted).length;
  const qty = (units: number): string =>
    (units * Number(market.stepSize)).toFixed(market.step.scale);
  const lines = [
    `Checker (${fmt(verdicts.length)} orders: ${fmt(sentAccepted)} accepted by this run, ` +
      `${fmt(input.sent.length - sentAccepted)} refused, ${fmt(input.restingBefore.length)} resting before it, ` +
      `${fmt(onBookNow.size)} resting on the ${input.market} book now; ${settleRounds} re-read round(s)):`,
    `  Temporal vs book: ${fmt(counts.consistent ?? 0)} consistent (status, filled qty, on/off the book) — ` +
      Object.entries(byStatus)
        .sort((a, b) => b[1] - a[1])
        .map(([k, n]) => `${k} ${fmt(n)}`)
        .join(', '),
    `  resting orders on the book: ${fmt(counts.onBook ?? 0)}, each with a running workflow that says so`,
    `  refused at the edge (no workflow, not on the book): ${fmt(counts.neverAccepted ?? 0)}`,
    `  fills: ${fmt(fillCount)} in ${fmt(trades.size)} trades; ${fmt(paired)} trades exactly one BUY + one SELL, ` +
      `equal qty and price, one maker; ${fmt(tradeProblems.length)} not`,
    `  duplicates: ${fmt(trades.size - paired)} tradeIds not seen exactly twice, ${fmt(repeatedInOrder)} repeated within an order`,
    `  totals: bought ${qty(bought)} = sold ${qty(sold)} ${input.market}${bought === sold ? '' : '  ✗'}; ` +
      `fills beyond the limit price: ${fmt(limitViolations)}`,
    `  filled qty = sum of its fills: ${fmt(verdicts.length - truncated - sumMismatch)} orders ok, ${fmt(sumMismatch)} not` +
      (fromHistory
        ? `; ${fmt(fromHistory)} with more than 50 fills (the snapshot keeps the last 50) read from their histories`
        : '') +
      (truncated
        ? `, ${fmt(truncated)} of them not fully readable (continue-as-new; not summed)`
        : ''),
    `  stuck: ${fmt(verdicts.filter((v) => v.problem?.includes('stuck')).length)} non-final orders off the book; ` +
      `${fmt(counts.waitingRetry ?? 0)} waiting out a retry backoff (a reason)`,
  ];
  for (const f of failures.slice(0, 20)) lines.push(`  ✗ ${f}`);
  if (failures.length > 20) lines.push(`  … and ${failures.length - 20} more`);
  lines.push(
    `  RESULT: ${failures.length === 0 ? 'PASS' : `FAIL (${failures.length} problem(s))`}`,
  );
  Object.assign(counts, {
    orders: verdicts.length,
    fills: fillCount,
    trades: trades.size,
    pairedTrades: paired,
    boughtSteps: bought,
    soldSteps: sold,
    failures: failures.length,
  });
  return { ok: failures.length === 0, lines, failures, counts };
}
