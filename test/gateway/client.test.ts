// The trading client (client/) against the twin: it reconnects after the gateway drops the
// connection, re-sends the request that was in flight, and works over the standard WebSocket API
// (as in a browser) with the token in the query.
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import * as core from '../../client/tradingClient';
import { createDefaultHandler } from '../../gateway/handlers/default';
import { connectionsOf } from './helpers';
import { eventually } from '../support/eventually';
import { uniqueUser } from '../support/orders';
import { testRedis } from '../support/redis';
import { connectAs, startTestTwin, tokenFor, type GatewayTwin } from '../support/twin';

let twin: GatewayTwin;
const redis = testRedis();

beforeAll(async () => {
  // A slow queue keeps order.place in flight; no worker serves this task queue, so the re-sent
  // order's `submit` update stays unanswered until its 1.5 s timeout.
  const slowSend = () => new Promise<void>((resolve) => setTimeout(resolve, 300));
  twin = await startTestTwin({
    handlers: {
      default: createDefaultHandler({
        taskQueue: `idle-${randomUUID()}`,
        sendCommand: () => Promise.resolve(slowSend),
        timeoutMs: () => 1500,
      }),
    },
  });
});
afterAll(async () => {
  await twin.close();
  redis.disconnect();
});

/** The twin's @connections API (DELETE drops the connection, POST pushes a frame to it). */
async function toConnectionOf(user: string, init: RequestInit): Promise<void> {
  const [id] = await connectionsOf(redis, user);
  const res = await fetch(`${twin.httpUrl}/@connections/${encodeURIComponent(id!)}`, init);
  expect(res.ok).toBe(true);
}
const dropConnectionOf = (user: string): Promise<void> =>
  toConnectionOf(user, { method: 'DELETE' });

test('after the gateway drops the connection the client reconnects, tells its listeners and goes on', async () => {
  const user = uniqueUser('re');
  const client = await connectAs(twin, user, { reconnect: { minDelayMs: 20 } });
  const lost: number[] = [];
  let back = 0;
  client.onDisconnect(({ code }) => lost.push(code));
  client.onReconnect(() => back++);
  await dropConnectionOf(user);
  await eventually(() => back === 1, 'the client to reconnect once');
  expect(lost).toEqual([1000]);
  expect(client.stats).toEqual({ disconnects: 1, resent: 0, repeatedReports: 0, backoffs: 0 });
  await expect(client.request('ping')).resolves.toMatchObject({ status: 200 });
  await client.close();
  await expect(client.closed).resolves.toMatchObject({ code: 1000 });
  await expect(client.request('ping')).rejects.toBeInstanceOf(core.ClientClosedError);
});

test('a request in flight when the connection drops is sent again, and its answer comes on the next connection', async () => {
  const user = uniqueUser('resend');
  const client = await connectAs(twin, user, { reconnect: { minDelayMs: 20 } });
  const params = { orderId: 'o1', type: 'BUY', coinID: 'BTC', quantity: '0.1', price: '100' };
  const answer = client.request('order.place', params, { id: 'p1' });
  await dropConnectionOf(user);
  await expect(answer).resolves.toMatchObject({ id: 'p1', status: 504 });
  expect(client.stats).toEqual({ disconnects: 1, resent: 1, repeatedReports: 0, backoffs: 0 });
  await client.close();
});

test('without reconnect, a lost connection ends the client and fails the requests in flight', async () => {
  const user = uniqueUser('once');
  const client = await connectAs(twin, user);
  const answer = client.request('order.place', {
    orderId: 'o1',
    type: 'BUY',
    coinID: 'BTC',
    quantity: '0.1',
    price: '100',
  });
  await dropConnectionOf(user);
  await expect(answer).rejects.toBeInstanceOf(core.ClientClosedError);
  await expect(client.closed).resolves.toMatchObject({ code: 1000 });
  expect(client.stats).toEqual({ disconnects: 0, resent: 0, repeatedReports: 0, backoffs: 0 });
});

test('over the standard WebSocket API (as in a browser), with the token in the query', async () => {
  const user = uniqueUser('std');
  const openSocket = core.webSocketOpener(WebSocket);
  const client = await core.TradingClient.connect(twin.url, {
    token: await tokenFor(user),
    tokenIn: 'query',
    openSocket,
  });
  await expect(client.request('ping')).resolves.toMatchObject({ status: 200 });
  const report = { event: 'executionReport', orderId: 'o1', seq: 1, status: 'NEW' };
  await toConnectionOf(user, { method: 'POST', body: JSON.stringify(report) });
  await expect(client.waitForReport((r) => r.orderId === 'o1')).resolves.toEqual(report);
  await client.close();
  await expect(core.TradingClient.connect(twin.url, { openSocket })).rejects.toThrow(
    /could not connect/,
  );
});
