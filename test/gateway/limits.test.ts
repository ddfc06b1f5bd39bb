// API Gateway's limits as the twin enforces them, and its health and metrics endpoints.
import { connectAs, startTestTwin, type GatewayTwin } from '../support/twin';
import { eventually } from '../support/eventually';
import { uniqueUser } from '../support/orders';
import { testRedis } from '../support/redis';
import { connectionKeys } from '../../connections/registry';
import { TokenBucket } from '../../gateway/local/rateLimit';

const redis = testRedis();
afterAll(() => redis.disconnect());

describe('with API Gateway’s defaults', () => {
  let twin: GatewayTwin;
  beforeAll(async () => {
    twin = await startTestTwin({ closeHandlerClients: false });
  });
  afterAll(() => twin.close());

  test('a message over 128 KB closes the connection with 1009; 128 KB exactly is fine', async () => {
    const client = await connectAs(twin, uniqueUser('frame'));
    const atLimit = JSON.stringify({ id: 'big', method: 'ping', params: { pad: '' } });
    const padded = atLimit.replace(
      '"pad":""',
      `"pad":"${'x'.repeat(128 * 1024 - atLimit.length)}"`,
    );
    expect(Buffer.byteLength(padded)).toBe(128 * 1024);
    await expect(client.request('ping', undefined, { id: 'before' })).resolves.toMatchObject({
      status: 200,
    });
    client.send(padded);
    await expect(
      client.waitForMessage((m) => (m as { id?: string }).id === 'big'),
    ).resolves.toMatchObject({
      status: 400,
      error: { code: 'UNKNOWN_FIELD' },
    });
    client.send('x'.repeat(128 * 1024 + 1));
    await expect(client.closed).resolves.toMatchObject({ code: 1009 });
  });

  test('/healthz answers ok with the connection count', async () => {
    const response = await fetch(`${twin.httpUrl}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      status: 'ok',
      connections: expect.any(Number) as number,
    });
  });

  test('/metrics exposes connections, messages by method and status, and handler latency', async () => {
    const client = await connectAs(twin, uniqueUser('metrics'));
    await client.request('ping');
    await client.request('nope');
    const text = await (await fetch(`${twin.httpUrl}/metrics`)).text();
    expect(text).toMatch(/^gateway_open_connections \d+/m);
    expect(text).toMatch(/^gateway_messages_total\{method="ping",status="200"\} \d+/m);
    expect(text).toMatch(/^gateway_messages_total\{method="invalid",status="400"\} \d+/m);
    expect(text).toMatch(
      /^gateway_handler_duration_seconds_bucket\{le="0.005",route="\$default",method="ping"\} \d+/m,
    );
    expect(text).toMatch(
      /^gateway_handler_duration_seconds_count\{route="\$connect",method="\$connect"\} \d+/m,
    );
    expect(text).toMatch(/^gateway_connects_total\{status="101"\} \d+/m);
    await client.close();
  });

  test('unknown paths are 404; the WebSocket path over plain HTTP is 426', async () => {
    expect((await fetch(`${twin.httpUrl}/nope`)).status).toBe(404);
    expect((await fetch(`${twin.httpUrl}/`)).status).toBe(426);
  });
});

test('more frames than the token bucket allows → 429 envelopes echoing the id; it refills', async () => {
  const twin = await startTestTwin({
    rateLimit: { perSecond: 5, burst: 3 },
    closeHandlerClients: false,
  });
  try {
    const client = await connectAs(twin, uniqueUser('rate'));
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) => client.request('ping', undefined, { id: `p${i}` })),
    );
    expect(answers.filter((a) => a.status === 200)).toHaveLength(3);
    const limited = answers.filter((a) => a.status === 429);
    expect(limited).toHaveLength(3);
    expect(limited[0]).toEqual({
      id: limited[0]!.id,
      status: 429,
      error: { code: 'TOO_MANY_REQUESTS', msg: expect.stringContaining('rate limit') as string },
    });
    await new Promise((r) => setTimeout(r, 450));
    await expect(client.request('ping')).resolves.toMatchObject({ status: 200 });
    await client.close();
  } finally {
    await twin.close();
  }
});

test('an idle connection is closed with 1001 after the idle timeout and forgotten; activity keeps it open', async () => {
  const twin = await startTestTwin({ idleTimeoutMs: 400, closeHandlerClients: false });
  try {
    const user = uniqueUser('idle');
    const [idle, busy] = [await connectAs(twin, user), await connectAs(twin, user)];
    const keepBusy = setInterval(() => void busy.request('ping').catch(() => undefined), 100);
    await expect(idle.closed).resolves.toEqual({ code: 1001, reason: 'Going away' });
    clearInterval(keepBusy);
    expect(await eventually(() => twin.connectionIds().length === 1, 'one open connection')).toBe(
      true,
    );
    expect(
      await eventually(
        async () => (await redis.zcard(connectionKeys.byUser(user))) === 1,
        'one connection in Redis',
      ),
    ).toBe(true);
    await busy.close();
  } finally {
    await twin.close();
  }
});

test('a connection is closed after the maximum connection lifetime, busy or not', async () => {
  const twin = await startTestTwin({ maxConnectionMs: 300, closeHandlerClients: false });
  try {
    const client = await connectAs(twin, uniqueUser('life'));
    const keepBusy = setInterval(() => void client.request('ping').catch(() => undefined), 50);
    await expect(client.closed).resolves.toMatchObject({ code: 1001 });
    clearInterval(keepBusy);
  } finally {
    await twin.close();
  }
});

test('close() says goodbye to every connection (1001), runs $disconnect, and stops listening', async () => {
  const twin = await startTestTwin({ closeHandlerClients: false });
  const user = uniqueUser('stop');
  const client = await connectAs(twin, user);
  await eventually(
    async () => (await redis.zcard(connectionKeys.byUser(user))) === 1,
    'the connection in Redis',
  );
  await twin.close();
  await expect(client.closed).resolves.toMatchObject({ code: 1001 });
  expect(await redis.zcard(connectionKeys.byUser(user))).toBe(0);
  await expect(fetch(`${twin.httpUrl}/healthz`)).rejects.toThrow();
});

test('token bucket: burst, then refill at the configured rate', () => {
  let now = 0;
  const bucket = new TokenBucket(2, 3, () => now);
  expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([
    true,
    true,
    true,
    false,
  ]);
  now += 499;
  expect(bucket.take()).toBe(false);
  now += 1;
  expect(bucket.take()).toBe(true);
  now += 10_000;
  expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([
    true,
    true,
    true,
    false,
  ]);
});
