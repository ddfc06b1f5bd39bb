import { rmSync } from 'node:fs';

export default async function globalTeardown(): Promise<void> {
  await Promise.all((globalThis.__stackProcesses ?? []).map((p) => p.stop()));
  // KEEP_TEST_DATA=1 keeps the servers' logs and data for a post-mortem.
  const runDir = process.env.TEST_RUN_DIR;
  if (runDir && !process.env.KEEP_TEST_DATA) rmSync(runDir, { recursive: true, force: true });
}
