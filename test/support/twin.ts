// The WebSocket API over a real socket, for the gateway and end-to-end tests: a local API Gateway
// twin in-process on a free port (running the real handler modules against the jest global
// set-up's Temporal and Redis), tokens, and connected clients.
import './quietGateway';
import { signToken, type SignOptions } from '../../gateway/auth';
import { TradingClient, type ConnectOptions } from '../../client/node';
import {
  startGatewayTwin,
  type GatewayTwin,
  type GatewayTwinOptions,
} from '../../gateway/local/twin';

export type { GatewayTwin } from '../../gateway/local/twin';
export { TradingClient, ConnectRefusedError } from '../../client/node';

/** Starts the twin on 127.0.0.1 and a free port. Call `close()` in afterAll. */
export function startTestTwin(opts: GatewayTwinOptions = {}): Promise<GatewayTwin> {
  return startGatewayTwin({ port: 0, host: '127.0.0.1', ...opts });
}

export const tokenFor = (userID: string, opts?: SignOptions): Promise<string> =>
  signToken(userID, opts);

/** A client connected as `userID` with a freshly minted token. */
export async function connectAs(
  twin: Pick<GatewayTwin, 'url'>,
  userID: string,
  opts: ConnectOptions = {},
): Promise<TradingClient> {
  return TradingClient.connect(twin.url, { token: await tokenFor(userID), ...opts });
}
