// $disconnect: forgets the connection. Best effort, as API Gateway delivers it: a lost
// $disconnect is covered by the record's expiry and by GoneException on the next push.
import { registryRedis, removeConnection } from '../../connections/registry';
import { serviceLogger } from '../../platform/log';
import type { WebSocketEvent, WebSocketResult } from '../types';

const log = serviceLogger('gateway');

export async function handler(event: WebSocketEvent): Promise<WebSocketResult> {
  const { connectionId, authorizer, disconnectStatusCode, disconnectReason } = event.requestContext;
  const userID = typeof authorizer?.userID === 'string' ? authorizer.userID : undefined;
  try {
    await removeConnection(await registryRedis(), connectionId, userID);
  } catch (err) {
    log.warn({ connectionId, userID, err }, '$disconnect: cannot remove the connection record');
  }
  log.info(
    { connectionId, userID, code: disconnectStatusCode, reason: disconnectReason },
    'disconnected',
  );
  return { statusCode: 200 };
}
