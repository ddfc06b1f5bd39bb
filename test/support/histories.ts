// Workflow histories recorded from real runs, replayed in CI (test/workflows/replay.unit.test.ts) to
// prove that a change to the workflow code still replays every path. `npm run histories:record` runs
// the tests that record them with RECORD_HISTORIES=1. Written by the temporal CLI in its JSON format.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { toolBin } from '../../scripts/services';

export const historiesDir = path.resolve(__dirname, '../histories');

export function recordHistory(
  handle: WorkflowHandle,
  name: string,
  address = process.env.TEMPORAL_ADDRESS,
): void {
  if (!process.env.RECORD_HISTORIES || !address) return;
  const json = execFileSync(
    toolBin('temporal'),
    [
      'workflow',
      'show',
      '--address',
      address,
      '--workflow-id',
      handle.workflowId,
      '--output',
      'json',
    ],
    { encoding: 'utf8' },
  );
  writeFileSync(path.join(historiesDir, `${name}.json`), json);
}
