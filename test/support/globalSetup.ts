// Starts real Temporal, Redis and moto servers on free ports for this test run only, so a running
// `npm start` or a second test run never collides. Endpoints reach the test files via process.env.
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import {
  freePort,
  localEnv,
  projectRoot,
  startMoto,
  startRedis,
  startTemporal,
  type ManagedProcess,
} from '../../scripts/services';

declare global {
  var __stackProcesses: ManagedProcess[] | undefined;
}

export default async function globalSetup(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const runDir = path.join(projectRoot, '.data', 'test-runs', `${process.pid}`);
  rmSync(runDir, { recursive: true, force: true });
  mkdirSync(runDir, { recursive: true });
  const [temporalPort, uiPort, redisPort, motoPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const started = Date.now();
  const processes = await Promise.all([
    startTemporal({
      port: temporalPort,
      // The UI too: test/ui looks at orders the way an operator does.
      uiPort,
      dbFile: path.join(runDir, 'temporal.sqlite'),
      sink: { kind: 'file', path: path.join(runDir, 'temporal.log') },
    }),
    startRedis({
      port: redisPort,
      dataDir: path.join(runDir, 'redis'),
      sink: { kind: 'file', path: path.join(runDir, 'redis.log') },
    }),
    startMoto({ port: motoPort, sink: { kind: 'file', path: path.join(runDir, 'moto.log') } }),
  ]);
  globalThis.__stackProcesses = processes;
  Object.assign(
    process.env,
    localEnv({ temporal: temporalPort, redis: redisPort, moto: motoPort }),
    {
      TEST_RUN_DIR: runDir,
      TEST_TEMPORAL_UI_URL: `http://127.0.0.1:${uiPort}`,
      TEST_REDIS_PORT: String(redisPort),
      // Test files share one Redis, and a file that kills processes makes the order path lag:
      // admission control stays out of other files' way (test/gateway/admission.test.ts sets its own).
      GATEWAY_SHED_LAG_MS: String(3_600_000),
    },
  );
  process.stdout.write(
    `\n[globalSetup] temporal :${temporalPort}, redis :${redisPort}, moto :${motoPort} healthy in ${Date.now() - started} ms (logs: ${runDir})\n`,
  );
}
