// `npm run trade -- …`: a terminal client of the WebSocket API. Places, cancels and lists orders,
// and prints the execution reports pushed to the user as they arrive.
//
//   npm run trade -- --user user1 buy BTC 0.5 @ 30000     limit order; waits until it is final
//   npm run trade -- --user user2 sell BTC 1               market order
//   npm run trade -- cancel <orderId> | status <orderId> | open [coinID] | balance | watch
import { randomBytes } from 'node:crypto';
import { Command, Option } from 'commander';
import { env } from '../config/env';
import {
  orderTypes,
  selfTradePreventionModes,
  terminalStatuses,
  timeInForces,
} from '../domain/order';
import type { ExecutionReport, OrderSnapshot } from '../domain/orderPresenter';
import { signToken } from '../gateway/auth';
import type { AccountBalance } from '../accounts/accounts';
import { formatBalance, formatReport, formatSnapshot } from './format';
import { ConnectRefusedError, TradingClient, type Answer } from './node';

interface Globals {
  user: string;
  token?: string;
  url: string;
  json?: boolean;
}

/** Below the gateway's 10-minute idle timeout. */
const keepaliveMs = 4 * 60 * 1000;

const out = (line: string): void => void process.stdout.write(`${line}\n`);
const err = (line: string): void => void process.stderr.write(`${line}\n`);

function fail(message: string): never {
  err(`trade: ${message}`);
  process.exit(1);
}

/**
 * Connects as the user, or with --token. The connection comes back by itself after the gateway
 * closed it (idle timeout, 2 h limit, restart), with a fresh token; requests in flight are sent
 * again.
 */
async function connect(g: Globals): Promise<TradingClient> {
  try {
    return await TradingClient.connect(g.url, {
      token: g.token ?? (() => signToken(g.user)),
      keepHistory: false,
      keepaliveMs,
      reconnect: { maxDelayMs: 2000 },
    });
  } catch (e) {
    if (e instanceof ConnectRefusedError)
      fail(`${g.url} refused the connection (HTTP ${e.statusCode}): check the token or --user`);
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ECONNREFUSED') fail(`nothing listens on ${g.url}: is \`npm start\` running?`);
    throw e;
  }
}

function printAnswer(g: Globals, answer: Answer, withFills = false): void {
  if (g.json) return out(JSON.stringify(answer));
  if (answer.status !== 200) {
    const e = answer.error;
    return err(
      `error ${answer.status} ${e?.code ?? ''}${e?.field ? ` (${e.field})` : ''}: ${e?.msg ?? JSON.stringify(answer)}`,
    );
  }
  const result = answer.result;
  if (Array.isArray(result)) {
    if (result.length === 0) out('no open orders');
    for (const s of result as OrderSnapshot[]) out(formatSnapshot(s));
  } else if (result && typeof result === 'object' && 'orderId' in result) {
    const s = result as OrderSnapshot;
    out(formatSnapshot(s));
    if (withFills)
      for (const f of s.fills)
        out(`           fill ${f.qty} @ ${f.price}  trade ${f.tradeId}${f.maker ? '  maker' : ''}`);
  } else {
    out(JSON.stringify(result));
  }
}

function printReport(g: Globals, report: ExecutionReport): void {
  out(g.json ? JSON.stringify(report) : formatReport(report));
}

/**
 * Prints the reports of `orderId` (or of every order when null) until one is final, or until
 * Ctrl-C. After a reconnect, catches up with order.status.
 */
async function follow(g: Globals, client: TradingClient, orderId: string | null): Promise<void> {
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  client.onReport((r) => {
    // A repeated push never gets here: the client library drops it.
    if (orderId !== null && r.orderId !== orderId) return;
    printReport(g, r);
    if (orderId !== null && terminalStatuses.has(r.status)) finish();
  });
  process.once('SIGINT', () => finish());
  client.onDisconnect(({ code, reason }) =>
    err(`connection closed (${code}${reason ? ` ${reason}` : ''}); reconnecting…`),
  );
  const catchUp = async (id: string): Promise<void> => {
    const answer = await client.request<OrderSnapshot>('order.status', { orderId: id });
    if (answer.status === 200 && answer.result) {
      printAnswer(g, answer);
      if (terminalStatuses.has(answer.result.status)) finish();
    }
  };
  if (orderId !== null) client.onReconnect(() => void catchUp(orderId).catch(() => undefined));
  await done;
  await client.close();
}

const program = new Command('trade')
  .description('Trade over the WebSocket API and watch execution reports live')
  .option('-u, --user <userID>', 'trade as this user (a local token is minted)', env.tradeUser)
  .option('--token <jwt>', 'use this token instead of minting one for --user')
  .option('--url <url>', 'the WebSocket API', env.tradeUrl)
  .option('--json', 'print raw JSON lines instead of one readable line each')
  .showHelpAfterError();

const globals = (cmd: Command): Globals => cmd.optsWithGlobals<Globals>();

interface PlaceOptions {
  id?: string;
  type?: string;
  tif?: string;
  stp?: string;
  wait: boolean;
}

/** "@ 30000", "@30000", "30000" or nothing (MARKET). */
function priceOf(words: string[]): string | undefined {
  const text = words.join(' ').replace(/^@\s*/, '').trim();
  if (text === '') return undefined;
  if (!/^\d+(\.\d+)?$/.test(text))
    fail(`price must be a decimal like 30000 or 0.5, got "${words.join(' ')}"`);
  return text;
}

const newOrderId = (): string => `${Date.now()}-${randomBytes(2).toString('hex')}`;

for (const side of ['buy', 'sell'] as const) {
  program
    .command(side)
    .description(
      `${side} COIN QTY [@ PRICE]: a limit order with a price, else a market order; waits until it is final`,
    )
    .argument('<coinID>', 'market, e.g. BTC')
    .argument('<quantity>', 'e.g. 0.5')
    .argument('[price...]', '"@ 30000" or "30000"; none = MARKET')
    .option('--id <orderId>', 'client order id (default: a new timestamp-based id)')
    .addOption(new Option('--type <orderType>', 'order type').choices(orderTypes))
    .addOption(new Option('--tif <timeInForce>', 'time in force').choices(timeInForces))
    .addOption(
      new Option('--stp <mode>', 'self-trade prevention').choices(selfTradePreventionModes),
    )
    .option('--no-wait', 'print the answer and exit without waiting for reports')
    .action(
      async (
        coinID: string,
        quantity: string,
        price: string[],
        opts: PlaceOptions,
        cmd: Command,
      ) => {
        const g = globals(cmd);
        const orderId = opts.id ?? newOrderId();
        const params = {
          orderId,
          type: side.toUpperCase(),
          userID: g.user,
          coinID: coinID.toUpperCase(),
          quantity,
          ...(priceOf(price) !== undefined && { price: priceOf(price) }),
          ...(opts.type && { orderType: opts.type }),
          ...(opts.tif && { timeInForce: opts.tif }),
          ...(opts.stp && { selfTradePrevention: opts.stp }),
        };
        if (g.token) delete (params as { userID?: string }).userID;
        const client = await connect(g);
        // Reports can arrive before the answer: follow() starts listening before the request goes out.
        const following = opts.wait ? follow(g, client, orderId) : undefined;
        const answer = await client.request<OrderSnapshot>('order.place', params, {
          timeoutMs: 35_000,
        });
        printAnswer(g, answer);
        if (answer.status !== 200) {
          await client.close();
          process.exit(1);
        }
        if (!following || terminalStatuses.has(answer.result!.status)) {
          await client.close();
          process.exit(0);
        }
        await following;
        process.exit(0);
      },
    );
}

program
  .command('cancel')
  .description('cancel an open order and print its final state')
  .argument('<orderId>')
  .action(async (orderId: string, _opts: unknown, cmd: Command) => {
    const g = globals(cmd);
    const client = await connect(g);
    client.onReport((r) => {
      if (r.orderId === orderId) printReport(g, r);
    });
    const answer = await client.request('order.cancel', { orderId }, { timeoutMs: 35_000 });
    // The CANCELED report may trail the answer by a moment.
    await new Promise((r) => setTimeout(r, 500));
    printAnswer(g, answer);
    await client.close();
    process.exit(answer.status === 200 ? 0 : 1);
  });

program
  .command('status')
  .description("print an order's state and fills")
  .argument('<orderId>')
  .action(async (orderId: string, _opts: unknown, cmd: Command) => {
    const g = globals(cmd);
    const client = await connect(g);
    const answer = await client.request('order.status', { orderId });
    printAnswer(g, answer, true);
    await client.close();
    process.exit(answer.status === 200 ? 0 : 1);
  });

program
  .command('open')
  .description("list the user's open orders")
  .argument('[coinID]', 'only this market')
  .action(async (coinID: string | undefined, _opts: unknown, cmd: Command) => {
    const g = globals(cmd);
    const client = await connect(g);
    const answer = await client.request(
      'openOrders.status',
      coinID ? { coinID: coinID.toUpperCase() } : {},
    );
    printAnswer(g, answer);
    await client.close();
    process.exit(answer.status === 200 ? 0 : 1);
  });

program
  .command('balance')
  .description("the user's free and locked amount of every asset")
  .action(async (_opts: unknown, cmd: Command) => {
    const g = globals(cmd);
    const client = await connect(g);
    const answer = await client.request('account.status');
    if (g.json || answer.status !== 200) printAnswer(g, answer);
    else {
      const { balances } = answer.result as { balances: AccountBalance[] };
      for (const b of balances) out(formatBalance(b));
    }
    await client.close();
    process.exit(answer.status === 200 ? 0 : 1);
  });

program
  .command('watch')
  .description('stay connected and print every report pushed to the user (Ctrl-C stops)')
  .action(async (_opts: unknown, cmd: Command) => {
    const g = globals(cmd);
    const client = await connect(g);
    err(`watching ${g.token ? 'the token’s user' : g.user} on ${g.url}; Ctrl-C stops`);
    await follow(g, client, null);
    process.exit(0);
  });

program.parseAsync().catch((e: unknown) => fail(e instanceof Error ? e.message : String(e)));
