import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';

/** Processes that test files spawned and did not stop (a failed or timed-out test). */
function killSpawned(runDir: string): void {
  const file = path.join(runDir, 'spawned.pids');
  if (!existsSync(file)) return;
  for (const pid of readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

export default async function globalTeardown(): Promise<void> {
  if (process.env.TEST_RUN_DIR) killSpawned(process.env.TEST_RUN_DIR);
  await Promise.all((globalThis.__stackProcesses ?? []).map((p) => p.stop()));
  // KEEP_TEST_DATA=1 keeps the servers' logs and data for a post-mortem.
  const runDir = process.env.TEST_RUN_DIR;
  if (runDir && !process.env.KEEP_TEST_DATA) rmSync(runDir, { recursive: true, force: true });
}
