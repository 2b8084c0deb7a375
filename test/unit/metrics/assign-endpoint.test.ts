import { describe, expect, it } from 'vitest';

import { validateConfig } from '../../../src/config/load-config.js';
import { silentLogger } from '../../../src/log.js';
import { Metrics } from '../../../src/metrics/metrics.js';
import { createPipeline } from '../../../src/pipeline/create-pipeline.js';
import { waitFor } from '../../helpers/kafka.js';

describe('POST /assign', () => {
  it('answers the ids of given records under the current state, and the reason of a bad one', async () => {
    const pipeline = await createPipeline(
      validateConfig({
        synthetic: { totalRecords: 0, recordsPerSecond: 2_000, clusters: 3 },
        model: { kind: 'none' },
        cluster: { k: 3, warmupSize: 200 },
        http: { port: 0, authToken: 'tok-9' },
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
      await waitFor(() => pipeline.status().storeReady, { timeoutMs: 30_000 });
      const records = [
        { features: [0, 0, 0, 0, 0, 0, 0, 0] },
        { features: [9, 9, 9, 9, 9, 9, 9, 9] },
        { features: [1, 2] },
      ];
      const post = (body: string, token = 'tok-9') =>
        fetch(`${url}/assign`, {
          method: 'POST',
          body,
          headers: { authorization: `Bearer ${token}` },
        });
      expect((await post(JSON.stringify(records), 'wrong')).status).toBe(401);
      const response = await post(JSON.stringify(records));
      expect(response.status).toBe(200);
      const answer = (await response.json()) as unknown[];
      expect(answer).toHaveLength(3);
      expect(answer[2]).toEqual({
        error:
          'wrong_length: the field "features" has 2 values, expected 8 (the length most records of the first batch had; set decode.dim to declare it)',
      });
      const clusters = pipeline.clusters() as { clusters: { id: number }[] };
      const ids = clusters.clusters.map((c) => c.id);
      for (const a of answer.slice(0, 2)) {
        expect(a).toMatchObject({ clusterId: expect.any(Number), distance: expect.any(Number) });
        expect(ids).toContain((a as { clusterId: number }).clusterId);
      }
      // The same answer as the pipeline gives in-process, from JSON lines too.
      const lines = records
        .slice(0, 2)
        .map((r) => JSON.stringify(r))
        .join('\n');
      const direct = await pipeline.assign(
        records.slice(0, 2).map((r) => Buffer.from(JSON.stringify(r))),
      );
      expect(direct.map((d) => ('clusterId' in d ? d.clusterId : -1))).toEqual(
        ((await (await post(lines)).json()) as { clusterId: number }[]).map((d) => d.clusterId),
      );
      // A JSON array that does not parse is refused whole; a JSON line that does not parse is
      // that record's error.
      const bad = await post('[{"features": [1, 2');
      expect(bad.status).toBe(400);
      expect(await bad.text()).toContain('SyntaxError');
      const badLine = (await (await post('{"features": [1, 2')).json()) as { error: string }[];
      expect(badLine[0]?.error).toMatch(/^malformed_json: /);
    } finally {
      await pipeline.stop();
      await running;
    }
  });
});
