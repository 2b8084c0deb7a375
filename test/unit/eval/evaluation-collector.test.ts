import { describe, expect, it } from 'vitest';

import { EvaluationCollector } from '../../../src/eval/evaluation-collector.js';
import { computeMetricSet } from '../../../src/eval/metric-set.js';
import type { BatchReport } from '../../../src/pipeline/batch-report.js';
import { RecordChunk, type SourceRecord } from '../../../src/sources/source.js';

/** A batch of n records of the given pass: 2-D embeddings at (cluster, 0) + tiny offsets. */
function batch(pass: number, clusters: number[], labels: (number | undefined)[]): BatchReport {
  const chunk = new RecordChunk();
  clusters.forEach((_, i) =>
    chunk.add({
      topic: `pass-${pass}`,
      partition: 0,
      offset: String(i),
      key: null,
      value: null,
      timestamp: 0,
    }),
  );
  const embeddings = new Float32Array(clusters.length * 2);
  clusters.forEach((c, i) => {
    embeddings[2 * i] = c * 10 + (i % 3) * 0.1;
    embeddings[2 * i + 1] = (i % 2) * 0.1;
  });
  return {
    at: 0,
    records: chunk.records,
    labels,
    features: new Float32Array(0),
    inputDim: 0,
    embeddings,
    embeddingDim: 2,
    clusterIds: Int32Array.from(clusters),
    distances: new Float32Array(clusters.length),
    centroids: { ids: new Int32Array(0), data: new Float32Array(0), weights: new Float64Array(0) },
    drift: undefined,
    events: [{ type: 'lifecycle', kind: 'born', detail: { clusterId: 7 }, at: 0 }],
    modelVersion: pass,
    storeVersion: pass,
    losses: { total: 0.5 },
  };
}

const passOf = (record: SourceRecord): number => Number(record.topic.slice('pass-'.length));

describe('EvaluationCollector', () => {
  it('cuts windows at the window size and at every pass, and scores each pass', () => {
    const collector = new EvaluationCollector({
      passOf,
      windowRecords: 4,
      sampleSize: 100,
      silhouetteSample: 100,
      seed: 1,
    });
    // Pass 1: clusters are the labels renamed (perfect); pass 2: one cluster for everything.
    const labels = [0, 0, 1, 1, 2, 2];
    collector.onBatch(batch(1, [5, 5, 3, 3, 9, 9], labels));
    collector.onBatch(batch(2, [1, 1, 1, 1, 1, 1], labels));
    collector.finish();
    expect(collector.windows.map((w) => [w.pass, w.start, w.end])).toEqual([
      [1, 0, 4],
      [1, 4, 6],
      [2, 6, 10],
      [2, 10, 12],
    ]);
    expect(collector.windows[0]?.clusterSizes).toEqual({ '3': 2, '5': 2 });
    const [first, second] = collector.passes;
    expect(first?.metrics.values).toMatchObject({
      nmi: 1,
      ari: 1,
      accuracy: 1,
      purity: 1,
      vMeasure: 1,
    });
    expect(first?.metrics.values.silhouette).toBeGreaterThan(0.9);
    // One cluster: NMI is 0 as in scikit-learn, accuracy is the largest class share, and the
    // geometry metrics are undefined with the metric's own message rather than NaN.
    expect(second?.metrics.values.nmi).toBe(0);
    expect(second?.metrics.values.accuracy).toBeCloseTo(2 / 6, 12);
    expect(second?.metrics.values.silhouette).toBeNull();
    expect(second?.metrics.notes.silhouette).toBe(
      'silhouette needs between 2 and n_samples - 1 = 5 clusters; got 1 cluster',
    );
    expect(collector.events.map((e) => [e.position, e.pass])).toEqual([
      [6, 1],
      [12, 2],
    ]);
    expect(collector.lastPassSample().map((p) => p.cluster)).toEqual([1, 1, 1, 1, 1, 1]);
  });

  it('scores only labelled records against labels, and every record for the geometry', () => {
    const set = computeMetricSet({
      labels: [0, undefined, 1, undefined],
      predicted: [4, 4, 6, 6],
      sample: { points: [[0], [1], [10], [11]], predicted: [4, 4, 6, 6] },
      silhouetteSample: 10,
      seed: 0,
    });
    expect(set).toMatchObject({ records: 4, labelled: 2, clusters: 2 });
    expect(set.values.nmi).toBe(1);
    // silhouette([[0], [1], [10], [11]], [0, 0, 1, 1]) = (19/21 + 17/19) / 2 (worked by hand).
    expect(set.values.silhouette).toBeCloseTo((19 / 21 + 17 / 19) / 2, 12);
    expect(set.values.inertia).toBeCloseTo(4 * 0.25, 12);
  });
});
