import { expect, it } from 'vitest';

import { validateConfig } from '../../src/config/load-config.js';
import { createLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { createPipeline, type Pipeline } from '../../src/pipeline/create-pipeline.js';
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

describeWithKafka('fault: a trainer worker thread dies mid-stream', () => {
  it('replaces the worker, retries its batch and loses nothing', async () => {
    const kafka = new KafkaHelpers(kafkaBrokers());
    const topics = pipelineTopics('fault-worker');
    await kafka.createTopic(topics.inputTopic, 3);
    const bad = badInputs({ dim: 8, maxRecordBytes: 2_048 });
    const input = faultInput({ count: 4_000, partitions: 3, seed: 67, badEvery: 400, bad });
    await produceInSlices(kafka, topics.inputTopic, input.records);

    const config = validateConfig({
      source: 'kafka',
      kafka: { brokers: kafka.brokers, ...topics },
      decode: { maxRecordBytes: 2_048 },
      // Two replicas: the killed one is rebuilt from the weights of the other.
      model: { workers: 2 },
      batch: { size: 64 },
      cluster: { k: 5 },
      training: PLUMBING_TRAINING,
      http: { enabled: false },
      log: { level: 'silent', statusIntervalMs: 0 },
    });
    let batches = 0;
    let killed: Promise<number> | undefined;
    let terminatedThreadId: number | undefined;
    let laterThreadIds: number[] = [];
    const warnings: string[] = [];
    // The observer runs only once run() started, after the pipeline object exists.
    const pipeline: Pipeline = await createPipeline(config, {
      logger: createLogger('warn', (line) => warnings.push(line)),
      metrics: new Metrics({ defaultMetrics: false }),
      observers: [
        {
          onBatch: () => {
            batches += 1;
            // After a few batches, while the stream is in full flow: the next batch's step is
            // posted to a thread that is going away, so the crash lands inside a batch.
            if (batches === 5 && pipeline.trainer !== undefined) {
              const thread = pipeline.trainer.threads[0]!;
              terminatedThreadId = thread.threadId;
              killed = thread.terminate();
            }
            if (batches === 30) laterThreadIds = pipeline.trainer!.threads.map((t) => t.threadId);
          },
        },
      ],
    });
    await runUntilDrained(pipeline, kafka, topics);

    expect(killed, 'the observer never terminated a worker').toBeDefined();
    await killed;
    expect(pipeline.status().workerRestarts).toBeGreaterThanOrEqual(1);
    // The batch that met the dead thread was retried, not dropped or failed.
    expect(warnings.join('\n')).toContain('replacing it and retrying the batch');
    // Later batches ran on two live training replicas and the embedder (training runs in the
    // background), none of them the terminated thread.
    expect(laterThreadIds).toHaveLength(3);
    expect(laterThreadIds).not.toContain(terminatedThreadId);
    const coverage = await checkCoverage(kafka, topics, input.invalid);
    expect(losses(coverage)).toEqual(NOTHING_LOST);
    expect(coverage.valid).toBe(input.valid);
    expect(coverage.invalid).toBe(input.invalid.size);
  });
});
