// cdk-nag (AwsSolutions pack) findings that are accepted on purpose, each with its reason. cdk-nag
// v3 acknowledges through CDK's own `Validations.of(construct).acknowledge`, one finding at a time
// and only on the construct (and its children) named. The one acknowledgment on the stack itself
// is a cfn-lint rule about a template parameter, which belongs to no construct.
import { CfnCondition, Validations } from 'aws-cdk-lib';
import type { CfnElement } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';
import type { OrderLifecycleStack } from './orderLifecycleStack';

function ack(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}

const managed = (policy: string): string =>
  `AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/${policy}]`;

export function suppressNagFindings(stack: OrderLifecycleStack): void {
  const { gateway, orderBook, workloads } = stack;
  const logicalId = (c: IConstruct): string => stack.getLogicalId(c as CfnElement);

  // ---- Secrets.
  ack(
    stack.node.findChild('JwtSigningKey'),
    'AwsSolutions-SMG4',
    'HS256 signing key: rotating it invalidates every issued token at once, so it is rotated by hand with an overlap window (see docs/operations.md), not by a scheduled Lambda.',
  );
  ack(
    orderBook.authSecret,
    'AwsSolutions-SMG4',
    'ElastiCache AUTH tokens rotate through ModifyReplicationGroup (AuthTokenUpdateStrategy ROTATE then SET), which no managed rotation function performs; rotated by hand (see docs/operations.md).',
  );

  ack(
    stack.ledger.authSecret,
    'AwsSolutions-SMG4',
    'MemoryDB user passwords rotate through UpdateUser (add the new password beside the old, roll the services, remove the old), which no managed rotation function performs; rotated by hand (see docs/operations.md).',
  );

  // ---- Redis.
  ack(
    orderBook.replicationGroup,
    'AwsSolutions-AEC5',
    'A non-default port is obscurity, not a control: the group sits in isolated subnets, its security group admits only the gateway functions and the EKS cluster, and TLS plus AUTH are required.',
  );

  // ---- API Gateway.
  for (const route of ['$disconnect-Route', '$default-Route']) {
    ack(
      gateway.api.node.findChild(route),
      'AwsSolutions-APIG4',
      'API Gateway WebSocket APIs authorize only on $connect (Lambda REQUEST authorizer verifying the JWT); later frames travel on that authorized connection and carry its principal.',
    );
  }
  ack(
    gateway.node.findChild('ApiGatewayCloudWatchRole'),
    managed('service-role/AmazonAPIGatewayPushToCloudWatchLogs'),
    "The account-level role API Gateway uses to write execution and access logs; AWS's documented policy for exactly this role.",
  );
  for (const name of ['Connect', 'Disconnect', 'Default']) {
    ack(
      gateway.node.findChild(`${name}Role`),
      'AwsSolutions-IAM5[Resource::*]',
      'Lambda needs the ENI actions (what AWSLambdaVPCAccessExecutionRole grants) to place the function in the VPC; ec2:Describe* supports no resource-level scoping.',
    );
  }

  // ---- EKS.
  const cluster = workloads.cluster;
  for (const policy of [
    'AmazonEKSClusterPolicy',
    'AmazonEKSComputePolicy',
    'AmazonEKSBlockStoragePolicy',
    'AmazonEKSLoadBalancingPolicy',
    'AmazonEKSNetworkingPolicy',
  ]) {
    ack(
      cluster.role,
      managed(policy),
      'EKS Auto Mode requires these AWS-managed policies on the cluster role (EKS documentation); AWS keeps them current with the service.',
    );
  }
  const nodeRole = cluster.node.findChild('ClusternodePoolRole');
  for (const policy of ['AmazonEKSWorkerNodePolicy', 'AmazonEC2ContainerRegistryReadOnly']) {
    ack(
      nodeRole,
      managed(policy),
      'The node role of EKS Auto Mode node pools: join the cluster and pull images. Pods do not use it; they get their own IRSA roles.',
    );
  }
  for (const pusher of [workloads.serviceAccounts.orderWorker, workloads.serviceAccounts.relay]) {
    ack(
      pusher.role,
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${logicalId(gateway.api.node.defaultChild!)}>/prod/POST/@connections/*]`,
      'Execution reports go to client connections whose ids exist only at run time; the ARN is pinned to this API, this stage and POST.',
    );
  }

  // The kubectl provider (custom resource that applies the manifests) is built by aws-cdk-lib.
  const kubectl = cluster.node.findChild('KubectlProvider');
  const kubectlHandler = kubectl.node.findChild('Handler') as lambda.Function;
  const cdkOwned =
    'Part of the kubectl provider that aws-cdk-lib creates to apply Kubernetes manifests during deployment; its roles and runtime are chosen by the library.';
  for (const policy of [
    'service-role/AWSLambdaBasicExecutionRole',
    'service-role/AWSLambdaVPCAccessExecutionRole',
    'AmazonEC2ContainerRegistryReadOnly',
  ]) {
    ack(kubectl, managed(policy), cdkOwned);
  }
  const ecrPublic = kubectlHandler.node
    .findAll()
    .find((c): c is CfnCondition => c instanceof CfnCondition);
  if (ecrPublic) {
    ack(
      kubectl,
      `AwsSolutions-IAM4[Policy::{"Fn::If":["${logicalId(ecrPublic)}",{"Fn::Join":["",["arn:",{"Ref":"AWS::Partition"},":iam::aws:policy/AmazonElasticContainerRegistryPublicReadOnly"]]},{"Ref":"AWS::NoValue"}]}]`,
      cdkOwned,
    );
  }
  ack(kubectl, 'AwsSolutions-L1', cdkOwned);
  ack(
    kubectl,
    `AwsSolutions-IAM5[Resource::<${logicalId(kubectlHandler.node.defaultChild!)}.Arn>:*]`,
    `${cdkOwned} The wildcard is the handler's own versions (lambda:InvokeFunction on <arn>:*).`,
  );

  // ---- CloudFormation's own validation (cfn-lint rules run by aws-cdk-lib at synth).
  ack(
    stack,
    'CloudFormation-Validate::W2509',
    'TemporalTlsSecretArn carries the ARN of a secret, not secret material, so NoEcho would only hide a harmless identifier from operators.',
  );
}
