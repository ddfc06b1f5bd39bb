// `outboundAccountPosition`: after a change of a user's balances, the changed assets' free and
// locked amounts go to every live connection of the user, with the ledger's `seq` so a client
// keeps the latest when two arrive out of order. Best effort, like execution reports: a client
// that was away reads `account.status`.
import type { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { gatewayManagementUrl } from '../config/env';
import { pushToUser } from '../connections/pushToUser';
import { registryRedis, type RedisLike } from '../connections/registry';
import type { Assets } from '../domain/assets';
import type { Balance } from '../ledger/ledger';
import { createManagementClient } from '../platform/aws';
import type { Logger } from '../platform/log';
import { toAccountBalances, type AccountBalance } from './accounts';

export interface AccountPosition {
  event: 'outboundAccountPosition';
  userID: string;
  /** The user's ledger sequence after the change: higher is newer. */
  seq: number;
  /** Only the assets the change touched. */
  balances: AccountBalance[];
  time: number;
}

export function accountPosition(
  assets: Assets,
  userID: string,
  change: { seq: number; balances: Balance[] },
  time: number,
): AccountPosition {
  return {
    event: 'outboundAccountPosition',
    userID,
    seq: change.seq,
    balances: toAccountBalances(assets, change.balances),
    time,
  };
}

export type PushAccountPosition = (position: AccountPosition) => Promise<void>;

export function createPushAccountPosition(deps: {
  log: Logger;
  redis?: RedisLike;
  management?: ApiGatewayManagementApiClient;
  managementUrl?: string;
}): PushAccountPosition {
  let management = deps.management;
  const log = deps.log.child({ component: 'pushAccountPosition' });
  return async (position) => {
    const redis = deps.redis ?? (await registryRedis());
    management ??= createManagementClient(deps.managementUrl ?? gatewayManagementUrl());
    const outcome = await pushToUser(redis, management, position.userID, JSON.stringify(position));
    const fields = {
      userID: position.userID,
      seq: position.seq,
      sent: outcome.sent,
      gone: outcome.gone,
      failed: outcome.failed.length,
    };
    if (outcome.failed.length > 0) {
      log.warn({ ...fields, err: outcome.failed[0] }, 'account position not delivered everywhere');
      return;
    }
    log.info(fields, 'account position pushed');
  };
}
