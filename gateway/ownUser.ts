// Whose data a request is about: `params.userID`, when given, must be the connection's user.
import { ApiError } from './envelope';
import type { CallContext } from './methods';

/** `params.userID` may be left out (the connection's user); when given it must be that user. */
export function ownUser(
  params: Record<string, unknown>,
  ctx: CallContext,
): Record<string, unknown> {
  if (params.userID === undefined) return { ...params, userID: ctx.userID };
  if (typeof params.userID === 'string' && params.userID !== ctx.userID) {
    throw new ApiError(
      403,
      'FORBIDDEN',
      `userID "${params.userID}" is not the user of this connection`,
      'userID',
    );
  }
  return params;
}
