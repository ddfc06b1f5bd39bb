// /healthz and /metrics of a process: what `npm start`, the Kubernetes probes and Prometheus read.
import http from 'node:http';
import { collectDefaultMetrics, Registry } from 'prom-client';

export interface HealthServer {
  registry: Registry;
  /** The bound port (useful with port 0 in tests). */
  port: number;
  close(): Promise<void>;
}

export async function startHealthServer(
  port: number,
  isHealthy: () => boolean,
  registry = new Registry(),
): Promise<HealthServer> {
  collectDefaultMetrics({ register: registry });
  const server = http.createServer((req, res) => {
    if (req.url === '/healthz') {
      const ok = isHealthy();
      res
        .writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' })
        .end(ok ? 'ok\n' : 'starting\n');
    } else if (req.url === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, resolve);
  });
  const address = server.address();
  return {
    registry,
    port: typeof address === 'object' && address ? address.port : port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
