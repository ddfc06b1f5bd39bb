// The accounts' ledger: a MemoryDB cluster. Unlike the book's ElastiCache, MemoryDB acknowledges a
// write only once its Multi-AZ transaction log holds it, so a failover loses no acknowledged
// balance change (ElastiCache replicates asynchronously: a failover can drop the last writes).
// One shard with a replica in another AZ, TLS, an ACL user whose password is in Secrets Manager,
// isolated subnets, daily snapshots. MemoryDB runs in cluster mode: the ledger keeps each user's
// keys under one hash tag, so every script call stays in one slot.
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as memorydb from 'aws-cdk-lib/aws-memorydb';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

export const ledgerPort = 6379;
export const ledgerClusterName = 'ledger';
export const ledgerUserName = 'ledger';

export interface LedgerStoreProps {
  readonly vpc: ec2.IVpc;
  /** e.g. db.t4g.small; a CloudFormation parameter in the stack. */
  readonly nodeType: string;
}

export class LedgerStore extends Construct {
  readonly securityGroup: ec2.SecurityGroup;
  /** `{"username","password"}` of the ACL user the services connect as. */
  readonly authSecret: secretsmanager.Secret;
  readonly cluster: memorydb.CfnCluster;
  /** `rediss://host:port` of the cluster endpoint; credentials come from `authSecret`. */
  readonly url: string;

  constructor(scope: Construct, id: string, props: LedgerStoreProps) {
    super(scope, id);
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Ledger MemoryDB: TLS on 6379 from the gateway functions and EKS nodes only',
      allowAllOutbound: false,
    });
    this.authSecret = new secretsmanager.Secret(this, 'Credentials', {
      description: 'ACL user of the ledger MemoryDB ({"username","password"})',
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ username: ledgerUserName }),
        generateStringKey: 'password',
        passwordLength: 64,
        excludePunctuation: true,
      },
    });
    const user = new memorydb.CfnUser(this, 'User', {
      userName: ledgerUserName,
      // The ledger's keys only (all under `{acct:…}` hash tags); the commands its client and
      // scripts use, cluster discovery included, are within +@all.
      accessString: 'on ~{acct:* +@all',
      authenticationMode: {
        Type: 'password',
        Passwords: [this.authSecret.secretValueFromJson('password').unsafeUnwrap()],
      },
    });
    const acl = new memorydb.CfnACL(this, 'Acl', {
      aclName: 'ledger-services',
      userNames: [user.userName],
    });
    acl.node.addDependency(user);
    const subnetGroup = new memorydb.CfnSubnetGroup(this, 'SubnetGroup', {
      subnetGroupName: 'ledger',
      description: 'Isolated subnets of the ledger MemoryDB',
      subnetIds: props.vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_ISOLATED }).subnetIds,
    });
    this.cluster = new memorydb.CfnCluster(this, 'Cluster', {
      clusterName: ledgerClusterName,
      description: 'Accounts: balances, holds and journals (Lua scripts), durable per write',
      engine: 'redis',
      engineVersion: '7.1',
      nodeType: props.nodeType,
      numShards: 1,
      numReplicasPerShard: 1,
      aclName: acl.aclName,
      tlsEnabled: true,
      port: ledgerPort,
      subnetGroupName: subnetGroup.subnetGroupName,
      securityGroupIds: [this.securityGroup.securityGroupId],
      snapshotRetentionLimit: 7,
      snapshotWindow: '03:00-04:00',
      maintenanceWindow: 'sun:05:00-sun:06:00',
      autoMinorVersionUpgrade: true,
    });
    this.cluster.node.addDependency(acl, subnetGroup);
    this.url = `rediss://${this.cluster.attrClusterEndpointAddress}:${ledgerPort}`;
  }

  /** Opens the ledger's port to a peer (the gateway functions' or the EKS cluster's group). */
  allowFrom(peer: ec2.IConnectable, description: string): void {
    this.securityGroup.connections.allowFrom(peer, ec2.Port.tcp(ledgerPort), description);
  }
}
