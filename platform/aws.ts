// AWS clients and resource addresses from the environment. The SDK reads AWS_ENDPOINT_URL itself,
// so the same code talks to moto locally and to AWS in production.
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { env, hasAwsAccessKey } from '../config/env';

export const sqsClient = (): SQSClient => new SQSClient({ region: env.awsRegion });
export const snsClient = (): SNSClient => new SNSClient({ region: env.awsRegion });

export async function queueUrl(
  sqs: SQSClient,
  url: string | undefined,
  name: string,
): Promise<string> {
  if (url) return url;
  const out = await sqs.send(new GetQueueUrlCommand({ QueueName: name }));
  if (!out.QueueUrl) throw new Error(`queue ${name} not found`);
  return out.QueueUrl;
}

/** CreateTopic is idempotent and returns the existing topic's ARN: a look-up by name. */
export async function topicArn(
  sns: SNSClient,
  arn: string | undefined,
  name: string,
): Promise<string> {
  if (arn) return arn;
  const out = await sns.send(
    new CreateTopicCommand({ Name: name, Attributes: { FifoTopic: 'true' } }),
  );
  if (!out.TopicArn) throw new Error(`topic ${name} not found`);
  return out.TopicArn;
}

// ── The API Gateway management API (@connections) ──────────────────────────────────────────────
// Real AWS in production, the local twin (`http://localhost:8080`) otherwise; the same SDK client
// either way.

/**
 * A client for `endpoint`: `https://{apiId}.execute-api.{region}.amazonaws.com/{stage}` in AWS, or
 * the twin's http URL. The twin checks no signature; when the endpoint is local and no AWS
 * credentials are configured, dummy ones let the SDK sign anyway.
 */
export function createManagementClient(endpoint: string): ApiGatewayManagementApiClient {
  const local = /^http:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?(\/|$)/.test(endpoint);
  const needsDummyCredentials = local && !hasAwsAccessKey();
  return new ApiGatewayManagementApiClient({
    endpoint,
    region: env.awsRegion,
    maxAttempts: 2,
    ...(needsDummyCredentials && {
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }),
  });
}
