// The container's Temporal client (see ./clients). Credentials: TEMPORAL_TLS_SECRET_ARN, a
// Secrets Manager secret {"cert","key"} for mTLS (a Temporal Cloud namespace or a self-hosted
// cluster), or TEMPORAL_API_KEY; locally neither.
import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import { env } from '../config/env';
import { lazy } from './clients';
import { secretFromEnv } from './secrets';

async function connectionOptions(): Promise<ConnectionOptions> {
  const options: ConnectionOptions = { address: env.temporalAddress };
  const mtls = await secretFromEnv('TEMPORAL_TLS');
  if (mtls) {
    const { cert, key } = JSON.parse(mtls) as { cert: string; key: string };
    options.tls = { clientCertPair: { crt: Buffer.from(cert), key: Buffer.from(key) } };
  } else if (process.env.TEMPORAL_API_KEY) {
    options.apiKey = process.env.TEMPORAL_API_KEY;
    options.tls = true;
  }
  return options;
}

const temporal = lazy(
  async () => {
    const connection = await Connection.connect(await connectionOptions());
    return new Client({ connection, namespace: env.temporalNamespace });
  },
  (client) => client.connection.close(),
);

export const temporalClient = (): Promise<Client> => temporal.get();
