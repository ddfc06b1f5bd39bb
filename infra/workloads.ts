// Long-running processes (docs/architecture.md, hops 4, 6; Temporal workers): an EKS cluster in
// Auto Mode (EKS runs and scales the nodes) with the matcher, the order worker and the relay as
// Deployments of one container image. Each has its own Kubernetes service account bound to an IAM
// role (IRSA) that holds only the actions it needs on the named resources; the matcher and the
// order worker scale horizontally on CPU.
import { KubectlV36Layer } from '@aws-cdk/lambda-layer-kubectl-v36';
import { RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { orderWorkerNodeFlags } from '../orderWorker/memory';
import { services, type ServiceName } from '../platform/processes';

export const clusterName = 'order-lifecycle';
export const namespace = 'orders';

export interface Scaling {
  readonly minReplicas: number;
  readonly maxReplicas: number;
  /** Average CPU utilisation (of requests) the HPA aims for. */
  readonly targetCpuPercent: number;
}

export interface Workload {
  /** Kubernetes name of the Deployment, service account and labels. */
  readonly name: string;
  /** The process entry point inside the image, run as `node --import tsx <entry>`. */
  readonly entry: string;
  /** /healthz port for the probes. */
  readonly healthPort: number;
  readonly resources: { cpu: string; memory: string };
  /** Node flags before the entry point (the order worker's heap limit). */
  readonly nodeFlags?: readonly string[];
  /** Environment of this workload's containers only. */
  readonly environment?: Readonly<Record<string, string>>;
  /** Horizontal autoscaling, or a fixed replica count. */
  readonly scaling: Scaling | { replicas: number };
}

/** Name, entry and health port as platform/processes.ts lists them (the pods set no port variable). */
const listed = (name: ServiceName): Pick<Workload, 'name' | 'entry' | 'healthPort'> => ({
  name,
  entry: services[name].entry,
  healthPort: services[name].healthPort.fallback,
});

/** The order worker pod's memory limit, in MiB. */
const orderWorkerMemoryMiB = 768;

export const workloads = {
  matcher: {
    ...listed('matcher'),
    resources: { cpu: '500m', memory: '512Mi' },
    scaling: { minReplicas: 2, maxReplicas: 6, targetCpuPercent: 70 },
  },
  orderWorker: {
    ...listed('order-worker'),
    resources: { cpu: '500m', memory: `${orderWorkerMemoryMiB}Mi` },
    // Its heap limit and workflow cache are sized from the pod's memory limit (orderWorker/memory.ts).
    nodeFlags: orderWorkerNodeFlags(orderWorkerMemoryMiB),
    environment: { ORDER_WORKER_MEMORY_MB: String(orderWorkerMemoryMiB) },
    scaling: { minReplicas: 2, maxReplicas: 10, targetCpuPercent: 70 },
  },
  relay: {
    ...listed('relay'),
    resources: { cpu: '250m', memory: '256Mi' },
    scaling: { replicas: 2 },
  },
} satisfies Record<string, Workload>;

export type WorkloadName = keyof typeof workloads;

export interface WorkloadsProps {
  readonly vpc: ec2.IVpc;
  /** ECR image URI with tag or digest (a CloudFormation parameter). */
  readonly image: string;
  /** Environment of every container (endpoints, ARNs; never secret values). */
  readonly environment: Record<string, string>;
  readonly logRetention: logs.RetentionDays;
  /** Per-workload overrides of the scaling above. */
  readonly scaling?: Partial<Record<WorkloadName, Workload['scaling']>>;
}

export class Workloads extends Construct {
  readonly cluster: eks.Cluster;
  readonly serviceAccounts: Record<WorkloadName, eks.ServiceAccount>;

  constructor(scope: Construct, id: string, props: WorkloadsProps) {
    super(scope, id);
    // EKS creates this group itself with no expiry; creating it first sets the retention.
    const controlPlaneLogs = new logs.LogGroup(this, 'ControlPlaneLogs', {
      logGroupName: `/aws/eks/${clusterName}/cluster`,
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.cluster = new eks.Cluster(this, 'Cluster', {
      clusterName,
      version: eks.KubernetesVersion.V1_36,
      vpc: props.vpc,
      vpcSubnets: [{ subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }],
      // No public API endpoint: kubectl from inside the VPC (SSM, VPN); the CDK kubectl handler
      // runs in the private subnets for the same reason.
      endpointAccess: eks.EndpointAccess.PRIVATE,
      defaultCapacityType: eks.DefaultCapacityType.AUTOMODE,
      compute: { nodePools: ['system', 'general-purpose'] },
      clusterLogging: [
        eks.ClusterLoggingTypes.API,
        eks.ClusterLoggingTypes.AUDIT,
        eks.ClusterLoggingTypes.AUTHENTICATOR,
        eks.ClusterLoggingTypes.CONTROLLER_MANAGER,
        eks.ClusterLoggingTypes.SCHEDULER,
      ],
      kubectlProviderOptions: { kubectlLayer: new KubectlV36Layer(this, 'KubectlLayer') },
    });
    this.cluster.node.defaultChild!.node.addDependency(controlPlaneLogs);

    // The HPAs read pod CPU from the metrics API, which Auto Mode does not install by itself.
    new eks.Addon(this, 'MetricsServer', { cluster: this.cluster, addonName: 'metrics-server' });

    const ns = this.cluster.addManifest('Namespace', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: namespace,
        labels: {
          'pod-security.kubernetes.io/enforce': 'restricted',
          'pod-security.kubernetes.io/warn': 'restricted',
        },
      },
    });

    const entries = Object.entries(workloads) as [WorkloadName, Workload][];
    const accounts = {} as Record<WorkloadName, eks.ServiceAccount>;
    for (const [key, base] of entries) {
      const workload: Workload = { ...base, scaling: props.scaling?.[key] ?? base.scaling };
      const sa = this.cluster.addServiceAccount(`${cap(key)}ServiceAccount`, {
        name: workload.name,
        namespace,
        identityType: eks.IdentityType.IRSA,
      });
      sa.node.addDependency(ns);
      accounts[key] = sa;
      const manifest = this.cluster.addManifest(
        cap(key),
        ...workloadManifests(workload, props.image, props.environment),
      );
      manifest.node.addDependency(sa);
    }
    this.serviceAccounts = accounts;
  }

  /** Adds least-privilege statements to a workload's IRSA role. */
  allow(workload: WorkloadName, ...statements: iam.PolicyStatement[]): void {
    for (const s of statements) this.serviceAccounts[workload].addToPrincipalPolicy(s);
  }
}

/** Deployment, HorizontalPodAutoscaler (when autoscaled) and PodDisruptionBudget of a process. */
export function workloadManifests(
  workload: Workload,
  image: string,
  environment: Record<string, string>,
): Record<string, unknown>[] {
  const labels = { 'app.kubernetes.io/name': workload.name, 'app.kubernetes.io/part-of': 'orders' };
  const selector = { 'app.kubernetes.io/name': workload.name };
  const probe = (periodSeconds: number, failureThreshold: number): Record<string, unknown> => ({
    httpGet: { path: '/healthz', port: 'health' },
    periodSeconds,
    failureThreshold,
    timeoutSeconds: 2,
  });
  const scaling = workload.scaling;
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: workload.name, namespace, labels },
    spec: {
      // Left to the HPA when autoscaled, so a redeploy never resets the replica count.
      ...('replicas' in scaling ? { replicas: scaling.replicas } : {}),
      selector: { matchLabels: selector },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: workload.name,
          // SIGTERM: finish the batch in hand, stop polling, exit.
          terminationGracePeriodSeconds: 60,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 1000,
            runAsGroup: 1000,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          topologySpreadConstraints: [
            {
              maxSkew: 1,
              topologyKey: 'topology.kubernetes.io/zone',
              whenUnsatisfiable: 'ScheduleAnyway',
              labelSelector: { matchLabels: selector },
            },
          ],
          containers: [
            {
              name: workload.name,
              image,
              command: ['node', ...(workload.nodeFlags ?? []), '--import', 'tsx', workload.entry],
              ports: [{ name: 'health', containerPort: workload.healthPort }],
              env: Object.entries({ ...environment, ...workload.environment }).map(
                ([name, value]) => ({ name, value }),
              ),
              readinessProbe: probe(5, 3),
              livenessProbe: { ...probe(10, 6), initialDelaySeconds: 10 },
              resources: {
                requests: { cpu: workload.resources.cpu, memory: workload.resources.memory },
                limits: { memory: workload.resources.memory },
              },
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
              // tsx keeps its transform cache in the temp folder.
              volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
            },
          ],
          volumes: [{ name: 'tmp', emptyDir: {} }],
        },
      },
    },
  };
  const disruptionBudget = {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: workload.name, namespace, labels },
    spec: { minAvailable: 1, selector: { matchLabels: selector } },
  };
  if (!('minReplicas' in scaling)) return [deployment, disruptionBudget];
  return [
    deployment,
    {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: workload.name, namespace, labels },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: workload.name },
        minReplicas: scaling.minReplicas,
        maxReplicas: scaling.maxReplicas,
        metrics: [
          {
            type: 'Resource',
            resource: {
              name: 'cpu',
              target: { type: 'Utilization', averageUtilization: scaling.targetCpuPercent },
            },
          },
        ],
        behavior: { scaleDown: { stabilizationWindowSeconds: 300 } },
      },
    },
    disruptionBudget,
  ];
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
