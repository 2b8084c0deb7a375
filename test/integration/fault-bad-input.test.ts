import { expect, it } from 'vitest';

import { validateConfig } from '../../src/config/load-config.js';
import { silentLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { createPipeline } from '../../src/pipeline/create-pipeline.js';
import {
  NOTHING_LOST,
  badInputs,
  checkCoverage,
  faultInput,
  losses,
  pipelineTopics,
  produceInSlices,
  runUntilDrained,
} from '../helpers/fault-records.js';
import { KafkaHelpers, describeWithKafka, kafkaBrokers } from '../helpers/kafka.js';
import { PLUMBING_TRAINING } from '../helpers/plumbing.js';

// Small, so that the oversize record stays a small message for the broker.
const MAX_RECORD_BYTES = 2_048;

describeWithKafka('fault: every bad-input kind mixed into the stream', () => {
  it('dead-letters each bad record with its bytes, coordinates and reason, counts it per reason on /metrics, and assigns every valid one', async () => {
    const kafka = new KafkaHelpers(kafkaBrokers());
    const topics = pipelineTopics('fault-bad');
    await kafka.createTopic(topics.inputTopic, 3);
    const bad = badInputs({ dim: 8, maxRecordBytes: MAX_RECORD_BYTES });
    // Every kind three times, so each lands on more than one partition and batch.
    const input = faultInput({ count: 3_000, partitions: 3, seed: 61, badEvery: 58, bad });
    expect(input.invalid.size).toBe(bad.length * 3);
    await produceInSlices(kafka, topics.inputTopic, input.records);

    const config = validateConfig({
      source: 'kafka',
      kafka: { brokers: kafka.brokers, ...topics },
      decode: { maxRecordBytes: MAX_RECORD_BYTES },
      batch: { size: 128 },
      cluster: { k: 5 },
      training: PLUMBING_TRAINING,
      http: { enabled: true, port: 0, liveView: false },
      log: { level: 'silent', statusIntervalMs: 0 },
    });
    const pipeline = await createPipeline(config, {
      logger: silentLogger,
      metrics: new Metrics({ defaultMetrics: false }),
    });
    await runUntilDrained(pipeline, kafka, topics, async () => {
      const metricsText = await (await fetch(`${pipeline.httpUrl!}/metrics`)).text();
      const expected = new Map<string, number>();
      for (const reason of input.invalid.values())
        expected.set(reason, (expected.get(reason) ?? 0) + 1);
      for (const [reason, count] of expected) {
        // One process, one pass, no restart: the counter is exact, not at-least.
        expect(metricsText, reason).toContain(
          `streamclust_records_invalid_total{reason="${reason}"} ${count}`,
        );
      }
      expect(pipeline.status().recordsAssigned).toBeGreaterThanOrEqual(input.valid);
    });

    const coverage = await checkCoverage(kafka, topics, input.invalid);
    expect(coverage.produced).toBe(input.records.length);
    expect(losses(coverage)).toEqual(NOTHING_LOST);
    expect(coverage.valid).toBe(input.valid);
    expect(coverage.invalid).toBe(input.invalid.size);
  });

  it('dead-letters records of an unexpected schema version (reason schema_version) and assigns the accepted ones', async () => {
    const kafka = new KafkaHelpers(kafkaBrokers());
    const topics = pipelineTopics('fault-version');
    await kafka.createTopic(topics.inputTopic, 3);
    const features = `[${Array.from({ length: 8 }, () => 1).join(', ')}]`;
    const bad = [
      {
        kind: 'newer version',
        value: `{"v": 3, "features": ${features}}`,
        reason: 'schema_version',
      },
      {
        kind: 'version as a string',
        value: `{"v": "2", "features": ${features}}`,
        reason: 'schema_version',
      },
      { kind: 'no version', value: `{"features": ${features}}`, reason: 'schema_version' },
    ];
    const input = faultInput({
      count: 2_000,
      partitions: 3,
      seed: 62,
      badEvery: 200,
      bad,
      schemaVersion: { field: 'v', value: 2 },
    });
    await produceInSlices(kafka, topics.inputTopic, input.records);
    const config = validateConfig({
      source: 'kafka',
      kafka: { brokers: kafka.brokers, ...topics },
      decode: { schemaVersionField: 'v', schemaVersions: [1, 2] },
      batch: { size: 128 },
      cluster: { k: 5 },
      training: PLUMBING_TRAINING,
      http: { enabled: false },
      log: { level: 'silent', statusIntervalMs: 0 },
    });
    const pipeline = await createPipeline(config, {
      logger: silentLogger,
      metrics: new Metrics({ defaultMetrics: false }),
    });
    await runUntilDrained(pipeline, kafka, topics);
    const coverage = await checkCoverage(kafka, topics, input.invalid);
    expect(losses(coverage)).toEqual(NOTHING_LOST);
    expect(coverage.valid).toBe(input.valid);
    expect(coverage.reasons).toEqual({ schema_version: input.invalid.size });
  });
});
