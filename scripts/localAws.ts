// Creates the queues, topic and subscription the service needs on the local SQS/SNS server.
// Idempotent, with the same names and attributes as the CDK stack (infra/). moto keeps state in
// memory, so `npm start` and the tests call this after every start.
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';

export interface OrderChannelNames {
  ordersQueueName: string;
  orderEventsTopicName: string;
  relayQueueName: string;
}

export interface OrderChannels {
  ordersQueueUrl: string;
  ordersDlqUrl: string;
  orderEventsTopicArn: string;
  relayQueueUrl: string;
  relayDlqUrl: string;
}

/** Receives before a message moves to its dead-letter queue. */
export const maxReceiveCount = 5;

const dlqName = (fifoName: string): string => fifoName.replace(/\.fifo$/, '-dlq.fifo');

async function queueArn(sqs: SQSClient, queueUrl: string): Promise<string> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  const arn = out.Attributes?.QueueArn;
  if (!arn) throw new Error(`no QueueArn for ${queueUrl}`);
  return arn;
}

async function fifoQueueWithDlq(
  sqs: SQSClient,
  name: string,
): Promise<{ url: string; dlqUrl: string; arn: string }> {
  const dlq = await sqs.send(
    new CreateQueueCommand({
      QueueName: dlqName(name),
      Attributes: { FifoQueue: 'true', MessageRetentionPeriod: '1209600' },
    }),
  );
  const dlqUrl = dlq.QueueUrl!;
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: {
        FifoQueue: 'true',
        // Explicit deduplication ids from the producers; content-based would merge distinct commands.
        ContentBasedDeduplication: 'false',
        VisibilityTimeout: '30',
      },
    }),
  );
  const url = queue.QueueUrl!;
  await sqs.send(
    new SetQueueAttributesCommand({
      QueueUrl: url,
      Attributes: {
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: await queueArn(sqs, dlqUrl),
          maxReceiveCount,
        }),
      },
    }),
  );
  return { url, dlqUrl, arn: await queueArn(sqs, url) };
}

export async function ensureOrderChannels(
  names: OrderChannelNames,
  clients: { sqs: SQSClient; sns: SNSClient },
): Promise<OrderChannels> {
  const { sqs, sns } = clients;
  const orders = await fifoQueueWithDlq(sqs, names.ordersQueueName);
  const relay = await fifoQueueWithDlq(sqs, names.relayQueueName);
  const topic = await sns.send(
    new CreateTopicCommand({
      Name: names.orderEventsTopicName,
      Attributes: { FifoTopic: 'true', ContentBasedDeduplication: 'false' },
    }),
  );
  const topicArn = topic.TopicArn!;
  await sqs.send(
    new SetQueueAttributesCommand({
      QueueUrl: relay.url,
      Attributes: {
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Service: 'sns.amazonaws.com' },
              Action: 'sqs:SendMessage',
              Resource: relay.arn,
              Condition: { ArnEquals: { 'aws:SourceArn': topicArn } },
            },
          ],
        }),
      },
    }),
  );
  // SNS returns the existing subscription for the same topic, protocol, endpoint and attributes.
  await sns.send(
    new SubscribeCommand({
      TopicArn: topicArn,
      Protocol: 'sqs',
      Endpoint: relay.arn,
      Attributes: { RawMessageDelivery: 'true' },
      ReturnSubscriptionArn: true,
    }),
  );
  return {
    ordersQueueUrl: orders.url,
    ordersDlqUrl: orders.dlqUrl,
    orderEventsTopicArn: topicArn,
    relayQueueUrl: relay.url,
    relayDlqUrl: relay.dlqUrl,
  };
}
