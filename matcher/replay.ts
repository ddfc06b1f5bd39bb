// Replays a JSONL command stream through the real matcher scripts on a fresh, private book and
// prints the events as JSONL: operators audit a day's book or reproduce one from its commands.
//
//   npm run matcher:replay -- --market BTC [--dump-book] < commands.jsonl > events.jsonl
//
// Input lines: the seed's order message (optionally "cmd":"place" and the optional fields), or
// {"cmd":"cancel","userID":…,"orderId":…}. Output: one event per line, numbers as decimal strings
// in the market's tick and step; a line that does not parse becomes a REJECTED line (it never
// reached the book, so it has no seq); malformed JSON is reported on stderr and skipped.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import readline from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { Command, Option } from 'commander';
import Redis from 'ioredis';
import { z } from 'zod';
import marketsJson from '../config/markets.json';
import { env } from '../config/env';
import { FieldError, fieldErrorFromZod } from '../domain/errors';
import { formatPrice, formatQty, parseMarkets, type Market, type Markets } from '../domain/markets';
import {
  cancelCommandSchema,
  orderFieldCodes,
  parseOrder,
  type MatcherCommand,
  type MatcherEvent,
} from '../domain/order';
import { openBook, type Book } from './book';

const cancelLineSchema = cancelCommandSchema
  .omit({ commandId: true, market: true })
  .extend({ coinID: z.string().min(1).max(20).optional() });

export interface ReplayOptions {
  market: Market;
  markets: Markets;
  dumpBook: boolean;
}

export interface ReplaySummary {
  lines: number;
  commands: number;
  events: number;
  rejectedAtParse: number;
  malformed: number;
}

/** An output line: the event with its numbers as decimal strings, and without `time`. */
export function formatEvent(event: MatcherEvent, market: Market): Record<string, unknown> {
  // `time` would be the replay's clock, not the original one; without it the output of two
  // replays of the same input is identical, so it can be diffed.
  const { time: _time, ...rest } = event;
  const line: Record<string, unknown> = {
    ...rest,
    seq: String(event.seq),
    orderSeq: String(event.orderSeq),
  };
  const qty = (steps: number) => formatQty(market, steps);
  switch (event.event) {
    case 'NEW':
      line.price = event.price === null ? null : formatPrice(market, event.price);
      line.quantity = qty(event.quantity);
      break;
    case 'TRADE':
      line.lastQty = qty(event.lastQty);
      line.lastPrice = formatPrice(market, event.lastPrice);
      line.filledQty = qty(event.filledQty);
      line.leavesQty = qty(event.leavesQty);
      break;
    case 'CANCELED':
      line.filledQty = qty(event.filledQty);
      break;
    case 'EXPIRED':
      line.filledQty = qty(event.filledQty);
      line.expiredQty = qty(event.expiredQty);
      break;
    default:
      break;
  }
  return line;
}

function rejectedLine(lineNo: number, raw: unknown, error: FieldError): Record<string, unknown> {
  const fields = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
  const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return {
    event: 'REJECTED',
    commandId: `replay#${lineNo}`,
    market: text(fields.coinID),
    userID: text(fields.userID),
    orderId: text(fields.orderId),
    reason: error.code,
    msg: error.message,
    field: error.field,
  };
}

/** The matcher command for one parsed input line; throws FieldError when it does not validate. */
export function toCommand(
  lineNo: number,
  raw: unknown,
  market: Market,
  markets: Markets,
): MatcherCommand {
  const commandId = `replay#${lineNo}`;
  const { cmd, ...params } =
    typeof raw === 'object' && raw !== null && !Array.isArray(raw)
      ? (raw as Record<string, unknown>)
      : { cmd: undefined };
  if (cmd === 'cancel') {
    const parsed = cancelLineSchema.safeParse(raw);
    if (!parsed.success) throw fieldErrorFromZod(parsed.error, orderFieldCodes);
    const { coinID, ...cancel } = parsed.data;
    return { commandId, market: coinID ?? market.name, ...cancel };
  }
  if (cmd !== undefined && cmd !== 'place')
    throw new FieldError('INVALID_PARAMS', 'cmd must be "place" or "cancel"', 'cmd');
  const { spec } = parseOrder(cmd === undefined ? raw : params, markets);
  return { cmd: 'place', commandId, attempt: 0, ...spec };
}

/** Applies every line of `input` to `book`, writing event lines to `output`, problems to `errors`. */
export async function replayInto(
  book: Book,
  input: Readable,
  output: Writable,
  errors: Writable,
  opts: ReplayOptions,
): Promise<ReplaySummary> {
  const summary: ReplaySummary = {
    lines: 0,
    commands: 0,
    events: 0,
    rejectedAtParse: 0,
    malformed: 0,
  };
  const write = (line: object) => output.write(JSON.stringify(line) + '\n');
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  for await (const text of lines) {
    const lineNo = ++summary.lines;
    if (text.trim() === '') continue;
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (err) {
      summary.malformed++;
      errors.write(
        JSON.stringify({
          event: 'REJECTED',
          line: lineNo,
          reason: 'MALFORMED_JSON',
          msg: `line ${lineNo} is not JSON: ${(err as Error).message}`,
        }) + '\n',
      );
      continue;
    }
    let cmd: MatcherCommand;
    try {
      cmd = toCommand(lineNo, raw, opts.market, opts.markets);
    } catch (err) {
      if (!(err instanceof FieldError)) throw err;
      summary.rejectedAtParse++;
      write(rejectedLine(lineNo, raw, err));
      continue;
    }
    summary.commands++;
    for (const event of await book.apply(cmd)) {
      summary.events++;
      write(formatEvent(event, opts.market));
    }
  }
  if (opts.dumpBook) {
    const snapshot = await book.snapshot();
    const side = (orders: typeof snapshot.bids) =>
      orders.map((order) => ({
        orderId: order.orderId,
        userID: order.userID,
        price: formatPrice(opts.market, order.price!),
        remainingQty: formatQty(opts.market, order.quantity - order.filled),
      }));
    write({
      event: 'bookSnapshot',
      market: opts.market.name,
      bids: side(snapshot.bids),
      asks: side(snapshot.asks),
    });
  }
  return summary;
}

async function main(): Promise<void> {
  const markets = parseMarkets(marketsJson);
  const program = new Command()
    .name('matcher:replay')
    .description(
      'Replay a JSONL command stream (stdin) on a fresh book in Redis; print the events as JSONL (stdout).',
    )
    .addOption(
      new Option('--market <market>', 'the market to replay')
        .choices([...markets.keys()])
        .makeOptionMandatory(),
    )
    .option('--dump-book', 'end with one bookSnapshot line: every resting order, in priority order')
    .showHelpAfterError();
  program.parse();
  const opts = program.opts<{ market: string; dumpBook?: boolean }>();
  const market = markets.get(opts.market)!;

  const redis = new Redis(env.redisUrl, {
    maxRetriesPerRequest: 2,
    retryStrategy: (attempt) => (attempt > 5 ? null : 200),
  });
  // A private book: nothing else reads or writes it, and it is deleted at the end.
  const namespace = `replay:${hostname()}:${process.pid}:${randomUUID()}:`;
  const book = await openBook(redis, market, { namespace });
  let interrupted = false;
  process.once('SIGINT', () => {
    interrupted = true;
    process.stdin.destroy();
  });
  try {
    const summary = await replayInto(book, process.stdin, process.stdout, process.stderr, {
      market,
      markets,
      dumpBook: Boolean(opts.dumpBook),
    });
    process.stderr.write(
      `replayed ${summary.lines} lines on ${market.name}: ${summary.commands} commands, ` +
        `${summary.events} events, ${summary.rejectedAtParse} rejected at parse, ` +
        `${summary.malformed} malformed${interrupted ? ' (interrupted)' : ''}\n`,
    );
  } finally {
    await book.destroy();
    redis.disconnect();
  }
  if (interrupted) process.exitCode = 130;
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`matcher:replay: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
