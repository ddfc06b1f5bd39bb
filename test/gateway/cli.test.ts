// The terminal tools: `npm run token` and `npm run trade` against a real twin.
import readline from 'node:readline';
import {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { connectionsOf, useTestTwin } from './helpers';
import { eventually } from '../support/eventually';
import { runScript, spawnScript } from '../support/runScript';
import { processAccounts } from '../../accounts/process';
import { uniqueUser } from '../support/orders';
import { verifyToken } from '../../gateway/auth';
import { formatReport, formatSnapshot, trimQty } from '../../client/format';
import type { ExecutionReport, OrderSnapshot } from '../../domain/orderPresenter';

const env = useTestTwin();
const { redis } = env;

const report: ExecutionReport = {
  event: 'executionReport',
  orderId: '1700000000000-ab12',
  userID: 'user1',
  coinID: 'BTC',
  side: 'BUY',
  orderType: 'LIMIT',
  timeInForce: 'GTC',
  status: 'PARTIALLY_FILLED',
  execType: 'TRADE',
  price: '30000.00',
  quantity: '0.50000',
  filledQty: '0.20000',
  lastQty: '0.20000',
  lastPrice: '29990.00',
  tradeId: '17',
  rejectReason: null,
  seq: 2,
  time: new Date(2024, 0, 1, 12, 0, 3).getTime(),
};

test('one readable line per report and per snapshot', () => {
  expect(trimQty('0.50000')).toBe('0.5');
  expect(trimQty('5.00000')).toBe('5');
  expect(trimQty('10')).toBe('10');
  expect(formatReport(report)).toBe(
    '12:00:03 PARTIALLY_FILLED BUY 0.5 BTC @ 30000.00  filled 0.2/0.5  last 0.2 @ 29990.00  trade 17  #1700000000000-ab12',
  );
  expect(
    formatReport({
      ...report,
      status: 'NEW',
      execType: 'NEW',
      filledQty: '0.00000',
      lastQty: null,
      lastPrice: null,
      tradeId: null,
    }),
  ).toBe('12:00:03 NEW              BUY 0.5 BTC @ 30000.00  filled 0/0.5  #1700000000000-ab12');
  const snapshot = {
    orderId: 'm1',
    side: 'SELL',
    coinID: 'BTC',
    quantity: '1.00000',
    price: null,
    orderType: 'MARKET',
    timeInForce: 'IOC',
    status: 'EXPIRED',
    filledQty: '0.40000',
    avgPrice: '100.5',
    rejectReason: null,
    expireReason: 'NO_LIQUIDITY',
    updatedAt: report.time,
  } as unknown as OrderSnapshot;
  expect(formatSnapshot(snapshot)).toBe(
    '12:00:03 EXPIRED          SELL 1 BTC MARKET  filled 0.4/1  avg 100.5  (NO_LIQUIDITY)  #m1',
  );
});

test('npm run token mints a token for the user that the gateway accepts', async () => {
  const result = await runScript('scripts/token.ts', ['alice', '--expires', '1h']);
  expect(result.code).toBe(0);
  const token = result.stdout.trim();
  await expect(verifyToken(token)).resolves.toBe('alice');
  expect((await runScript('scripts/token.ts', ['bad/user'])).code).toBe(1);
});

test('trade: status of an unknown order prints the 404 and exits 1; open lists none', async () => {
  const user = uniqueUser('cli');
  const status = await runScript('client/cli.ts', [
    '--url',
    env.twin.url,
    '--user',
    user,
    'status',
    'nope',
  ]);
  expect(status.code).toBe(1);
  expect(status.stderr).toContain('error 404 UNKNOWN_ORDER (orderId): no such order');
  const open = await runScript('client/cli.ts', [
    '--url',
    env.twin.url,
    '--user',
    user,
    '--json',
    'open',
  ]);
  expect(open.code).toBe(0);
  expect(JSON.parse(open.stdout)).toMatchObject({ status: 200, result: [] });
  const bad = await runScript('client/cli.ts', [
    '--url',
    env.twin.url,
    '--user',
    user,
    'buy',
    'BTC',
    '0.000001',
    '@',
    '100',
  ]);
  expect(bad.code).toBe(1);
  expect(bad.stderr).toContain('error 400 INVALID_QUANTITY (quantity)');
});

test('trade balance prints the free and locked amount of every asset', async () => {
  const user = uniqueUser('cli-bal');
  await (await processAccounts()).deposit(user, 'ETH', '2.5', `${user}-d1`);
  const balance = await runScript('client/cli.ts', [
    '--url',
    env.twin.url,
    '--user',
    user,
    'balance',
  ]);
  expect(balance).toMatchObject({ code: 0, stderr: '' });
  expect(balance.stdout.split('\n')).toEqual([
    'USDT   free 0.00000000  locked 0.00000000',
    'BTC    free 0.00000000  locked 0.00000000',
    'ETH    free 2.50000000  locked 0.00000000',
    '',
  ]);
});

test('trade watch prints each pushed report as one line', async () => {
  const user = uniqueUser('watch');
  const child = spawnScript('client/cli.ts', ['--url', env.twin.url, '--user', user, 'watch']);
  const lines: string[] = [];
  readline.createInterface({ input: child.stdout }).on('line', (l) => lines.push(l));
  const sdk = new ApiGatewayManagementApiClient({
    endpoint: env.twin.httpUrl,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  try {
    const [id] = await connectionsOf(redis, user);
    await sdk.send(
      new PostToConnectionCommand({
        ConnectionId: id,
        Data: JSON.stringify({ ...report, userID: user }),
      }),
    );
    await eventually(() => lines.length > 0, 'a line from trade watch');
    expect(lines[0]).toContain('PARTIALLY_FILLED BUY 0.5 BTC @ 30000.00  filled 0.2/0.5');
  } finally {
    sdk.destroy();
    child.kill('SIGINT');
  }
});
