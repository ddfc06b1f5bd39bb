// $connect: the user comes from the authorizer (requestContext.authorizer.userID); without an
// authorizer the handler verifies the token itself. The connection is recorded per user in Redis,
// so pushStatus finds every live connection of the user. Any non-2xx answer refuses the upgrade.
import { InvalidTokenError, tokenFromRequest, verifyToken } from '../auth';
import { registerConnection, registryRedis } from '../../connections/registry';
import { serviceLogger } from '../../platform/log';
import { parseGrant } from '../../accounts/accounts';
import { processAccounts } from '../../accounts/process';
import { env } from '../../config/env';
import { assets } from '../../config/markets';
import type { WebSocketEvent, WebSocketResult } from '../types';

const log = serviceLogger('gateway');

async function userOf(event: WebSocketEvent): Promise<string | null> {
  const fromAuthorizer = event.requestContext.authorizer?.userID;
  if (typeof fromAuthorizer === 'string' && fromAuthorizer) return fromAuthorizer;
  const token = tokenFromRequest(event.headers, event.queryStringParameters);
  if (!token) return null;
  try {
    return await verifyToken(token);
  } catch (err) {
    if (err instanceof InvalidTokenError) return null;
    throw err;
  }
}

export interface ConnectDeps {
  /** The opening grant of every new account (the local stack's ACCOUNT_GRANT); none: nothing. */
  openingGrant?: ReadonlyMap<string, bigint>;
}

export function createConnectHandler(
  deps: ConnectDeps = {},
): (event: WebSocketEvent) => Promise<WebSocketResult> {
  const openingGrant = deps.openingGrant ?? new Map<string, bigint>();
  return (event) => connect(event, openingGrant);
}

/** What API Gateway and the local twin call. ACCOUNT_GRANT is read once; production never sets it. */
export const handler = createConnectHandler({
  openingGrant: parseGrant(env.accountGrant, assets),
});

async function connect(
  event: WebSocketEvent,
  openingGrant: ReadonlyMap<string, bigint>,
): Promise<WebSocketResult> {
  const { connectionId, connectedAt, requestId } = event.requestContext;
  const userID = await userOf(event);
  if (!userID) {
    log.info({ connectionId, requestId }, '$connect refused: no valid token');
    return { statusCode: 401, body: 'Unauthorized' };
  }
  try {
    await registerConnection(await registryRedis(), { connectionId, userID, connectedAt });
  } catch (err) {
    // A connection nobody can push to is worse than a refused one: the client retries.
    log.error({ connectionId, userID, err }, '$connect: cannot record the connection');
    return { statusCode: 500, body: 'Internal server error' };
  }
  if (openingGrant.size > 0) {
    try {
      await (await processAccounts()).grant(userID, openingGrant);
    } catch (err) {
      log.error({ connectionId, userID, err }, '$connect: cannot open the account with its grant');
    }
  }
  log.info({ connectionId, userID }, 'connected');
  return { statusCode: 200 };
}
