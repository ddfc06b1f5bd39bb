// A resting order with hundreds of fills: the workflow continues as new when Temporal suggests it
// (here after 120 history events, on a server of this test's own) and every fill counts once.
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { MatcherEvent, PlaceCommand } from '../../domain/order';
import type { ExecutionReport } from '../../domain/orderPresenter';
import { freePort, startTemporal, type ManagedProcess } from '../../scripts/services';
import { matcherEventsUpdate, type OrderActivities } from '../../workflows/messages';
import type { orderLifecycle } from '../../workflows/orderLifecycle';
import { acceptedOrder, submitOrder, uniqueUser } from '../support/orders';
import { inRunDir } from '../support/runDir';

jest.setTimeout(180_000);

let server: ManagedProcess;
let connection: Connection;
let client: Client;
let workerConnection: NativeConnection;
const taskQueue = `can-${randomUUID()}`;
const placed: PlaceCommand[] = [];
const reports: ExecutionReport[] = [];

beforeAll(async () => {
  const port = await freePort();
  server = await startTemporal({
    port,
    dbFile: inRunDir(`can-${port}.sqlite`),
    sink: {
      kind: 'file',
      path: inRunDir(`temporal-can-${port}.log`),
    },
    extraArgs: ['--dynamic-config-value', 'limit.historyCount.suggestContinueAsNew=120'],
  });
  connection = await Connection.connect({ address: `127.0.0.1:${port}` });
  client = new Client({ connection });
  workerConnection = await NativeConnection.connect({ address: `127.0.0.1:${port}` });
}, 120_000);

afterAll(async () => {
  await connection?.close();
  await workerConnection?.close();
  await server?.stop();
}, 60_000);

test('250 fills of one resting order across runs: FILLED once, every fill counted once', async () => {
  const activities: OrderActivities = {
    enqueueCommand: async (command) => {
      if (command.cmd === 'place') placed.push(command);
      return Promise.resolve();
    },
    pushStatus: async (report) => {
      reports.push(report);
      return Promise.resolve();
    },
  };
  const worker = await Worker.create({
    connection: workerConnection,
    taskQueue,
    workflowsPath: require.resolve('../../workflows'),
    activities,
  });
  const fills = 250;
  const user = uniqueUser('whale');
  await worker.runUntil(async () => {
    const snapshot = await submitOrder(
      client,
      (command) => {
        if (command.cmd === 'place') placed.push(command);
        return Promise.resolve();
      },
      acceptedOrder({
        orderId: 'big',
        type: 'SELL',
        userID: user,
        coinID: 'BTC',
        quantity: '0.0025',
        price: 30000,
      }),
      taskQueue,
    );
    const handle = client.workflow.getHandle<typeof orderLifecycle>(snapshot.workflowId);
    const place = placed.find((c) => c.userID === user)!;
    const base = {
      market: 'BTC',
      userID: user,
      orderId: 'big',
      commandId: place.commandId,
      time: Date.now(),
    };
    const events: MatcherEvent[] = [
      {
        ...base,
        event: 'NEW',
        seq: 1,
        orderSeq: 1,
        side: 'SELL',
        orderType: 'LIMIT',
        timeInForce: 'GTC',
        price: 3000000,
        quantity: fills,
      },
    ];
    for (let i = 1; i <= fills; i++) {
      events.push({
        ...base,
        event: 'TRADE',
        seq: 1 + i,
        orderSeq: 1 + i,
        tradeId: `BTC-${i}`,
        side: 'SELL',
        lastQty: 1,
        lastPrice: 3000000,
        maker: true,
        filledQty: i,
        leavesQty: fills - i,
      });
    }
    // Every event twice, the second copy late: the duplicates must not count. A client keeps the
    // first report of each seq (the repeats are the repeated deliveries' answers).
    const deliver = async (event: MatcherEvent): Promise<void> => {
      const answer = await handle
        .executeUpdate(matcherEventsUpdate, { args: [[event]] })
        // The late copies of the last events find the order finished, as the relay may.
        .catch((err: Error) => (err.name === 'WorkflowNotFoundError' ? [] : Promise.reject(err)));
      for (const report of answer) {
        if (!reports.some((r) => r.userID === report.userID && r.seq === report.seq))
          reports.push(report);
      }
    };
    for (const [i, event] of events.entries()) {
      await deliver(event);
      if (i >= 10) await deliver(events[i - 10]!);
    }
    const final = await handle.result();
    expect(final).toMatchObject({
      status: 'FILLED',
      filledQty: '0.00250',
      fillCount: fills,
      avgPrice: '30000.00',
    });
    expect(final.fills).toHaveLength(50); // the snapshot keeps the latest 50
    expect(final.fills.at(-1)?.tradeId).toBe(`BTC-${fills}`);
    // Walk the chain back from the last run (visibility lists lag; histories do not).
    let runs = 0;
    let runId: string | undefined = (await handle.describe()).runId;
    while (runId) {
      runs += 1;
      const history: Awaited<ReturnType<typeof handle.fetchHistory>> = await client.workflow
        .getHandle(snapshot.workflowId, runId)
        .fetchHistory();
      const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
      runId = started?.continuedExecutionRunId || undefined;
    }
    // At least one continue-as-new; how many depends on how updates batch into workflow tasks.
    expect(runs).toBeGreaterThanOrEqual(2);
  });
  const mine = reports.filter((r) => r.userID === user);
  expect(mine.map((r) => r.seq)).toEqual(Array.from({ length: fills + 1 }, (_, i) => i + 1));
  expect(mine.at(-1)).toMatchObject({ status: 'FILLED', filledQty: '0.00250' });
  expect(placed.filter((c) => c.userID === user)).toHaveLength(1);
});
