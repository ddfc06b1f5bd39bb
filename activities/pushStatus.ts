// Activity pushStatus: sends an execution report to every live WebSocket connection of the order's
// user (connections/pushToUser.ts). A connection that is gone is dropped from the registry and is
// never an error: the order must not fail because a client went away. Any other failure throws,
// so Temporal retries the activity; a retry may deliver a report twice to a connection, which the
// client drops by `seq`.
import type { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { gatewayManagementUrl } from '../config/env';
import { workflowIdFor } from '../domain/order';
import type { ExecutionReport } from '../domain/orderPresenter';
import { pushToUser } from '../connections/pushToUser';
import { registryRedis, type RedisLike } from '../connections/registry';
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
    const { sent, gone, failed } = await pushToUser(
      redis,
      management,
      report.userID,
      JSON.stringify(report),
    );
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
