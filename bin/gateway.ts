// Entry of the local API Gateway twin (`npm start` runs it as process "gateway"):
// WebSocket API and @connections on GATEWAY_PORT (8080), /healthz and /metrics on the same port.
// Stops gracefully on SIGTERM/SIGINT: closes every connection (1001, $disconnect runs), waits for
// handlers in flight, then closes its Temporal and Redis clients.
import { env } from '../../config/env';
import { log } from '../log';
import { startGatewayTwin } from './twin';

export { startGatewayTwin, type GatewayTwin, type GatewayTwinOptions } from './twin';

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const twin = await startGatewayTwin({ port: env.gatewayPort });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping the API Gateway twin');
    twin.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'unclean stop');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

if (require.main === module) {
  main().catch((err: unknown) => {
    log.error({ err }, 'the API Gateway twin failed to start');
    process.exit(1);
  });
}
