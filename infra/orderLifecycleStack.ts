// The whole AWS side (docs/operations.md) in one stack: WebSocket API + gateway Lambdas, the order
// channels (SQS/SNS FIFO), the order book (ElastiCache Redis), the processes on EKS, alarms.
// Environment-agnostic: no account or region is baked in and nothing is looked up, so it
// synthesizes offline; the deployment's account and region come from the CLI's credentials.
import { CfnCondition, CfnOutput, CfnParameter, Duration, Fn, Stack, Tags } from 'aws-cdk-lib';
import type { StackProps } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { channelNames } from '../config/queues';
import { Alarms } from './alarms';
import type { HandlerEntries } from './handlers';
import { projectRoot } from './handlers';
import { OrderChannels } from './messaging';
import { Network } from './network';
import { suppressNagFindings } from './nag';
import { OrderBookCache, redisMemberIds } from './orderBook';
import { LedgerStore } from './ledgerStore';
import { WebSocketGateway } from './websocket';
import type { Workload, WorkloadName } from './workloads';
import { Workloads } from './workloads';

export interface OrderLifecycleStackProps extends StackProps {
  /** Lambda handler entry files; production uses `defaultHandlerEntries()` (gateway/handlers). */
  readonly handlerEntries: HandlerEntries;
  /** Folder with package-lock.json that esbuild bundles from. @default the repository root */
  readonly projectRoot?: string;
  /** WebSocket stage throttling (all routes). @default 1,000 requests/s, burst 2,000 */
  readonly throttle?: apigwv2.ThrottleSettings;
  /** @default 2 (one per AZ) */
  readonly natGateways?: number;
  /** Retention of every log group the stack creates. @default one month */
  readonly logRetention?: logs.RetentionDays;
  /** Alarm when the orders or relay queue's oldest message is older. @default 60 s */
  readonly maxMessageAge?: Duration;
  /** Replica bounds per process; see `workloads` in workloads.ts for the defaults. */
  readonly scaling?: Partial<Record<WorkloadName, Workload['scaling']>>;
  /** SQS high-throughput FIFO mode on the two work queues. @default false */
  readonly highThroughputFifo?: boolean;
}

export class OrderLifecycleStack extends Stack {
  readonly channels: OrderChannels;
  readonly orderBook: OrderBookCache;
  readonly ledger: LedgerStore;
  readonly gateway: WebSocketGateway;
  readonly workloads: Workloads;
  readonly alarms: Alarms;

  constructor(scope: Construct, id: string, props: OrderLifecycleStackProps) {
    super(scope, id, {
      description: 'Order lifecycle: WebSocket API, SQS/SNS FIFO channels, Redis order book, EKS',
      ...props,
    });
    Tags.of(this).add('project', 'order-lifecycle');
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;

    // ---- Parameters: what differs per deployment and must not live in the code.
    const temporalAddress = new CfnParameter(this, 'TemporalAddress', {
      type: 'String',
      description:
        'Temporal frontend host:port, e.g. orders.a1b2c.tmprl.cloud:7233 (Temporal Cloud)',
      allowedPattern: '^[A-Za-z0-9.-]+:[0-9]+$',
      constraintDescription: 'host:port',
    });
    const temporalNamespace = new CfnParameter(this, 'TemporalNamespace', {
      type: 'String',
      description: 'Temporal namespace, e.g. orders.a1b2c on Temporal Cloud',
      minLength: 1,
    });
    const temporalTlsSecretArn = new CfnParameter(this, 'TemporalTlsSecretArn', {
      type: 'String',
      description:
        'Full ARN of the Secrets Manager secret holding the Temporal mTLS client certificate and key, as JSON {"cert": "<PEM>", "key": "<PEM>"}',
      allowedPattern: '^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$',
      constraintDescription: 'a Secrets Manager secret ARN',
    });
    const containerImage = new CfnParameter(this, 'ContainerImage', {
      type: 'String',
      description:
        'Image of the matcher, order worker and relay, with tag or digest, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/order-lifecycle:1.4.2',
      allowedPattern: '^[^\\s]+[:@][^\\s]+$',
      constraintDescription: 'an image reference with a tag or digest',
    });
    const redisNodeType = new CfnParameter(this, 'RedisNodeType', {
      type: 'String',
      default: 'cache.t4g.medium',
      description: 'ElastiCache node type of both Redis nodes (primary and replica)',
      allowedPattern: '^cache\\.[a-z0-9]+\\.[a-z0-9]+$',
    });
    const ledgerNodeType = new CfnParameter(this, 'LedgerNodeType', {
      type: 'String',
      default: 'db.t4g.small',
      description: 'MemoryDB node type of the ledger (primary and replica)',
      allowedPattern: '^db\\.[a-z0-9]+\\.[a-z0-9]+$',
    });
    const alarmEmail = new CfnParameter(this, 'AlarmEmail', {
      type: 'String',
      default: '',
      description:
        'Address that receives the alarms (confirm the subscription mail); empty for none',
    });

    // ---- Network, channels, secrets, order book.
    const { vpc } = new Network(this, 'Network', {
      natGateways: props.natGateways ?? 2,
      logRetention,
    });
    this.channels = new OrderChannels(this, 'Channels', {
      highThroughputFifo: props.highThroughputFifo,
    });
    const jwtSecret = new secretsmanager.Secret(this, 'JwtSigningKey', {
      description: 'HS256 key that signs client tokens (plain string); `sub` is the userID',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    this.orderBook = new OrderBookCache(this, 'OrderBook', {
      vpc,
      nodeType: redisNodeType.valueAsString,
      logRetention,
    });

    this.ledger = new LedgerStore(this, 'Ledger', { vpc, nodeType: ledgerNodeType.valueAsString });

    const temporalSecret = temporalTlsSecretArn.valueAsString;
    const redisSecret = this.orderBook.authSecret.secretArn;
    const ledgerSecret = this.ledger.authSecret.secretArn;
    const baseEnvironment: Record<string, string> = {
      TEMPORAL_ADDRESS: temporalAddress.valueAsString,
      TEMPORAL_NAMESPACE: temporalNamespace.valueAsString,
      TEMPORAL_TLS_SECRET_ARN: temporalSecret,
      REDIS_URL: this.orderBook.url,
      REDIS_AUTH_SECRET_ARN: redisSecret,
      LEDGER_REDIS_URL: this.ledger.url,
      LEDGER_REDIS_AUTH_SECRET_ARN: ledgerSecret,
      LEDGER_REDIS_CLUSTER: 'true',
      ORDERS_QUEUE_URL: this.channels.ordersQueue.queueUrl,
      ORDERS_DLQ_URL: this.channels.ordersDlq.queueUrl,
      ORDER_EVENTS_TOPIC_ARN: this.channels.topic.topicArn,
      RELAY_QUEUE_URL: this.channels.relayQueue.queueUrl,
      ORDERS_QUEUE_NAME: channelNames.ordersQueue,
      ORDER_EVENTS_TOPIC_NAME: channelNames.orderEventsTopic,
      RELAY_QUEUE_NAME: channelNames.relayQueue,
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };

    // ---- The client edge.
    this.gateway = new WebSocketGateway(this, 'Gateway', {
      vpc,
      entries: props.handlerEntries,
      projectRoot: props.projectRoot ?? projectRoot,
      environment: baseEnvironment,
      jwtSecretArn: jwtSecret.secretArn,
      redisAuthSecretArn: redisSecret,
      ledgerAuthSecretArn: ledgerSecret,
      temporalTlsSecretArn: temporalSecret,
      throttle: props.throttle ?? { rateLimit: 1000, burstLimit: 2000 },
      logRetention,
    });
    this.orderBook.allowFrom(this.gateway.securityGroup, 'gateway Lambda handlers');
    this.ledger.allowFrom(this.gateway.securityGroup, 'gateway Lambda handlers');

    // ---- The processes.
    this.workloads = new Workloads(this, 'Workloads', {
      vpc,
      image: containerImage.valueAsString,
      environment: {
        ...baseEnvironment,
        AWS_REGION: this.region,
        // pushStatus posts execution reports here (config/env.ts gatewayManagementUrl).
        GATEWAY_MANAGEMENT_URL: this.gateway.managementEndpoint,
      },
      logRetention,
      scaling: props.scaling,
    });
    // Auto Mode nodes (and so the pods) carry the EKS cluster security group.
    this.orderBook.allowFrom(this.workloads.cluster.clusterSecurityGroup, 'EKS pods');

    const { ordersQueue, relayQueue, topic, queueKey, topicKey } = this.channels;
    const readSecrets = (...arns: string[]): iam.PolicyStatement =>
      new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: arns });
    const consume = (queueArn: string): iam.PolicyStatement =>
      new iam.PolicyStatement({
        actions: [
          'sqs:ReceiveMessage',
          'sqs:DeleteMessage',
          'sqs:ChangeMessageVisibility',
          'sqs:GetQueueAttributes',
        ],
        resources: [queueArn],
      });
    // SQS and SNS call KMS on the caller's behalf: consumers decrypt, producers make data keys.
    const decrypt = (keyArn: string): iam.PolicyStatement =>
      new iam.PolicyStatement({ actions: ['kms:Decrypt'], resources: [keyArn] });
    const encrypt = (keyArn: string): iam.PolicyStatement =>
      new iam.PolicyStatement({
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [keyArn],
      });

    // Matcher: orders queue in (an unparseable command goes straight to its DLQ), order-events
    // topic out, Redis. It never talks to Temporal, so it gets no Temporal secret.
    this.workloads.allow(
      'matcher',
      consume(ordersQueue.queueArn),
      new iam.PolicyStatement({
        actions: ['sqs:SendMessage'],
        resources: [this.channels.ordersDlq.queueArn],
      }),
      encrypt(queueKey.keyArn),
      new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [topic.topicArn] }),
      encrypt(topicKey.keyArn),
      readSecrets(redisSecret),
    );
    // Order worker: the workflow activities — enqueueCommand (SQS; cancels, retries and re-sends)
    // and pushStatus (API Gateway @connections, finding the user's connections in Redis; only for
    // reports no update answered).
    this.workloads.allow(
      'orderWorker',
      new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [ordersQueue.queueArn] }),
      encrypt(queueKey.keyArn),
      new iam.PolicyStatement({
        actions: ['execute-api:ManageConnections'],
        resources: [this.gateway.postToConnectionsArn],
      }),
      readSecrets(temporalSecret, redisSecret),
    );
    // Relay: relay queue in, workflow updates out, and the reports they answer with pushed to the
    // user's connections (API Gateway @connections, the connections found in Redis).
    this.workloads.allow(
      'relay',
      consume(relayQueue.queueArn),
      decrypt(queueKey.keyArn),
      new iam.PolicyStatement({
        actions: ['execute-api:ManageConnections'],
        resources: [this.gateway.postToConnectionsArn],
      }),
      readSecrets(temporalSecret, redisSecret),
    );
    // The gateway's $default handler sends each order's first place command itself.
    this.gateway.functions.default.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [ordersQueue.queueArn] }),
    );
    this.gateway.functions.default.addToRolePolicy(encrypt(queueKey.keyArn));

    // ---- Alarms.
    this.channels.allowServiceToPublish('cloudwatch.amazonaws.com');
    this.alarms = new Alarms(this, 'Alarms', {
      key: topicKey,
      deadLetterQueues: { OrdersDlq: this.channels.ordersDlq, RelayDlq: this.channels.relayDlq },
      workQueues: { OrdersQueue: ordersQueue, RelayQueue: relayQueue },
      maxMessageAge: props.maxMessageAge ?? Duration.seconds(60),
      functions: {
        Authorizer: this.gateway.functions.authorizer,
        Connect: this.gateway.functions.connect,
        Disconnect: this.gateway.functions.disconnect,
        Default: this.gateway.functions.default,
      },
      redisNodeIds: redisMemberIds,
    });
    const hasAlarmEmail = new CfnCondition(this, 'HasAlarmEmail', {
      expression: Fn.conditionNot(Fn.conditionEquals(alarmEmail.valueAsString, '')),
    });
    const emailSubscription = new sns.CfnSubscription(this, 'AlarmEmailSubscription', {
      topicArn: this.alarms.topic.topicArn,
      protocol: 'email',
      endpoint: alarmEmail.valueAsString,
    });
    emailSubscription.cfnOptions.condition = hasAlarmEmail;

    // ---- Outputs.
    const out = (name: string, value: string, description: string): void => {
      new CfnOutput(this, name, { value, description });
    };
    out('WebSocketUrl', this.gateway.stage.url, 'Clients connect here (wss://…/prod?token=…)');
    out('ManagementEndpoint', this.gateway.managementEndpoint, 'API Gateway @connections endpoint');
    out('OrdersQueueUrl', ordersQueue.queueUrl, 'SQS FIFO commands to the matcher');
    out('OrderEventsTopicArn', topic.topicArn, 'SNS FIFO matcher results');
    out('RelayQueueUrl', relayQueue.queueUrl, 'SQS FIFO subscribed to the topic (raw delivery)');
    out('RedisUrl', this.orderBook.url, 'Order book Redis (TLS, AUTH from RedisAuthSecretArn)');
    out('LedgerUrl', this.ledger.url, 'Ledger MemoryDB (TLS, ACL user from LedgerAuthSecretArn)');
    out('LedgerAuthSecretArn', this.ledger.authSecret.secretArn, 'Ledger ACL credentials');
    out('RedisAuthSecretArn', redisSecret, 'Secrets Manager: Redis AUTH token');
    out('JwtSecretArn', jwtSecret.secretArn, 'Secrets Manager: HS256 key for client tokens');
    out('ClusterName', this.workloads.cluster.clusterName, 'EKS cluster of the processes');
    out('AlarmTopicArn', this.alarms.topic.topicArn, 'SNS topic that every alarm notifies');

    // The same retention for the log groups aws-cdk-lib creates itself (the kubectl provider's).
    for (const c of this.node.findAll()) {
      if (c instanceof logs.CfnLogGroup) c.retentionInDays = logRetention;
    }

    suppressNagFindings(this);
  }
}
