import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { beforeAll, describe, expect, it } from 'vitest';

import { validateConfig } from '../../../src/config/load-config.js';
import { silentLogger } from '../../../src/log.js';
import { Metrics } from '../../../src/metrics/metrics.js';
import { createPipeline } from '../../../src/pipeline/create-pipeline.js';
import { describeWithPrometheus, promtool } from '../../helpers/prometheus.js';
import { lintRegistry, type LintOptions } from './metric-name-rules.js';

const RULES: LintOptions = {
  prefix: 'streamclust_',
  foreignPrefixes: ['process_', 'nodejs_'],
  maxSeriesPerMetric: 16,
  // One series per cluster, bounded by http.perClusterSeriesMaxK (8 in this run).
  seriesBounds: { streamclust_cluster_size: 8 },
};

/**
 * The registry after a real pipeline ran on the demo stream with malformed records and drift,
 * so every metric that a running pipeline sets has its real label values (loss parts, stages,
 * reasons, lifecycle kinds), not just its declaration.
 */
async function exercisedMetrics(): Promise<Metrics> {
  const metrics = new Metrics();
  const checkpointDir = mkdtempSync(join(tmpdir(), 'streamclust-lint-checkpoints-'));
  const pipeline = await createPipeline(
    validateConfig({
      synthetic: {
        totalRecords: 4000,
        recordsPerSecond: 0,
        malformedEvery: 400,
        driftEveryRecords: 1500,
      },
      cluster: { k: 6, warmupSize: 500 },
      drift: { referenceRecords: 500, windowRecords: 500 },
      http: { enabled: false, perClusterSeriesMaxK: 8 },
      checkpoint: { dir: checkpointDir, everyBatches: 2 },
      log: { level: 'silent', statusIntervalMs: 0 },
    }),
    { logger: silentLogger, metrics },
  );
  try {
    await pipeline.run();
  } finally {
    rmSync(checkpointDir, { recursive: true, force: true });
  }
  return metrics;
}

// Both suites lint the same run: a pipeline run costs seconds on a shared machine.
let run: Promise<Metrics> | undefined;
const exercised = (): Promise<Metrics> => (run ??= exercisedMetrics());

describe('metric names follow the prometheus.io rules', () => {
  let metrics: Metrics;
  beforeAll(async () => {
    metrics = await exercised();
  }, 120_000);

  it('has no naming, unit, _total or label-cardinality problems after a real run', async () => {
    expect(await lintRegistry(metrics.registry, RULES)).toEqual([]);
    const names = (await metrics.registry.getMetricsAsJSON()).map((m) => m.name);
    // The run really exercised the per-cluster, latency and checkpoint metrics.
    expect(names).toEqual(
      expect.arrayContaining([
        'streamclust_cluster_size',
        'streamclust_record_latency_seconds',
        'streamclust_checkpoint_age_seconds',
        'streamclust_learning_rate',
        'streamclust_worker_utilization_ratio',
      ]),
    );
    const sizes = await metrics.clusterSize.get();
    expect(sizes.values.length).toBeGreaterThanOrEqual(6);
    expect(sizes.values.length).toBeLessThanOrEqual(8);
  });

  it('flags each broken rule (the lint can fail)', async () => {
    const registry = new Registry();
    new Counter({ name: 'streamclust_records', help: 'x', registers: [registry] }).inc();
    new Gauge({ name: 'streamclust_batch_latency_ms', help: 'x', registers: [registry] }).set(1);
    new Gauge({ name: 'streamclust_queue_total', help: 'x', registers: [registry] }).set(1);
    new Gauge({ name: 'other_thing', help: ' ', registers: [registry] }).set(1);
    new Gauge({ name: 'streamclust_busy_ratio', help: 'x', registers: [registry] }).set(50);
    new Gauge({ name: 'streamclust_build_info', help: 'x', registers: [registry] }).set(2);
    const byKey = new Counter({
      name: 'streamclust_seen_total',
      help: 'x',
      labelNames: ['key'],
      registers: [registry],
    });
    for (let i = 0; i < 20; i++) byKey.inc({ key: `user-${i}` });
    new Histogram({
      name: 'streamclust_wait_duration',
      help: 'x',
      registers: [registry],
    }).observe(1);
    const problems = await lintRegistry(registry, RULES);
    expect(problems).toEqual(
      expect.arrayContaining([
        'streamclust_records: is a counter, so it must end in _total',
        'streamclust_batch_latency_ms: uses the non-base unit "ms" (use seconds, bytes or a ratio)',
        'streamclust_batch_latency_ms: measures time, so it must end in _seconds (or _seconds_total)',
        'streamclust_queue_total: is a gauge, so it must not end in _total',
        'other_thing: must start with streamclust_',
        'other_thing: needs a help text',
        'streamclust_busy_ratio: is a ratio, but has the value 50 outside [0, 1]',
        'streamclust_build_info: an _info metric must have the value 1',
        'streamclust_seen_total: label "key" has unbounded cardinality',
        'streamclust_seen_total: has 20 series, more than its bound 16',
        'streamclust_wait_duration: measures time, so it must end in _seconds (or _seconds_total)',
      ]),
    );
  });
});

describeWithPrometheus("promtool's metric lint", () => {
  it('accepts the exposition of a real run (promtool check metrics)', async () => {
    const metrics = await exercised();
    const text = await metrics.registry.metrics();
    const { code, output } = promtool(['check', 'metrics'], text);
    // prom-client's own nodejs_active_*_total gauges break the _total rule; they are not ours.
    const ours = output.split('\n').filter((line) => line.startsWith('streamclust_'));
    expect(ours).toEqual([]);
    expect(
      output
        .trim()
        .split('\n')
        .every((l) => l === '' || l.startsWith('nodejs_')),
    ).toBe(true);
    expect(code === 0 || output.includes('nodejs_')).toBe(true);
  });
});
