import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';

import { validateConfig } from '../../../src/config/load-config.js';
import { silentLogger } from '../../../src/log.js';
import { startHttpServer } from '../../../src/metrics/http-server.js';
import { Metrics } from '../../../src/metrics/metrics.js';
import { createPipeline } from '../../../src/pipeline/create-pipeline.js';
import { waitFor } from '../../helpers/kafka.js';

describe('HTTP endpoints with a bearer token', () => {
  it('protect everything but /metrics and /healthz, and accept the token from a file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'streamclust-token-'));
    writeFileSync(join(dir, 'token'), 'tok-123\n');
    const pipeline = await createPipeline(
      validateConfig({
        synthetic: { totalRecords: 0, recordsPerSecond: 500 },
        http: { port: 0, authTokenFile: join(dir, 'token') },
        log: { level: 'silent', statusIntervalMs: 0 },
      }),
      {
        logger: silentLogger,
        metrics: new Metrics({ defaultMetrics: false }),
        sink: { write: async () => undefined, close: async () => undefined },
      },
    );
    const running = pipeline.run();
    try {
      const url = await waitFor(() => pipeline.httpUrl);
      const status = async (path: string, headers: Record<string, string> = {}) =>
        (await fetch(url + path, { headers })).status;
      expect(await status('/metrics')).toBe(200);
      expect(await status('/healthz')).toBe(200);
      for (const path of ['/readyz', '/clusters', '/', '/api/live']) {
        expect(await status(path), path).toBe(401);
        expect(await status(path, { authorization: 'Bearer wrong-1' }), path).toBe(401);
      }
      expect(await status('/clusters', { authorization: 'Bearer tok-123' })).toBe(200);
      expect(await status('/?token=tok-123')).toBe(200);
      expect(await status('/api/live?token=tok-123')).toBe(200);
      const unauthorized = await fetch(url + '/clusters');
      expect(unauthorized.headers.get('www-authenticate')).toBe('Bearer');
    } finally {
      await pipeline.stop();
      await running;
    }
  });

  it('take the Bearer scheme in any case (RFC 7235: the scheme name is case-insensitive)', async () => {
    const server = await startHttpServer('127.0.0.1', 0, {
      registry: new Registry(),
      readiness: () => ({ ready: true, reasons: [] }),
      clusters: () => [],
      authToken: 'tok-123',
    });
    try {
      const status = async (authorization: string) =>
        (await fetch(server.url + '/clusters', { headers: { authorization } })).status;
      for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) {
        expect(await status(`${scheme} tok-123`), scheme).toBe(200);
        expect(await status(`${scheme} tok-124`), scheme).toBe(401);
      }
      expect(await status('Bearer  tok-123 ')).toBe(200);
      expect(await status('Basic tok-123')).toBe(401);
      expect(await status('Bearertok-123')).toBe(401);
    } finally {
      await server.close();
    }
  });

  it('answer /healthz 503 with the reason once the process is failing, 200 before', async () => {
    let failure: string | undefined;
    const server = await startHttpServer('127.0.0.1', 0, {
      registry: new Registry(),
      readiness: () => ({ ready: true, reasons: [] }),
      failure: () => failure,
      clusters: () => [],
    });
    try {
      const health = async () => {
        const response = await fetch(server.url + '/healthz');
        return [response.status, await response.text()];
      };
      expect(await health()).toEqual([200, 'ok\n']);
      failure = 'the topic t refuses a message';
      expect(await health()).toEqual([503, 'failing: the topic t refuses a message\n']);
    } finally {
      await server.close();
    }
  });

  it('bind to the configured address', async () => {
    const pipeline = await createPipeline(
      validateConfig({
        synthetic: { totalRecords: 0, recordsPerSecond: 100 },
        http: { port: 0, host: '127.0.0.2' },
        log: { level: 'silent', statusIntervalMs: 0 },
      }),
      {
        logger: silentLogger,
        metrics: new Metrics({ defaultMetrics: false }),
        sink: { write: async () => undefined, close: async () => undefined },
      },
    );
    const running = pipeline.run();
    try {
      const url = await waitFor(() => pipeline.httpUrl);
      expect(url).toMatch(/^http:\/\/127\.0\.0\.2:\d+$/);
      expect((await fetch(url + '/healthz')).status).toBe(200);
    } finally {
      await pipeline.stop();
      await running;
    }
  });
});
