// Replays every recorded history, of today's workflow type and of the retired one, against the
// current workflow code: a change that alters the order of commands without patched() fails here,
// not in production.
import '../support/quietTemporal';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { historiesDir } from '../support/histories';
import { orderWorkflowType } from '../../workflows/messages';

const required = [
  'filled-at-once',
  'rests-then-filled',
  'partial-fill-then-cancel',
  'rejected',
  'market-retried-then-expired',
  'submitted-twice',
];

test('every recorded order history replays deterministically', async () => {
  const files = readdirSync(historiesDir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.json'))
    .sort();
  const current = files
    .filter((f) => path.dirname(f) === orderWorkflowType)
    .map((f) => path.basename(f, '.json'));
  expect(current).toEqual(expect.arrayContaining(required));
  const histories = files.map((f) => ({
    workflowId: f,
    history: historyFromJSON(JSON.parse(readFileSync(path.join(historiesDir, f), 'utf8'))),
  }));
  const results = [];
  for await (const result of Worker.runReplayHistories(
    { workflowsPath: require.resolve('../../workflows') },
    histories,
  )) {
    results.push({
      file: result.workflowId,
      error: result.error ? String(result.error) : undefined,
    });
  }
  expect(results).toEqual(files.map((file) => ({ file, error: undefined })));
});
