// Starts the real local servers (Temporal dev server, Redis, moto) and the project's own processes
// as plain child processes, waits until each is healthy, and stops them. Used by `npm start`
// (scripts/stack.ts) and by jest's global set-up (test/globalSetup.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import Redis from 'ioredis';
import { localAwsEnv } from '../config/env';
import { orderSearchAttributeNames } from '../workflows/messages';

export const projectRoot = path.resolve(__dirname, '..');
export const toolBin = (name: string): string => path.join(projectRoot, '.tools/venv/bin', name);

/** Where a process's output goes: a prefixed console line, or a log file. */
export type OutputSink = { kind: 'console'; colour: number } | { kind: 'file'; path: string };

export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  stop(timeoutMs?: number): Promise<void>;
}

export function startProcess(
  name: string,
  command: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; sink: OutputSink; cwd?: string; dropLines?: RegExp },
): ManagedProcess {
  const child = spawn(command, args, {
    cwd: opts.cwd ?? projectRoot,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let file: WriteStream | undefined;
  if (opts.sink.kind === 'file') {
    mkdirSync(path.dirname(opts.sink.path), { recursive: true });
    file = createWriteStream(opts.sink.path, { flags: 'a' });
  }
  const prefix =
    opts.sink.kind === 'console' ? `\x1b[${opts.sink.colour}m${name.padEnd(12)}|\x1b[0m ` : '';
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    readline.createInterface({ input: stream }).on('line', (line) => {
      if (opts.dropLines?.test(line)) return;
      if (file) file.write(line + '\n');
      else process.stdout.write(prefix + line + '\n');
    });
  }
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code, signal) => {
      file?.end();
      resolve(code ?? (signal ? -1 : null));
    });
    child.once('error', (err) => {
      process.stderr.write(`${name}: failed to start ${command}: ${err.message}\n`);
      resolve(-1);
    });
  });
  let alive = true;
  void exited.then(() => (alive = false));
  return {
    name,
    child,
    exited,
    async stop(timeoutMs = 10_000) {
      if (!alive) return;
      child.kill('SIGTERM');
      const done = await Promise.race([
        exited.then(() => true),
        sleep(timeoutMs).then(() => false),
      ]);
      if (!done) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

/** Polls `check` until it succeeds; fails early if the process exits. */
export async function waitHealthy(
  proc: ManagedProcess,
  check: () => Promise<unknown>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | null | undefined;
  void proc.exited.then((code) => (exitCode = code));
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (exitCode !== undefined)
      throw new Error(`${proc.name} exited (code ${exitCode}) before it was healthy`);
    try {
      await check();
      return;
    } catch (err) {
      lastError = err;
      await sleep(200);
    }
  }
  throw new Error(`${proc.name} not healthy after ${timeoutMs} ms: ${String(lastError)}`);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

/** True when something already accepts connections on the port. */
export async function portInUse(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export interface TemporalOptions {
  port: number;
  /** Omit for a headless server (tests). */
  uiPort?: number;
  /** Prometheus endpoint of the server; a random free port when omitted. */
  metricsPort?: number;
  dbFile: string;
  /** More `temporal server start-dev` flags, e.g. dynamic config for a test. */
  extraArgs?: string[];
  sink: OutputSink;
}

export async function startTemporal(opts: TemporalOptions): Promise<ManagedProcess> {
  mkdirSync(path.dirname(opts.dbFile), { recursive: true });
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(opts.port)];
  args.push('--db-filename', opts.dbFile, '--log-level', 'warn');
  // WAL with synchronous=normal: about twice the workflows/s of SQLite's default rollback journal.
  // A killed server loses nothing; a machine crash can lose the last transactions (as Redis's
  // appendfsync everysec can).
  args.push('--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal');
  if (opts.metricsPort !== undefined) args.push('--metrics-port', String(opts.metricsPort));
  if (opts.uiPort === undefined) args.push('--headless');
  else args.push('--ui-port', String(opts.uiPort), '--ui-disable-news-fetch');
  for (const name of orderSearchAttributeNames) args.push('--search-attribute', `${name}=Keyword`);
  // Updates are how the gateway starts orders; the dev server enables them, this keeps it explicit.
  args.push('--dynamic-config-value', 'frontend.enableUpdateWorkflowExecution=true');
  args.push(...(opts.extraArgs ?? []));
  const proc = startProcess('temporal', toolBin('temporal'), args, { sink: opts.sink });
  await waitHealthy(proc, async () => {
    const connection = await Connection.connect({
      address: `127.0.0.1:${opts.port}`,
      connectTimeout: 1000,
    });
    try {
      await connection.workflowService.describeNamespace({ namespace: 'default' });
    } finally {
      await connection.close();
    }
  });
  return proc;
}

export interface RedisOptions {
  port: number;
  dataDir: string;
  sink: OutputSink;
}

export async function startRedis(opts: RedisOptions): Promise<ManagedProcess> {
  mkdirSync(opts.dataDir, { recursive: true });
  const args = [
    '--port',
    String(opts.port),
    '--bind',
    '127.0.0.1',
    '--dir',
    opts.dataDir,
    '--appendonly',
    'yes',
    '--appendfsync',
    'everysec',
    '--save',
    '',
    '--daemonize',
    'no',
  ];
  const proc = startProcess('redis', 'redis-server', args, { sink: opts.sink });
  await waitHealthy(proc, () => pingRedis(`redis://127.0.0.1:${opts.port}`));
  return proc;
}

export async function pingRedis(url: string): Promise<void> {
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  // connect() rejects with the error; without a listener ioredis also prints it as unhandled.
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
  } finally {
    redis.disconnect();
  }
}

export interface MotoOptions {
  port: number;
  sink: OutputSink;
}

export async function startMoto(opts: MotoOptions): Promise<ManagedProcess> {
  const proc = startProcess(
    'moto',
    toolBin('moto_server'),
    ['-H', '127.0.0.1', '-p', String(opts.port)],
    {
      sink: opts.sink,
      // One access-log line per successful request (every long poll) hides everything else.
      dropLines: /"(GET|POST|PUT|DELETE|HEAD) \S+ HTTP\/1\.1" [23]\d\d -$/,
    },
  );
  await waitHealthy(proc, () => httpOk(`http://127.0.0.1:${opts.port}/moto-api/data.json`));
  return proc;
}

export async function httpOk(url: string): Promise<void> {
  const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  await response.arrayBuffer();
}

/** Environment a process needs to reach the local servers. */
export function localEnv(ports: {
  temporal: number;
  redis: number;
  moto: number;
}): NodeJS.ProcessEnv {
  return {
    TEMPORAL_ADDRESS: `127.0.0.1:${ports.temporal}`,
    REDIS_URL: `redis://127.0.0.1:${ports.redis}`,
    AWS_ENDPOINT_URL: `http://127.0.0.1:${ports.moto}`,
    ...localAwsEnv(),
    // The SDK's notice that Node 20 support ends in 2027, printed by every process otherwise.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}
