import { describe, expect, it } from 'vitest';

import { DriftMonitor } from '../../../src/drift/drift-monitor.js';
import { silentLogger } from '../../../src/log.js';
import { Metrics } from '../../../src/metrics/metrics.js';
import { publishDrift } from '../../../src/pipeline/drift-metrics.js';

/** The value of an unlabelled series in the Prometheus text of `metrics` (NaN is written Nan). */
async function value(metrics: Metrics, name: string): Promise<string | undefined> {
  const text = await metrics.registry.metrics();
  return new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1];
}

/** A batch of `n` records spread over 4 clusters, distances around 1. */
function batch(n: number, offset: number) {
  return {
    clusterIds: Int32Array.from({ length: n }, (_, i) => (i + offset) % 4),
    distances: Float32Array.from({ length: n }, (_, i) => 1 + ((i * 7) % 10) / 100),
  };
}

describe('drift statistics on /metrics', () => {
  it('are NaN, never 0, until the reference window is complete, and say so on their own gauge', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const statistics = [
      'streamclust_assignment_psi',
      'streamclust_assignment_js_divergence',
      'streamclust_cluster_size_entropy_ratio',
      'streamclust_outlier_ratio',
      'streamclust_near_empty_clusters',
    ];
    // Before any batch.
    expect(await value(metrics, 'streamclust_drift_reference_ready')).toBe('0');
    for (const name of statistics) expect(await value(metrics, name), name).toBe('Nan');

    const monitor = new DriftMonitor({ referenceRecords: 1000, windowRecords: 500 });
    // Half the reference window: still no statistic.
    for (let b = 0; b < 2; b++) publishDrift(monitor.observe(batch(250, b)), metrics, silentLogger);
    expect(await value(metrics, 'streamclust_drift_reference_ready')).toBe('0');
    for (const name of statistics) expect(await value(metrics, name), name).toBe('Nan');

    // The reference completes, then a window is compared with it.
    for (let b = 2; b < 8; b++) publishDrift(monitor.observe(batch(250, b)), metrics, silentLogger);
    expect(await value(metrics, 'streamclust_drift_reference_ready')).toBe('1');
    for (const name of statistics) {
      const v = Number(await value(metrics, name));
      expect(Number.isFinite(v), name).toBe(true);
    }
    // Four even clusters in both windows: no shift, full entropy.
    expect(Number(await value(metrics, 'streamclust_assignment_psi'))).toBeLessThan(0.01);
    expect(Number(await value(metrics, 'streamclust_cluster_size_entropy_ratio'))).toBeCloseTo(
      1,
      3,
    );
  });
});
