// What an operator sees: Temporal UI in a real headless Chromium finds a partially filled order by
// its search attributes and shows its blotter-style summary and current details.
import { chromium, type Browser } from 'playwright-core';
import type { Client } from '@temporalio/client';
import type { OrderSnapshot } from '../../domain/orderPresenter';
import { acceptedOrder, statusBecomes, submitOrder, uniqueUser } from '../support/orders';
import {
  createTestChannels,
  commandSenderFor,
  startServicesInProcess,
  temporalClient,
  type TestChannels,
} from '../support/stack';
import { eventually } from '../support/eventually';
import { inRunDir } from '../support/runDir';

const uiUrl = process.env.TEST_TEMPORAL_UI_URL!;
let channels: TestChannels;
let client: Client;
let closeClient: () => Promise<void>;
let stopServices: () => Promise<void>;
let browser: Browser;

beforeAll(async () => {
  channels = await createTestChannels('ui');
  ({ client, close: closeClient } = await temporalClient());
  ({ stop: stopServices } = await startServicesInProcess(channels, () => Promise.resolve()));
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    // This machine's network is closed: no background fetches, no QUIC, no sandbox as root.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stopServices?.();
  await closeClient?.();
}, 60_000);

test('an operator filters PARTIALLY_FILLED BTC orders and reads the order like a blotter line', async () => {
  const seller = uniqueUser('alice');
  const buyer = uniqueUser('bob');
  const place = (p: Record<string, unknown>): Promise<OrderSnapshot> =>
    submitOrder(client, commandSenderFor(channels), acceptedOrder(p), channels.taskQueue);
  const sell = await place({
    orderId: 'ui-1',
    type: 'SELL',
    userID: seller,
    coinID: 'BTC',
    quantity: 1,
    price: 30000,
  });
  const handle = client.workflow.getHandle(sell.workflowId);
  await statusBecomes(client, sell, 'NEW');
  await place({
    orderId: 'ui-2',
    type: 'BUY',
    userID: buyer,
    coinID: 'BTC',
    quantity: 0.4,
    price: 30000,
  });
  await statusBecomes(client, sell, 'PARTIALLY_FILLED');

  const page = await browser.newPage({ viewport: { width: 1600, height: 900 } });
  const query = `OrderStatus="PARTIALLY_FILLED" AND CoinID="BTC" AND UserID="${seller}"`;
  // Visibility is eventually consistent: reload until the row is there.
  await eventually(
    async () => {
      await page.goto(`${uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(query)}`);
      await page.getByText(sell.workflowId).first().waitFor({ timeout: 5000 });
      return true;
    },
    'the order in the filtered list',
    { timeoutMs: 45_000 },
  );

  await page.getByText(sell.workflowId).first().click();
  await page.getByText('User Metadata', { exact: true }).click();
  // Summary and details render as markdown, each in an iframe of its own.
  const metadata = await eventually(async () => {
    const texts = await Promise.all(
      page.frames().map((f) =>
        f
          .locator('body')
          .innerText()
          .catch(() => ''),
      ),
    );
    // The UI's markdown typesets "0.4/1" with a fraction slash (U+2044).
    const all = texts.join('\n').replace(/\u2044/g, '/');
    return all.includes('PARTIALLY_FILLED 0.4/1') ? all : undefined;
  }, 'the order summary and details');
  expect(metadata).toContain(`SELL 1 BTC @ 30000.00 · ${seller}`);
  expect(metadata).toContain('PARTIALLY_FILLED 0.4/1, avg 30000.00');
  await page.getByText('Search Attributes', { exact: true }).first().click();
  await page.getByText('"PARTIALLY_FILLED"').waitFor();
  await page.screenshot({ path: inRunDir('temporal-ui-order.png') });
  await handle.terminate('test done');
});
