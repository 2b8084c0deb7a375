import { describe, expect, it } from 'vitest';

import { validateConfig } from '../../../src/config/load-config.js';
import { nmi } from '../../../src/eval/metrics/index.js';
import { silentLogger } from '../../../src/log.js';
import { Metrics } from '../../../src/metrics/metrics.js';
import { createPipeline } from '../../../src/pipeline/create-pipeline.js';
import type { BatchReport } from '../../../src/pipeline/batch-report.js';
import type { Assignment, DeadLetter, Sink } from '../../../src/sinks/sink.js';
import { PLUMBING_TRAINING } from '../../helpers/plumbing.js';

function captureSink(): Sink & { assignments: Assignment[]; deadLetters: DeadLetter[] } {
  const assignments: Assignment[] = [];
  const deadLetters: DeadLetter[] = [];
  return {
    assignments,
    deadLetters,
    write: async (output) => {
      assignments.push(...output.assignments);
      deadLetters.push(...output.deadLetters);
    },
    close: async () => undefined,
  };
}

function config(overrides: Record<string, unknown>) {
  return validateConfig({
    http: { enabled: false },
    log: { level: 'silent', statusIntervalMs: 0 },
    ...overrides,
    training: { ...PLUMBING_TRAINING, ...(overrides.training as object | undefined) },
  });
}

describe('pipeline on the synthetic stream (real worker thread)', () => {
  it('assigns every valid record once, dead-letters every malformed one, and recovers the mixture', async () => {
    const sink = captureSink();
    const metrics = new Metrics({ defaultMetrics: false });
    const reports: BatchReport[] = [];
    const pipeline = await createPipeline(
      config({
        synthetic: {
          totalRecords: 6000,
          recordsPerSecond: 0,
          malformedEvery: 500,
          driftEveryRecords: 0,
        },
        cluster: { k: 5 },
      }),
      { logger: silentLogger, sink, metrics, observers: [{ onBatch: (r) => reports.push(r) }] },
    );
    await pipeline.run();
    // Observers see every assigned record once, with the decoded label and the store's answer.
    expect(reports.reduce((n, r) => n + r.records.length, 0)).toBe(6000 - 12);
    const first = reports[0]!;
    expect(first.labels.every((l) => Number.isInteger(l))).toBe(true);
    expect(first.embeddings.length).toBe(first.records.length * first.embeddingDim);
    expect(first.clusterIds.length).toBe(first.records.length);

    expect(sink.deadLetters.map((d) => Number(d.record.offset)).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 12 }, (_, i) => (i + 1) * 500 - 1),
    );
    expect(new Set(sink.deadLetters.map((d) => d.reason))).toEqual(new Set(['malformed_json']));
    const offsets = sink.assignments.map((a) => Number(a.record.offset));
    expect(offsets).toHaveLength(6000 - 12);
    expect(new Set(offsets).size).toBe(6000 - 12);

    const labels = sink.assignments.map(
      (a) => (JSON.parse(a.record.value!.toString()) as { label: number }).label,
    );
    const predicted = sink.assignments.map((a) => a.clusterId);
    expect(nmi(labels, predicted)).toBeGreaterThanOrEqual(0.9);

    const status = pipeline.status();
    expect(status).toMatchObject({
      recordsConsumed: 6000,
      recordsAssigned: 5988,
      recordsInvalid: 12,
      recordsInFlight: 0,
    });
    expect(status.modelVersion).toBeGreaterThan(0);
    const text = await metrics.registry.metrics();
    expect(text).toContain('streamclust_records_consumed_total 6000');
    expect(text).toContain('streamclust_records_invalid_total{reason="malformed_json"} 12');
    expect(text).toContain('streamclust_records_assigned_total 5988');
    expect(text).toMatch(/streamclust_batch_duration_seconds_count \d+/);
  });

  it('starts the store from a short stream that ends during warm-up, assigning every record', async () => {
    const sink = captureSink();
    const pipeline = await createPipeline(
      config({
        synthetic: { totalRecords: 100, recordsPerSecond: 0 },
        cluster: { k: 5, warmupSize: 512 },
      }),
      { logger: silentLogger, sink, metrics: new Metrics({ defaultMetrics: false }) },
    );
    await pipeline.run();
    expect(sink.assignments).toHaveLength(100);
    expect(pipeline.status().storeReady).toBe(true);
  });

  it('starts the store when the stream stalls during warm-up with every in-flight record waiting', async () => {
    const sink = captureSink();
    // 2 chunks of 64 in flight hold 128 records < warmupSize 512: only the stall timer can start the store.
    const pipeline = await createPipeline(
      config({
        synthetic: { totalRecords: 400, recordsPerSecond: 0, chunkSize: 64 },
        batch: { maxInFlight: 2, size: 64, maxWaitMs: 20 },
        cluster: { k: 5, warmupSize: 512, warmupMaxWaitMs: 200 },
      }),
      { logger: silentLogger, sink, metrics: new Metrics({ defaultMetrics: false }) },
    );
    await pipeline.run();
    expect(sink.assignments).toHaveLength(400);
  });
});
