// The matcher's order books: an ElastiCache Redis replication group, primary and replica in two
// AZs with automatic failover, TLS required, encrypted at rest, AUTH token from Secrets Manager, in
// isolated subnets. Eviction is off: an evicted book key would silently lose orders, so a full
// cache refuses writes instead (and the memory alarm fires long before).
import { RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

export const redisPort = 6379;
export const replicationGroupId = 'order-book';
/** Node ids ElastiCache gives the members of a cluster-mode-disabled group (alarm dimensions). */
export const redisMemberIds = [`${replicationGroupId}-001`, `${replicationGroupId}-002`];

export interface OrderBookCacheProps {
  readonly vpc: ec2.IVpc;
  /** e.g. cache.t4g.medium; a CloudFormation parameter in the stack. */
  readonly nodeType: string;
  readonly logRetention: logs.RetentionDays;
}

export class OrderBookCache extends Construct {
  readonly securityGroup: ec2.SecurityGroup;
  readonly authSecret: secretsmanager.Secret;
  readonly replicationGroup: elasticache.CfnReplicationGroup;
  /** `rediss://host:port`; the password comes from `authSecret`. */
  readonly url: string;

  constructor(scope: Construct, id: string, props: OrderBookCacheProps) {
    super(scope, id);
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Order book Redis: TLS on 6379 from the gateway functions and EKS nodes only',
      allowAllOutbound: false,
    });
    this.authSecret = new secretsmanager.Secret(this, 'AuthToken', {
      description: 'AUTH token of the order book Redis (plain string)',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    const subnetGroup = new elasticache.CfnSubnetGroup(this, 'SubnetGroup', {
      description: 'Isolated subnets of the order book Redis',
      subnetIds: props.vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_ISOLATED }).subnetIds,
    });
    const parameters = new elasticache.CfnParameterGroup(this, 'Parameters', {
      cacheParameterGroupFamily: 'redis7',
      description: 'Order books: never evict',
      properties: { 'maxmemory-policy': 'noeviction' },
    });
    const slowLog = new logs.LogGroup(this, 'SlowLog', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.replicationGroup = new elasticache.CfnReplicationGroup(this, 'ReplicationGroup', {
      replicationGroupId,
      replicationGroupDescription:
        'Order books of the matching engine (Lua scripts, outbox streams)',
      engine: 'redis',
      engineVersion: '7.1',
      cacheNodeType: props.nodeType,
      cacheParameterGroupName: parameters.ref,
      numCacheClusters: 2,
      multiAzEnabled: true,
      automaticFailoverEnabled: true,
      transitEncryptionEnabled: true,
      transitEncryptionMode: 'required',
      atRestEncryptionEnabled: true,
      authToken: this.authSecret.secretValue.unsafeUnwrap(),
      port: redisPort,
      cacheSubnetGroupName: subnetGroup.ref,
      securityGroupIds: [this.securityGroup.securityGroupId],
      snapshotRetentionLimit: 7,
      snapshotWindow: '03:00-04:00',
      preferredMaintenanceWindow: 'sun:05:00-sun:06:00',
      autoMinorVersionUpgrade: true,
      logDeliveryConfigurations: [
        {
          destinationType: 'cloudwatch-logs',
          logFormat: 'json',
          logType: 'slow-log',
          destinationDetails: { cloudWatchLogsDetails: { logGroup: slowLog.logGroupName } },
        },
      ],
    });
    this.url = `rediss://${this.replicationGroup.attrPrimaryEndPointAddress}:${this.replicationGroup.attrPrimaryEndPointPort}`;
  }

  /** Opens the Redis port to a peer (the gateway functions' or the EKS cluster's security group). */
  allowFrom(peer: ec2.IConnectable, description: string): void {
    this.securityGroup.connections.allowFrom(peer, ec2.Port.tcp(redisPort), description);
  }
}
