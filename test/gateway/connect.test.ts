// $connect over a real socket: the REQUEST authorizer, then $connect recording the connection per
// user in Redis; $disconnect forgetting it.
import { connectionsOf, useTestTwin } from './helpers';
import { eventually } from '../support/eventually';
import { uniqueUser } from '../support/orders';
import {
  ConnectRefusedError,
  TradingClient,
  connectAs,
  startTestTwin,
  tokenFor,
} from '../support/twin';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SignJWT } from 'jose';
import { randomUUID } from 'node:crypto';
import { handler as authorizer } from '../../gateway/handlers/authorizer';
import { connectionKeys, connectionTtlMs } from '../../connections/registry';
import type { AuthorizerEvent, WebSocketEvent } from '../../gateway/types';
import { createConnectHandler } from '../../gateway/handlers/connect';
import { parseGrant } from '../../accounts/accounts';
import { processAccounts } from '../../accounts/process';
import { assets } from '../../config/markets';
import { processLedger } from '../../ledger/connection';

const env = useTestTwin();
const { redis } = env;

async function refusal(connect: Promise<TradingClient>): Promise<number> {
  try {
    const client = await connect;
    await client.close();
  } catch (err) {
    if (err instanceof ConnectRefusedError) return err.statusCode;
    throw err;
  }
  throw new Error('the connection was accepted');
}

test('a token in the Authorization header is accepted; the connection is recorded per user', async () => {
  const user = uniqueUser('hdr');
  const client = await connectAs(env.twin, user);
  const [connectionId] = await connectionsOf(redis, user);
  expect(env.twin.connectionIds()).toContain(connectionId);
  expect(await redis.get(connectionKeys.byId(connectionId!))).toBe(user);
  const ttl = await redis.pttl(connectionKeys.byId(connectionId!));
  expect(ttl).toBeGreaterThan(connectionTtlMs - 60_000);
  const score = Number(await redis.zscore(connectionKeys.byUser(user), connectionId!));
  expect(score).toBeGreaterThan(Date.now() + connectionTtlMs - 60_000);

  // Requests run as the token's user.
  const pong = await client.request('ping');
  expect(pong).toMatchObject({ id: 'r1', status: 200 });

  await client.close();
  await eventually(
    async () => (await redis.exists(connectionKeys.byId(connectionId!))) === 0,
    'the connection gone from Redis',
  );
  expect(await redis.zrange(connectionKeys.byUser(user), 0, -1)).toEqual([]);
});

test('a token in ?token= is accepted (browsers cannot set headers)', async () => {
  const user = uniqueUser('qs');
  const client = await connectAs(env.twin, user, { tokenIn: 'query' });
  expect(await client.request('ping')).toMatchObject({ status: 200 });
  expect(
    await eventually(() => redis.zcard(connectionKeys.byUser(user)), 'the connection in Redis'),
  ).toBe(1);
  await client.close();
});

test('two connections of one user are both recorded', async () => {
  const user = uniqueUser('two');
  const [a, b] = [await connectAs(env.twin, user), await connectAs(env.twin, user)];
  expect(
    await eventually(
      async () => (await redis.zcard(connectionKeys.byUser(user))) === 2,
      'two connections in Redis',
    ),
  ).toBe(true);
  await Promise.all([a.close(), b.close()]);
  expect(
    await eventually(
      async () => (await redis.zcard(connectionKeys.byUser(user))) === 0,
      'no connection in Redis',
    ),
  ).toBe(true);
});

test('no token, a bad signature, an expired token or a bad subject: the upgrade is refused with 401', async () => {
  const user = uniqueUser('bad');
  expect(await refusal(TradingClient.connect(env.twin.url))).toBe(401);
  expect(
    await refusal(
      TradingClient.connect(env.twin.url, { token: await tokenFor(user, { secret: 'wrong' }) }),
    ),
  ).toBe(401);
  expect(
    await refusal(
      TradingClient.connect(env.twin.url, { token: await tokenFor(user, { expiresIn: -60 }) }),
    ),
  ).toBe(401);
  expect(await refusal(TradingClient.connect(env.twin.url, { token: 'not.a.jwt' }))).toBe(401);
  expect(
    await refusal(TradingClient.connect(env.twin.url, { headers: { Authorization: 'Basic abc' } })),
  ).toBe(401);
  const slashSubject = await new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('a/b')
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode('local-dev-secret'));
  expect(await refusal(TradingClient.connect(env.twin.url, { token: slashSubject }))).toBe(401);
  const noExpiry = await new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(user)
    .sign(new TextEncoder().encode('local-dev-secret'));
  expect(await refusal(TradingClient.connect(env.twin.url, { token: noExpiry }))).toBe(401);
  // Nothing was recorded for the refused user.
  expect(await redis.exists(connectionKeys.byUser(user))).toBe(0);
});

test('the authorizer returns an IAM policy for the method ARN with principalId and context = userID', async () => {
  const user = uniqueUser('iam');
  const methodArn = 'arn:aws:execute-api:us-east-1:123456789012:abc123/prod/$connect';
  const event = {
    type: 'REQUEST',
    methodArn,
    headers: { Authorization: `Bearer ${await tokenFor(user)}` },
    requestContext: { routeKey: '$connect', eventType: 'CONNECT', connectionId: 'X=' },
  } as unknown as AuthorizerEvent;
  await expect(authorizer(event)).resolves.toEqual({
    principalId: user,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: methodArn }],
    },
    context: { userID: user },
  });
  await expect(authorizer({ ...event, headers: {} })).rejects.toThrow('Unauthorized');
});

test('without an authorizer, $connect verifies the token itself', async () => {
  const bare = await startTestTwin({ handlers: { authorizer: null }, closeHandlerClients: false });
  try {
    expect(await refusal(TradingClient.connect(bare.url))).toBe(401);
    const user = uniqueUser('bare');
    const client = await connectAs(bare, user);
    expect(await client.request('ping')).toMatchObject({ status: 200 });
    await client.close();
  } finally {
    await bare.close();
  }
});

test('production-style: the signing key is read from Secrets Manager by JWT_SECRET_ARN', async () => {
  const secrets = new SecretsManagerClient({});
  const key = `prod-key-${randomUUID()}`;
  const { ARN } = await secrets.send(
    new CreateSecretCommand({ Name: `jwt-${randomUUID()}`, SecretString: key }),
  );
  secrets.destroy();
  process.env.JWT_SECRET_ARN = ARN;
  try {
    const user = uniqueUser('arn');
    const client = await connectAs(env.twin, user, {
      token: await tokenFor(user, { secret: key }),
    });
    expect(await client.request('ping')).toMatchObject({ status: 200 });
    await client.close();
    // The local development key no longer opens the door.
    const local = await tokenFor(user, { secret: 'local-dev-secret' });
    expect(await refusal(TradingClient.connect(env.twin.url, { token: local }))).toBe(401);
  } finally {
    delete process.env.JWT_SECRET_ARN;
  }
});

test('with an opening grant, a new account gets it once, however often its user connects', async () => {
  const user = uniqueUser('grant');
  const connect = createConnectHandler({
    openingGrant: parseGrant('USDT=100000,BTC=10', assets),
  });
  // Only what $connect reads; the twin fills in the rest of a real event.
  const event = (connectionId: string): WebSocketEvent =>
    ({
      requestContext: {
        connectionId,
        routeKey: '$connect',
        eventType: 'CONNECT',
        requestId: randomUUID(),
        connectedAt: Date.now(),
        authorizer: { userID: user },
      },
    }) as unknown as WebSocketEvent;
  expect(await connect(event(`${user}-c1`))).toEqual({ statusCode: 200 });
  expect(await connect(event(`${user}-c2`))).toEqual({ statusCode: 200 });
  const accounts = await processAccounts();
  expect((await accounts.status(user)).balances).toEqual([
    { asset: 'USDT', free: '100000.00000000', locked: '0.00000000' },
    { asset: 'BTC', free: '10.00000000', locked: '0.00000000' },
    { asset: 'ETH', free: '0.00000000', locked: '0.00000000' },
  ]);
  const journal = await (await processLedger()).journal(user);
  expect(journal.map((e) => [e.kind, e.changeId])).toEqual([['grant', 'grant:open']]);
});
