// The production stack (infra/), synthesized offline once and checked resource by resource: the
// order channels, Redis, the WebSocket API, the EKS workloads, IAM per role, alarms, cdk-nag, and
// one snapshot of the whole template. Bundling is skipped and the handlers are a fixture, so the
// template does not change when the gateway's code does.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { PolicyValidationPluginReport } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { channelNames } from '../../config/queues';
import { featureFlags } from '../../infra/context';
import {
  assertHandlerEntriesExist,
  defaultHandlerEntries,
  projectRoot,
} from '../../infra/handlers';
import { OrderLifecycleStack } from '../../infra/orderLifecycleStack';
import { redisMemberIds } from '../../infra/orderBook';
import { workloads, type Workload } from '../../infra/workloads';
import { orderWorkerNodeFlags } from '../../orderWorker/memory';
import type { Grant, Json, Resources } from './template';
import {
  at,
  findObject,
  grantsOf,
  kubernetesObjects,
  logicalId,
  normalised,
  show,
  showToken,
} from './template';

const fixture = path.join(__dirname, 'fixtures', 'handler.ts');

let outdir: string;
let stack: OrderLifecycleStack;
let template: Template;
let resources: Resources;
let nag: PolicyValidationPluginReport;

beforeAll(() => {
  outdir = mkdtempSync(path.join(os.tmpdir(), 'infra-test-'));
  const app = new App({
    outdir,
    context: {
      ...featureFlags,
      // No esbuild run and no copy of the kubectl layer: the template is what is under test.
      'aws:cdk:bundling-stacks': [],
      'aws:cdk:disable-asset-staging': true,
    },
  });
  stack = new OrderLifecycleStack(app, 'OrderLifecycle', {
    handlerEntries: {
      connect: fixture,
      disconnect: fixture,
      default: fixture,
      authorizer: fixture,
    },
  });
  // Synthesis also runs aws-cdk-lib's CloudFormation validation (cfn-lint rules) and throws on a
  // failure, e.g. a dependency cycle.
  app.synth();
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources as Resources;
  nag = new AwsSolutionsChecks().validateScope(app);
});

afterAll(() => {
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

const ofType = (type: string): [string, Resources[string]][] =>
  Object.entries(resources).filter(([, r]) => r.Type === type);
const props = (id: string): Record<string, Json> => resources[id]!.Properties ?? {};
const id = (construct: IConstruct): string => logicalId(stack, construct);
const ref = (construct: IConstruct): string => `<<${id(construct)}>>`;
const arnOf = (construct: IConstruct): string => `<<${id(construct)}.Arn>>`;
const token = (t: string): string => showToken(stack, t);

describe('cdk-nag (AwsSolutions)', () => {
  it('reports no finding that is not acknowledged', () => {
    const findings = nag.violations.map(
      (v) =>
        `${v.severity ?? ''} ${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
    );
    expect(findings).toEqual([]);
    expect(nag.success).toBe(true);
  });

  it('gives every acknowledgment a reason, on a construct rather than the whole stack', () => {
    const acks: { path: string; id: string; reason: string }[] = [];
    const visit = (c: IConstruct): void => {
      for (const entry of c.node.metadata) {
        if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
        for (const [ackId, reason] of Object.entries(entry.data as Record<string, string>)) {
          acks.push({ path: c.node.path, id: ackId.replace(/^annotation::/i, ''), reason });
        }
      }
      c.node.children.forEach(visit);
    };
    visit(stack);
    expect(acks.length).toBeGreaterThan(0);
    for (const a of acks) {
      expect({ ...a, reason: a.reason.length >= 60 }).toEqual({ ...a, reason: true });
      if (a.path === stack.node.path) expect(a.id).toMatch(/^CloudFormation-Validate::/);
    }
  });
});

describe('order channels (SQS/SNS FIFO), matching the local twin', () => {
  const queueKeyArn = (): string => arnOf(stack.channels.queueKey);

  it.each([
    ['orders', () => stack.channels.ordersQueue, () => stack.channels.ordersDlq],
    ['relay', () => stack.channels.relayQueue, () => stack.channels.relayDlq],
  ])('%s queue: FIFO, explicit dedup ids, 30 s visibility, DLQ after 5 receives', (_, q, d) => {
    const queue = props(id(q()));
    const dlq = props(id(d()));
    expect(queue).toMatchObject({
      FifoQueue: true,
      ContentBasedDeduplication: false,
      VisibilityTimeout: 30,
    });
    expect(show(queue.KmsMasterKeyId)).toBe(queueKeyArn());
    expect(show(at(queue, 'RedrivePolicy', 'deadLetterTargetArn'))).toBe(arnOf(d()));
    expect(at(queue, 'RedrivePolicy', 'maxReceiveCount')).toBe(5);
    expect(dlq).toMatchObject({ FifoQueue: true, MessageRetentionPeriod: 1209600 });
    expect(show(dlq.KmsMasterKeyId)).toBe(queueKeyArn());
  });

  it('uses the names of config/queues.ts, as the local twin does', () => {
    const names = ofType('AWS::SQS::Queue').map(([, r]) => r.Properties?.QueueName);
    expect(names.sort()).toEqual(
      [
        channelNames.ordersQueue,
        channelNames.ordersDlq,
        channelNames.relayQueue,
        channelNames.relayDlq,
      ].sort(),
    );
    expect(channelNames).toEqual({
      ordersQueue: 'orders.fifo',
      ordersDlq: 'orders-dlq.fifo',
      orderEventsTopic: 'order-events.fifo',
      relayQueue: 'order-events-relay.fifo',
      relayDlq: 'order-events-relay-dlq.fifo',
    });
  });

  it('every queue refuses requests without TLS', () => {
    const policies = ofType('AWS::SQS::QueuePolicy');
    expect(policies).toHaveLength(4);
    for (const [, p] of policies) {
      expect(p.Properties?.PolicyDocument).toMatchObject({
        Statement: expect.arrayContaining([
          expect.objectContaining({
            Effect: 'Deny',
            Action: 'sqs:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]) as unknown,
      });
    }
  });

  it('order-events topic: FIFO, no content dedup, CMK, TLS only', () => {
    const topic = props(id(stack.channels.topic));
    expect(topic).toMatchObject({
      TopicName: 'order-events.fifo',
      FifoTopic: true,
      ContentBasedDeduplication: false,
    });
    expect(show(topic.KmsMasterKeyId)).toBe(arnOf(stack.channels.topicKey));
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: id(stack.channels.topic) }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('relay queue subscribed with raw delivery; only the topic may send, and only it may use the key', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'sqs',
      RawMessageDelivery: true,
      TopicArn: { Ref: id(stack.channels.topic) },
      Endpoint: { 'Fn::GetAtt': [id(stack.channels.relayQueue), 'Arn'] },
    });
    const fromTopic = { ArnEquals: { 'aws:SourceArn': { Ref: id(stack.channels.topic) } } };
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: id(stack.channels.relayQueue) }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Action: 'sqs:SendMessage',
            Principal: { Service: 'sns.amazonaws.com' },
            Condition: fromTopic,
          }),
        ]),
      },
    });
    const keyPolicy = props(id(stack.channels.queueKey)).KeyPolicy as { Statement: Json[] };
    expect(keyPolicy.Statement).toContainEqual(
      expect.objectContaining({
        Principal: { Service: 'sns.amazonaws.com' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Condition: fromTopic,
      }),
    );
  });

  it('both keys rotate', () => {
    const keys = ofType('AWS::KMS::Key');
    expect(keys).toHaveLength(2);
    for (const [, k] of keys) expect(k.Properties?.EnableKeyRotation).toBe(true);
  });
});

describe('order book (ElastiCache Redis)', () => {
  it('Multi-AZ with automatic failover, TLS required, encrypted at rest, AUTH from Secrets Manager', () => {
    const rg = props(id(stack.orderBook.replicationGroup));
    expect(rg).toMatchObject({
      Engine: 'redis',
      ReplicationGroupId: 'order-book',
      NumCacheClusters: 2,
      MultiAZEnabled: true,
      AutomaticFailoverEnabled: true,
      TransitEncryptionEnabled: true,
      TransitEncryptionMode: 'required',
      AtRestEncryptionEnabled: true,
      Port: 6379,
    });
    expect(show(rg.AuthToken)).toBe(
      `{{resolve:secretsmanager:${ref(stack.orderBook.authSecret)}:SecretString:::}}`,
    );
    expect(show(rg.CacheNodeType)).toBe('<<RedisNodeType>>');
    expect(redisMemberIds).toEqual(['order-book-001', 'order-book-002']);
  });

  it('never evicts', () => {
    template.hasResourceProperties('AWS::ElastiCache::ParameterGroup', {
      CacheParameterGroupFamily: 'redis7',
      Properties: { 'maxmemory-policy': 'noeviction' },
    });
  });

  it('lives in the isolated subnets, reachable on 6379 from the gateway functions and EKS only', () => {
    const isolated = stack.workloads.cluster.vpc.isolatedSubnets.map((s) => token(s.subnetId));
    const group = ofType('AWS::ElastiCache::SubnetGroup')[0]![1];
    expect((group.Properties?.SubnetIds as Json[]).map((s) => show(s))).toEqual(isolated);

    const redisSg = `<<${id(stack.orderBook.securityGroup)}.GroupId>>`;
    const ingress = ofType('AWS::EC2::SecurityGroupIngress')
      .map(([, r]) => r.Properties ?? {})
      .filter((p) => show(p.GroupId) === redisSg)
      .map((p) => [p.IpProtocol, p.FromPort, p.ToPort, show(p.SourceSecurityGroupId)]);
    expect(ingress).toEqual(
      expect.arrayContaining([
        ['tcp', 6379, 6379, `<<${id(stack.gateway.securityGroup)}.GroupId>>`],
        ['tcp', 6379, 6379, `<<${id(stack.workloads.cluster)}.ClusterSecurityGroupId>>`],
      ]),
    );
    expect(ingress).toHaveLength(2);
  });
});

describe('ledger (MemoryDB)', () => {
  it('one shard with a replica in another AZ, TLS, its ACL user from Secrets Manager, keys of the ledger only', () => {
    const cluster = props(id(stack.ledger.cluster));
    expect(cluster).toMatchObject({
      ClusterName: 'ledger',
      NumShards: 1,
      NumReplicasPerShard: 1,
      TLSEnabled: true,
      Port: 6379,
      ACLName: 'ledger-services',
      SnapshotRetentionLimit: 7,
    });
    expect(show(cluster.NodeType)).toBe('<<LedgerNodeType>>');
    const [user] = ofType('AWS::MemoryDB::User').map(([, r]) => r.Properties ?? {});
    expect(user).toMatchObject({ UserName: 'ledger', AccessString: 'on ~{acct:* +@all' });
    expect(show((user?.AuthenticationMode as { Passwords: Json[] }).Passwords[0])).toBe(
      `{{resolve:secretsmanager:${ref(stack.ledger.authSecret)}:SecretString:password::}}`,
    );
    template.hasResourceProperties('AWS::MemoryDB::ACL', {
      ACLName: 'ledger-services',
      UserNames: ['ledger'],
    });
  });

  it('lives in the isolated subnets, reachable on 6379 from the gateway functions only', () => {
    const isolated = stack.workloads.cluster.vpc.isolatedSubnets.map((s) => token(s.subnetId));
    const group = ofType('AWS::MemoryDB::SubnetGroup')[0]![1];
    expect((group.Properties?.SubnetIds as Json[]).map((s) => show(s))).toEqual(isolated);
    const ledgerSg = `<<${id(stack.ledger.securityGroup)}.GroupId>>`;
    const ingress = ofType('AWS::EC2::SecurityGroupIngress')
      .map(([, r]) => r.Properties ?? {})
      .filter((p) => show(p.GroupId) === ledgerSg)
      .map((p) => [p.IpProtocol, p.FromPort, p.ToPort, show(p.SourceSecurityGroupId)]);
    expect(ingress).toEqual([
      ['tcp', 6379, 6379, `<<${id(stack.gateway.securityGroup)}.GroupId>>`],
    ]);
  });

  it('$default gets its endpoint in cluster mode and the ARN of its credentials', () => {
    const vars = at(
      props(id(stack.gateway.functions.default)),
      'Environment',
      'Variables',
    ) as Record<string, Json>;
    expect(show(vars.LEDGER_REDIS_URL)).toMatch(/^rediss:\/\/<<.*ClusterEndpoint\.Address>>:6379$/);
    expect(show(vars.LEDGER_REDIS_AUTH_SECRET_ARN)).toBe(ref(stack.ledger.authSecret));
    expect(vars.LEDGER_REDIS_CLUSTER).toBe('true');
  });
});

describe('network', () => {
  it('admits nothing from the internet: no security group rule names a public CIDR', () => {
    for (const [, r] of [
      ...ofType('AWS::EC2::SecurityGroup'),
      ...ofType('AWS::EC2::SecurityGroupIngress'),
    ]) {
      const rules = (r.Properties?.SecurityGroupIngress as Json[] | undefined) ?? [r.Properties];
      for (const rule of rules) {
        const cidr = (rule as Record<string, Json> | undefined)?.CidrIp;
        expect(cidr === undefined || cidr === null).toBe(true);
      }
    }
  });

  it('logs every flow and spans two AZs', () => {
    template.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'ALL' });
    expect(ofType('AWS::EC2::Subnet')).toHaveLength(6);
    expect(ofType('AWS::EC2::NatGateway')).toHaveLength(2);
  });
});

describe('WebSocket API', () => {
  const routes = (): Record<string, Record<string, Json>> =>
    Object.fromEntries(
      ofType('AWS::ApiGatewayV2::Route').map(([, r]) => [
        show(r.Properties?.RouteKey),
        r.Properties!,
      ]),
    );
  const integrationOf = (routeKey: string): Record<string, Json> => {
    const target = show(routes()[routeKey]!.Target);
    return props(target.replace(/^integrations\/<<(.*)>>$/, '$1'));
  };
  const invokes = (fn: IConstruct): string =>
    `arn:<<AWS::Partition>>:apigateway:<<AWS::Region>>:lambda:path/2015-03-31/functions/${arnOf(fn)}/invocations`;

  it('dispatches on $request.body.method', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'WEBSOCKET',
      RouteSelectionExpression: '$request.body.method',
    });
  });

  it('routes $connect, $disconnect and $default to their handlers', () => {
    expect(Object.keys(routes()).sort()).toEqual(['$connect', '$default', '$disconnect']);
    const fns = stack.gateway.functions;
    for (const [key, fn] of [
      ['$connect', fns.connect],
      ['$disconnect', fns.disconnect],
      ['$default', fns.default],
    ] as const) {
      expect(integrationOf(key)).toMatchObject({ IntegrationType: 'AWS_PROXY' });
      expect(show(integrationOf(key).IntegrationUri)).toBe(invokes(fn));
    }
  });

  it('guards $connect with the JWT authorizer, which runs whatever identity source the token uses', () => {
    const connect = routes().$connect!;
    expect(connect.AuthorizationType).toBe('CUSTOM');
    const authorizer = props(show(connect.AuthorizerId).replace(/^<<(.*)>>$/, '$1'));
    expect(authorizer).toMatchObject({ AuthorizerType: 'REQUEST', Name: 'jwt' });
    expect(show(authorizer.AuthorizerUri)).toBe(invokes(stack.gateway.functions.authorizer));
    // Header *or* `?token=`: API Gateway would require every listed source, so none is listed.
    expect(authorizer.IdentitySource).toBeUndefined();
    expect(routes().$disconnect!.AuthorizationType).toBe('NONE');
  });

  it('$default answers on the socket: its route response returns the handler result', () => {
    expect(routes().$default!.RouteResponseSelectionExpression).toBe('$default');
    template.hasResourceProperties('AWS::ApiGatewayV2::RouteResponse', {
      RouteResponseKey: '$default',
      RouteId: { Ref: id(stack.gateway.api.node.findChild('$default-Route')) },
    });
  });

  it('stage throttles, logs access as JSON and errors, and waits for the account logging role', () => {
    const stageId = id(stack.gateway.stage);
    expect(props(stageId)).toMatchObject({
      StageName: 'prod',
      AutoDeploy: true,
      DefaultRouteSettings: {
        ThrottlingRateLimit: 1000,
        ThrottlingBurstLimit: 2000,
        LoggingLevel: 'ERROR',
        DataTraceEnabled: false,
        DetailedMetricsEnabled: true,
      },
    });
    const format = JSON.parse(show(at(props(stageId), 'AccessLogSettings', 'Format'))) as Record<
      string,
      string
    >;
    expect(format).toMatchObject({
      connectionId: '$context.connectionId',
      routeKey: '$context.routeKey',
      status: '$context.status',
      authorizerError: '$context.authorizer.error',
    });
    template.hasResource('AWS::ApiGatewayV2::Stage', {
      DependsOn: Match.arrayWith([Match.stringLikeRegexp('^GatewayApiGatewayAccount')]),
    });
  });

  it('handlers: Node 24 on arm64; all but the authorizer inside the VPC', () => {
    const fns = stack.gateway.functions;
    for (const [name, fn] of Object.entries(fns)) {
      const p = props(id(fn));
      expect({ name, ...p }).toMatchObject({
        name,
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
      });
      expect({ name, inVpc: p.VpcConfig !== undefined }).toEqual({
        name,
        inVpc: name !== 'authorizer',
      });
    }
  });

  it('handlers get endpoints and secret ARNs, never secret values', () => {
    const env = (fn: IConstruct): Record<string, string> =>
      Object.fromEntries(
        Object.entries(at(props(id(fn)), 'Environment', 'Variables') as Record<string, Json>).map(
          ([k, v]) => [k, show(v)],
        ),
      );
    const dflt = env(stack.gateway.functions.default);
    expect(dflt).toMatchObject({
      TEMPORAL_ADDRESS: '<<TemporalAddress>>',
      TEMPORAL_NAMESPACE: '<<TemporalNamespace>>',
      TEMPORAL_TLS_SECRET_ARN: '<<TemporalTlsSecretArn>>',
      REDIS_AUTH_SECRET_ARN: ref(stack.orderBook.authSecret),
      NODE_ENV: 'production',
    });
    expect(dflt.REDIS_URL).toMatch(
      /^rediss:\/\/<<.*PrimaryEndPoint\.Address>>:<<.*PrimaryEndPoint\.Port>>$/,
    );
    expect(env(stack.gateway.functions.authorizer).JWT_SECRET_ARN).toBe(
      ref(stack.node.findChild('JwtSigningKey')),
    );
    expect(dflt.JWT_SECRET_ARN).toBeUndefined();
    expect(JSON.stringify(resources)).not.toMatch(
      /"JWT_SECRET"|resolve:secretsmanager:[^"]*JwtSigningKey/,
    );
  });
});

describe('IAM: each role holds only what it needs, on the named resources', () => {
  const roleOf = (construct: IConstruct & { role?: IConstruct }): string => id(construct.role!);
  const grants = (construct: IConstruct & { role?: IConstruct }): string[] =>
    grantsOf(resources, roleOf(construct)).map(
      (g: Grant) => `${g.effect} ${g.action} ${g.resource}`,
    );
  const sa = (): typeof stack.workloads.serviceAccounts => stack.workloads.serviceAccounts;
  const secret = {
    redis: (): string => ref(stack.orderBook.authSecret),
    ledger: (): string => ref(stack.ledger.authSecret),
    jwt: (): string => ref(stack.node.findChild('JwtSigningKey')),
    temporal: '<<TemporalTlsSecretArn>>',
  };
  const sorted = (xs: string[]): string[] => [...xs].sort();
  const eni = [
    'ec2:AssignPrivateIpAddresses',
    'ec2:CreateNetworkInterface',
    'ec2:DeleteNetworkInterface',
    'ec2:DescribeNetworkInterfaces',
    'ec2:DescribeSubnets',
    'ec2:UnassignPrivateIpAddresses',
  ].map((a) => `Allow ${a} *`);
  const logsOf = (name: 'authorizer' | 'connect' | 'disconnect' | 'default'): string[] => {
    const group = arnOf(
      stack.gateway.node.findChild(`${name[0]!.toUpperCase()}${name.slice(1)}Logs`),
    );
    return [`Allow logs:CreateLogStream ${group}`, `Allow logs:PutLogEvents ${group}`];
  };

  it('matcher: consume orders (dead-letter the unparseable), publish order events, Redis AUTH', () => {
    const orders = arnOf(stack.channels.ordersQueue);
    expect(grants(sa().matcher)).toEqual(
      sorted([
        `Allow sqs:ReceiveMessage ${orders}`,
        `Allow sqs:DeleteMessage ${orders}`,
        `Allow sqs:ChangeMessageVisibility ${orders}`,
        `Allow sqs:GetQueueAttributes ${orders}`,
        `Allow sqs:SendMessage ${arnOf(stack.channels.ordersDlq)}`,
        `Allow kms:GenerateDataKey ${arnOf(stack.channels.queueKey)}`,
        `Allow kms:Decrypt ${arnOf(stack.channels.queueKey)}`,
        `Allow sns:Publish ${ref(stack.channels.topic)}`,
        `Allow kms:GenerateDataKey ${arnOf(stack.channels.topicKey)}`,
        `Allow kms:Decrypt ${arnOf(stack.channels.topicKey)}`,
        `Allow secretsmanager:GetSecretValue ${secret.redis()}`,
      ]),
    );
  });

  it('order worker: send to orders, post to this stage’s @connections, Redis AUTH and Temporal', () => {
    const connections = `arn:<<AWS::Partition>>:execute-api:<<AWS::Region>>:<<AWS::AccountId>>:${ref(stack.gateway.api)}/prod/POST/@connections/*`;
    expect(grants(sa().orderWorker)).toEqual(
      sorted([
        `Allow sqs:SendMessage ${arnOf(stack.channels.ordersQueue)}`,
        `Allow kms:GenerateDataKey ${arnOf(stack.channels.queueKey)}`,
        `Allow kms:Decrypt ${arnOf(stack.channels.queueKey)}`,
        `Allow execute-api:ManageConnections ${connections}`,
        `Allow secretsmanager:GetSecretValue ${secret.redis()}`,
        `Allow secretsmanager:GetSecretValue ${secret.temporal}`,
      ]),
    );
  });

  it('relay: consume the relay queue, post to this stage’s @connections, Redis AUTH and Temporal', () => {
    const relay = arnOf(stack.channels.relayQueue);
    const connections = `arn:<<AWS::Partition>>:execute-api:<<AWS::Region>>:<<AWS::AccountId>>:${ref(stack.gateway.api)}/prod/POST/@connections/*`;
    expect(grants(sa().relay)).toEqual(
      sorted([
        `Allow sqs:ReceiveMessage ${relay}`,
        `Allow sqs:DeleteMessage ${relay}`,
        `Allow sqs:ChangeMessageVisibility ${relay}`,
        `Allow sqs:GetQueueAttributes ${relay}`,
        `Allow kms:Decrypt ${arnOf(stack.channels.queueKey)}`,
        `Allow execute-api:ManageConnections ${connections}`,
        `Allow secretsmanager:GetSecretValue ${secret.redis()}`,
        `Allow secretsmanager:GetSecretValue ${secret.temporal}`,
      ]),
    );
  });

  it('gateway handlers: own log group, VPC ENIs where in the VPC, only the secrets they read; $default sends to the orders queue', () => {
    const fns = stack.gateway.functions;
    expect(grants(fns.authorizer)).toEqual(
      sorted([...logsOf('authorizer'), `Allow secretsmanager:GetSecretValue ${secret.jwt()}`]),
    );
    for (const name of ['connect', 'disconnect'] as const) {
      expect(grants(fns[name])).toEqual(
        sorted([...logsOf(name), ...eni, `Allow secretsmanager:GetSecretValue ${secret.redis()}`]),
      );
    }
    expect(grants(fns.default)).toEqual(
      sorted([
        ...logsOf('default'),
        ...eni,
        `Allow secretsmanager:GetSecretValue ${secret.temporal}`,
        `Allow secretsmanager:GetSecretValue ${secret.redis()}`,
        `Allow secretsmanager:GetSecretValue ${secret.ledger()}`,
        `Allow sqs:SendMessage ${arnOf(stack.channels.ordersQueue)}`,
        `Allow kms:GenerateDataKey ${arnOf(stack.channels.queueKey)}`,
        `Allow kms:Decrypt ${arnOf(stack.channels.queueKey)}`,
      ]),
    );
  });

  it('the pod roles trust only their own Kubernetes service account (IRSA)', () => {
    for (const [key, w] of Object.entries(workloads)) {
      const role = sa()[key as keyof typeof workloads].role;
      const trust = at(props(id(role)), 'AssumeRolePolicyDocument', 'Statement', 0);
      expect(at(trust, 'Action')).toBe('sts:AssumeRoleWithWebIdentity');
      expect(show(at(trust, 'Principal', 'Federated'))).toBe(
        ref(stack.workloads.cluster.openIdConnectProvider),
      );
      // The condition is rendered by a CfnJson resource (its keys hold the issuer URL token).
      const conditionJson = show(at(trust, 'Condition', 'StringEquals')).replace(
        /^<<(.*)\.Value>>$/,
        '$1',
      );
      const condition = show(props(conditionJson).Value);
      expect(condition).toContain(`:sub":"system:serviceaccount:orders:${w.name}"`);
      expect(condition).toContain(':aud":"sts.amazonaws.com"');
    }
  });

  it('no policy of ours grants a wildcard action, or `*` where a resource exists', () => {
    const ours = [
      ...Object.values(stack.gateway.functions).map((f) => roleOf(f)),
      ...Object.values(sa()).map((a) => roleOf(a)),
    ];
    for (const role of ours) {
      for (const g of grantsOf(resources, role)) {
        expect(g.action).not.toMatch(/\*/);
        // Only the ENI actions, which support no resource-level scoping, may name `*`.
        if (g.resource === '*') expect(g.action).toMatch(/^ec2:/);
      }
    }
  });
});

describe('EKS workloads', () => {
  let objects: Record<string, Json>[];
  beforeAll(() => {
    objects = kubernetesObjects(resources);
  });
  const container = (name: string): Record<string, Json> =>
    at(
      findObject(objects, 'Deployment', name),
      'spec',
      'template',
      'spec',
      'containers',
      0,
    ) as Record<string, Json>;
  const envOf = (name: string): Record<string, string> =>
    Object.fromEntries(
      (container(name).env as { name: string; value: string }[]).map((e) => [e.name, e.value]),
    );

  it('cluster: private endpoint only, Auto Mode, every control-plane log', () => {
    template.hasResourceProperties('AWS::EKS::Cluster', {
      Name: 'order-lifecycle',
      Version: '1.36',
      ResourcesVpcConfig: { EndpointPrivateAccess: true, EndpointPublicAccess: false },
      ComputeConfig: { Enabled: true, NodePools: ['system', 'general-purpose'] },
      Logging: {
        ClusterLogging: {
          EnabledTypes: ['api', 'audit', 'authenticator', 'controllerManager', 'scheduler'].map(
            (Type) => ({ Type }),
          ),
        },
      },
    });
    template.hasResourceProperties('AWS::EKS::Addon', { AddonName: 'metrics-server' });
  });

  it.each(Object.values(workloads))(
    '$name: a Deployment of the image parameter, its own service account, /healthz probes',
    (w) => {
      const deployment = findObject(objects, 'Deployment', w.name);
      expect(at(deployment, 'metadata', 'namespace')).toBe('orders');
      const podSpec = at(deployment, 'spec', 'template', 'spec') as Record<string, Json>;
      expect(podSpec.serviceAccountName).toBe(w.name);
      expect(at(podSpec, 'securityContext', 'runAsNonRoot')).toBe(true);
      const c = container(w.name);
      expect(c.image).toBe('<<ContainerImage>>');
      const flags = (w as Workload).nodeFlags ?? [];
      expect(c.command).toEqual(['node', ...flags, '--import', 'tsx', w.entry]);
      expect(c.ports).toEqual([{ name: 'health', containerPort: w.healthPort }]);
      for (const probe of ['readinessProbe', 'livenessProbe']) {
        expect(at(c, probe, 'httpGet')).toEqual({ path: '/healthz', port: 'health' });
      }
      expect(at(c, 'securityContext')).toMatchObject({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
      });
      const sa = findObject(objects, 'ServiceAccount', w.name);
      expect(at(sa, 'metadata', 'annotations', 'eks.amazonaws.com/role-arn')).toBe(
        arnOf(
          stack.workloads.serviceAccounts[
            w.name === 'order-worker' ? 'orderWorker' : (w.name as 'matcher' | 'relay')
          ].role,
        ),
      );
    },
  );

  it('order worker: its memory budget and heap limit follow its pod’s memory limit', () => {
    const c = container('order-worker');
    expect(at(c, 'resources', 'limits', 'memory')).toBe('768Mi');
    expect(c.env).toContainEqual({ name: 'ORDER_WORKER_MEMORY_MB', value: '768' });
    expect(c.command).toEqual([
      'node',
      ...orderWorkerNodeFlags(768),
      '--import',
      'tsx',
      'bin/orderWorker.ts',
    ]);
  });

  it('entry points and health ports are the ones the processes use', () => {
    expect(Object.values(workloads).map((w) => [w.name, w.entry, w.healthPort])).toEqual([
      ['matcher', 'bin/matcher.ts', 9101],
      ['order-worker', 'bin/orderWorker.ts', 9102],
      ['relay', 'bin/relay.ts', 9103],
    ]);
  });

  it('pods get the Temporal, Redis and channel endpoints', () => {
    for (const w of Object.values(workloads)) {
      expect(envOf(w.name)).toMatchObject({
        TEMPORAL_ADDRESS: '<<TemporalAddress>>',
        TEMPORAL_NAMESPACE: '<<TemporalNamespace>>',
        TEMPORAL_TLS_SECRET_ARN: '<<TemporalTlsSecretArn>>',
        REDIS_AUTH_SECRET_ARN: ref(stack.orderBook.authSecret),
        AWS_REGION: '<<AWS::Region>>',
        ORDERS_QUEUE_URL: ref(stack.channels.ordersQueue),
        ORDERS_DLQ_URL: ref(stack.channels.ordersDlq),
        ORDER_EVENTS_TOPIC_ARN: ref(stack.channels.topic),
        RELAY_QUEUE_URL: ref(stack.channels.relayQueue),
        GATEWAY_MANAGEMENT_URL: `https://${ref(stack.gateway.api)}.execute-api.<<AWS::Region>>.<<AWS::URLSuffix>>/prod`,
      });
      expect(envOf(w.name).REDIS_URL).toMatch(/^rediss:\/\//);
    }
  });

  it('the matcher and the order worker scale on CPU; the relay runs a fixed pair', () => {
    for (const name of ['matcher', 'order-worker']) {
      const hpa = findObject(objects, 'HorizontalPodAutoscaler', name);
      expect(at(hpa, 'spec', 'scaleTargetRef')).toEqual({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name,
      });
      expect(at(hpa, 'spec', 'minReplicas')).toBeGreaterThanOrEqual(2);
      expect(at(hpa, 'spec', 'metrics', 0, 'resource', 'name')).toBe('cpu');
      // Replicas belong to the HPA: a redeploy must not reset them.
      expect(at(findObject(objects, 'Deployment', name), 'spec')).not.toHaveProperty('replicas');
    }
    expect(() => findObject(objects, 'HorizontalPodAutoscaler', 'relay')).toThrow();
    expect(at(findObject(objects, 'Deployment', 'relay'), 'spec', 'replicas')).toBe(2);
    for (const w of Object.values(workloads)) {
      expect(at(findObject(objects, 'PodDisruptionBudget', w.name), 'spec', 'minAvailable')).toBe(
        1,
      );
    }
  });
});

describe('alarms and logs', () => {
  const alarms = (): Record<string, Json>[] =>
    ofType('AWS::CloudWatch::Alarm').map(([, r]) => r.Properties ?? {});
  const on = (metricName: string, dimension: string): Record<string, Json>[] =>
    alarms().filter(
      (a) =>
        a.MetricName === metricName &&
        (a.Dimensions as { Value: Json }[]).some((d) => show(d.Value) === dimension),
    );

  it('any message in either DLQ', () => {
    for (const dlq of [stack.channels.ordersDlq, stack.channels.relayDlq]) {
      const [alarm] = on('ApproximateNumberOfMessagesVisible', `<<${id(dlq)}.QueueName>>`);
      expect(alarm).toMatchObject({
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 1,
      });
    }
  });

  it('orders waiting over a minute', () => {
    const [alarm] = on(
      'ApproximateAgeOfOldestMessage',
      `<<${id(stack.channels.ordersQueue)}.QueueName>>`,
    );
    expect(alarm).toMatchObject({ Threshold: 60, ComparisonOperator: 'GreaterThanThreshold' });
  });

  it('any handler error', () => {
    for (const fn of Object.values(stack.gateway.functions)) {
      const [alarm] = on('Errors', ref(fn));
      expect(alarm).toMatchObject({ Namespace: 'AWS/Lambda', Threshold: 1, Statistic: 'Sum' });
    }
  });

  it('Redis CPU and memory on both nodes', () => {
    for (const node of redisMemberIds) {
      expect(on('EngineCPUUtilization', node)[0]).toMatchObject({ Threshold: 80 });
      expect(on('DatabaseMemoryUsagePercentage', node)[0]).toMatchObject({ Threshold: 75 });
    }
  });

  it('every alarm notifies the encrypted alarm topic, on alarm and on recovery', () => {
    const topic = ref(stack.alarms.topic);
    expect(alarms()).toHaveLength(12);
    for (const a of alarms()) {
      expect((a.AlarmActions as Json[]).map((x) => show(x))).toEqual([topic]);
      expect((a.OKActions as Json[]).map((x) => show(x))).toEqual([topic]);
    }
    expect(show(props(id(stack.alarms.topic)).KmsMasterKeyId)).toBe(arnOf(stack.channels.topicKey));
  });

  it('every log group expires after a month', () => {
    const groups = ofType('AWS::Logs::LogGroup');
    expect(groups.length).toBe(10);
    for (const [, g] of groups) expect(g.Properties?.RetentionInDays).toBe(30);
  });
});

describe('deployment parameters and entry points', () => {
  it('asks for the Temporal connection, the image, the Redis size and an alarm address', () => {
    const parameters = template.toJSON().Parameters as Record<string, Record<string, Json>>;
    expect(Object.keys(parameters)).toEqual(
      expect.arrayContaining([
        'TemporalAddress',
        'TemporalNamespace',
        'TemporalTlsSecretArn',
        'ContainerImage',
        'RedisNodeType',
        'AlarmEmail',
      ]),
    );
    expect(parameters.TemporalTlsSecretArn!.AllowedPattern).toMatch(/secretsmanager/);
    expect(parameters.RedisNodeType!.Default).toBe('cache.t4g.medium');
  });

  it('production handlers come from gateway/handlers; a missing one is named', () => {
    const entries = defaultHandlerEntries();
    expect(Object.values(entries).map((e) => path.relative(projectRoot, e))).toEqual([
      'gateway/handlers/connect.ts',
      'gateway/handlers/disconnect.ts',
      'gateway/handlers/default.ts',
      'gateway/handlers/authorizer.ts',
    ]);
    const missing = defaultHandlerEntries(path.join(os.tmpdir(), 'no-such-project'));
    expect(() => assertHandlerEntriesExist(missing)).toThrow(
      /connect: .*gateway\/handlers\/connect\.ts/,
    );
  });
});

describe('template snapshot', () => {
  it('matches (asset hashes blanked)', () => {
    expect(normalised(template.toJSON() as Json)).toMatchSnapshot();
  });
});
