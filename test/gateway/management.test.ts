// The twin's management API (@connections) driven by the real AWS SDK client.
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GetConnectionCommand,
  GoneException,
  PayloadTooLargeException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { connectionsOf } from './helpers';
import { eventually } from '../support/eventually';
import { uniqueUser } from '../support/orders';
import { testRedis } from '../support/redis';
import { connectAs, startTestTwin, type GatewayTwin } from '../support/twin';
import { connectionKeys } from '../../connections/registry';

let twin: GatewayTwin;
let sdk: ApiGatewayManagementApiClient;
const redis = testRedis();

beforeAll(async () => {
  twin = await startTestTwin();
  sdk = new ApiGatewayManagementApiClient({
    endpoint: twin.httpUrl,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
});
afterAll(async () => {
  sdk.destroy();
  await twin.close();
  redis.disconnect();
});

async function connectionOf(user: string): Promise<string> {
  const [id] = await connectionsOf(redis, user);
  if (!id) throw new Error(`no connection of ${user}`);
  return id;
}

test('PostToConnection reaches the socket as a text frame', async () => {
  const user = uniqueUser('post');
  const client = await connectAs(twin, user);
  const id = await connectionOf(user);
  await sdk.send(
    new PostToConnectionCommand({ ConnectionId: id, Data: JSON.stringify({ hello: 'world' }) }),
  );
  await expect(
    client.waitForMessage((m) => (m as { hello?: string }).hello === 'world'),
  ).resolves.toEqual({ hello: 'world' });
  await client.close();
});

test('a report pushed before the client listens reaches its first listener', async () => {
  const user = uniqueUser('early');
  const client = await connectAs(twin, user);
  const id = await connectionOf(user);
  const report = { event: 'executionReport', orderId: 'o1', seq: 1, status: 'NEW' };
  await sdk.send(new PostToConnectionCommand({ ConnectionId: id, Data: JSON.stringify(report) }));
  await client.waitForMessage((m) => (m as { orderId?: string }).orderId === 'o1');
  const heard: unknown[] = [];
  client.onReport((r) => heard.push(r));
  expect(heard).toEqual([report]);
  const later: unknown[] = [];
  client.onReport((r) => later.push(r)); // only the first listener gets what came before
  expect(later).toEqual([]);
  await client.close();
});

test('the stage path form /{stage}/@connections/{id} works too', async () => {
  const user = uniqueUser('stage');
  const client = await connectAs(twin, user);
  const id = await connectionOf(user);
  const staged = new ApiGatewayManagementApiClient({
    endpoint: `${twin.httpUrl}/local`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  try {
    await staged.send(new PostToConnectionCommand({ ConnectionId: id, Data: '{"n":1}' }));
    await client.waitForMessage((m) => (m as { n?: number }).n === 1);
  } finally {
    staged.destroy();
    await client.close();
  }
});

test('GetConnection returns connectedAt, identity and lastActiveAt', async () => {
  const user = uniqueUser('get');
  const before = Date.now();
  const client = await connectAs(twin, user, { headers: { 'User-Agent': 'jest-test/1.0' } });
  const id = await connectionOf(user);
  await client.request('ping');
  const info = await sdk.send(new GetConnectionCommand({ ConnectionId: id }));
  expect(info.ConnectedAt).toBeInstanceOf(Date);
  expect(info.ConnectedAt!.getTime()).toBeGreaterThanOrEqual(before - 1000);
  expect(info.LastActiveAt!.getTime()).toBeGreaterThanOrEqual(info.ConnectedAt!.getTime());
  expect(info.Identity).toEqual({ SourceIp: '127.0.0.1', UserAgent: 'jest-test/1.0' });
  await client.close();
});

test('DeleteConnection closes the socket and $disconnect forgets it', async () => {
  const user = uniqueUser('del');
  const client = await connectAs(twin, user);
  const id = await connectionOf(user);
  await sdk.send(new DeleteConnectionCommand({ ConnectionId: id }));
  await expect(client.closed).resolves.toMatchObject({ code: 1000 });
  await eventually(
    async () => (await redis.exists(connectionKeys.byId(id))) === 0,
    'the connection gone from Redis',
  );
  expect(await redis.zcard(connectionKeys.byUser(user))).toBe(0);
  expect(twin.connectionIds()).not.toContain(id);
});

test('a gone connection: the SDK throws GoneException for post, get and delete (410 + x-amzn-ErrorType)', async () => {
  const user = uniqueUser('gone');
  const client = await connectAs(twin, user);
  const id = await connectionOf(user);
  await client.close();
  await eventually(() => !twin.connectionIds().includes(id), 'the connection gone from the twin');
  for (const command of [
    new PostToConnectionCommand({ ConnectionId: id, Data: '{}' }),
    new GetConnectionCommand({ ConnectionId: id }),
    new DeleteConnectionCommand({ ConnectionId: id }),
  ]) {
    const error: unknown = await sdk
      .send(command as PostToConnectionCommand)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GoneException);
    expect((error as GoneException).$metadata.httpStatusCode).toBe(410);
  }
  const raw = await fetch(`${twin.httpUrl}/@connections/${encodeURIComponent('never=')}`, {
    method: 'POST',
    body: '{}',
  });
  expect(raw.status).toBe(410);
  expect(raw.headers.get('x-amzn-ErrorType')).toBe('GoneException');
});

test('a post over 128 KB → PayloadTooLargeException', async () => {
  const user = uniqueUser('big');
  const client = await connectAs(twin, user);
  const id = await connectionOf(user);
  const error: unknown = await sdk
    .send(new PostToConnectionCommand({ ConnectionId: id, Data: 'x'.repeat(128 * 1024 + 1) }))
    .catch((e: unknown) => e);
  expect(error).toBeInstanceOf(PayloadTooLargeException);
  await client.close();
});
