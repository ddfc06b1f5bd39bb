// Workflow histories recorded from real runs, replayed in CI (test/workflows/replay.unit.test.ts) to
// prove that a change to the workflow code still replays every path. `npm run histories:record` runs
// the tests that record them with RECORD_HISTORIES=1. Written by the temporal CLI in its JSON format,
// one folder per workflow type (test/histories/<type>/<path>.json).
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { toolBin } from '../../scripts/services';
import { orderWorkflowType } from '../../workflows/messages';

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
  const dir = path.join(historiesDir, orderWorkflowType);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `${name}.json`), json);
}
