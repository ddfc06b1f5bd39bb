// Feature flags of aws-cdk-lib that this app relies on, pinned here rather than in cdk.json so the
// CLI (`npm run synth`) and the tests (test/infra) synthesize the very same template.
export const featureFlags: Record<string, unknown> = {
  '@aws-cdk/core:checkSecretUsage': true,
  '@aws-cdk/core:target-partitions': ['aws', 'aws-cn'],
  '@aws-cdk/core:enablePartitionLiterals': true,
  '@aws-cdk/core:explicitStackTags': true,
  '@aws-cdk/aws-iam:minimizePolicies': true,
  '@aws-cdk/aws-iam:importedRoleStackSafeDefaultPolicyName': true,
  '@aws-cdk/aws-iam:oidcRejectUnauthorizedConnections': true,
  '@aws-cdk/aws-kms:aliasNameRef': true,
  '@aws-cdk/aws-kms:reduceCrossAccountRegionPolicyScope': true,
  // SNS may use the channels key only on behalf of our own topic (aws:SourceArn condition).
  '@aws-cdk/aws-sns-subscriptions:restrictSqsDescryption': true,
  '@aws-cdk/aws-ec2:restrictDefaultSecurityGroup': true,
  '@aws-cdk/aws-lambda:recognizeLayerVersion': true,
  '@aws-cdk/aws-lambda:useCdkManagedLogGroup': true,
  '@aws-cdk/aws-eks:useNativeOidcProvider': true,
  '@aws-cdk/customresources:installLatestAwsSdkDefault': false,
};
