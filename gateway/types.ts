// The shapes API Gateway (WebSocket APIs) hands to Lambda and expects back, as far as the handlers
// use them. Written out here rather than taken from @types/aws-lambda; field names and nesting
// follow the events API Gateway sends, so the handlers run unchanged behind the real service and
// behind the local twin (gateway/local).

export interface WebSocketIdentity {
  sourceIp: string;
  userAgent?: string;
}

/** What a REQUEST authorizer puts into `requestContext.authorizer` of every later event. */
export interface AuthorizerContext {
  principalId?: string;
  userID?: string;
  integrationLatency?: number;
  [key: string]: string | number | boolean | undefined;
}

export type WebSocketEventType = 'CONNECT' | 'MESSAGE' | 'DISCONNECT';

export interface WebSocketRequestContext {
  routeKey: string;
  eventType: WebSocketEventType;
  connectionId: string;
  domainName: string;
  stage: string;
  apiId: string;
  requestId: string;
  extendedRequestId?: string;
  messageId?: string;
  messageDirection: 'IN';
  requestTime: string;
  requestTimeEpoch: number;
  connectedAt: number;
  identity: WebSocketIdentity;
  authorizer?: AuthorizerContext;
  /** $disconnect only. */
  disconnectStatusCode?: number;
  disconnectReason?: string;
}

export interface WebSocketEvent {
  requestContext: WebSocketRequestContext;
  /** $connect only (and the authorizer). */
  headers?: Record<string, string | undefined>;
  multiValueHeaders?: Record<string, string[] | undefined>;
  queryStringParameters?: Record<string, string | undefined> | null;
  multiValueQueryStringParameters?: Record<string, string[] | undefined> | null;
  /** Message routes only. */
  body?: string;
  isBase64Encoded: boolean;
}

/** A Lambda proxy integration's answer. On a route with a route response, `body` goes to the client. */
export interface WebSocketResult {
  statusCode: number;
  body?: string;
  headers?: Record<string, string>;
}

/** The event of a REQUEST authorizer attached to $connect. */
export interface AuthorizerEvent {
  type: 'REQUEST';
  /** arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/$connect */
  methodArn: string;
  headers?: Record<string, string | undefined>;
  multiValueHeaders?: Record<string, string[] | undefined>;
  queryStringParameters?: Record<string, string | undefined> | null;
  multiValueQueryStringParameters?: Record<string, string[] | undefined> | null;
  stageVariables?: Record<string, string> | null;
  requestContext: WebSocketRequestContext;
}

export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: Array<{ Action: string; Effect: 'Allow' | 'Deny'; Resource: string }>;
}

/** IAM policy plus context; throwing `Error('Unauthorized')` makes API Gateway answer 401. */
export interface AuthorizerResult {
  principalId: string;
  policyDocument: PolicyDocument;
  context?: Record<string, string | number | boolean>;
}

export type ConnectHandler = (event: WebSocketEvent) => Promise<WebSocketResult>;
export type AuthorizerHandler = (event: AuthorizerEvent) => Promise<AuthorizerResult>;
