// The worker evaluates every module of the workflow bundle again for each workflow run, so a
// library in it is paid per order: zod alone made the bundle 19 times larger and was the largest
// CPU cost of the order worker. Only the Temporal SDK (and our own pure code) may be in it.
import { build } from 'esbuild';
import path from 'node:path';

test('the workflow bundle holds our own code and the Temporal SDK, no other library', async () => {
  const result = await build({
    entryPoints: [path.join(__dirname, '../../workflows/index.ts')],
    bundle: true,
    write: false,
    metafile: true,
    platform: 'neutral',
    mainFields: ['module', 'main'],
    external: ['@temporalio/*'],
  });
  const inputs = Object.keys(result.metafile.inputs);
  expect(inputs.filter((file) => file.includes('node_modules/'))).toEqual([]);
  expect(inputs).toContain('domain/orderState.ts');
  const bytes = Object.values(result.metafile.inputs).reduce((sum, input) => sum + input.bytes, 0);
  expect(bytes).toBeLessThan(200_000);
});
