import path from 'node:path';

/** A path in this test run's own directory (the global set-up makes it; logs and data go there). */
export function inRunDir(...parts: string[]): string {
  const runDir = process.env.TEST_RUN_DIR;
  if (!runDir)
    throw new Error('TEST_RUN_DIR is unset: run through jest (its global set-up makes it)');
  return path.join(runDir, ...parts);
}
