// REQUEST authorizer of the $connect route: verifies the client's HS256 JWT (`Authorization:
// Bearer …` or `?token=`) and allows the connection as principal `sub`. API Gateway answers 401 when
// it throws "Unauthorized", and hands `context` to $connect and every later message as
// `requestContext.authorizer`. The local twin runs it the same way before $connect.
import { InvalidTokenError, tokenFromRequest, verifyToken } from '../auth';
import { serviceLogger } from '../../platform/log';
import type { AuthorizerEvent, AuthorizerResult } from '../types';

const log = serviceLogger('gateway');

export async function handler(event: AuthorizerEvent): Promise<AuthorizerResult> {
  const token = tokenFromRequest(event.headers, event.queryStringParameters);
  const { connectionId, requestId } = event.requestContext;
  if (!token) {
    log.info({ connectionId, requestId }, 'authorizer: no token');
    throw new Error('Unauthorized');
  }
  let userID: string;
  try {
    userID = await verifyToken(token);
  } catch (err) {
    if (!(err instanceof InvalidTokenError)) throw err;
    log.info({ connectionId, requestId, reason: err.message }, 'authorizer: token refused');
    throw new Error('Unauthorized');
  }
  return {
    principalId: userID,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: event.methodArn }],
    },
    context: { userID },
  };
}
