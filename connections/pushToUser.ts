// Posts one frame to every live WebSocket connection of a user through the API Gateway management
// API (@connections). A connection that is gone (GoneException) is dropped from the registry and
// is no failure; any other failure is returned for the caller to retry. Execution reports
// (activities/pushStatus.ts) and account positions (accounts/positionPush.ts) go this way.
import {
  GoneException,
  PostToConnectionCommand,
  type ApiGatewayManagementApiClient,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { liveConnections, removeConnection, type RedisLike } from './registry';

export interface PushOutcome {
  sent: number;
  gone: number;
  failed: Error[];
}

export async function pushToUser(
  redis: RedisLike,
  management: ApiGatewayManagementApiClient,
  userID: string,
  data: string,
): Promise<PushOutcome> {
  const connectionIds = await liveConnections(redis, userID);
  const outcomes = await Promise.all(
    connectionIds.map(async (connectionId) => {
      try {
        await management.send(
          new PostToConnectionCommand({ ConnectionId: connectionId, Data: data }),
        );
        return 'sent' as const;
      } catch (err) {
        if (err instanceof GoneException || (err as Error).name === 'GoneException') {
          await removeConnection(redis, connectionId, userID);
          return 'gone' as const;
        }
        return err instanceof Error ? err : new Error(String(err));
      }
    }),
  );
  return {
    sent: outcomes.filter((o) => o === 'sent').length,
    gone: outcomes.filter((o) => o === 'gone').length,
    failed: outcomes.filter((o): o is Error => o instanceof Error),
  };
}
