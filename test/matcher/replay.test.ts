// The replay tool as operators run it: a real process (`npm run -s matcher:replay`) reading JSONL
// on stdin against the test run's Redis, checked line by line and against the reference model.
import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { formatPrice, formatQty } from '../../domain/markets';
import { parseOrder, type MatcherCommand } from '../../domain/order';
import { formatEvent } from '../../matcher/replay';
import { projectRoot } from '../../scripts/services';
import { ReferenceBook } from '../support/referenceBook';
import { redisUrl, testRedis } from '../support/redis';
import { btc, markets } from './support';

interface Run {
  code: number | null;
  stdout: string[];
  stderr: string[];
}

function replay(input: string, args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '-s', 'matcher:replay', '--', ...args], {
      cwd: projectRoot,
      env: { ...process.env, REDIS_URL: redisUrl() },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) =>
      resolve({
        code,
        stdout: out.split('\n').filter(Boolean),
        stderr: err.split('\n').filter(Boolean),
      }),
    );
    child.stdin.end(input);
  });
}

const parse = (lines: string[]) => lines.map((l) => JSON.parse(l) as Record<string, unknown>);

test('replays seed messages and cancels; rejects bad lines; dumps the book', async () => {
  const input = [
    '{"orderId":"1","type":"SELL","userID":"user1","coinID":"BTC","quantity":5,"price":100}',
    '{"cmd":"place","orderId":"2","type":"SELL","userID":"user2","coinID":"BTC","quantity":"1.5","price":"100.00"}',
    '{"orderId":"3","type":"SELL","userID":"user3","coinID":"BTC","quantity":2,"price":99.5}',
    '{"orderId":"4","type":"BUY","userID":"user4","coinID":"BTC","quantity":0.5,"price":101,"timeInForce":"IOC"}',
    'this is not json',
    '{"orderId":"5","type":"BUY","userID":"user4","coinID":"BTC","quantity":0.1,"price":100.001}',
    '{"cmd":"cancel","userID":"user2","orderId":"2"}',
    '{"cmd":"cancel","userID":"user2","orderId":"nope"}',
    '',
    '{"orderId":"6","type":"BUY","userID":"user5","coinID":"BTC","quantity":1,"price":98}',
    '{"orderId":"7","type":"BUY","userID":"user6","coinID":"BTC","quantity":1,"price":98.5}',
  ].join('\n');
  const run = await replay(input, ['--market', 'BTC', '--dump-book']);
  expect(run.code).toBe(0);
  const lines = parse(run.stdout);
  expect(
    lines.map((l) => `${l.event as string} ${(l.commandId as string | undefined) ?? ''}`),
  ).toEqual([
    'NEW replay#1',
    'NEW replay#2',
    'NEW replay#3',
    'NEW replay#4',
    'TRADE replay#4',
    'TRADE replay#4',
    'REJECTED replay#6',
    'CANCELED replay#7',
    'CANCEL_REJECTED replay#8',
    'NEW replay#10',
    'NEW replay#11',
    'bookSnapshot ',
  ]);
  expect(lines[4]).toEqual({
    event: 'TRADE',
    seq: '5',
    market: 'BTC',
    userID: 'user4',
    orderId: '4',
    orderSeq: '2',
    commandId: 'replay#4',
    tradeId: 'BTC-1',
    side: 'BUY',
    lastQty: '0.50000',
    lastPrice: '99.50',
    maker: false,
    filledQty: '0.50000',
    leavesQty: '0.00000',
  });
  expect(lines[5]).toMatchObject({ orderId: '3', userID: 'user3', maker: true, tradeId: 'BTC-1' });
  expect(lines[6]).toEqual({
    event: 'REJECTED',
    commandId: 'replay#6',
    market: 'BTC',
    userID: 'user4',
    orderId: '5',
    reason: 'INVALID_PRICE',
    msg: 'price must be a multiple of 0.01',
    field: 'price',
  });
  expect(lines[7]).toMatchObject({ event: 'CANCELED', orderId: '2', filledQty: '0.00000' });
  expect(lines.at(-1)).toEqual({
    event: 'bookSnapshot',
    market: 'BTC',
    bids: [
      { orderId: '7', userID: 'user6', price: '98.50', remainingQty: '1.00000' },
      { orderId: '6', userID: 'user5', price: '98.00', remainingQty: '1.00000' },
    ],
    asks: [
      { orderId: '3', userID: 'user3', price: '99.50', remainingQty: '1.50000' },
      { orderId: '1', userID: 'user1', price: '100.00', remainingQty: '5.00000' },
    ],
  });
  expect(parse(run.stderr.slice(0, 1))).toEqual([
    expect.objectContaining({ event: 'REJECTED', line: 5, reason: 'MALFORMED_JSON' }),
  ]);
  expect(run.stderr.at(-1)).toMatch(/^replayed 11 lines on BTC: 8 commands/);
});

test('the output reproduces the model for a long random day, identically on every run', async () => {
  const users = ['alice', 'bob', 'carol', 'dave'];
  const lines: string[] = [];
  const placed: Array<{ userID: string; orderId: string }> = [];
  for (let i = 1; i <= 400; i++) {
    const userID = users[randomInt(users.length)]!;
    if (placed.length > 0 && randomInt(5) === 0) {
      const target = placed[randomInt(placed.length)]!;
      lines.push(JSON.stringify({ cmd: 'cancel', ...target }));
      continue;
    }
    const orderId = `o${i}`;
    placed.push({ userID, orderId });
    const order: Record<string, unknown> = {
      orderId,
      type: randomInt(2) === 0 ? 'BUY' : 'SELL',
      userID,
      coinID: 'BTC',
      quantity: `0.00${50 + randomInt(300)}`,
    };
    const kind = randomInt(10);
    if (kind < 7) order.price = `${10_000 + randomInt(5)}.${randomInt(10)}0`;
    if (kind === 7) order.timeInForce = 'FOK';
    if (kind >= 8) Object.assign(order, { price: '10002.00', timeInForce: 'IOC' });
    if (randomInt(6) === 0) order.selfTradePrevention = 'NONE';
    lines.push(JSON.stringify(order));
  }
  const input = lines.join('\n') + '\n';
  const [first, second] = await Promise.all([
    replay(input, ['--market', 'BTC', '--dump-book']),
    replay(input, ['--market', 'BTC', '--dump-book']),
  ]);
  expect(first.code).toBe(0);
  expect(second.stdout).toEqual(first.stdout);

  const ref = new ReferenceBook(btc);
  const expected: string[] = [];
  lines.forEach((text, i) => {
    const raw = JSON.parse(text) as Record<string, unknown>;
    const commandId = `replay#${i + 1}`;
    const { cmd: kind, ...params } = raw;
    const cmd: MatcherCommand =
      kind === 'cancel'
        ? ({ cmd: 'cancel', commandId, market: 'BTC', ...params } as MatcherCommand)
        : { cmd: 'place', commandId, attempt: 0, ...parseOrder(raw, markets).spec };
    for (const e of ref.apply(cmd)) expected.push(JSON.stringify(formatEvent(e, btc)));
  });
  const { bids, asks } = ref.snapshot();
  const side = (orders: typeof bids) =>
    orders.map((order) => ({
      orderId: order.orderId,
      userID: order.userID,
      price: formatPrice(btc, order.price!),
      remainingQty: formatQty(btc, order.quantity - order.filled),
    }));
  expected.push(
    JSON.stringify({ event: 'bookSnapshot', market: 'BTC', bids: side(bids), asks: side(asks) }),
  );
  expect(first.stdout).toEqual(expected);
  expect(ref.log.some((e) => e.event === 'TRADE')).toBe(true);
}, 60_000);

test('unknown --market is refused; the replay leaves no keys behind', async () => {
  const run = await replay('', ['--market', 'XRP']);
  expect(run.code).not.toBe(0);
  expect(run.stderr.join('\n')).toMatch(/Allowed choices are BTC, ETH/);
  const redis = testRedis();
  try {
    expect(await redis.keys('replay:*')).toEqual([]);
  } finally {
    redis.disconnect();
  }
});
