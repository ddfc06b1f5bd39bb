// Creates the queues, topic and subscription the service needs on the local SQS/SNS server.
// Idempotent, with the attributes of config/queues.ts, as the CDK stack (infra/messaging.ts). moto
// keeps state in memory, so `npm start` and the tests call this after every start.
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { deadLetterQueue, dlqNameOf, orderEventsTopic, workQueue } from '../config/queues';

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
      QueueName: dlqNameOf(name),
      Attributes: {
        FifoQueue: String(deadLetterQueue.fifo),
        MessageRetentionPeriod: String(deadLetterQueue.retentionSeconds),
      },
    }),
  );
  const dlqUrl = dlq.QueueUrl!;
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: {
        FifoQueue: String(workQueue.fifo),
        ContentBasedDeduplication: String(workQueue.contentBasedDeduplication),
        VisibilityTimeout: String(workQueue.visibilityTimeoutSeconds),
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
          maxReceiveCount: workQueue.maxReceiveCount,
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
      Attributes: {
        FifoTopic: String(orderEventsTopic.fifo),
        ContentBasedDeduplication: String(orderEventsTopic.contentBasedDeduplication),
      },
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
      Attributes: { RawMessageDelivery: String(orderEventsTopic.rawMessageDelivery) },
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
