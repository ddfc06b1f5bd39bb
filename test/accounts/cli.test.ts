// `npm run account` as an operator runs it, on the real ledger store: a deposit once per id, the
// balances, the journal; bad input names what is wrong and changes nothing.
import { uniqueUser } from '../support/orders';
import { runScript } from '../support/runScript';

const account = (args: string[]) => runScript('scripts/account.ts', args);

test('deposit once per id, then balance and history show it', async () => {
  const user = uniqueUser('cli-acct');
  const first = await account(['deposit', '--user', user, 'USDT', '1000', '--id', `${user}-1`]);
  expect(first).toMatchObject({ code: 0, stderr: '' });
  expect(first.stdout).toContain(`deposited 1000 USDT to ${user}`);
  expect(first.stdout).toContain('USDT: free 1000.00000000, locked 0.00000000');

  const again = await account(['deposit', '--user', user, 'USDT', '1000', '--id', `${user}-1`]);
  expect(again.stdout).toContain('was already applied; nothing changed');

  const balance = await account(['balance', '--user', user]);
  expect(balance.stdout.split('\n')).toEqual([
    'USDT   free 1000.00000000  locked 0.00000000',
    'BTC    free 0.00000000  locked 0.00000000',
    'ETH    free 0.00000000  locked 0.00000000',
    '',
  ]);

  const history = await account(['history', '--user', user]);
  const lines = history.stdout.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(
    new RegExp(
      `^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z  deposit    ${user}-1  USDT free 0.00000000 → 1000.00000000, locked 0.00000000 → 0.00000000$`,
    ),
  );
  const json = await account(['--json', 'history', '--user', user]);
  expect(JSON.parse(json.stdout)).toMatchObject([
    { kind: 'deposit', ref: `${user}-1`, changes: [{ asset: 'USDT', freeAfter: '100000000000' }] },
  ]);
}, 60_000);

test('an unknown asset or an amount finer than the asset is refused, naming it', async () => {
  const user = uniqueUser('cli-acct');
  const unknown = await account(['deposit', '--user', user, 'XRP', '1', '--id', `${user}-x`]);
  expect(unknown.code).toBe(1);
  expect(unknown.stderr).toContain('unknown asset "XRP"; known: USDT, BTC, ETH');
  const fine = await account([
    'deposit',
    '--user',
    user,
    'BTC',
    '0.000000001',
    '--id',
    `${user}-y`,
  ]);
  expect(fine.code).toBe(1);
  expect(fine.stderr).toContain('amount has more than 8 decimals');
  const balance = await account(['--json', 'balance', '--user', user]);
  expect(JSON.parse(balance.stdout)).toMatchObject({
    balances: [{ free: '0.00000000' }, { free: '0.00000000' }, { free: '0.00000000' }],
  });
}, 60_000);

test('check sums the accounts it is given and says whether they are consistent', async () => {
  const [a, b] = [uniqueUser('cli-chk'), uniqueUser('cli-chk')];
  await account(['deposit', '--user', a, 'BTC', '1.5', '--id', `${a}-1`]);
  await account(['deposit', '--user', b, 'BTC', '0.5', '--id', `${b}-1`]);
  const check = await account(['check', '--user', a, '--user', b]);
  expect(check).toMatchObject({ code: 0, stderr: '' });
  expect(check.stdout.split('\n')).toEqual([
    '2 accounts',
    'BTC    free 2.00000000  locked 0.00000000  came in 2.00000000  went out 0.00000000',
    'consistent',
    '',
  ]);
}, 60_000);
