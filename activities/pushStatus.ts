// Activity pushStatus: sends an execution report to every live WebSocket connection of the order's
// user through the API Gateway management API (@connections). A connection that is gone
// (GoneException) is dropped from the registry and is never an error: the order must not fail
// because a client went away. Any other failure throws, so Temporal retries the activity; a retry
// may deliver a report twice to a connection, which the client drops by `seq`.
import {
  GoneException,
  PostToConnectionCommand,
  type ApiGatewayManagementApiClient,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { gatewayManagementUrl } from '../config/env';
import { workflowIdFor } from '../domain/order';
import type { ExecutionReport } from '../domain/orderPresenter';
import {
  liveConnections,
  registryRedis,
  removeConnection,
  type RedisLike,
} from '../connections/registry';
import { createManagementClient } from '../platform/aws';
import { serviceLogger, type Logger } from '../platform/log';

/** The activity's signature, as `OrderActivities['pushStatus']` of workflows/messages.ts. */
export type PushStatus = (report: ExecutionReport) => Promise<void>;

export interface PushStatusDeps {
  /** The connection registry; default the process's shared client of REDIS_URL. */
  redis?: RedisLike;
  /** Default: a client of `managementUrl`. */
  management?: ApiGatewayManagementApiClient;
  /** Default GATEWAY_MANAGEMENT_URL, or the local twin on GATEWAY_PORT. */
  managementUrl?: string;
  /** The pushing process's logger (the relay's, the order worker's). */
  log?: Logger;
}

export function createPushStatus(deps: PushStatusDeps = {}): PushStatus {
  let management = deps.management;
  const log = (deps.log ?? serviceLogger('gateway')).child({ component: 'pushStatus' });

  return async function pushStatus(report: ExecutionReport): Promise<void> {
    const redis = deps.redis ?? (await registryRedis());
    management ??= createManagementClient(deps.managementUrl ?? gatewayManagementUrl());
    const workflowId = workflowIdFor(report.userID, report.orderId);
    const connectionIds = await liveConnections(redis, report.userID);
    const data = JSON.stringify(report);
    const client = management;
    const outcomes = await Promise.all(
      connectionIds.map(async (connectionId) => {
        try {
          await client.send(
            new PostToConnectionCommand({ ConnectionId: connectionId, Data: data }),
          );
          return 'sent' as const;
        } catch (err) {
          if (err instanceof GoneException || (err as Error).name === 'GoneException') {
            await removeConnection(redis, connectionId, report.userID);
            return 'gone' as const;
          }
          return err instanceof Error ? err : new Error(String(err));
        }
      }),
    );
    const sent = outcomes.filter((outcome) => outcome === 'sent').length;
    const gone = outcomes.filter((outcome) => outcome === 'gone').length;
    const failed = outcomes.filter((outcome): outcome is Error => outcome instanceof Error);
    const fields = {
      workflowId,
      status: report.status,
      seq: report.seq,
      sent,
      gone,
      failed: failed.length,
    };
    if (failed.length > 0) {
      log.warn({ ...fields, err: failed[0] }, 'pushStatus: some connections failed; retrying');
      throw failed[0] as Error;
    }
    log.info(fields, 'pushStatus');
  };
}
