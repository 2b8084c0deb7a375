import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';

import { validateConfig } from '../../../src/config/load-config.js';
import { EvaluationCollector } from '../../../src/eval/evaluation-collector.js';
import { buildReport } from '../../../src/eval/evaluation-report.js';
import { renderReportHtml } from '../../../src/eval/report-html.js';
import type { BatchReport } from '../../../src/pipeline/batch-report.js';
import { createFileSource } from '../../../src/sources/file-source.js';
import { replayPasses } from '../../../src/sources/replay-source.js';
import { RecordChunk } from '../../../src/sources/source.js';

describe('replayPasses', () => {
  it('reads a bounded source once per pass, in order, and knows each record’s pass', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'streamclust-passes-'));
    const file = join(dir, 'data.jsonl');
    writeFileSync(file, [1, 2, 3, 4, 5].map((i) => JSON.stringify({ features: [i] })).join('\n'));
    const source = replayPasses('file', 3, () =>
      createFileSource({ path: file, format: 'auto', chunkSize: 2 }, 'label', 4),
    );
    const chunks = await lastValueFrom(source.chunks.pipe(toArray()));
    const records = chunks.flatMap((c) => c.records);
    expect(records.map((r) => `${source.passOf(r)}:${r.offset}`)).toEqual(
      [1, 2, 3].flatMap((p) => [1, 2, 3, 4, 5].map((line) => `${p}:${line}`)),
    );
  });
});

describe('report.html', () => {
  it('is one self-contained page: inline SVG charts, no script, nothing fetched, text escaped', () => {
    const collector = new EvaluationCollector({
      passOf: () => 1,
      windowRecords: 3,
      sampleSize: 50,
      silhouetteSample: 50,
      seed: 0,
    });
    const chunk = new RecordChunk();
    for (let i = 0; i < 6; i++) {
      chunk.add({
        topic: 't',
        partition: 0,
        offset: String(i),
        key: null,
        value: null,
        timestamp: 0,
      });
    }
    const report: BatchReport = {
      at: 0,
      records: chunk.records,
      labels: [0, 0, 0, 1, 1, 1],
      features: new Float32Array(0),
      inputDim: 0,
      embeddings: Float32Array.from([0, 0, 0, 1, 1, 0, 9, 9, 9, 8, 8, 9]),
      embeddingDim: 2,
      clusterIds: Int32Array.from([0, 0, 0, 1, 1, 1]),
      distances: new Float32Array(6),
      centroids: {
        ids: new Int32Array(0),
        data: new Float32Array(0),
        weights: new Float64Array(0),
      },
      drift: undefined,
      events: [{ type: 'drift', kind: 'assignment-drift', detail: { note: '<b>&' }, at: 0 }],
      modelVersion: 1,
      storeVersion: 1,
      losses: {},
    };
    collector.onBatch(report);
    const html = renderReportHtml(
      buildReport({
        command: 'evaluate',
        data: { kind: 'file', name: 'a<b>.csv', recordsPerPass: 6 },
        choices: {
          mode: 'train',
          passes: 1,
          windowRecords: 3,
          k: 2,
          kSource: 'labels',
          warmupSize: 6,
          labelField: 'label',
          checkpoint: null,
        },
        config: validateConfig({}),
        backend: 'cpu',
        collector,
        invalid: { count: 0, reasons: {} },
        seconds: 1,
        finalClusters: 2,
        modelVersion: 1,
        tsnePoints: 0,
        tsneIterations: 100,
      }),
    );
    expect(html).not.toMatch(/<script|<link|<img|@import|url\(/i);
    expect(new Set(html.match(/https?:\/\/[^"]+/g))).toEqual(
      new Set(['http://www.w3.org/2000/svg']),
    );
    // Charts: label metrics, silhouette, Davies-Bouldin, cluster sizes, events, PCA × 2.
    expect(html.match(/<svg /g)).toHaveLength(7);
    expect(html).toContain('file a&lt;b&gt;.csv');
    expect(html).not.toContain('<b>&');
    expect(html).toContain('drift assignment-drift');
    expect(html).toContain('the learned embedding');
  });
});
