// The API Gateway management API client (@connections): real AWS in production, the local twin
// (`http://localhost:8080`) otherwise; the same SDK client either way.
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { env } from '../config/env';

/**
 * A client for `endpoint`: `https://{apiId}.execute-api.{region}.amazonaws.com/{stage}` in AWS, or
 * the twin's http URL. The twin checks no signature; when the endpoint is local and no AWS
 * credentials are configured, dummy ones let the SDK sign anyway.
 */
export function createManagementClient(endpoint: string): ApiGatewayManagementApiClient {
  const local = /^http:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?(\/|$)/.test(endpoint);
  const needsDummyCredentials = local && !process.env.AWS_ACCESS_KEY_ID;
  return new ApiGatewayManagementApiClient({
    endpoint,
    region: env.awsRegion,
    maxAttempts: 2,
    ...(needsDummyCredentials && {
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }),
  });
}
