// Reports are pushed at least once, in order, per order: the client library delivers each seq of an
// order once and drops repeats. A stand-in socket feeds the frames (no server).
import { TradingClient, type SocketEvents } from '../../client/tradingClient';
import type { ExecutionReport } from '../../domain/orderPresenter';

async function clientWithFrames(): Promise<{ client: TradingClient; push: (r: object) => void }> {
  let events: SocketEvents | undefined;
  const client = await TradingClient.connect('ws://stand-in', {
    openSocket: (_url, _init, e) => {
      events = e;
      return Promise.resolve({
        send: () => undefined,
        close: () => undefined,
        terminate: () => {},
      });
    },
  });
  return { client, push: (r) => events!.message(JSON.stringify(r)) };
}

const report = (orderId: string, seq: number, status = 'NEW'): Partial<ExecutionReport> => ({
  event: 'executionReport',
  userID: 'alice',
  orderId,
  seq,
  status: status as ExecutionReport['status'],
});

test('each seq of an order is delivered once; repeats are dropped and counted', async () => {
  const { client, push } = await clientWithFrames();
  const heard: string[] = [];
  client.onReport((r) => heard.push(`${r.orderId}#${r.seq}`));
  push(report('o1', 1));
  push(report('o1', 1)); // a repeat (a retried push)
  push(report('o2', 1)); // another order has its own seqs
  push(report('o1', 2, 'FILLED'));
  push(report('o1', 1)); // an old one after a reconnect
  push(report('o1', 2, 'FILLED'));
  expect(heard).toEqual(['o1#1', 'o2#1', 'o1#2']);
  expect(client.reports.map((r) => r.seq)).toEqual([1, 1, 2]);
  expect(client.stats.repeatedReports).toBe(3);
});

test('a gap is not a repeat: a later seq is delivered even when one was never pushed', async () => {
  const { client, push } = await clientWithFrames();
  const heard: number[] = [];
  client.onReport((r) => heard.push(r.seq));
  push(report('o1', 1));
  push(report('o1', 3));
  push(report('o1', 2)); // arrived after a later one: already superseded
  expect(heard).toEqual([1, 3]);
});
