// Helpers that read a synthesized CloudFormation template the way the assertions need it: IAM
// statements flattened to (action, resource) pairs per role, Kubernetes manifests parsed back from
// their Fn::Join, and the template normalised for a stable snapshot.
import type { Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Resources = Record<string, { Type: string; Properties?: Record<string, Json> }>;

/** A CloudFormation value as a short string: literals as themselves, intrinsics as `<<…>>`. */
export function show(value: Json | undefined): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const [fn] = Object.keys(value);
    const arg = fn === undefined ? undefined : value[fn];
    if (fn === 'Ref' && typeof arg === 'string') return `<<${arg}>>`;
    if (fn === 'Fn::GetAtt' && Array.isArray(arg))
      return `<<${arg.map((a) => show(a)).join('.')}>>`;
    if (fn === 'Fn::Join' && Array.isArray(arg) && Array.isArray(arg[1])) {
      return arg[1].map((part) => show(part)).join(typeof arg[0] === 'string' ? arg[0] : '');
    }
  }
  return JSON.stringify(value);
}

/** How `show` renders a token of the stack (a queue's ARN, a parameter's value, …). */
export function showToken(stack: Stack, token: string): string {
  return show(stack.resolve(token) as Json);
}

export function logicalId(stack: Stack, construct: IConstruct): string {
  const child = construct.node.defaultChild ?? construct;
  return stack.getLogicalId(child as never);
}

const asArray = <T>(v: T | T[] | undefined): T[] =>
  v === undefined ? [] : Array.isArray(v) ? v : [v];

export interface Grant {
  effect: string;
  action: string;
  resource: string;
}

/** Every identity-policy statement attached to a role, one entry per (action, resource). */
export function grantsOf(resources: Resources, roleLogicalId: string): Grant[] {
  const grants: Grant[] = [];
  for (const r of Object.values(resources)) {
    if (r.Type !== 'AWS::IAM::Policy') continue;
    const roles = asArray(r.Properties?.Roles as Json[]).map((x) => show(x));
    if (!roles.includes(`<<${roleLogicalId}>>`)) continue;
    const doc = r.Properties?.PolicyDocument as { Statement: Record<string, Json>[] };
    for (const st of doc.Statement) {
      for (const action of asArray(st.Action as Json)) {
        for (const resource of asArray(st.Resource as Json)) {
          grants.push({
            effect: show(st.Effect),
            action: show(action),
            resource: show(resource),
          });
        }
      }
    }
  }
  return grants.sort((a, b) =>
    `${a.action} ${a.resource}`.localeCompare(`${b.action} ${b.resource}`),
  );
}

/** The Kubernetes objects of every Custom::AWSCDK-EKS-KubernetesResource, tokens as `<<…>>`. */
export function kubernetesObjects(resources: Resources): Record<string, Json>[] {
  const objects: Record<string, Json>[] = [];
  for (const r of Object.values(resources)) {
    if (r.Type !== 'Custom::AWSCDK-EKS-KubernetesResource') continue;
    const manifest = JSON.parse(show(r.Properties?.Manifest)) as Record<string, Json>[];
    objects.push(...manifest);
  }
  return objects;
}

export function findObject(
  objects: Record<string, Json>[],
  kind: string,
  name: string,
): Record<string, Json> {
  const found = objects.find(
    (manifest) =>
      manifest.kind === kind &&
      (manifest.metadata as Record<string, Json> | undefined)?.name === name,
  );
  if (!found) throw new Error(`no ${kind} ${name} in the manifests`);
  return found;
}

/** A JSON path into an object; throws with the path when a step is missing. */
export function at(value: Json | undefined, ...path: (string | number)[]): Json {
  let current: Json | undefined = value;
  for (const step of path) {
    if (current === null || typeof current !== 'object') throw new Error(`no ${path.join('.')}`);
    current = (current as Record<string, Json>)[step as string];
    if (current === undefined) throw new Error(`no ${path.join('.')}`);
  }
  return current as Json;
}

/** The template with what may change without a change of ours (asset hashes) blanked out. */
export function normalised(template: Json): Json {
  return JSON.parse(
    JSON.stringify(template).replace(/[0-9a-f]{64}(\.zip)?/g, (_, zip?: string) =>
      zip ? '<asset>.zip' : '<hash>',
    ),
  ) as Json;
}
