/**
 * The operator's endpoints: `/metrics` (Prometheus text format), `/healthz` (the process is
 * alive), `/readyz` (the store is initialised and the source reachable; 503 with the reasons
 * otherwise) and `/clusters` (the centroid store as JSON).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { Registry } from 'prom-client';

export interface Readiness {
  ready: boolean;
  reasons: string[];
}

export interface HttpEndpoints {
  registry: Registry;
  readiness: () => Readiness;
  clusters: () => unknown;
}

export interface RunningHttpServer {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

export async function startHttpServer(
  host: string,
  port: number,
  endpoints: HttpEndpoints,
): Promise<RunningHttpServer> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string): void => {
      response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      response.end(body);
    };
    if (request.method !== 'GET' && request.method !== 'HEAD')
      return send(405, 'text/plain', 'method not allowed\n');
    switch (path) {
      case '/metrics':
        endpoints.registry
          .metrics()
          .then((text) => send(200, endpoints.registry.contentType, text))
          .catch((error: unknown) => send(500, 'text/plain', `${String(error)}\n`));
        return;
      case '/healthz':
        return send(200, 'text/plain', 'ok\n');
      case '/readyz': {
        const readiness = endpoints.readiness();
        return send(
          readiness.ready ? 200 : 503,
          'application/json',
          JSON.stringify(readiness) + '\n',
        );
      }
      case '/clusters':
        return send(200, 'application/json', JSON.stringify(endpoints.clusters()) + '\n');
      default:
        return send(404, 'text/plain', 'not found; try /metrics, /healthz, /readyz or /clusters\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    port: bound,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
