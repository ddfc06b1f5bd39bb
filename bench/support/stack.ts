// The running `npm start` stack as the benches see it: endpoints from the environment with the
// local defaults, a fail-fast check that everything answers, health checks per process, and
// kill -9 of one process with a wait until npm start's supervisor has it back and healthy.
import { ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Connection } from '@temporalio/client';
import { setTimeout as sleep } from 'node:timers/promises';
import { env, port, useLocalAws } from '../../config/env';
import {
  servers,
  stackProcessNames,
  type ServiceName,
  type StackProcessName,
} from '../../platform/processes';
import { httpOk, pingRedis } from '../../scripts/services';
import { isAlive, readPid } from './proc';

export interface Endpoints {
  /** The WebSocket API. */
  gatewayUrl: string;
  /** The same server over HTTP: /healthz, /metrics. */
  gatewayHttpUrl: string;
  temporalAddress: string;
  /** The Temporal server's Prometheus endpoint (its `action` counter). */
  temporalMetricsUrl: string;
  redisUrl: string;
  awsEndpointUrl: string;
  healthPorts: Record<ServiceName, number>;
}

/**
 * Endpoints of the running stack. The AWS SDK reads AWS_ENDPOINT_URL itself; it is set here to the
 * local moto server when unset, with moto's dummy credentials, as `npm start` does for its processes.
 */
export function endpoints(gatewayUrl?: string): Endpoints {
  const awsEndpointUrl = useLocalAws(`http://localhost:${port(servers.moto.ports.sqsSns)}`);
  const url = gatewayUrl ?? env.tradeUrl;
  return {
    gatewayUrl: url,
    gatewayHttpUrl: url.replace(/^ws/, 'http').replace(/\/+$/, ''),
    temporalAddress: env.temporalAddress,
    temporalMetricsUrl: `http://127.0.0.1:${port(servers.temporal.ports.metrics)}/metrics`,
    redisUrl: env.redisUrl,
    awsEndpointUrl,
    healthPorts: env.healthPorts,
  };
}

async function temporalHealthy(address: string): Promise<void> {
  const connection = await Connection.connect({ address, connectTimeout: 2000 });
  try {
    await connection.workflowService.describeNamespace({ namespace: env.temporalNamespace });
  } finally {
    await connection.close();
  }
}

async function motoHealthy(): Promise<void> {
  const sqs = new SQSClient({ maxAttempts: 1 });
  try {
    await sqs.send(new ListQueuesCommand({ MaxResults: 1 }), {
      abortSignal: AbortSignal.timeout(3000),
    });
  } finally {
    sqs.destroy();
  }
}

/** Throws when the process does not answer its health check. */
export async function checkHealth(name: StackProcessName, e: Endpoints): Promise<void> {
  switch (name) {
    case 'temporal':
      return temporalHealthy(e.temporalAddress);
    case 'redis':
      return pingRedis(e.redisUrl);
    case 'moto':
      return motoHealthy();
    case 'gateway':
      return httpOk(`${e.gatewayHttpUrl}/healthz`);
    default:
      return httpOk(`http://127.0.0.1:${e.healthPorts[name]}/healthz`);
  }
}

/** Exits with a clear message unless every process of the stack answers. */
export async function requireStack(e: Endpoints, bench: string): Promise<void> {
  const failures: string[] = [];
  await Promise.all(
    stackProcessNames.map(async (name) => {
      try {
        await checkHealth(name, e);
      } catch (err) {
        failures.push(`  ${name.padEnd(13)} ${err instanceof Error ? err.message : String(err)}`);
      }
    }),
  );
  if (failures.length === 0) return;
  process.stderr.write(
    `${bench}: the local stack is not (fully) up; these did not answer:\n${failures.sort().join('\n')}\n` +
      `Start it with \`npm start\` in another terminal (wait for "all ${stackProcessNames.length} processes healthy"), or point ` +
      `the bench at yours with TRADE_URL, TEMPORAL_ADDRESS, REDIS_URL, AWS_ENDPOINT_URL and the ` +
      `*_HEALTH_PORT variables (see README).\n`,
  );
  process.exit(2);
}

export interface Restart {
  name: StackProcessName;
  oldPid: number;
  newPid: number;
  /** From the kill to healthy again (npm start waits 1 s, then starts it and waits for health). */
  downMs: number;
  /** Epoch ms and performance.now() of the kill. */
  killedAt: number;
  killedAtPerf: number;
}

/**
 * kill -9 of one stack process (pid from .data/run/<name>.pid), then waits until npm start's
 * supervisor has restarted it (a new live pid in the pid file) and it answers its health check.
 */
export async function killAndAwaitRestart(
  name: StackProcessName,
  e: Endpoints,
  timeoutMs = 120_000,
): Promise<Restart> {
  const oldPid = readPid(name);
  if (oldPid === undefined) throw new Error(`no live pid for ${name} in .data/run/${name}.pid`);
  const killedAt = Date.now();
  const t0 = performance.now();
  process.kill(oldPid, 'SIGKILL');
  while (isAlive(oldPid)) await sleep(20);
  const deadline = t0 + timeoutMs;
  let lastError: unknown;
  while (performance.now() < deadline) {
    const pid = readPid(name);
    if (pid !== undefined && pid !== oldPid) {
      try {
        await checkHealth(name, e);
        return {
          name,
          oldPid,
          newPid: pid,
          downMs: performance.now() - t0,
          killedAt,
          killedAtPerf: t0,
        };
      } catch (err) {
        lastError = err;
      }
    }
    await sleep(100);
  }
  throw new Error(
    `${name} did not come back healthy within ${timeoutMs / 1000} s after kill -9 of pid ${oldPid}` +
      (lastError instanceof Error ? `: ${lastError.message}` : ' (is npm start still running?)'),
  );
}
