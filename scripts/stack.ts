// `npm start`: the whole local stack as plain processes. Starts the real servers (Temporal dev
// server with UI, Redis with AOF, moto), creates the queues and topic, then the project's own
// processes; waits until each is healthy, prints the endpoints, prefixes every log line with its
// process, restarts a process that dies, and stops everything on Ctrl-C.
import { SQSClient } from '@aws-sdk/client-sqs';
import { SNSClient } from '@aws-sdk/client-sns';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { env, port, quietAwsSdkNodeNotice } from '../config/env';
import {
  servers as serverList,
  serviceNames,
  services as serviceList,
  type ServiceName,
  type StackProcessName,
} from '../platform/processes';
import { orderWorkerNodeFlags } from '../orderWorker/memory';
import { ensureOrderChannels, type OrderChannels } from './localAws';
import {
  httpOk,
  localEnv,
  portInUse,
  projectRoot,
  startMoto,
  startProcess,
  startRedis,
  startTemporal,
  waitHealthy,
  type ManagedProcess,
} from './services';

// The SDK's notice that Node 20 support ends in 2027 would open every start.
quietAwsSdkNodeNotice();

const dataDir = path.join(projectRoot, '.data');
const runDir = path.join(dataDir, 'run');

const ports = {
  temporal: port(serverList.temporal.ports.grpc),
  temporalUi: port(serverList.temporal.ports.ui),
  temporalMetrics: port(serverList.temporal.ports.metrics),
  redis: port(serverList.redis.ports.redis),
  moto: port(serverList.moto.ports.sqsSns),
};

/** A process of the stack: how to start it and when it counts as healthy. */
interface StackProcess {
  name: StackProcessName;
  colour: number;
  /** TCP ports it listens on, checked free before anything starts. */
  ports: number[];
  start(): Promise<ManagedProcess>;
  /** Runs after every (re)start, e.g. moto loses its queues when it restarts. */
  afterStart?(): Promise<void>;
  endpoints: Array<[string, string]>;
}

let channels: OrderChannels | undefined;
/** `npm start`'s opening grant (ACCOUNT_GRANT overrides it; empty for none). */
const localAccountGrant = 'USDT=100000,BTC=10,ETH=100';

const serviceEnv = (): NodeJS.ProcessEnv => ({
  ...localEnv({ temporal: ports.temporal, redis: ports.redis, moto: ports.moto }),
  ...(channels && {
    ORDERS_QUEUE_URL: channels.ordersQueueUrl,
    ORDERS_DLQ_URL: channels.ordersDlqUrl,
    ORDER_EVENTS_TOPIC_ARN: channels.orderEventsTopicArn,
    RELAY_QUEUE_URL: channels.relayQueueUrl,
  }),
  LOG_LEVEL: env.logLevel,
  // A testnet-style opening grant for every new account, so two terminals can trade at once.
  ACCOUNT_GRANT: process.env.ACCOUNT_GRANT ?? localAccountGrant,
});

/** One of the project's own Node processes (platform/processes.ts), run from TypeScript with tsx. */
function nodeProcess(name: ServiceName): StackProcess {
  const { entry, colour, title } = serviceList[name];
  const healthPort = env.healthPorts[name];
  const metrics: [string, string] = [`${title} metrics`, `http://localhost:${healthPort}/metrics`];
  return {
    name,
    colour,
    ports: [healthPort],
    endpoints:
      name === 'gateway' ? [['WebSocket API', `ws://localhost:${healthPort}`], metrics] : [metrics],
    async start() {
      const flags = name === 'order-worker' ? orderWorkerNodeFlags(env.orderWorkerMemoryMb) : [];
      const proc = startProcess(name, process.execPath, [...flags, '--import', 'tsx', entry], {
        env: serviceEnv(),
        sink: { kind: 'console', colour },
      });
      await waitHealthy(proc, () => httpOk(`http://127.0.0.1:${healthPort}/healthz`));
      return proc;
    },
  };
}

const servers: StackProcess[] = [
  {
    name: 'temporal',
    colour: serverList.temporal.colour,
    ports: [ports.temporal, ports.temporalUi, ports.temporalMetrics],
    endpoints: [
      ['Temporal gRPC', `localhost:${ports.temporal}`],
      ['Temporal UI', `http://localhost:${ports.temporalUi}`],
      ['Temporal metrics', `http://localhost:${ports.temporalMetrics}/metrics`],
    ],
    start: () =>
      startTemporal({
        port: ports.temporal,
        uiPort: ports.temporalUi,
        metricsPort: ports.temporalMetrics,
        dbFile: path.join(dataDir, 'temporal.sqlite'),
        sink: { kind: 'console', colour: serverList.temporal.colour },
      }),
  },
  {
    name: 'redis',
    colour: serverList.redis.colour,
    ports: [ports.redis],
    endpoints: [['Redis (AOF in .data/redis)', `redis://localhost:${ports.redis}`]],
    start: () =>
      startRedis({
        port: ports.redis,
        dataDir: path.join(dataDir, 'redis'),
        sink: { kind: 'console', colour: serverList.redis.colour },
      }),
  },
  {
    name: 'moto',
    colour: serverList.moto.colour,
    ports: [ports.moto],
    endpoints: [['SQS/SNS (moto)', `http://localhost:${ports.moto}`]],
    start: () =>
      startMoto({ port: ports.moto, sink: { kind: 'console', colour: serverList.moto.colour } }),
    async afterStart() {
      const clientConfig = {
        endpoint: `http://127.0.0.1:${ports.moto}`,
        region: env.awsRegion,
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      };
      const sqs = new SQSClient(clientConfig);
      const sns = new SNSClient(clientConfig);
      try {
        channels = await ensureOrderChannels(
          {
            ordersQueueName: env.ordersQueueName,
            orderEventsTopicName: env.orderEventsTopicName,
            relayQueueName: env.relayQueueName,
          },
          { sqs, sns },
        );
      } finally {
        sqs.destroy();
        sns.destroy();
      }
    },
  },
];

// The project's own processes, started in this order, each healthy on its /healthz endpoint.
const services: StackProcess[] = serviceNames.map(nodeProcess);

const pidFile = (name: string): string => path.join(runDir, `${name}.pid`);

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Refuses a second stack; cleans up after a crashed one (stale pid files, orphaned children). */
async function claimRunDir(): Promise<void> {
  mkdirSync(runDir, { recursive: true });
  const stackPidFile = pidFile('stack');
  if (existsSync(stackPidFile)) {
    const pid = Number(readFileSync(stackPidFile, 'utf8'));
    if (pid !== process.pid && isAlive(pid) && readCmdline(pid).includes('scripts/stack.ts')) {
      fail(
        `the stack is already running (pid ${pid}). Stop it with Ctrl-C in its terminal, or: kill ${pid}`,
      );
    }
  }
  for (const file of readdirSync(runDir)) {
    if (!file.endsWith('.pid') || file === 'stack.pid') continue;
    const pid = Number(readFileSync(path.join(runDir, file), 'utf8'));
    const cmdline = isAlive(pid) ? readCmdline(pid) : '';
    if (cmdline.includes(projectRoot) || cmdline.includes('redis-server')) {
      console.log(
        `[stack] stopping ${file.replace('.pid', '')} (pid ${pid}) left over from a previous run`,
      );
      process.kill(pid, 'SIGKILL');
      while (isAlive(pid)) await sleep(50);
    }
    rmSync(path.join(runDir, file), { force: true });
  }
  writeFileSync(stackPidFile, String(process.pid));
}

function readCmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

function fail(message: string): never {
  console.error(`[stack] ${message}`);
  process.exit(1);
}

const running = new Map<string, ManagedProcess>();
let stopping = false;

async function launch(spec: StackProcess): Promise<void> {
  const proc = await spec.start();
  if (proc.child.pid) writeFileSync(pidFile(spec.name), String(proc.child.pid));
  running.set(spec.name, proc);
  await spec.afterStart?.();
  void proc.exited.then(async (code) => {
    if (stopping) return;
    console.error(`[stack] ${spec.name} exited (code ${code}); restarting in 1 s`);
    running.delete(spec.name);
    await sleep(1000);
    if (stopping) return;
    await launch(spec).catch((err: unknown) =>
      console.error(`[stack] ${spec.name} failed to restart: ${String(err)}`),
    );
  });
}

async function stopAll(): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log('\n[stack] stopping…');
  // Project processes first (they drain work), servers last.
  for (const spec of [...services].reverse()) await running.get(spec.name)?.stop();
  await Promise.all(servers.map((spec) => running.get(spec.name)?.stop() ?? Promise.resolve()));
  rmSync(runDir, { recursive: true, force: true });
  console.log('[stack] stopped');
}

function printEndpoints(startedAt: number): void {
  const rows: Array<[string, string]> = [...servers, ...services].flatMap((s) => s.endpoints);
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`);
  console.log(
    `\n[stack] all ${running.size} processes healthy in ${((Date.now() - startedAt) / 1000).toFixed(1)} s\n`,
  );
  console.log(lines.join('\n'));
  console.log('\n  Ctrl-C stops everything.\n');
}

async function main(): Promise<void> {
  const startedAt = Date.now();
  await claimRunDir();
  for (const spec of [...servers, ...services]) {
    for (const port of spec.ports) {
      if (await portInUse(port)) {
        rmSync(pidFile('stack'), { force: true });
        fail(
          `port ${port} (${spec.name}) is already in use: is another stack or ${spec.name} running? Stop it, or set the port in the environment (see README).`,
        );
      }
    }
  }
  process.on('SIGINT', () => void stopAll().then(() => process.exit(0)));
  process.on('SIGTERM', () => void stopAll().then(() => process.exit(0)));
  try {
    await Promise.all(servers.map(launch));
    for (const spec of services) await launch(spec);
  } catch (err) {
    console.error(`[stack] start failed: ${err instanceof Error ? err.message : String(err)}`);
    await stopAll();
    process.exit(1);
  }
  printEndpoints(startedAt);
}

void main();
