// Secret values from AWS Secrets Manager, read once per process (one Lambda container) and kept.
// Production passes ARNs in the environment (JWT_SECRET_ARN, REDIS_AUTH_SECRET_ARN,
// TEMPORAL_TLS_SECRET_ARN), never the values; locally none is set and nothing is fetched.
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { env, secretArn, temporalApiKey } from './env';

let client: SecretsManagerClient | undefined;
const cache = new Map<string, Promise<string>>();

/** The secret's string value; a failed read is not cached, so the next invocation retries. */
export function secretValue(arn: string): Promise<string> {
  let value = cache.get(arn);
  if (!value) {
    client ??= new SecretsManagerClient({ region: env.awsRegion });
    value = client.send(new GetSecretValueCommand({ SecretId: arn })).then((out) => {
      if (out.SecretString === undefined) throw new Error(`secret ${arn} has no string value`);
      return out.SecretString;
    });
    value.catch(() => cache.delete(arn));
    cache.set(arn, value);
  }
  return value;
}

/** The secret of `<name>_ARN` when that is set, else undefined. */
export async function secretFromEnv(name: string): Promise<string | undefined> {
  const arn = secretArn(name);
  return arn ? secretValue(arn) : undefined;
}

/** ioredis options with the AUTH token of REDIS_AUTH_SECRET_ARN, when set. */
export async function redisAuth(): Promise<{ password?: string }> {
  const password = await secretFromEnv('REDIS_AUTH');
  return password ? { password } : {};
}

/**
 * ioredis options with the ledger's ACL user from LEDGER_REDIS_AUTH_SECRET_ARN, when set: a JSON
 * secret `{"username","password"}` (MemoryDB), or a plain AUTH token.
 */
export async function ledgerRedisAuth(): Promise<{ username?: string; password?: string }> {
  const secret = await secretFromEnv('LEDGER_REDIS_AUTH');
  if (!secret) return {};
  if (!secret.trimStart().startsWith('{')) return { password: secret };
  const { username, password } = JSON.parse(secret) as { username?: string; password?: string };
  return { ...(username && { username }), ...(password && { password }) };
}

/**
 * How to reach Temporal: TEMPORAL_TLS_SECRET_ARN, a secret {"cert","key"} for mTLS (Temporal Cloud
 * or a self-hosted cluster), or TEMPORAL_API_KEY; locally neither. Fits both the client's
 * Connection and the worker's NativeConnection.
 */
export async function temporalConnectionOptions(): Promise<{
  address: string;
  tls?: boolean | { clientCertPair: { crt: Buffer; key: Buffer } };
  apiKey?: string;
}> {
  const mtls = await secretFromEnv('TEMPORAL_TLS');
  if (mtls) {
    const { cert, key } = JSON.parse(mtls) as { cert: string; key: string };
    return {
      address: env.temporalAddress,
      tls: { clientCertPair: { crt: Buffer.from(cert), key: Buffer.from(key) } },
    };
  }
  const apiKey = temporalApiKey();
  if (apiKey) return { address: env.temporalAddress, apiKey, tls: true };
  return { address: env.temporalAddress };
}
