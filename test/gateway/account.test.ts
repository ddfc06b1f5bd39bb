// The account methods over a real socket, on the real ledger: every configured asset with its free
// and locked amounts as decimal strings, another user's account is 403, the commission rates come
// from config/markets.json; a deposit applied once per id shows at once.
import { processAccounts } from '../../accounts/process';
import { connectAs, startTestTwin, type GatewayTwin, type TradingClient } from '../support/twin';
import { uniqueUser } from '../support/orders';

let twin: GatewayTwin;
let client: TradingClient;
const user = uniqueUser('acct');

beforeAll(async () => {
  twin = await startTestTwin();
  client = await connectAs(twin, user);
});
afterAll(async () => {
  await client.close();
  await twin.close();
});

test('a new account holds nothing of any asset (no grant outside npm start)', async () => {
  expect(await client.request('account.status', {}, { id: 'a1' })).toMatchObject({
    id: 'a1',
    status: 200,
    result: {
      balances: [
        { asset: 'USDT', free: '0.00000000', locked: '0.00000000' },
        { asset: 'BTC', free: '0.00000000', locked: '0.00000000' },
        { asset: 'ETH', free: '0.00000000', locked: '0.00000000' },
      ],
    },
  });
});

test('a deposit shows in account.status; the same deposit id again changes nothing', async () => {
  const accounts = await processAccounts();
  await accounts.deposit(user, 'USDT', '1000.5', `${user}-dep-1`);
  const again = await accounts.deposit(user, 'USDT', '1000.5', `${user}-dep-1`);
  expect(again.repeated).toBe(true);
  await accounts.deposit(user, 'BTC', '0.00000001', `${user}-dep-2`);
  const answer = await client.request('account.status');
  expect(answer).toMatchObject({
    status: 200,
    result: {
      balances: [
        { asset: 'USDT', free: '1000.50000000', locked: '0.00000000' },
        { asset: 'BTC', free: '0.00000001', locked: '0.00000000' },
        { asset: 'ETH', free: '0.00000000', locked: '0.00000000' },
      ],
    },
  });
});

test("another user's account is 403 naming userID; an unknown param is 400", async () => {
  expect(await client.request('account.status', { userID: 'someone-else' })).toMatchObject({
    status: 403,
    error: { code: 'FORBIDDEN', field: 'userID' },
  });
  expect(await client.request('account.status', { userID: user })).toMatchObject({ status: 200 });
  expect(await client.request('account.status', { asset: 'USDT' })).toMatchObject({
    status: 400,
    error: { code: 'UNKNOWN_FIELD', field: 'asset' },
  });
});

test('account.commission lists the maker and taker rates of every market', async () => {
  expect(await client.request('account.commission')).toMatchObject({
    status: 200,
    result: {
      commissionRates: [
        { coinID: 'BTC', maker: '0.00100000', taker: '0.00100000' },
        { coinID: 'ETH', maker: '0.00100000', taker: '0.00100000' },
      ],
    },
  });
});
