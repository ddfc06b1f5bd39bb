// The local API Gateway twin (`npm start` runs it as process "gateway"): the WebSocket API and
// @connections on GATEWAY_PORT (8080), /healthz and /metrics on the same port. A stop closes every
// connection (1001, $disconnect runs), waits for handlers in flight, then closes its Temporal and
// Redis clients. In AWS, API Gateway and the Lambda handlers of gateway/handlers take its place.
import { env, quietAwsSdkNodeNotice } from '../config/env';
import { startGatewayTwin } from '../gateway/local/twin';
import { runUntilSignal } from '../platform/lifecycle';
import { serviceLogger } from '../platform/log';

quietAwsSdkNodeNotice();
runUntilSignal(serviceLogger('gateway'), 'the API Gateway twin', async () => {
  const twin = await startGatewayTwin({ port: env.gatewayPort });
  return { stop: () => twin.close() };
});
