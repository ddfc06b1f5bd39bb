// Client edge (docs/architecture.md, hops 1-2): an API Gateway WebSocket API whose routes run the
// gateway's Lambda handlers. Route selection is `$request.body.method`, and since no method has a
// route of its own every request reaches `$default`, whose handler dispatches on the method and
// whose return value is the response frame. `$connect` is guarded by a REQUEST authorizer.
import path from 'node:path';
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { HandlerEntries } from './handlers';

export const stageName = 'prod';

/**
 * Lambda runtime of the gateway handlers. Node.js 24, not 20: Lambda deprecated nodejs20.x on
 * 2026-04-30 and stops creating such functions on 2027-02-01. The bundle targets the same version.
 */
export const lambdaRuntime = lambda.Runtime.NODEJS_24_X;

export interface WebSocketGatewayProps {
  readonly vpc: ec2.IVpc;
  readonly entries: HandlerEntries;
  /** The folder holding package-lock.json, where esbuild resolves imports from. */
  readonly projectRoot: string;
  /** Environment shared by every handler (endpoints, secret ARNs; never secret values). */
  readonly environment: Record<string, string>;
  readonly jwtSecretArn: string;
  readonly redisAuthSecretArn: string;
  /** The ledger's ACL credentials ({"username","password"}): `$default` reads balances. */
  readonly ledgerAuthSecretArn: string;
  readonly temporalTlsSecretArn: string;
  readonly throttle: apigwv2.ThrottleSettings;
  readonly logRetention: logs.RetentionDays;
}

export class WebSocketGateway extends Construct {
  readonly api: apigwv2.WebSocketApi;
  readonly stage: apigwv2.WebSocketStage;
  readonly securityGroup: ec2.SecurityGroup;
  readonly functions: Record<keyof HandlerEntries, nodejs.NodejsFunction>;
  readonly authorizer: apigwv2.CfnAuthorizer;

  constructor(scope: Construct, id: string, props: WebSocketGatewayProps) {
    super(scope, id);
    this.securityGroup = new ec2.SecurityGroup(this, 'FunctionsSecurityGroup', {
      vpc: props.vpc,
      description: 'Gateway Lambda handlers: out to Redis, Temporal and AWS APIs; nothing in',
      allowAllOutbound: true,
    });

    const fn = (
      name: keyof HandlerEntries,
      opts: { memorySize: number; timeout: Duration; inVpc: boolean; secretArns: string[] },
      extraEnv: Record<string, string> = {},
    ): nodejs.NodejsFunction => {
      const logGroup = new logs.LogGroup(this, `${cap(name)}Logs`, {
        retention: props.logRetention,
        removalPolicy: RemovalPolicy.DESTROY,
      });
      // An own role per handler instead of the AWS-managed execution policies, which allow
      // writing to every log group: this one may write to its own group only.
      const role = new iam.Role(this, `${cap(name)}Role`, {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        description: `Execution role of the WebSocket ${name} handler`,
      });
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: [logGroup.logGroupArn],
        }),
      );
      if (opts.inVpc) {
        // What AWSLambdaVPCAccessExecutionRole grants: Lambda manages the function's ENIs.
        role.addToPrincipalPolicy(
          new iam.PolicyStatement({
            actions: [
              'ec2:CreateNetworkInterface',
              'ec2:DescribeNetworkInterfaces',
              'ec2:DescribeSubnets',
              'ec2:DeleteNetworkInterface',
              'ec2:AssignPrivateIpAddresses',
              'ec2:UnassignPrivateIpAddresses',
            ],
            resources: ['*'],
          }),
        );
      }
      const f = new nodejs.NodejsFunction(this, `${cap(name)}Handler`, {
        description: `WebSocket ${name === 'authorizer' ? '$connect authorizer' : `$${name} route`}`,
        entry: props.entries[name],
        handler: 'handler',
        projectRoot: props.projectRoot,
        depsLockFilePath: path.join(props.projectRoot, 'package-lock.json'),
        runtime: lambdaRuntime,
        role,
        architecture: lambda.Architecture.ARM_64,
        memorySize: opts.memorySize,
        timeout: opts.timeout,
        logGroup,
        environment: { ...props.environment, ...extraEnv },
        ...(opts.inVpc
          ? {
              vpc: props.vpc,
              vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
              securityGroups: [this.securityGroup],
            }
          : {}),
        bundling: {
          // Bundle everything, the AWS SDK included: the versions that the tests ran are the ones
          // deployed, not whatever the Lambda runtime ships this month.
          externalModules: [],
          minify: true,
          sourceMap: true,
          target: lambdaRuntime.name.replace(/^nodejs(\d+)\.x$/, 'node$1'),
          format: nodejs.OutputFormat.CJS,
        },
      });
      if (opts.secretArns.length > 0) {
        f.addToRolePolicy(
          new iam.PolicyStatement({
            actions: ['secretsmanager:GetSecretValue'],
            resources: opts.secretArns,
          }),
        );
      }
      return f;
    };

    // The authorizer needs only the JWT key from Secrets Manager: no VPC, no cold ENI.
    const authorizer = fn(
      'authorizer',
      {
        memorySize: 256,
        timeout: Duration.seconds(5),
        inVpc: false,
        secretArns: [props.jwtSecretArn],
      },
      { JWT_SECRET_ARN: props.jwtSecretArn },
    );
    // $connect/$disconnect record and forget the connection under its user in Redis.
    const connect = fn('connect', {
      memorySize: 256,
      timeout: Duration.seconds(10),
      inVpc: true,
      secretArns: [props.redisAuthSecretArn],
    });
    const disconnect = fn('disconnect', {
      memorySize: 256,
      timeout: Duration.seconds(10),
      inVpc: true,
      secretArns: [props.redisAuthSecretArn],
    });
    // $default finds the connection's user in Redis and talks to Temporal (update-with-start,
    // queries) through the NAT's fixed addresses, which Temporal Cloud's IP allow list can name.
    // 29 s is API Gateway's integration ceiling.
    const dflt = fn('default', {
      memorySize: 512,
      timeout: Duration.seconds(29),
      inVpc: true,
      secretArns: [props.temporalTlsSecretArn, props.redisAuthSecretArn, props.ledgerAuthSecretArn],
    });
    this.functions = { authorizer, connect, disconnect, default: dflt };

    const wsAuthorizer = new WebSocketLambdaAuthorizer('JwtAuthorizer', authorizer, {
      authorizerName: 'jwt',
      // Browsers cannot set headers on a WebSocket, so the token may come as `?token=` instead.
      // API Gateway requires *every* identity source listed, so none is listed (see below).
      identitySource: [],
    });

    this.api = new apigwv2.WebSocketApi(this, 'Api', {
      apiName: 'order-lifecycle',
      description: 'Order entry and execution reports (Binance-style envelope)',
      routeSelectionExpression: '$request.body.method',
      connectRouteOptions: {
        integration: new WebSocketLambdaIntegration('ConnectIntegration', connect),
        authorizer: wsAuthorizer,
      },
      disconnectRouteOptions: {
        integration: new WebSocketLambdaIntegration('DisconnectIntegration', disconnect),
      },
      defaultRouteOptions: {
        integration: new WebSocketLambdaIntegration('DefaultIntegration', dflt),
        returnResponse: true,
      },
    });
    this.authorizer = this.api.node
      .findAll()
      .find((c): c is apigwv2.CfnAuthorizer => c instanceof apigwv2.CfnAuthorizer)!;
    // No IdentitySource: the authorizer runs on every $connect and itself looks for the token in
    // the Authorization header, then in the `token` query parameter.
    this.authorizer.addPropertyDeletionOverride('IdentitySource');

    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = new apigwv2.WebSocketStage(this, 'Stage', {
      webSocketApi: this.api,
      stageName,
      autoDeploy: true,
      throttle: props.throttle,
      detailedMetricsEnabled: true,
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(accessLogs),
        format: apigw.AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            time: '$context.requestTime',
            eventType: '$context.eventType',
            routeKey: '$context.routeKey',
            connectionId: '$context.connectionId',
            user: '$context.authorizer.principalId',
            ip: '$context.identity.sourceIp',
            status: '$context.status',
            integrationLatency: '$context.integrationLatency',
            error: '$context.error.message',
            authorizerError: '$context.authorizer.error',
          }),
        ),
      },
    });
    const cfnStage = this.stage.node.defaultChild as apigwv2.CfnStage;
    cfnStage.addPropertyOverride('DefaultRouteSettings.LoggingLevel', 'ERROR');
    cfnStage.addPropertyOverride('DefaultRouteSettings.DataTraceEnabled', false);

    // Execution and access logging need the account-wide API Gateway CloudWatch role.
    const cloudWatchRole = new iam.Role(this, 'ApiGatewayCloudWatchRole', {
      assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com'),
      managedPolicies: [
        iam.ManagedPolicy.fromAwsManagedPolicyName(
          'service-role/AmazonAPIGatewayPushToCloudWatchLogs',
        ),
      ],
    });
    // Kept on stack deletion: the setting is account-wide and other APIs may rely on it.
    cloudWatchRole.applyRemovalPolicy(RemovalPolicy.RETAIN);
    const account = new apigw.CfnAccount(this, 'ApiGatewayAccount', {
      cloudWatchRoleArn: cloudWatchRole.roleArn,
    });
    account.applyRemovalPolicy(RemovalPolicy.RETAIN);
    cfnStage.addResourceDependency(account);
  }

  /** `https://…/prod`: the `@connections` management endpoint for pushing to clients. */
  get managementEndpoint(): string {
    return this.stage.callbackUrl;
  }

  /** ARN pattern of `POST @connections/{id}` on this stage (execute-api:ManageConnections). */
  get postToConnectionsArn(): string {
    return Stack.of(this).formatArn({
      service: 'execute-api',
      resource: this.api.apiId,
      resourceName: `${this.stage.stageName}/POST/@connections/*`,
    });
  }
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
