// Runs one of the project's terminal tools as a user would (tsx, the repository as working
// directory, this process's environment).
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';

const repoRoot = path.resolve(__dirname, '../..');
const tsx = path.join(repoRoot, 'node_modules/.bin/tsx');

/** The tool as a running process, for one that keeps running (e.g. `trade watch`). */
export const spawnScript = (script: string, args: string[]): ChildProcessWithoutNullStreams =>
  spawn(tsx, [path.join(repoRoot, script), ...args], { cwd: repoRoot, env: process.env });

/** The tool run to its end, with what it printed. */
export function runScript(
  script: string,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawnScript(script, args);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
