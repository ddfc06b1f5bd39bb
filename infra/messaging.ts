// Order channels (docs/architecture.md, hops 3 and 5): commands to the matcher on SQS FIFO, its
// results on an SNS FIFO topic fanned out to the relay's SQS FIFO queue. Names and attributes come
// from config/queues.ts, as do the local twin's (scripts/localAws.ts): the same code finds the same
// channels.
//
// Encryption: customer-managed KMS keys, both rotated yearly. SNS server-side encryption needs a
// KMS key in any case, and a queue subscribed to an encrypted topic needs a key whose policy lets
// sns.amazonaws.com generate data keys — which the AWS-managed aws/sqs key never allows (SQS-managed
// SSE would do for the orders queue alone; one scheme for every channel is simpler to grant and to
// audit, with CloudTrail recording each use). Two keys, not one: the queue key's policy names the
// topic (SNS may use it only on behalf of order-events.fifo), so the topic cannot be encrypted with
// that same key without a CloudFormation dependency cycle (key → topic → key). About $1 a month each.
import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { channelNames, deadLetterQueue, orderEventsTopic, workQueue } from '../config/queues';

export interface OrderChannelsProps {
  /**
   * SQS high-throughput FIFO mode (deduplication and throughput scoped per message group, i.e.
   * per market). Off by default to match the local twin; turn on when one queue's 300 (3,000
   * batched) messages a second are not enough.
   * @default false
   */
  readonly highThroughputFifo?: boolean;
}

export class OrderChannels extends Construct {
  /** Encrypts the five queues; SNS may use it only for deliveries from the order-events topic. */
  readonly queueKey: kms.Key;
  /** Encrypts the SNS topics (order events, alarms). */
  readonly topicKey: kms.Key;
  readonly ordersQueue: sqs.Queue;
  readonly ordersDlq: sqs.Queue;
  readonly topic: sns.Topic;
  readonly relayQueue: sqs.Queue;
  readonly relayDlq: sqs.Queue;

  constructor(scope: Construct, id: string, props: OrderChannelsProps = {}) {
    super(scope, id);
    this.queueKey = new kms.Key(this, 'QueueKey', {
      alias: 'alias/order-lifecycle/queues',
      description: 'Encrypts the orders and relay queues and their dead-letter queues',
      enableKeyRotation: true,
    });
    this.topicKey = new kms.Key(this, 'TopicKey', {
      alias: 'alias/order-lifecycle/topics',
      description: 'Encrypts the order-events and alarm topics',
      enableKeyRotation: true,
    });

    const fifoQueue = (
      queueId: string,
      queueName: string,
      dlqName: string,
    ): { queue: sqs.Queue; dlq: sqs.Queue } => {
      const dlq = new sqs.Queue(this, `${queueId}Dlq`, {
        queueName: dlqName,
        fifo: deadLetterQueue.fifo,
        retentionPeriod: Duration.seconds(deadLetterQueue.retentionSeconds),
        encryption: sqs.QueueEncryption.KMS,
        encryptionMasterKey: this.queueKey,
        enforceSSL: true,
      });
      const queue = new sqs.Queue(this, queueId, {
        queueName,
        fifo: workQueue.fifo,
        contentBasedDeduplication: workQueue.contentBasedDeduplication,
        visibilityTimeout: Duration.seconds(workQueue.visibilityTimeoutSeconds),
        deadLetterQueue: { queue: dlq, maxReceiveCount: workQueue.maxReceiveCount },
        encryption: sqs.QueueEncryption.KMS,
        encryptionMasterKey: this.queueKey,
        enforceSSL: true,
        ...(props.highThroughputFifo
          ? {
              deduplicationScope: sqs.DeduplicationScope.MESSAGE_GROUP,
              fifoThroughputLimit: sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
            }
          : {}),
      });
      return { queue, dlq };
    };

    const orders = fifoQueue('OrdersQueue', channelNames.ordersQueue, channelNames.ordersDlq);
    this.ordersQueue = orders.queue;
    this.ordersDlq = orders.dlq;

    const relay = fifoQueue('RelayQueue', channelNames.relayQueue, channelNames.relayDlq);
    this.relayQueue = relay.queue;
    this.relayDlq = relay.dlq;

    this.topic = new sns.Topic(this, 'OrderEventsTopic', {
      topicName: channelNames.orderEventsTopic,
      displayName: 'Matcher results (order events)',
      fifo: orderEventsTopic.fifo,
      contentBasedDeduplication: orderEventsTopic.contentBasedDeduplication,
      masterKey: this.topicKey,
      enforceSSL: true,
    });
    // Adds the queue policy (sns.amazonaws.com may SendMessage, only from this topic) and the key
    // policy statement that lets SNS encrypt into the queue (kms:GenerateDataKey*/Decrypt, only on
    // behalf of this topic, through the restrictSqsDescryption feature flag).
    this.topic.addSubscription(
      new subscriptions.SqsSubscription(this.relayQueue, {
        rawMessageDelivery: orderEventsTopic.rawMessageDelivery,
      }),
    );
  }

  /** Lets a service principal (CloudWatch alarms) publish to topics encrypted with the topic key. */
  allowServiceToPublish(servicePrincipal: string): void {
    this.topicKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: `Allow${servicePrincipal.split('.')[0]}ToUseKey`,
        principals: [new iam.ServicePrincipal(servicePrincipal)],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
  }
}
