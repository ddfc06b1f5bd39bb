// The client library's back-off after a refusal (429 TOO_MANY_REQUESTS or 503 OVERLOADED with
// retryAfterMs): each re-send waits max(retryAfterMs, a jittered back-off that doubles up to its
// longest), sends the frame unchanged, and stops after `attempts`. A stand-in socket records what is
// sent and when (fake timers, no server).
import {
  TradingClient,
  type Answer,
  type ConnectOptions,
  type Refusal,
  type SocketEvents,
} from '../../client/tradingClient';

interface StandIn {
  client: TradingClient;
  /** Each frame sent, with the (fake) time it left. */
  sent: Array<{ at: number; frame: string }>;
  answer(a: Answer): void;
  /** The connection drops; the client reconnects when told to. */
  drop(): void;
}

async function standIn(options: ConnectOptions = {}): Promise<StandIn> {
  const sent: StandIn['sent'] = [];
  let events: SocketEvents | undefined;
  const client = await TradingClient.connect('ws://stand-in', {
    ...options,
    openSocket: (_url, _init, e) => {
      events = e;
      return Promise.resolve({
        send: (frame) => sent.push({ at: Date.now(), frame: String(frame) }),
        close: (code) => e.close(code, ''),
        terminate: () => undefined,
      });
    },
  });
  return {
    client,
    sent,
    answer: (a) => events!.message(JSON.stringify(a)),
    drop: () => events!.close(1006, ''),
  };
}

const order = { orderId: 'o1', type: 'BUY', coinID: 'BTC', quantity: '1', price: '100' };
const rateLimits = [
  { rateLimitType: 'ORDERS', interval: 'SECOND', intervalNum: 10, limit: 50, count: 50 },
] as const;
const refusal = (status: number, code: string, retryAfterMs?: number): Answer => ({
  id: 'r1',
  status,
  error: { code, msg: 'not now', ...(retryAfterMs !== undefined && { retryAfterMs }) },
  rateLimits: [...rateLimits],
});

let started: number;
beforeEach(() => {
  jest.useFakeTimers();
  started = Date.now();
});
afterEach(() => {
  jest.useRealTimers();
  jest.restoreAllMocks();
});

/** When each frame left, in ms since the test began. */
const times = (s: StandIn): number[] => s.sent.map((x) => x.at - started);

test('the back-off doubles from minDelayMs to maxDelayMs, drawn between half and all of it; the frame is sent unchanged', async () => {
  jest.spyOn(Math, 'random').mockReturnValueOnce(0).mockReturnValueOnce(0.5).mockReturnValue(1);
  const s = await standIn({ backoff: { attempts: 3, minDelayMs: 100, maxDelayMs: 300 } });
  const answer = s.client.request('order.place', order, { id: 'r1' });
  // 100 ms drawn at 0 → 50; 200 at 0.5 → 150; 400 capped at 300, at 1 → 300.
  for (const wait of [50, 150, 300]) {
    s.answer(refusal(429, 'TOO_MANY_REQUESTS', 10));
    jest.advanceTimersByTime(wait - 1);
    const before = s.sent.length;
    jest.advanceTimersByTime(1);
    expect(s.sent.length).toBe(before + 1);
  }
  expect(times(s)).toEqual([0, 50, 200, 500]);
  expect(new Set(s.sent.map((x) => x.frame))).toEqual(
    new Set([JSON.stringify({ id: 'r1', method: 'order.place', params: order })]),
  );
  // The attempts are spent: the next refusal goes to the caller.
  s.answer(refusal(429, 'TOO_MANY_REQUESTS', 10));
  await expect(answer).resolves.toEqual(refusal(429, 'TOO_MANY_REQUESTS', 10));
  jest.advanceTimersByTime(10_000);
  expect(s.sent).toHaveLength(4);
  expect(s.client.stats.backoffs).toBe(3);
});

test('a longer retryAfterMs wins over the back-off, for 429 and 503 OVERLOADED alike; the latest rateLimits are kept', async () => {
  jest.spyOn(Math, 'random').mockReturnValue(1);
  const s = await standIn({ backoff: { minDelayMs: 100 } });
  const answer = s.client.request('order.place', order, { id: 'r1' });
  s.answer(refusal(429, 'TOO_MANY_REQUESTS', 1000));
  expect(s.client.rateLimits).toEqual(rateLimits);
  jest.advanceTimersByTime(1000);
  s.answer(refusal(503, 'OVERLOADED', 700));
  jest.advanceTimersByTime(700);
  expect(times(s)).toEqual([0, 1000, 1700]);
  const placed = { ...rateLimits[0], count: 1 };
  s.answer({ id: 'r1', status: 200, result: { orderId: 'o1' }, rateLimits: [placed] });
  await expect(answer).resolves.toMatchObject({ status: 200, rateLimits: [placed] });
  expect(s.client.rateLimits).toEqual([placed]);
  expect(s.client.stats.backoffs).toBe(2);
});

test.each([
  ['429 without retryAfterMs (the connection’s frame rate)', refusal(429, 'TOO_MANY_REQUESTS')],
  ['503 UNAVAILABLE', refusal(503, 'UNAVAILABLE', 100)],
  [
    'a retryAfterMs beyond maxRetryAfterMs (a day’s limit)',
    refusal(429, 'TOO_MANY_REQUESTS', 60_000),
  ],
])('%s goes to the caller at once', async (_name, refused) => {
  const s = await standIn({ backoff: { maxRetryAfterMs: 15_000 } });
  const answer = s.client.request('order.place', order, { id: 'r1' });
  s.answer(refused);
  await expect(answer).resolves.toEqual(refused);
  expect(s.sent).toHaveLength(1);
});

test('backoff: false hands every refusal to the caller', async () => {
  const s = await standIn({ backoff: false });
  const answer = s.client.request('order.place', order, { id: 'r1' });
  s.answer(refusal(429, 'TOO_MANY_REQUESTS', 10));
  await expect(answer).resolves.toEqual(refusal(429, 'TOO_MANY_REQUESTS', 10));
});

test('a reconnect during the wait does not send the request early', async () => {
  jest.spyOn(Math, 'random').mockReturnValue(1);
  const s = await standIn({ reconnect: { minDelayMs: 10 }, backoff: { minDelayMs: 100 } });
  void s.client.request('order.place', order, { id: 'r1' }).catch(() => undefined);
  s.answer(refusal(429, 'TOO_MANY_REQUESTS', 1000));
  s.drop();
  await jest.advanceTimersByTimeAsync(500);
  expect(s.client.stats.disconnects).toBe(1);
  expect(times(s)).toEqual([0]);
  await jest.advanceTimersByTimeAsync(500);
  expect(times(s)).toEqual([0, 1000]);
  await s.client.close();
});

test('onRefused hears every refusal: how long its sending waited for it, and whether it is sent again', async () => {
  jest.spyOn(Math, 'random').mockReturnValue(1);
  const s = await standIn({ backoff: { attempts: 1, minDelayMs: 100 } });
  const refusals: Refusal[] = [];
  s.client.onRefused((r) => refusals.push(r));
  const answer = s.client.request('order.place', order, { id: 'r1' });
  jest.advanceTimersByTime(30);
  s.answer(refusal(503, 'OVERLOADED', 250));
  jest.advanceTimersByTime(250 + 12);
  s.answer(refusal(503, 'OVERLOADED', 250));
  await expect(answer).resolves.toMatchObject({ status: 503 });
  s.answer(refusal(503, 'UNAVAILABLE', 100)); // not a refusal to wait out, and no request left
  expect(refusals).toEqual([
    {
      method: 'order.place',
      status: 503,
      code: 'OVERLOADED',
      retryAfterMs: 250,
      answeredInMs: 30,
      willRetry: true,
    },
    {
      method: 'order.place',
      status: 503,
      code: 'OVERLOADED',
      retryAfterMs: 250,
      answeredInMs: 12,
      willRetry: false,
    },
  ]);
});
