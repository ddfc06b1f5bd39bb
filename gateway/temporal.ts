// The container's Temporal client (see platform/lazy.ts); credentials as config/secrets.ts reads them.
import { Client, Connection } from '@temporalio/client';
import { env } from '../config/env';
import { lazy } from '../platform/lazy';
import { temporalConnectionOptions } from '../config/secrets';

const temporal = lazy(
  async () => {
    const connection = await Connection.connect(await temporalConnectionOptions());
    return new Client({ connection, namespace: env.temporalNamespace });
  },
  (client) => client.connection.close(),
);

export const temporalClient = (): Promise<Client> => temporal.get();
