/**
 * The operator's endpoints: `/metrics` (Prometheus text format), `/healthz` (the process is
 * alive; 503 with the reason once it is stopping on a permanent failure or a stall), `/readyz` (the store is initialised and the source reachable; 503 with the reasons
 * otherwise), `/clusters` (the centroid store as JSON), `POST /assign` (the cluster ids of the
 * records in the body under the current state, when given) and, when a live view is given, `/`
 * (the live view page) and `/api/live` (the JSON it polls).
 *
 * With a token (http.authToken or http.authTokenFile), everything but `/metrics` and `/healthz`
 * needs `Authorization: Bearer <token>` (or `?token=<token>`, which is how a browser opens the
 * live view; the page passes it on to `/api/live`). Prometheus and liveness probes stay open, as
 * they usually cannot send a token; the cluster centroids and the live sample of embeddings are
 * data, so they are the protected part.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { Registry } from 'prom-client';

import { LIVE_VIEW_HTML } from './live-view-page.js';

export interface Readiness {
  ready: boolean;
  reasons: string[];
}

export interface HttpEndpoints {
  registry: Registry;
  readiness: () => Readiness;
  /** Why the process is failing (a permanent refusal, a stall), for /healthz; undefined = alive. */
  failure?: () => string | undefined;
  clusters: () => unknown;
  /**
   * POST /assign: JSON records (a JSON array, or one per line) assigned with the current state,
   * changing nothing; without it the path is not served.
   */
  assign?: (
    values: readonly Buffer[],
  ) => Promise<({ clusterId: number; distance: number } | { error: string })[]>;
  /** The live view's data; without it `/` and `/api/live` are not served. */
  live?: () => unknown;
  /** Bearer token required by everything but /metrics and /healthz; undefined = open. */
  authToken?: string;
}

const OPEN_PATHS = new Set(['/metrics', '/healthz']);

/** The largest POST /assign body read: 64 MiB, some 10^5 records of 100 features. */
const MAX_ASSIGN_BODY_BYTES = 64 * 1024 * 1024;

function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    request.on('data', (part: Buffer) => {
      size += part.length;
      if (size > limit) {
        reject(new Error(`the body is over ${limit} bytes: send fewer records per request`));
        request.destroy();
        return;
      }
      parts.push(part);
    });
    request.on('end', () => resolve(Buffer.concat(parts)));
    request.on('error', reject);
  });
}

/** A JSON array of records, or JSON lines, as one buffer per record. */
function splitRecords(body: Buffer): Buffer[] {
  const text = body.toString('utf8').trim();
  if (text.startsWith('[')) {
    const parsed: unknown = JSON.parse(text);
    if (!Array.isArray(parsed)) throw new Error('the body must be a JSON array of records');
    return parsed.map((r) => Buffer.from(JSON.stringify(r)));
  }
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => Buffer.from(line));
}

function authorized(request: IncomingMessage, token: string): boolean {
  // The scheme name is case-insensitive (RFC 7235 §2.1): `bearer` and `BEARER` are Bearer too.
  const bearer = /^bearer +(.*)$/i.exec(request.headers.authorization ?? '');
  const fromHeader = bearer?.[1]?.trim();
  const fromQuery =
    new URL(request.url ?? '/', 'http://localhost').searchParams.get('token') ?? undefined;
  const offered = fromHeader ?? fromQuery;
  if (offered === undefined) return false;
  const a = Buffer.from(offered);
  const b = Buffer.from(token);
  // Compare in constant time so the response time does not reveal how much of a guess matched.
  return a.length === b.length && timingSafeEqual(a, b);
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
    const token = endpoints.authToken;
    if (token !== undefined && !OPEN_PATHS.has(path ?? '/') && !authorized(request, token)) {
      response.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer' });
      response.end('unauthorized: send Authorization: Bearer <http.authToken>\n');
      return;
    }
    if (path === '/assign' && request.method === 'POST' && endpoints.assign !== undefined) {
      const assign = endpoints.assign;
      readBody(request, MAX_ASSIGN_BODY_BYTES)
        .then((body) => assign(splitRecords(body)))
        .then((results) => send(200, 'application/json', JSON.stringify(results) + '\n'))
        .catch((error: unknown) => send(400, 'text/plain', `${String(error)}\n`));
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD')
      return send(405, 'text/plain', 'method not allowed\n');
    switch (path) {
      case '/metrics':
        endpoints.registry
          .metrics()
          .then((text) => send(200, endpoints.registry.contentType, text))
          .catch((error: unknown) => send(500, 'text/plain', `${String(error)}\n`));
        return;
      case '/healthz': {
        const failure = endpoints.failure?.();
        return failure === undefined
          ? send(200, 'text/plain', 'ok\n')
          : send(503, 'text/plain', `failing: ${failure}\n`);
      }
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
      case '/':
        if (endpoints.live === undefined) break;
        return send(200, 'text/html; charset=utf-8', LIVE_VIEW_HTML);
      case '/api/live':
        if (endpoints.live === undefined) break;
        return send(200, 'application/json', JSON.stringify(endpoints.live()) + '\n');
    }
    return send(
      404,
      'text/plain',
      `not found; try ${endpoints.live === undefined ? '' : '/ (live view), '}/metrics, /healthz, /readyz or /clusters\n`,
    );
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
