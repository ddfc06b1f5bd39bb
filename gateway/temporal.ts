// The container's Temporal client (see ./clients); credentials as config/secrets.ts reads them.
import { Client, Connection } from '@temporalio/client';
import { env } from '../config/env';
import { lazy } from './clients';
import { temporalConnectionOptions } from '../config/secrets';

const temporal = lazy(
  async () => {
    const connection = await Connection.connect(await temporalConnectionOptions());
    return new Client({ connection, namespace: env.temporalNamespace });
  },
  (client) => client.connection.close(),
);

export const temporalClient = (): Promise<Client> => temporal.get();
