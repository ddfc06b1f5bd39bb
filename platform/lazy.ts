// Clients a process shares, created on first use and reused (in Lambda: one per container, kept by
// every later invocation of a warm container): the connection registry's Redis connection
// (connections/registry.ts) and the gateway's Temporal client (gateway/temporal.ts).

/** A lazily created, cached client; a failed creation is forgotten, so the next call retries. */
export interface Lazy<T> {
  get(): Promise<T>;
  /** Forgets the client and closes it if it was created. */
  close(): Promise<void>;
}

const all: Array<Lazy<unknown>> = [];

export function lazy<T>(create: () => Promise<T>, close: (client: T) => Promise<unknown>): Lazy<T> {
  let current: Promise<T> | undefined;
  const client: Lazy<T> = {
    get() {
      if (!current) {
        const created = create();
        created.catch(() => {
          if (current === created) current = undefined;
        });
        current = created;
      }
      return current;
    },
    async close() {
      const was = current;
      current = undefined;
      await was?.then(close).catch(() => undefined);
    },
  };
  all.push(client);
  return client;
}

/** Closes every shared client (twin shutdown, tests); the next use opens new ones. */
export async function closeClients(): Promise<void> {
  await Promise.all(all.map((c) => c.close()));
}
