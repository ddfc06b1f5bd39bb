// outboundAccountPosition over a real socket: after a deposit, every connection of the user gets
// the changed asset's free and locked amounts with the ledger's seq; other users get nothing.
import { accountPosition, createPushAccountPosition } from '../../accounts/positionPush';
import { processAccounts } from '../../accounts/process';
import { assets } from '../../config/markets';
import { serviceLogger } from '../../platform/log';
import { useTestTwin } from '../gateway/helpers';
import { eventually } from '../support/eventually';
import { uniqueUser } from '../support/orders';
import { connectAs } from '../support/twin';
import { connectionKeys } from '../../connections/registry';

const env = useTestTwin();

test('a deposit reaches every connection of its user as outboundAccountPosition, in seq order', async () => {
  const user = uniqueUser('pos');
  const [a, b] = [await connectAs(env.twin, user), await connectAs(env.twin, user)];
  const other = await connectAs(env.twin, uniqueUser('pos-other'));
  await eventually(
    async () => (await env.redis.zcard(connectionKeys.byUser(user))) === 2,
    'both connections in Redis',
  );
  const push = createPushAccountPosition({
    log: serviceLogger('test').child({}, { level: 'warn' }),
    redis: env.redis,
    managementUrl: env.twin.httpUrl,
  });
  const accounts = await processAccounts();
  const first = await accounts.deposit(user, 'USDT', '250', `${user}-1`);
  await push(accountPosition(assets, user, first, 1_700_000_000_000));
  const second = await accounts.deposit(user, 'USDT', '0.5', `${user}-2`);
  await push(accountPosition(assets, user, second, 1_700_000_000_001));

  for (const client of [a, b]) {
    const positions = await eventually(() => {
      const got = client.messages.filter(
        (m) => (m as { event?: string }).event === 'outboundAccountPosition',
      );
      return got.length === 2 ? got : undefined;
    }, 'two account positions');
    expect(positions).toEqual([
      {
        event: 'outboundAccountPosition',
        userID: user,
        seq: first.seq,
        balances: [{ asset: 'USDT', free: '250.00000000', locked: '0.00000000' }],
        time: 1_700_000_000_000,
      },
      {
        event: 'outboundAccountPosition',
        userID: user,
        seq: second.seq,
        balances: [{ asset: 'USDT', free: '250.50000000', locked: '0.00000000' }],
        time: 1_700_000_000_001,
      },
    ]);
    expect(second.seq).toBeGreaterThan(first.seq);
  }
  expect(
    other.messages.some((m) => (m as { event?: string }).event === 'outboundAccountPosition'),
  ).toBe(false);
  for (const c of [a, b, other]) await c.close();
});
