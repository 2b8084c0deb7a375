import { describe, expect, it } from 'vitest';

import { BatchMetricsObserver, quantile } from '../../../src/metrics/batch-metrics-observer.js';
import { Metrics } from '../../../src/metrics/metrics.js';

function batch(ids: number[], weights: number[], at = 10_000, timestamps: number[] = []) {
  return {
    at,
    records: timestamps.map((timestamp) => ({ timestamp })),
    centroids: { ids: Int32Array.from(ids), weights: Float64Array.from(weights) },
  };
}

async function series(metrics: Metrics, name: 'clusterSize' | 'clusterSizeDistribution') {
  const { values } = await metrics[name].get();
  return Object.fromEntries(values.map((v) => [Object.values(v.labels)[0], v.value]));
}

describe('BatchMetricsObserver', () => {
  it('exports one size series per live cluster while k is within the bound, and drops dead ones', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const observer = new BatchMetricsObserver(metrics, 4);
    observer.onBatch(batch([0, 1, 2], [10, 20.5, 30]));
    expect(await series(metrics, 'clusterSize')).toEqual({ '0': 10, '1': 20.5, '2': 30 });
    observer.onBatch(batch([0, 2, 7], [11, 31, 1]));
    expect(await series(metrics, 'clusterSize')).toEqual({ '0': 11, '2': 31, '7': 1 });
  });

  it('past the bound exports no per-cluster series, only the distribution', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const observer = new BatchMetricsObserver(metrics, 4);
    observer.onBatch(batch([0, 1], [5, 6]));
    const ids = Array.from({ length: 11 }, (_, i) => i);
    observer.onBatch(
      batch(
        ids,
        ids.map((i) => i * 10),
      ),
    );
    expect(await series(metrics, 'clusterSize')).toEqual({});
    // numpy.percentile([0, 10, ..., 100], [0, 25, 50, 75, 90, 100]) = 0, 25, 50, 75, 90, 100.
    expect(await series(metrics, 'clusterSizeDistribution')).toEqual({
      min: 0,
      p25: 25,
      median: 50,
      p75: 75,
      p90: 90,
      max: 100,
    });
  });

  it('observes each record latency from its timestamp to the assignment, skipping unusable ones', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const observer = new BatchMetricsObserver(metrics, 64);
    // 0.5 s and 2 s old; a zero timestamp and one in the future are skipped.
    observer.onBatch(batch([0], [1], 10_000, [9_500, 8_000, 0, 12_000]));
    const { values } = await metrics.recordLatency.get();
    const count = values.find((v) => v.metricName === 'streamclust_record_latency_seconds_count');
    const sum = values.find((v) => v.metricName === 'streamclust_record_latency_seconds_sum');
    expect(count?.value).toBe(2);
    expect(sum?.value).toBeCloseTo(2.5, 12);
  });

  it('interpolates quantiles like numpy (linear)', () => {
    const sorted = Float64Array.from([1, 2, 4, 8]);
    // numpy.percentile([1, 2, 4, 8], [0, 50, 90, 100]) = 1, 3, 6.8, 8.
    expect(quantile(sorted, 0)).toBe(1);
    expect(quantile(sorted, 0.5)).toBe(3);
    expect(quantile(sorted, 0.9)).toBeCloseTo(6.8, 12);
    expect(quantile(sorted, 1)).toBe(8);
    expect(quantile(new Float64Array(0), 0.5)).toBeUndefined();
  });
});

describe('Metrics', () => {
  it('has no checkpoint age until the first checkpoint, then the seconds since it', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    expect(await metrics.registry.metrics()).not.toContain('streamclust_checkpoint_age_seconds');
    metrics.markCheckpoint(Date.now() - 30_000);
    const text = await metrics.registry.metrics();
    const age = Number(/^streamclust_checkpoint_age_seconds (\S+)$/m.exec(text)?.[1]);
    expect(age).toBeGreaterThanOrEqual(30);
    expect(age).toBeLessThan(40);
    metrics.markCheckpoint();
    const again = await metrics.registry.metrics();
    expect(Number(/^streamclust_checkpoint_age_seconds (\S+)$/m.exec(again)?.[1])).toBeLessThan(5);
  });

  it('reads the worker pool queue and utilisation at scrape time', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const pool = { queueSize: 3, utilization: 0.25 };
    metrics.observeWorkerPool(pool);
    expect(await metrics.registry.metrics()).toContain('streamclust_worker_queued_tasks 3');
    pool.queueSize = 1;
    pool.utilization = 0.75;
    const text = await metrics.registry.metrics();
    expect(text).toContain('streamclust_worker_queued_tasks 1');
    expect(text).toContain('streamclust_worker_utilization_ratio 0.75');
  });

  it('exports the drift and lifecycle event counters at 0 before the first event', async () => {
    const text = await new Metrics({ defaultMetrics: false }).registry.metrics();
    expect(text).toContain(
      'streamclust_drift_events_total{kind="assignment-drift",detector="assignment-psi"} 0',
    );
    expect(text).toContain('streamclust_cluster_lifecycle_events_total{kind="died"} 0');
  });
});
